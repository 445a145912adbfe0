// Counts the server-sent events completed in a streamed response, chunk by chunk, without copying the chunks.
//
// An event ends at a blank line: two line ends in a row, where a line end is LF, CRLF or CR (the SSE grammar).
// A blank line right after an event (or at the start) ends nothing, as it dispatches nothing to a browser.

const LF = 0x0a;
const CR = 0x0d;

// Where the scanner stands between chunks.
/** The start of the stream, or just after an event ended. */
const START = 0;
/** Inside a line. */
const TEXT = 1;
/** A line just ended (LF, or CRLF). */
const LINE_END = 2;
/** A line just ended with CR: an LF next belongs to it. */
const LINE_END_CR = 3;
/** An event (or a blank line at the start) just ended with CR: an LF next belongs to it. */
const START_CR = 4;

export class SseEventCounter {
  #at = START;

  /** The number of events this chunk completes (an event split across chunks counts in the chunk that ends it). */
  feed(chunk: Uint8Array): number {
    let at = this.#at;
    let events = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === LF) {
        if (at === TEXT || at === LINE_END_CR) at = LINE_END;
        else if (at === LINE_END) {
          events++;
          at = START;
        } else at = START; // START, START_CR: nothing to end (an LF after CR completes that CRLF)
      } else if (c === CR) {
        if (at === TEXT) at = LINE_END_CR;
        else if (at === LINE_END || at === LINE_END_CR) {
          events++;
          at = START_CR;
        } else at = START_CR;
      } else at = TEXT;
    }
    this.#at = at;
    return events;
  }
}

/** Whether a response's content-type says server-sent events. */
export function isEventStream(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && /^\s*text\/event-stream\b/i.test(contentType);
}
