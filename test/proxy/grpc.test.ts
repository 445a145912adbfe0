// Tables for the gRPC helpers: what is a gRPC request, grpc-timeout parsing, our failures as gRPC statuses, the
// grpc-message encoding, and the trailers-only answer writeFailure gives a gRPC request.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { writeFailure } from '../../src/proxy/error-body.js';
import { Failures, Rejections } from '../../src/proxy/failures.js';
import { GrpcStatus, encodeGrpcMessage, grpcStatusFor, grpcStatusForHttp, isGrpc, parseGrpcTimeout } from '../../src/proxy/grpc.js';

describe('isGrpc', () => {
  it.each([
    ['application/grpc', true],
    ['application/grpc+proto', true],
    ['application/grpc+json', true],
    ['Application/GRPC', true],
    ['application/grpc; charset=utf-8', true],
    ['application/grpc-web', false],
    ['application/grpc-web+proto', false],
    ['application/grpcx', false],
    ['application/json', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (ct, expected) => {
    expect(isGrpc(ct === undefined ? {} : { 'content-type': ct })).toBe(expected);
  });
  it('a repeated content-type is not trusted', () => {
    expect(isGrpc({ 'content-type': ['application/grpc', 'application/grpc'] })).toBe(false);
  });
});

describe('parseGrpcTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['250m', 250],
    ['1500u', 2],
    ['1000u', 1],
    ['1n', 1],
    ['0m', 0],
    ['0n', 0],
    ['99999999S', 99_999_999_000],
    ['123456789S', null],
    ['10', null],
    ['S', null],
    ['1s', null],
    ['1.5S', null],
    [' 1S', null],
    ['-1S', null],
    ['1S ', null],
    [undefined, null],
  ])('%s -> %s', (value, expected) => {
    expect(parseGrpcTimeout(value)).toBe(expected);
  });
});

describe('grpcStatusFor', () => {
  it.each([
    [Failures.connectRefused, GrpcStatus.UNAVAILABLE],
    [Failures.connectTimeout, GrpcStatus.UNAVAILABLE],
    [Failures.upstreamReset, GrpcStatus.UNAVAILABLE],
    [Failures.keepAliveRace, GrpcStatus.UNAVAILABLE],
    [Failures.resetUnread, GrpcStatus.UNAVAILABLE],
    [Failures.streamRefused, GrpcStatus.UNAVAILABLE],
    [Failures.upstreamUnavailable, GrpcStatus.UNAVAILABLE],
    [Failures.noReadyBackend, GrpcStatus.UNAVAILABLE],
    [Failures.queueFull, GrpcStatus.UNAVAILABLE],
    [Failures.queueTimeout, GrpcStatus.UNAVAILABLE],
    [Failures.shuttingDown, GrpcStatus.UNAVAILABLE],
    [Failures.firstByteTimeout, GrpcStatus.DEADLINE_EXCEEDED],
    [Failures.idleTimeout, GrpcStatus.DEADLINE_EXCEEDED],
    [Failures.totalTimeout, GrpcStatus.DEADLINE_EXCEEDED],
    [Failures.invalidResponse, GrpcStatus.INTERNAL],
    [Failures.upstreamError, GrpcStatus.INTERNAL],
    [Failures.internal, GrpcStatus.INTERNAL],
    [Failures.noRoute, GrpcStatus.UNIMPLEMENTED],
    [Failures.bodyTooLarge, GrpcStatus.RESOURCE_EXHAUSTED],
    [Failures.clientClosed, GrpcStatus.CANCELLED],
    [Failures.unforwardable, GrpcStatus.INTERNAL],
    [Rejections.headerTooLarge, GrpcStatus.RESOURCE_EXHAUSTED],
    [Rejections.badRequest, GrpcStatus.INTERNAL],
    [Rejections.trace, GrpcStatus.UNKNOWN],
  ])('%o', (failure, expected) => {
    expect(grpcStatusFor(failure)).toBe(expected);
  });

  it('every failure of the table has a status (none falls through to UNKNOWN by accident)', () => {
    for (const f of Object.values(Failures)) expect(grpcStatusFor(f), f.code).not.toBe(GrpcStatus.UNKNOWN);
  });

  it.each([
    [400, GrpcStatus.INTERNAL],
    [401, GrpcStatus.UNAUTHENTICATED],
    [403, GrpcStatus.PERMISSION_DENIED],
    [404, GrpcStatus.UNIMPLEMENTED],
    [429, GrpcStatus.UNAVAILABLE],
    [502, GrpcStatus.UNAVAILABLE],
    [503, GrpcStatus.UNAVAILABLE],
    [504, GrpcStatus.UNAVAILABLE],
    [500, GrpcStatus.UNKNOWN],
    [200, GrpcStatus.UNKNOWN],
  ])('HTTP %i without grpc-status -> %i (gRPC\'s mapping)', (status, expected) => {
    expect(grpcStatusForHttp(status)).toBe(expected);
  });
});

describe('encodeGrpcMessage', () => {
  it.each([
    ['plain text', 'plain text'],
    ['100% sure', '100%25 sure'],
    ['line\nbreak', 'line%0Abreak'],
    ['café ☕', 'caf%C3%A9 %E2%98%95'],
    ['~', '~'],
  ])('%j -> %j', (text, expected) => {
    expect(encodeGrpcMessage(text)).toBe(expected);
    expect(decodeURIComponent(expected)).toBe(text);
  });
});

describe('writeFailure for a gRPC request', () => {
  // gRPC is HTTP/2: the answer is written by node:http2's compatibility response, read by an HTTP/2 client.
  async function answer(contentType: string, failure = Failures.noReadyBackend): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
    const server = http2.createServer((_req, res) => writeFailure(res as unknown as http.ServerResponse, failure, 'rid-1', false));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      return await new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': contentType });
        let status = 0;
        let headers: http2.IncomingHttpHeaders = {};
        let body = '';
        req.on('response', (h) => {
          status = Number(h[':status']);
          headers = h;
        });
        // The status comes in trailers (node:http2's compatibility head never ends the stream): merged here.
        req.on('trailers', (t) => (headers = { ...headers, ...t }));
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => resolve({ status, headers, body }));
        req.on('error', reject);
        req.end();
      });
    } finally {
      session.close();
      server.close();
    }
  }

  it('is 200, application/grpc, no body, grpc-status and encoded grpc-message (in trailers on HTTP/2)', async () => {
    const r = await answer('application/grpc');
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'no backend is ready to take this request (no-ready-backend)', 'x-request-id': 'rid-1' });
    expect(r.headers['retry-after']).toBeUndefined();
    expect(r.body).toBe('');
  });

  it('a timeout is DEADLINE_EXCEEDED', async () => {
    expect((await answer('application/grpc+proto', Failures.firstByteTimeout)).headers['grpc-status']).toBe('4');
  });

  it('an HTTP/1.1 request claiming gRPC keeps the plain error status (gRPC is HTTP/2 only)', async () => {
    const server = http.createServer((_req, res) => writeFailure(res, Failures.noReadyBackend, 'rid-1', false));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, { method: 'POST', headers: { 'content-type': 'application/grpc' }, body: '' });
      expect(r.status).toBe(503);
      expect(r.headers.get('grpc-status')).toBeNull();
    } finally {
      server.close();
    }
  });

  it('any other request keeps the JSON error', async () => {
    const r = await answer('application/json');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'no-ready-backend', requestId: 'rid-1' });
    expect(r.headers['grpc-status']).toBeUndefined();
  });
});
