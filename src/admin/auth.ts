// Who may use /admin/*: the bearer token in a header, or the session cookie the login form sets once — never a token in a URL.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'infergate_admin';

/**
 * The cookie's value: an HMAC of the token, so the token itself never sits in the browser and rotating the token
 * (a reload) signs every session out.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('infergate admin session v1').digest('base64url');
}

/** `Set-Cookie` for a signed-in browser: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

export const CLEARED_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

/** No token configured, or `Authorization: Bearer <token>`, or the session cookie. */
export function authorised(token: string | null, req: IncomingMessage): boolean {
  if (token === null) return true;
  const header = req.headers.authorization ?? '';
  if (header.startsWith('Bearer ') && same(header.slice(7), token)) return true;
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  return cookie !== null && same(cookie, sessionValue(token));
}

/** The token as given to the login form. */
export function tokenMatches(token: string, given: string): boolean {
  return same(given, token);
}

/** A URL that carries the token (`?token=`, `?access_token=`) leaks it to logs and history: refused. */
export function tokenInUrl(search: URLSearchParams): boolean {
  return search.has('token') || search.has('access_token');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
