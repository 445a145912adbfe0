// protocol.ts: h1 / h2 / grpc and the request-line version, from fields node's HTTP/1 and HTTP/2 compatibility requests share.
import type { IncomingMessage } from 'node:http';
import { expect, test } from 'vitest';
import { httpVersionOf, protocolOf } from '../../src/proxy/protocol.js';

const req = (major: number, minor: number, contentType?: string): IncomingMessage =>
  ({ httpVersionMajor: major, httpVersionMinor: minor, ...(major === 2 ? { stream: {} } : {}), headers: contentType === undefined ? {} : { 'content-type': contentType } }) as unknown as IncomingMessage;

test.each([
  [1, 1, undefined, 'h1', '1.1'],
  [1, 0, undefined, 'h1', '1.0'],
  // gRPC needs HTTP/2: an HTTP/1.1 request with the content type is not gRPC.
  [1, 1, 'application/grpc', 'h1', '1.1'],
  [2, 0, undefined, 'h2', '2.0'],
  [2, 0, 'application/json', 'h2', '2.0'],
  [2, 0, 'application/grpc', 'grpc', '2.0'],
  [2, 0, 'application/grpc+proto', 'grpc', '2.0'],
  [2, 0, 'application/grpc;charset=utf-8', 'grpc', '2.0'],
  [2, 0, 'application/grpc-web', 'h2', '2.0'],
  [2, 0, 'application/grpcx', 'h2', '2.0'],
])('HTTP/%i.%i content-type %s -> %s, %s', (major, minor, type, proto, version) => {
  const r = req(major, minor, type);
  expect(protocolOf(r)).toBe(proto);
  expect(httpVersionOf(r)).toBe(version);
});
