// Raw HTTP/2 frames for the strictness corpus: node:http2's client refuses to send malformed requests, so these are
// written by hand. HPACK here is "literal header field without indexing, new name", no Huffman (RFC 7541 §6.2.2),
// which any decoder must accept.
import net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const enum FrameType { DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, GOAWAY = 7 }
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

function prefixInt(value: number, prefixBits: number, firstByteFlags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function literal(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([prefixInt(bytes.length, 7), bytes]);
}

/** A header block from [name, value] pairs, exactly as given (case, order, duplicates, bad bytes). */
export function hpack(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(headers.flatMap(([n, v]) => [Buffer.from([0x00]), literal(n), literal(v)]));
}

export function frame(type: FrameType, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

export interface FrameSeen {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * Opens a connection, sends the preface, an empty SETTINGS and `frames`, and collects what the server sends back
 * until stream 1 is over, the connection closes, or `waitMs` passes.
 */
export function exchangeFrames(port: number, frames: Buffer[], waitMs = 400): Promise<FrameSeen[]> {
  return new Promise((resolve) => {
    const seen: FrameSeen[] = [];
    let buf = Buffer.alloc(0);
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0), ...frames]));
    });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(seen);
    };
    const timer = setTimeout(done, waitMs);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = { type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        buf = buf.subarray(9 + len);
        seen.push(f);
        // Stream 1 is over (answered to the end, reset, or the connection refused): no need to wait longer.
        if ((f.streamId === 1 && ((f.flags & END_STREAM) !== 0 || f.type === FrameType.RST_STREAM)) || f.type === FrameType.GOAWAY) {
          done();
          return;
        }
        // Ack the server's SETTINGS, as a client must.
        if (f.type === FrameType.SETTINGS && (f.flags & 0x1) === 0) s.write(frame(FrameType.SETTINGS, 0x1, 0));
      }
    });
    s.on('error', () => undefined);
    s.on('close', done);
  });
}

/** What happened to stream 1: refused (RST_STREAM / GOAWAY) or answered with a status (read from an indexed :status). */
export function outcome(frames: FrameSeen[]): { refused: boolean; status: number | null } {
  const rst = frames.some((f) => (f.type === FrameType.RST_STREAM && f.streamId === 1) || f.type === FrameType.GOAWAY);
  const headers = frames.find((f) => f.type === FrameType.HEADERS && f.streamId === 1);
  // Static table entries 8-14 are :status 200 204 206 304 400 404 500; others come as literals (status unknown here).
  const STATIC: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 };
  const status = headers === undefined ? null : (STATIC[headers.payload[0]!] ?? -1);
  return { refused: rst && headers === undefined, status };
}
