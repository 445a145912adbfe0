/** Strict HTTP/1.x request validation with nginx's rules: checks what Node's llhttp parser lets through, and answers what it rejects itself. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { rawFailure } from './error-body.js';
import { Rejections, type FailureKind } from './failures.js';
import { isHttp2Request } from './protocol.js';

/** A refused request: an entry of the failure table (proxy/failures.ts, `Rejections`). */
export type Rejection = FailureKind;

/** Every rejection is a preallocated constant so the hot path never allocates one. */
export const REJECTIONS = Rejections;

// Headers nginx refuses to see twice (ngx_http_process_unique_header_line / ngx_http_process_host).
const H_HOST = 1;
const H_CONTENT_LENGTH = 2;
const H_TRANSFER_ENCODING = 4;
const H_OTHER_UNIQUE = 8;

/** Sockets that already got a rejection: Node still parses and emits requests pipelined behind it. */
const poisoned = new WeakSet<object>();

/** Checks what Node's parser let through (see test/e2e/smuggling.test.ts for what it catches itself). */
export function checkRequest(req: IncomingMessage): Rejection | null {
  // HTTP/2: a rejection ends the stream, never the connection (other streams share it), so nothing is poisoned.
  if (isHttp2Request(req)) return checkHttp2(req);
  const found = check(req);
  if (found !== null) poisoned.add(req.socket);
  return found;
}

function check(req: IncomingMessage): Rejection | null {
  if (poisoned.has(req.socket)) return REJECTIONS.connectionClosing;
  // llhttp accepts HTTP/0.9 simple requests and HTTP/2.0 on an HTTP/1 request line.
  if (req.httpVersionMajor !== 1) return req.httpVersionMajor > 1 ? REJECTIONS.versionNotSupported : REJECTIONS.http09;
  if (req.method === 'TRACE') return REJECTIONS.trace;

  const raw = req.rawHeaders;
  let seen = 0;
  let host: string | undefined;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const bit = uniqueBit(name);
    if (bit === 0) continue;
    if ((seen & bit) !== 0) {
      if (bit === H_HOST) return REJECTIONS.duplicateHost;
      if (bit === H_CONTENT_LENGTH) return REJECTIONS.duplicateContentLength;
      if (bit === H_TRANSFER_ENCODING) return REJECTIONS.duplicateTransferEncoding;
      return REJECTIONS.duplicateHeader;
    }
    if (bit !== H_OTHER_UNIQUE) seen |= bit;
    else if (isDuplicateOther(raw, i, name)) return REJECTIONS.duplicateHeader;
    const value = raw[i + 1] as string;
    if (bit === H_HOST) host = value;
    else if (bit === H_CONTENT_LENGTH) contentLength = value;
    else if (bit === H_TRANSFER_ENCODING) transferEncoding = value;
  }

  if (host === undefined) {
    if (req.httpVersionMinor >= 1) return REJECTIONS.missingHost;
  } else if (hostLength(host) < 0) {
    return REJECTIONS.invalidHost;
  }
  if (contentLength !== undefined && !isDigits(contentLength)) return REJECTIONS.invalidContentLength;
  if (transferEncoding !== undefined) {
    if (req.httpVersionMinor === 0) return REJECTIONS.teHttp10;
    // nginx: exactly `chunked`, compared case-insensitively, after OWS is trimmed (Node trims it too).
    if (!equalsLower(transferEncoding, 'chunked')) return REJECTIONS.unknownTe;
    if (contentLength !== undefined) return REJECTIONS.teWithCl;
  }
  return checkTarget(req.url ?? '', req.method ?? '', host);
}

/**
 * HTTP/2 requests after node:http2 (nghttp2) has refused the malformed ones itself with RST_STREAM PROTOCOL_ERROR:
 * pseudo-header misuse, connection-specific headers (connection, keep-alive, transfer-encoding, upgrade, te other
 * than trailers), upper-case names, CR/LF/NUL in values, content-length disagreeing with the DATA frames
 * (test/e2e/h2-smuggling.test.ts). What is left is the policy nginx applies on top.
 */
/** RFC 9113 §8.2.1: a field name is lower-case token characters; a value has no CR, LF or NUL and no outer whitespace. */
const H2_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const H2_BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;

