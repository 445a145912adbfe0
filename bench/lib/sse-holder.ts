/**
 * Holds thousands of SSE streams open with raw sockets (no http.Agent, no parser): one request written per socket,
 * then every chunk is only scanned for the events' `"t":` stamps. A node:http client costs several KB and a parser per
 * stream on the client side; this keeps a 10k-stream client light enough to share two cores with the proxy it measures.
 */
import net from 'node:net';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface SseHolder {
  /** Streams whose response head (200) arrived and that are still open. */
  readonly open: number;
  /** Streams that failed (refused, reset, non-200, closed early). */
  readonly failed: number;
  /** Events received since the last resetCounters(). */
  readonly events: number;
  /** Delivery delay of each event (client receive time - backend write time), µs, since the last resetCounters(). */
  readonly delayUs: RecordableHistogram;
  resetCounters(): void;
  /** Open `n` more streams, at most `batch` connecting at once; resolves when each has its head or has failed. */
  openStreams(n: number, batch?: number): Promise<void>;
  close(): Promise<void>;
}

const STAMP = '"t":';

export function sseHolder(port: number, path: string, host = '127.0.0.1'): SseHolder {
  const sockets = new Set<net.Socket>();
  let open = 0;
  let failed = 0;
  let events = 0;
  let delayUs = createHistogram();
  const request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`;

  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ port, host });
      let headed = false;
      let settled = false;
      const settle = (): void => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      socket.setNoDelay(true);
      socket.once('connect', () => socket.write(request));
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        let from = 0;
        if (!headed) {
          if (!text.startsWith('HTTP/1.1 200')) {
            socket.destroy(); // counted as failed on close
            settle();
            return;
          }
          headed = true;
          open++;
          settle();
          from = text.indexOf('\r\n\r\n');
        }
        const now = Date.now();
        for (let at = text.indexOf(STAMP, from); at !== -1; at = text.indexOf(STAMP, at + STAMP.length)) {
          const t = Number.parseInt(text.slice(at + STAMP.length, at + STAMP.length + 16), 10);
          events++;
          if (Number.isFinite(t)) delayUs.record(Math.max(1, (now - t) * 1000)); // ms resolution; 0 ms recorded as 1 µs
        }
      });
      socket.on('error', () => {});
      socket.once('close', () => {
        sockets.delete(socket);
        if (headed) open--;
        else failed++;
        settle();
      });
      sockets.add(socket);
    });

  return {
    get open() {
      return open;
    },
    get failed() {
      return failed;
    },
    get events() {
      return events;
    },
    get delayUs() {
      return delayUs;
    },
    resetCounters() {
      events = 0;
      delayUs = createHistogram();
    },
    async openStreams(n, batch = 250) {
      for (let done = 0; done < n; done += batch) {
        await Promise.all(Array.from({ length: Math.min(batch, n - done) }, openOne));
      }
    },
    async close() {
      const closing = [...sockets].map((s) => new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      }));
      await Promise.all(closing);
    },
  };
}
