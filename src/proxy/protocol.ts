// The client's protocol as the access log names it. Reads only what node's HTTP/1 IncomingMessage and its HTTP/2
// compatibility request (Http2ServerRequest) both have: httpVersionMajor/Minor and headers.
import type { IncomingMessage } from 'node:http';

/** `grpc` for HTTP/2 with a gRPC content type (application/grpc, application/grpc+proto, ...; not grpc-web), else h2 or h1. */
export function protocolOf(req: IncomingMessage): 'h1' | 'h2' | 'grpc' {
  if (req.httpVersionMajor !== 2) return 'h1';
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
  if (req.httpVersionMajor === 2) return '2.0';
  return req.httpVersionMinor === 0 ? '1.0' : '1.1';
}