function checkHttp2(req: IncomingMessage): Rejection | null {
  const method = req.method ?? '';
  if (method === 'CONNECT') return REJECTIONS.connect;
  if (method === 'TRACE') return REJECTIONS.trace;
  const raw = req.rawHeaders;
  let authority: string | undefined;
  let host: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    // Node's HTTP/2 server passes these through, and on the HTTP/1.1 hop a CR/LF is a header injection.
    if (H2_BAD_VALUE.test(value)) return REJECTIONS.invalidHeader;
    if (name.charCodeAt(0) !== 0x3a && !H2_NAME.test(name)) return REJECTIONS.invalidHeader;
    if (name === ':authority') authority = value;
    else if (name === 'host') {
      if (host !== undefined) return REJECTIONS.duplicateHost;
      host = value;
    } else if (name === 'content-length') {
      if (contentLength !== undefined) return REJECTIONS.duplicateContentLength;
      contentLength = value;
    }
  }
  const target = authority ?? host;
  if (target === undefined) return REJECTIONS.missingAuthority;
  if (hostLength(target) < 0) return REJECTIONS.invalidHost;
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return REJECTIONS.authorityMismatch;
  if (contentLength !== undefined && !isDigits(contentLength)) return REJECTIONS.invalidContentLength;
  const url = req.url ?? '';
  if (url.charCodeAt(0) !== 0x2f && !(url === '*' && method === 'OPTIONS')) return REJECTIONS.invalidUri;
  return url.indexOf('#') === -1 ? null : REJECTIONS.invalidUri;
}

function checkTarget(url: string, method: string, host: string | undefined): Rejection | null {
  const first = url.charCodeAt(0);
  if (first === 0x2f /* / */) return url.indexOf('#') === -1 ? null : REJECTIONS.invalidUri;
  if (first === 0x2a /* * */) return url.length === 1 && method === 'OPTIONS' ? null : REJECTIONS.invalidUri;
  return checkAbsoluteForm(url, host);
}

/** Absolute-form (rare): scheme http(s), no userinfo, a valid authority that matches Host. */
function checkAbsoluteForm(url: string, host: string | undefined): Rejection | null {
  const lower = url.slice(0, 8).toLowerCase();
  const start = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (start < 0 || url.indexOf('#') !== -1) return REJECTIONS.invalidUri;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f) break; // '/' or '?'
    if (c === 0x40) return REJECTIONS.userinfo; // '@'
    end++;
  }
  const authority = url.slice(start, end);
  if (hostLength(authority) < 0) return REJECTIONS.invalidHost;
  if (host === undefined) return null; // HTTP/1.0 without Host: the request line names the host
  const defaultPort = start === 7 ? '80' : '443';
  return hostKey(authority, defaultPort) === hostKey(host, defaultPort) ? null : REJECTIONS.hostMismatch;
}

/** The origin-form (path and query) of a request target that passed checkRequest: absolute-form loses its scheme and authority. */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 0x2f || url === '*') return url;
  const authorityStart = url.indexOf('//') + 2;
  let end = authorityStart;
  while (end < url.length && url.charCodeAt(end) !== 0x2f && url.charCodeAt(end) !== 0x3f) end++;
  const rest = url.slice(end);
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}

/** Lower-cased host without trailing dot, plus explicit or default port, for comparing two authorities. */
function hostKey(authority: string, defaultPort: string): string {
  const hostEnd = hostLength(authority);
  let name = authority.slice(0, hostEnd).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  const port = authority.slice(hostEnd + 1).replace(/^0+(?=\d)/, '');
  return `${name}:${port === '' ? defaultPort : port}`;
}

/**
 * nginx's ngx_http_validate_host as a charCode loop: reg-name or [IP-literal], optional :port <= 65535.
 * Returns the length of the host part (port excluded), or -1 when invalid or empty.
 */
export function hostLength(s: string): number {
  const n = s.length;
  let i = 0;
  let hostEnd = n;
  let lastDot = -2;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    i = 1;
    for (;; i++) {
      if (i >= n) return -1; // unterminated IP-literal
      const c = s.charCodeAt(i);
      if (c === 0x5d /* ] */) break;
      if (!isHostChar(c) && c !== 0x3a /* : */) return -1;
    }
    hostEnd = ++i;
    if (i < n && s.charCodeAt(i) !== 0x3a) return -1;
  } else {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3a) { hostEnd = i; break; }
      if (c === 0x2e /* . */) {
        if (lastDot === i - 1) return -1; // ".." is refused, a leading dot is not (as nginx)
        lastDot = i;
      } else if (!isHostChar(c)) {
        return -1;
      }
    }
  }
  if (i < n) {
    // s[i] is ':'; an empty port is accepted, as nginx does.
    let port = 0;
    for (let j = i + 1; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c < 0x30 || c > 0x39) return -1;
      port = port * 10 + (c - 0x30);
      if (port > 65535) return -1;
    }
  }
  const nameLen = lastDot === hostEnd - 1 ? hostEnd - 1 : hostEnd;
  return nameLen > 0 ? hostEnd : -1;
}

