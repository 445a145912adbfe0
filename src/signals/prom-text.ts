// A streaming parser of the Prometheus text exposition format (0.0.4, and the sample lines OpenMetrics shares with it).
//
// Why our own: prom-client (the one metrics library installed) only writes this format, it has no parser, and no other
// dependency reads it (@prometheus-io/lezer-promql parses PromQL queries, not exposition text). The format is small:
// a line is a comment (# HELP / # TYPE / anything else), blank, or `name{label="value",...} value [timestamp]`.
//
// Streaming, because a model server's /metrics can be hundreds of KB of histograms of which we want three gauges: the
// body is fed chunk by chunk as it arrives (a chunk may end anywhere, in a label value or inside a UTF-8 sequence), a
// line whose metric name is not wanted is skipped without reading its labels, and nothing past `maxBytes` is read.

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** NaN, +Inf and -Inf as JavaScript numbers. */
  readonly value: number;
  /** ms since the epoch when the line carries one. */
  readonly timestampMs?: number;
}

export class PromParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface PromParserOptions {
  /** Parse only samples whose metric name passes (the others are skipped unread); default: every sample. */
  want?: (name: string) => boolean;
  /** Bytes of body accepted in all; past it write() throws. */
  maxBytes: number;
}

const NAME_START = /[A-Za-z_:]/;
/** Longest line accepted (characters): label sets of real servers stay far below; a body without newlines fails fast. */
const MAX_LINE = 65_536;
const NAME_CHAR = /[A-Za-z0-9_:]/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class PromTextParser {
  readonly #want: (name: string) => boolean;
  readonly #maxBytes: number;
  readonly #onSample: (s: PromSample) => void;
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  /** The parts of a line not yet ended by a newline (joined once it ends: a long line split in many chunks costs no more). */
  #pending: string[] = [];
  #pendingLength = 0;
  #bytes = 0;
  #line = 0;
  /** `# TYPE` of each metric family seen (counter, gauge, histogram, summary, untyped). */
  readonly types = new Map<string, string>();

  constructor(onSample: (s: PromSample) => void, options: PromParserOptions) {
    this.#onSample = onSample;
    this.#want = options.want ?? (() => true);
    this.#maxBytes = options.maxBytes;
  }

  /** Feed the next chunk, split anywhere. Throws PromParseError on a malformed wanted line or past maxBytes. */
  write(chunk: Uint8Array | string): void {
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    this.#bytes += size;
    if (this.#bytes > this.#maxBytes) throw new PromParseError(`body larger than ${this.#maxBytes} bytes`, this.#line + 1);
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    // A byte order mark at the very start is not part of the first metric name.
    if (this.#line === 0 && this.#pendingLength === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    // Only the new text is searched for newlines: what is pending has none.
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.#hold(text);
      return;
    }
    this.#parseLine(this.#pending.length === 0 ? text.slice(0, nl) : this.#pending.join('') + text.slice(0, nl));
    this.#pending = [];
    this.#pendingLength = 0;
    let start = nl + 1;
    for (nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#parseLine(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) this.#hold(text.slice(start));
  }

  /** Keeps an unfinished line; one longer than MAX_LINE is an error (no real metrics line comes near it). */
  #hold(part: string): void {
    this.#pending.push(part);
    this.#pendingLength += part.length;
    if (this.#pendingLength > MAX_LINE) throw new PromParseError(`a line longer than ${MAX_LINE} characters`, this.#line + 1);
  }

  /** The body has ended: parse its last line (the format ends with a newline, but a missing one is forgiven). */
  end(): void {
    const rest = this.#pending.join('') + this.#decoder.decode();
    this.#pending = [];
    this.#pendingLength = 0;
    if (rest.length > 0) this.#parseLine(rest);
  }

  #parseLine(raw: string): void {
    this.#line++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let i = skipSpaces(line, 0);
    if (i === line.length) return;
    if (line[i] === '#') {
      this.#comment(line, i + 1);
      return;
    }
    if (!NAME_START.test(line[i]!)) throw new PromParseError(`expected a metric name, got ${JSON.stringify(line.slice(i, i + 20))}`, this.#line);
    const nameStart = i;
    while (i < line.length && NAME_CHAR.test(line[i]!)) i++;
    const name = line.slice(nameStart, i);
    if (!this.#want(name)) return;
    i = skipSpaces(line, i);
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const r = this.#labels(line, i + 1);
      labels = r.labels;
      i = skipSpaces(line, r.end);
    }
    const valueEnd = tokenEnd(line, i);
    if (valueEnd === i) throw new PromParseError(`${name}: no value`, this.#line);
    const value = parseValue(line.slice(i, valueEnd));
    if (value === null) throw new PromParseError(`${name}: invalid value ${JSON.stringify(line.slice(i, valueEnd))}`, this.#line);
    i = skipSpaces(line, valueEnd);
    let timestampMs: number | undefined;
    // OpenMetrics exemplars (` # {...} v`) may follow the value directly; they say nothing about load.
    if (i < line.length && line[i] !== '#') {
      const tsEnd = tokenEnd(line, i);
      const ts = Number(line.slice(i, tsEnd));
      if (!Number.isFinite(ts)) throw new PromParseError(`${name}: invalid timestamp ${JSON.stringify(line.slice(i, tsEnd))}`, this.#line);
      timestampMs = ts;
      // OpenMetrics exemplars (` # {...} v`) follow; they say nothing about load.
      i = skipSpaces(line, tsEnd);
      if (i < line.length && line[i] !== '#') throw new PromParseError(`${name}: unexpected text after the timestamp`, this.#line);
    }
    this.#onSample(timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs });
  }

  /** `# TYPE name type` is remembered; HELP and free comments are skipped. */
  #comment(line: string, from: number): void {
    const words = line.slice(from).trim().split(/\s+/);
    if (words[0] === 'TYPE' && words.length >= 3) this.types.set(words[1]!, words[2]!.toLowerCase());
  }

  /** Parses `a="x",b="y\"z"}` from `from` (just past `{`); returns the labels and the index just past `}`. */
  #labels(line: string, from: number): { labels: Record<string, string>; end: number } {
    const labels: Record<string, string> = {};
    let i = from;
    for (;;) {
      i = skipSpaces(line, i);
      if (line[i] === '}') return { labels, end: i + 1 };
      const eq = line.indexOf('=', i);
      if (eq === -1) throw new PromParseError('unterminated label set', this.#line);
      const key = line.slice(i, eq).trim();
      if (!LABEL_NAME.test(key)) throw new PromParseError(`invalid label name ${JSON.stringify(key)}`, this.#line);
      i = skipSpaces(line, eq + 1);
      if (line[i] !== '"') throw new PromParseError(`label ${key}: value must be quoted`, this.#line);
      i++;
      let value = '';
      for (;;) {
        if (i >= line.length) throw new PromParseError(`label ${key}: unterminated value`, this.#line);
        const c = line[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          // The format escapes exactly these three; another escape is kept as written, as Prometheus does.
          value += next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next ?? ''}`;
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      labels[key] = value;
      i = skipSpaces(line, i + 1);
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new PromParseError(`expected , or } after label ${key}`, this.#line);
    }
  }
}

function skipSpaces(line: string, i: number): number {
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

function tokenEnd(line: string, i: number): number {
  while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
  return i;
}

/** A Go ParseFloat value as the format allows: decimals, exponents, NaN, +Inf / -Inf / Inf (any case). */
function parseValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  // Number('') is 0 and Number('0x10') is 16: neither is a sample value.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Parse a whole body at once (tests, small bodies). */
export function parsePromText(text: string, options: PromParserOptions = { maxBytes: Number.POSITIVE_INFINITY }): PromSample[] {
  const out: PromSample[] = [];
  const p = new PromTextParser((s) => out.push(s), options);
  p.write(text);
  p.end();
  return out;
}
