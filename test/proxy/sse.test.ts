// The event counter of text/event-stream responses: an event ends at a blank line (LF, CRLF or CR line ends),
// across chunk boundaries, and blank lines that end nothing count nothing.
import { expect, test } from 'vitest';
import { SseEventCounter, isEventStream } from '../../src/proxy/sse.js';

/** Events completed by each chunk, fed in order to one counter. */
function counts(...chunks: string[]): number[] {
  const c = new SseEventCounter();
  return chunks.map((s) => c.feed(Buffer.from(s)));
}

test.each([
  ['LF', ['data: a\n\n'], [1]],
  ['CRLF', ['data: a\r\n\r\n'], [1]],
  ['CR', ['data: a\r\r'], [1]],
  ['two events in one chunk', ['data: a\n\ndata: b\n\n'], [2]],
  ['multi-line event', ['event: t\ndata: a\ndata: b\n\n'], [1]],
  ['no blank line yet', ['data: a\n'], [0]],
  ['LF split across chunks', ['data: a\n', '\n'], [0, 1]],
  ['CRLF CRLF split in the middle', ['data: a\r\n', '\r\n'], [0, 1]],
  ['CR | LF split', ['data: a\r', '\n\r\n'], [0, 1]],
  ['CRLF is one line end, not two', ['data: a\r\ndata: b\r\n'], [0]],
  ['extra blank lines after an event end nothing', ['data: a\n\n\n\n'], [1]],
  ['extra CRLF blank lines after an event end nothing', ['data: a\r\n\r\n\r\n'], [1]],
  ['blank lines at the start end nothing', ['\n\n\r\n', 'data: a\n\n'], [0, 1]],
  ['one byte at a time', ['d', '\r', '\n', '\r', '\n', 'x', '\n', '\n'], [0, 0, 0, 1, 0, 0, 0, 1]],
])('%s', (_name, chunks, expected) => {
  expect(counts(...chunks)).toEqual(expected);
});

test('content types', () => {
  expect(isEventStream('text/event-stream')).toBe(true);
  expect(isEventStream('text/event-stream; charset=utf-8')).toBe(true);
  expect(isEventStream('Text/Event-Stream')).toBe(true);
  expect(isEventStream('application/json')).toBe(false);
  expect(isEventStream('text/event-streams')).toBe(false);
  expect(isEventStream(undefined)).toBe(false);
});