/** unreserved / sub-delims / '%' of RFC 3986 reg-name, as nginx accepts them. */
function isHostChar(c: number): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: case 0x2e: case 0x5f: case 0x7e: // - . _ ~
    case 0x21: case 0x24: case 0x26: case 0x27: case 0x28: case 0x29: // ! $ & ' ( )
    case 0x2a: case 0x2b: case 0x2c: case 0x3b: case 0x3d: // * + , ; =
    case 0x25: // %
      return true;
    default:
      return false;
  }
}

/** One or more ASCII digits, nothing else. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** ASCII case-insensitive equality against a lower-case literal, with no allocation. */
function equalsLower(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const t = lower.charCodeAt(i);
    if (c !== t && !(t >= 0x61 && t <= 0x7a && c === t - 0x20)) return false;
  }
  return true;
}

/** Which unique-header bit a header name has; a switch on length keeps most names to one comparison. */
function uniqueBit(name: string): number {
  switch (name.length) {
    case 4: return equalsLower(name, 'host') ? H_HOST : 0;
    case 6: return equalsLower(name, 'expect') ? H_OTHER_UNIQUE : 0;
    case 8: return equalsLower(name, 'if-match') || equalsLower(name, 'if-range') ? H_OTHER_UNIQUE : 0;
    case 13:
      return equalsLower(name, 'authorization') || equalsLower(name, 'content-range') || equalsLower(name, 'if-none-match')
        ? H_OTHER_UNIQUE : 0;
    case 14: return equalsLower(name, 'content-length') ? H_CONTENT_LENGTH : 0;
    case 17:
      if (equalsLower(name, 'transfer-encoding')) return H_TRANSFER_ENCODING;
      return equalsLower(name, 'if-modified-since') ? H_OTHER_UNIQUE : 0;
    case 19:
      return equalsLower(name, 'if-unmodified-since') || equalsLower(name, 'proxy-authorization') ? H_OTHER_UNIQUE : 0;
    default: return 0;
  }
}

/** Rare headers: look ahead for the same name rather than spend a bit on each. */
function isDuplicateOther(raw: string[], at: number, name: string): boolean {
  for (let j = at + 2; j < raw.length; j += 2) {
    const other = raw[j] as string;
    if (other.length === name.length && sameToken(other, name)) return true;
  }
  return false;
}

