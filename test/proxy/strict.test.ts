// Unit tests of src/proxy/strict.ts: every checkRequest rule on hand-built requests, and the clientError answers.

import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { rawFailure } from '../../src/proxy/error-body.js';
import {
  checkRequest,
  classifyParseError,
  hostLength,
  onClientError,
  onConnect,
  originForm,
  REJECTIONS,
} from '../../src/proxy/strict.js';

interface FakeRequest {
  method?: string;
  url?: string;
  version?: '1.0' | '1.1' | '0.9' | '2.0';
  headers?: string[];
  socket?: object;
}

/** Only the fields checkRequest reads; each request gets its own socket unless one is passed. */
function req(r: FakeRequest = {}): IncomingMessage {
  const [major, minor] = (r.version ?? '1.1').split('.').map(Number);
  return {
    method: r.method ?? 'GET',
    url: r.url ?? '/',
    httpVersionMajor: major,
    httpVersionMinor: minor,
    rawHeaders: r.headers ?? ['Host', 'localhost'],
    socket: r.socket ?? {},
  } as unknown as IncomingMessage;
}

const code = (r: FakeRequest): string | null => checkRequest(req(r))?.code ?? null;

describe('checkRequest', () => {
  it('passes ordinary requests', () => {
    expect(checkRequest(req())).toBeNull();
    expect(code({ method: 'POST', headers: ['Host', 'localhost', 'Content-Length', '3'] })).toBeNull();
    expect(code({ method: 'POST', headers: ['Host', 'a', 'Transfer-Encoding', 'chunked'] })).toBeNull();
    expect(code({ version: '1.0', headers: [] })).toBeNull();
    expect(code({ url: '/x?y=1', headers: ['host', 'EXAMPLE.com:8080', 'X-A', '1', 'x-a', '2'] })).toBeNull();
  });

  it('rejects versions Node lets through: HTTP/2.0 with 505, HTTP/0.9 with 400', () => {
    expect(checkRequest(req({ version: '2.0' }))).toBe(REJECTIONS.versionNotSupported);
    expect(checkRequest(req({ version: '2.0' }))?.status).toBe(505);
    expect(checkRequest(req({ version: '0.9', headers: [] }))?.status).toBe(400);
  });

  it('rejects TRACE with 405, as nginx does', () => {
    expect(checkRequest(req({ method: 'TRACE' }))?.status).toBe(405);
  });

  describe('Transfer-Encoding', () => {
    const te = (value: string, extra: string[] = []): FakeRequest => ({ method: 'POST', headers: ['Host', 'a', 'Transfer-Encoding', value, ...extra] });
    it('accepts exactly chunked, compared case-insensitively (nginx)', () => {
      expect(code(te('chunked'))).toBeNull();
      expect(code(te('Chunked'))).toBeNull();
      expect(code(te('CHUNKED'))).toBeNull();
    });
    it.each(['gzip, chunked', 'xchunked', 'chunkedx', 'identity', 'gzip', ',chunked', '"chunked"', 'chunked;q=1', 'chunked, chunked', ''])(
      'answers %j with 501',
      (value) => {
        expect(checkRequest(req(te(value)))).toBe(REJECTIONS.unknownTe);
      },
    );
    it('rejects it on HTTP/1.0 with 400', () => {
      expect(checkRequest(req({ ...te('chunked'), version: '1.0' }))).toBe(REJECTIONS.teHttp10);
    });
    it('rejects it together with Content-Length, in either order', () => {
      expect(checkRequest(req(te('chunked', ['Content-Length', '3'])))).toBe(REJECTIONS.teWithCl);
      expect(checkRequest(req({ method: 'POST', headers: ['Content-Length', '3', 'Host', 'a', 'transfer-encoding', 'chunked'] }))).toBe(
        REJECTIONS.teWithCl,
      );
    });
    it('rejects two Transfer-Encoding headers, whatever their case', () => {
      expect(checkRequest(req(te('gzip', ['transfer-encoding', 'chunked'])))).toBe(REJECTIONS.duplicateTransferEncoding);
    });
  });

  describe('Content-Length', () => {
    it('rejects duplicates even when equal (nginx)', () => {
      expect(checkRequest(req({ headers: ['Host', 'a', 'Content-Length', '3', 'content-length', '3'] }))).toBe(REJECTIONS.duplicateContentLength);
    });
    it.each(['', '3x', '+3', '-1', '3, 3', '0x3', ' 3'])('rejects %j', (value) => {
      expect(checkRequest(req({ headers: ['Host', 'a', 'Content-Length', value] }))).toBe(REJECTIONS.invalidContentLength);
    });
    it('accepts leading zeros (nginx does)', () => {
      expect(code({ headers: ['Host', 'a', 'Content-Length', '003'] })).toBeNull();
    });
  });

  describe('Host', () => {
    const host = (value: string): string | null => code({ headers: ['Host', value] });
    it('rejects two Host headers, equal or not', () => {
      expect(checkRequest(req({ headers: ['Host', 'a', 'Host', 'b'] }))).toBe(REJECTIONS.duplicateHost);
      expect(checkRequest(req({ headers: ['Host', 'a', 'HOST', 'a'] }))).toBe(REJECTIONS.duplicateHost);
    });
    it('requires Host on HTTP/1.1 only', () => {
      expect(checkRequest(req({ headers: [] }))).toBe(REJECTIONS.missingHost);
      expect(code({ version: '1.0', headers: [] })).toBeNull();
    });
    it.each(['localhost', 'a.example.com', 'a.example.com.', '127.0.0.1:8080', '[::1]', '[::1]:80', 'xn--bcher-kva.example', 'a_b', 'a:'])(
      'accepts %j',
      (value) => expect(host(value)).toBeNull(),
    );
    it.each(['', '.', ':80', 'a b', 'a/b', 'a\\b', 'a..b', 'a:99999', 'a:8o', '[::1', '[::1]x', 'a@b', 'caf\u00e9', 'a\tb'])(
      'rejects %j',
      (value) => expect(host(value)).toBe('invalid-host'),
    );
  });

  describe('request target', () => {
    it('accepts origin-form and OPTIONS *', () => {
      expect(code({ url: '/a/b?c=d' })).toBeNull();
      expect(code({ method: 'OPTIONS', url: '*' })).toBeNull();
    });
    it('rejects * for other methods, and fragments', () => {
      expect(code({ url: '*' })).toBe('invalid-uri');
      expect(code({ url: '/a#b' })).toBe('invalid-uri');
    });
    it('accepts absolute-form naming the Host, with default ports and case folded', () => {
      expect(code({ url: 'http://localhost/x', headers: ['Host', 'localhost'] })).toBeNull();
      expect(code({ url: 'HTTP://LocalHost:80/x', headers: ['Host', 'localhost'] })).toBeNull();
      expect(code({ url: 'http://localhost', headers: ['Host', 'localhost:80'] })).toBeNull();
      expect(code({ url: 'https://a.example/x', headers: ['Host', 'a.example:443'] })).toBeNull();
      expect(code({ url: 'http://a.example./x?q', headers: ['Host', 'A.EXAMPLE'] })).toBeNull();
      expect(code({ url: 'http://a.example/x', version: '1.0', headers: [] })).toBeNull();
    });
    it('rejects absolute-form naming another host or port', () => {
      expect(checkRequest(req({ url: 'http://evil/x', headers: ['Host', 'localhost'] }))).toBe(REJECTIONS.hostMismatch);
      expect(code({ url: 'http://localhost:8080/x', headers: ['Host', 'localhost'] })).toBe('host-mismatch');
      expect(code({ url: 'https://localhost/x', headers: ['Host', 'localhost:80'] })).toBe('host-mismatch');
    });
    it('rejects other schemes, userinfo and invalid authorities', () => {
      expect(code({ url: 'ftp://localhost/x' })).toBe('invalid-uri');
      expect(code({ url: 'http://u@localhost/x' })).toBe('userinfo-in-uri');
      expect(code({ url: 'http://a..b/x' })).toBe('invalid-host');
      expect(code({ url: 'http:///x' })).toBe('invalid-host');
      expect(code({ url: 'http://localhost/x#f' })).toBe('invalid-uri');
    });
  });

  it('rejects other headers nginx keeps unique', () => {
    for (const name of ['Authorization', 'Proxy-Authorization', 'Expect', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since', 'If-Range', 'Content-Range']) {
      expect(code({ headers: ['Host', 'a', name, '1', name.toLowerCase(), '2'] })).toBe('duplicate-header');
      expect(code({ headers: ['Host', 'a', name, '1'] })).toBeNull();
    }
  });

  it('rejects every later request on a connection that got a rejection (Node still parses pipelined ones)', () => {
    const socket = {};
    expect(code({ socket, headers: ['Host', 'a', 'Host', 'b'] })).toBe('duplicate-host');
    expect(code({ socket })).toBe('connection-closing');
    expect(code({})).toBeNull();
  });
});

describe('hostLength and originForm', () => {
  it('gives the host part length', () => {
    expect(hostLength('a.b:80')).toBe(3);
    expect(hostLength('[::1]:80')).toBe(5);
    expect(hostLength('a')).toBe(1);
    expect(hostLength('')).toBe(-1);
  });
  it('turns absolute-form into origin-form', () => {
    expect(originForm('/a?b')).toBe('/a?b');
    expect(originForm('*')).toBe('*');
    expect(originForm('http://h:1/a/b?c')).toBe('/a/b?c');
    expect(originForm('http://h')).toBe('/');
    expect(originForm('http://h?q=1')).toBe('/?q=1');
  });
});

describe('classifyParseError', () => {
  const err = (code: string, reason = '', raw?: string): Error & { code: string; reason: string; rawPacket?: Buffer } =>
    Object.assign(new Error(reason), { code, reason, ...(raw !== undefined ? { rawPacket: Buffer.from(raw, 'latin1') } : {}) });
  it.each([
    ['HPE_HEADER_OVERFLOW', '', undefined, 431, 'header-too-large'],
    ['HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length", undefined, 400, 'te-with-cl'],
    ['HPE_INVALID_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding", undefined, 400, 'te-with-cl'],
    ['HPE_INVALID_TRANSFER_ENCODING', 'Invalid `Transfer-Encoding` header value', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n', 400, 'duplicate-transfer-encoding'],
    ['HPE_INVALID_TRANSFER_ENCODING', 'Invalid `Transfer-Encoding` header value', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 501, 'unknown-transfer-encoding'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length', undefined, 400, 'duplicate-content-length'],
    ['HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length', undefined, 400, 'invalid-content-length'],
    ['HPE_INVALID_CHUNK_SIZE', '', undefined, 400, 'invalid-chunk'],
    ['HPE_INVALID_METHOD', '', 'FOO / HTTP/1.1\r\n', 501, 'unknown-method'],
    ['HPE_INVALID_METHOD', '', 'get / HTTP/1.1\r\n', 400, 'invalid-method'],
    ['HPE_INVALID_METHOD', '', 'G(T / HTTP/1.1\r\n', 400, 'invalid-method'],
    ['HPE_INVALID_VERSION', '', 'GET / HTTP/3.0\r\n', 505, 'http-version-not-supported'],
    ['HPE_INVALID_VERSION', '', 'GET / HTTP/1.2\r\n', 400, 'invalid-version'],
    ['HPE_PAUSED_H2_UPGRADE', '', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'http-version-not-supported'],
    ['HPE_INVALID_HEADER_TOKEN', '', undefined, 400, 'invalid-header'],
    ['HPE_INVALID_URL', '', undefined, 400, 'invalid-uri'],
    ['HPE_STRICT', '', undefined, 400, 'bad-request'],
    ['ERR_HTTP_REQUEST_TIMEOUT', '', undefined, 408, 'request-timeout'],
  ] as const)('%s %j -> %i', (c, reason, raw, status, answer) => {
    expect(classifyParseError(err(c, reason, raw))).toMatchObject({ status, code: answer });
  });
});

/** A socket stand-in that records what is written to it. */
class FakeSocket extends Duplex {
  readonly written: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written.push(chunk);
    callback();
  }
  text(): string {
    return Buffer.concat(this.written).toString('latin1');
  }
}

describe('onClientError and onConnect', () => {
  const parseError = (code: string): Error & { code: string } => Object.assign(new Error(code), { code });

  it('answers a parse error with a minimal JSON response and closes', async () => {
    const socket = new FakeSocket();
    onClientError(parseError('HPE_HEADER_OVERFLOW'), socket);
    await once(socket, 'close');
    expect(socket.text()).toBe(rawFailure(REJECTIONS.headerTooLarge));
    const text = socket.text();
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: application\/json\r\nContent-Length: \d+\r\n\r\n/);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(Number(/Content-Length: (\d+)/.exec(text)![1])).toBe(Buffer.byteLength(body));
    expect(JSON.parse(body)).toEqual({ error: 'header-too-large', message: REJECTIONS.headerTooLarge.message });
  });

  it('only destroys on ECONNRESET', () => {
    const socket = new FakeSocket();
    onClientError(parseError('ECONNRESET'), socket);
    expect(socket.destroyed).toBe(true);
    expect(socket.written).toEqual([]);
  });

  it('answers at most once per socket', async () => {
    const socket = new FakeSocket();
    onClientError(parseError('HPE_INVALID_METHOD'), socket);
    onClientError(parseError('HPE_INVALID_URL'), socket);
    await once(socket, 'close');
    expect(socket.text().match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('writes nothing over a response already under way', async () => {
    const socket = new FakeSocket();
    const res = Object.assign(new Duplex({ read() {}, write(_c, _e, cb) { cb(); } }), { headersSent: true, req: { complete: false } });
    (socket as unknown as { _httpMessage: unknown })._httpMessage = res;
    onClientError(parseError('HPE_INVALID_CHUNK_SIZE'), socket);
    expect(socket.destroyed).toBe(true);
    expect(socket.written).toEqual([]);
  });

  it('answers CONNECT with 405', async () => {
    const socket = new FakeSocket();
    onConnect(req(), socket);
    await once(socket, 'close');
    expect(socket.text()).toContain('HTTP/1.1 405 Method Not Allowed\r\n');
    expect(socket.text()).toContain('{"error":"connect-not-allowed",');
  });
});
