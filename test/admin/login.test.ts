// Tokens never in URLs: /admin/* takes the bearer header or the session cookie POST /login sets once; ?token= is refused.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { startTokenStack } from './support.js';

let booted: Awaited<ReturnType<typeof startTokenStack>>;
let stack: Stack;

beforeAll(async () => {
  booted = await startTokenStack('s3cret-token');
  stack = booted.stack;
});
afterAll(() => booted.close());

function login(token: string, accept = 'application/json'): Promise<Response> {
  return fetch(`${stack.adminUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
    body: new URLSearchParams({ token }).toString(),
  });
}

test('GET /login is a form that POSTs the token (no token needed to see it)', async () => {
  const res = await fetch(`${stack.adminUrl}/login`);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('<form method="post" action="/login">');
  expect(html).toContain('type="password"');
});

test('the right token: 303 to /status with an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
  const res = await login('s3cret-token');
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/status');
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/^infergate_admin=[^;]+; /);
  expect(cookie).toContain('HttpOnly');
  expect(cookie).toContain('SameSite=Strict');
  expect(cookie).not.toContain('s3cret-token');
  const session = cookie.split(';')[0]!;
  const backends = await fetch(`${stack.adminUrl}/admin/backends`, { headers: { cookie: session } });
  expect(backends.status).toBe(200);
});

test('a wrong token: 401 (a browser is sent back to the form), no cookie', async () => {
  const res = await login('s3cret-tokem');
  expect(res.status).toBe(401);
  expect(res.headers.get('set-cookie')).toBeNull();
  const browser = await login('nope', 'text/html');
  expect(browser.status).toBe(303);
  expect(browser.headers.get('location')).toBe('/login?failed');
});

test('a forged or stale cookie is 401', async () => {
  const res = await fetch(`${stack.adminUrl}/admin/backends`, { headers: { cookie: 'infergate_admin=s3cret-token' } });
  expect(res.status).toBe(401);
});

test.each(['/admin/backends?token=s3cret-token', '/status?token=s3cret-token', '/admin/config?access_token=s3cret-token'])('%s is refused with 400 token-in-url, even with the right token', async (path) => {
  const res = await fetch(stack.adminUrl + path);
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'token-in-url' });
});

test('POST /logout clears the cookie', async () => {
  const res = await fetch(`${stack.adminUrl}/logout`, { method: 'POST', redirect: 'manual' });
  expect(res.status).toBe(303);
  expect(res.headers.get('set-cookie')).toMatch(/^infergate_admin=; .*Max-Age=0/);
});