/** Case-insensitive equality of a header name with one of our known names (letters and `-`, where folding 0x20 aliases nothing else a token may hold). */
function sameToken(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) if ((a.charCodeAt(i) | 0x20) !== (b.charCodeAt(i) | 0x20)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// What llhttp rejects itself arrives as 'clientError'.

interface ParseError extends Error {
  code?: string;
  reason?: string;
  bytesParsed?: number;
  rawPacket?: Buffer;
}

type ClientAnswer = FailureKind;

const handled = new WeakSet<object>();

/** Handler for http.Server 'clientError': a minimal raw answer when nothing was answered yet, then close. */
export function onClientError(err: ParseError, socket: Duplex): void {
  if (handled.has(socket)) return;
  handled.add(socket);
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  const answer = classifyParseError(err);
  const inFlight = inFlightResponse(socket);
  if (inFlight !== null && inFlight.req.complete && !inFlight.writableFinished) {
    // The error is in bytes pipelined after a complete request: let its answer finish, as nginx
    // answers pipelined requests in order, then answer this one.
    socket.pause();
    awaitQuiet(socket, () => answerAndClose(socket, err.code === 'HPE_CLOSED_CONNECTION' ? null : answer));
    return;
  }
  if (inFlight !== null && inFlight.headersSent) {
    // Mid-response with a broken request body: nothing sane can be written any more.
    if (inFlight.writableEnded) awaitQuiet(socket, () => socket.destroy());
    else socket.destroy();
    return;
  }
  answerAndClose(socket, err.code === 'HPE_CLOSED_CONNECTION' ? null : answer);
}

/** CONNECT never reaches 'request' in Node: a load balancer is no forward proxy (nginx: 405). */
export function onConnect(_req: IncomingMessage, socket: Duplex): void {
  answerAndClose(socket, Rejections.connect);
}

/** The ServerResponse Node has bound to this socket, if any (Node's own clientError default reads it too). */
function inFlightResponse(socket: Duplex): ServerResponse | null {
  const message = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  return message ?? null;
}

function awaitQuiet(socket: Duplex, then: () => void): void {
  const res = inFlightResponse(socket);
  if (res === null || res.writableFinished || res.destroyed) {
    then();
    return;
  }
  const next = (): void => awaitQuiet(socket, then);
  res.once('finish', next);
  res.once('close', () => { res.off('finish', next); if (!socket.destroyed) next(); });
}

function answerAndClose(socket: Duplex, answer: ClientAnswer | null): void {
  if (socket.destroyed) return;
  if (answer === null || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawFailure(answer), () => socket.destroy());
}

/** Maps an llhttp error (HPE_*) or a Node server error to the status nginx would give and a stable code. */
export function classifyParseError(err: ParseError): ClientAnswer {
  const reason = err.reason ?? err.message;
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': return Rejections.headerTooLarge;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return Rejections.invalidChunk;
    case 'ERR_HTTP_REQUEST_TIMEOUT': return Rejections.requestTimeout;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      if (reason.includes('Content-Length')) return Rejections.teWithCl;
      return countHeader(err.rawPacket, 'transfer-encoding') > 1
        ? Rejections.duplicateTransferEncoding
        : Rejections.unknownTe;
    case 'HPE_INVALID_CONTENT_LENGTH':
      return reason.includes('Transfer-Encoding')
        ? Rejections.teWithCl
        : Rejections.invalidContentLength;
    case 'HPE_UNEXPECTED_CONTENT_LENGTH': return Rejections.duplicateContentLength;
    case 'HPE_INVALID_CHUNK_SIZE': return Rejections.invalidChunk;
    case 'HPE_INVALID_METHOD': return methodAnswer(err.rawPacket);
    case 'HPE_INVALID_VERSION':
    case 'HPE_PAUSED_H2_UPGRADE':
      return versionMajor(err.rawPacket) > 1
        ? Rejections.versionNotSupported
        : Rejections.invalidVersion;
    case 'HPE_INVALID_URL': return Rejections.invalidUri;
    case 'HPE_INVALID_CONSTANT': return Rejections.invalidRequestLine;
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_UNEXPECTED_SPACE':
      return Rejections.invalidHeader;
    default:
      // HPE_STRICT, HPE_CR_EXPECTED, HPE_LF_EXPECTED, HPE_INVALID_EOF_STATE, ...: bad framing in general.
      return Rejections.badRequest;
  }
}

/** nginx takes any upper-case token as a method (unknown ones are 501 by RFC 9110); anything else is 400. */
function methodAnswer(raw: Buffer | undefined): ClientAnswer {
  if (raw === undefined) return Rejections.invalidMethod;
  let i = 0;
  while (i < raw.length && ((raw[i]! >= 0x41 && raw[i]! <= 0x5a) || raw[i] === 0x5f || raw[i] === 0x2d)) i++;
  return i > 0 && raw[i] === 0x20 ? Rejections.unknownMethod : Rejections.invalidMethod;
}

/** The major digit after `HTTP/` on the request line, or -1. */
function versionMajor(raw: Buffer | undefined): number {
  if (raw === undefined) return -1;
  const lineEnd = raw.indexOf(0x0a);
  const line = raw.subarray(0, lineEnd < 0 ? raw.length : lineEnd);
  const at = line.lastIndexOf(' HTTP/');
  if (at < 0) return -1;
  const c = line[at + 6];
  return c !== undefined && c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
}

/** How often a header appears in the head of a raw packet (error path only). */
function countHeader(raw: Buffer | undefined, lowerName: string): number {
  if (raw === undefined) return 0;
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, headEnd < 0 ? raw.length : headEnd).toString('latin1').toLowerCase();
  let count = 0;
  for (const line of head.split('\n')) if (line.startsWith(`${lowerName}:`)) count++;
  return count;
}
