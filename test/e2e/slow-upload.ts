// A client that sends its request body when the test says so, on a raw socket, and a bounded poll: for the body tests.
import net from 'node:net';
import { parseResponses, type RawResponse } from '../helpers/raw-http.js';

export interface SlowUpload {
  /** Send `n` more body bytes ('x'). */
  send(n: number): void;
  /** Everything the server sent once it closed the connection (or `end()` was called and it answered). */
  readonly done: Promise<{ responses: RawResponse[]; closedByServer: boolean }>;
  /** The first response, as soon as it is complete (the connection may stay open). */
  readonly answered: Promise<RawResponse>;
  destroy(): void;
}

/** POST `path` announcing `length` body bytes; `initial` of them are sent with the head. */
export function slowUpload(port: number, path: string, length: number, initial = 0, headers: Record<string, string> = {}): SlowUpload {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  let text = '';
  let closedByServer = false;
  let answer!: (r: RawResponse) => void;
  const answered = new Promise<RawResponse>((r) => (answer = r));
  const done = new Promise<{ responses: RawResponse[]; closedByServer: boolean }>((resolve) => {
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const first = parseResponses(text)[0];
      if (first !== undefined) answer(first);
    });
    socket.on('end', () => (closedByServer = true));
    socket.on('close', () => resolve({ responses: parseResponses(text), closedByServer }));
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n${extra}\r\n${'x'.repeat(initial)}`);
  return {
    send: (n) => void (socket.destroyed || socket.write('x'.repeat(n))),
    done,
    answered,
    destroy: () => socket.destroy(),
  };
}

/** Polls `cond` (each look awaits it) until it holds; a bounded number of looks, 10 ms apart. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, looks = 500): Promise<void> {
  for (let i = 0; i < looks; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`still waiting for ${what}`);
}
