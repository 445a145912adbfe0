// Which protocol a request came in on, for the request path and the access log. `httpVersionMajor === 2` is not
// enough to tell HTTP/2: node:http's parser also reports 2 for an HTTP/1 request line that claims `HTTP/2.0`
// (refused with 505 by strict.ts); only node:http2's compatibility objects carry the stream.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function isHttp2Request(req: IncomingMessage): boolean {
  return (req as { stream?: unknown }).stream !== undefined;
}

export function isHttp2Response(res: ServerResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}

/** `grpc` for HTTP/2 with a gRPC content type (application/grpc, application/grpc+proto, ...; not grpc-web), else h2 or h1. */
export function protocolOf(req: IncomingMessage): 'h1' | 'h2' | 'grpc' {
  if (!isHttp2Request(req)) return 'h1';
  return isGrpcContentType(req.headers['content-type']) ? 'grpc' : 'h2';
}

function isGrpcContentType(type: string | undefined): boolean {
  if (type === undefined || !type.startsWith('application/grpc')) return false;
  const next = type.charCodeAt(16);
  // End, `+proto` / `+json`, or parameters; `application/grpc-web` is another protocol.
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/** The version as a request line writes it (nginx logs HTTP/2 requests as HTTP/2.0). */
export function httpVersionOf(req: IncomingMessage): string {
  if (isHttp2Request(req)) return '2.0';
  return req.httpVersionMinor === 0 ? '1.0' : '1.1';
}
