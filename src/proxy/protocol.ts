// Which protocol a request came in on. `httpVersionMajor === 2` is not enough: node:http's parser also reports 2 for
// an HTTP/1 request line that claims `HTTP/2.0` (refused with 505 by strict.ts); only node:http2's compatibility
// objects carry the stream.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function isHttp2Request(req: IncomingMessage): boolean {
  return (req as { stream?: unknown }).stream !== undefined;
}

export function isHttp2Response(res: ServerResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}
