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
  /**
   * Parse only samples whose metric name passes (the others are skipped unread); default: every sample. A set of names
   * is matched on the bytes (length first, then bytes): an unwanted line costs no string at all.
   */
  want?: ((name: string) => boolean) | ReadonlySet<string>;
  /** Bytes of body accepted in all; past it write() throws. */
  maxBytes: number;
}

/** Longest line accepted (bytes): label sets of real servers stay far below; a body without newlines fails fast. */
const MAX_LINE = 65_536;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;

/** Metric name bytes: 1 may start a name ([A-Za-z_:]), 2 may only continue one ([0-9]). */
const NAME_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME_BYTE[c] = 1;
  else if (/[0-9]/.test(ch)) NAME_BYTE[c] = 2;
}

/** `TYPE` after `#`. */
const TYPE = Buffer.from('TYPE');

export class PromTextParser {
  readonly #want: ((name: string) => boolean) | null;
  /** The wanted names' bytes by byte length, when `want` is a set. */
  readonly #wantBytes: Map<number, Buffer[]> | null;
  readonly #maxBytes: number;
  readonly #onSample: (s: PromSample) => void;
  /** The bytes of a line not yet ended by a newline (joined once it ends: a long line split in many chunks costs no more). */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** The first half of a surrogate pair that ended a text chunk. */
  #highSurrogate = '';
  #bytes = 0;
  #line = 0;
  /** `# TYPE` of each metric family seen (counter, gauge, histogram, summary, untyped). */
  readonly types = new Map<string, string>();

  constructor(onSample: (s: PromSample) => void, options: PromParserOptions) {
    this.#onSample = onSample;
    const want = options.want;
    if (want === undefined || typeof want === 'function') {
      this.#want = want ?? null;
      this.#wantBytes = null;
    } else {
      this.#want = null;
      this.#wantBytes = new Map();
      for (const name of want) {
        // Metric names are ASCII by the format (and by the config's check); latin1 would fold anything else.
        if (!/^[\x21-\x7e]+$/.test(name)) throw new Error(`not a metric name: ${JSON.stringify(name)}`);
        const bytes = Buffer.from(name, 'latin1');
        const same = this.#wantBytes.get(bytes.length);
        if (same === undefined) this.#wantBytes.set(bytes.length, [bytes]);
        else same.push(bytes);
      }
    }
    this.#maxBytes = options.maxBytes;
  }

  /**
   * Feed the next chunk, split anywhere. Throws PromParseError on a malformed wanted line or past maxBytes.
   * Lines are found and judged as bytes: only a wanted sample's line (a few in hundreds) is decoded to text, so a split
   * UTF-8 sequence can only be inside a line, which is kept whole until its newline.
   */
  write(chunk: Uint8Array | string): void {
    const buf = typeof chunk === 'string' ? this.#encode(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#bytes += buf.length;
    if (this.#bytes > this.#maxBytes) throw new PromParseError(`body larger than ${this.#maxBytes} bytes`, this.#line + 1);
    let nl = buf.indexOf(NL);
    if (nl === -1) {
      this.#hold(buf, 0);
      return;
    }
    if (this.#pending.length === 0) this.#parseLine(buf, 0, nl);
    else {
      this.#pending.push(buf.subarray(0, nl));
      const line = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingLength = 0;
      this.#parseLine(line, 0, line.length);
    }
    let start = nl + 1;
    for (nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      this.#parseLine(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) this.#hold(buf, start);
  }

  /** Text chunks become UTF-8; a chunk ending inside a surrogate pair keeps its first half for the next one. */
  #encode(text: string): Buffer {
    if (this.#highSurrogate !== '') {
      text = this.#highSurrogate + text;
      this.#highSurrogate = '';
    }
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#highSurrogate = text.slice(-1);
      text = text.slice(0, -1);
    }
    return Buffer.from(text);
  }

  /** Keeps (a copy of) an unfinished line's bytes; one longer than MAX_LINE is an error (no real metrics line comes near it). */
  #hold(buf: Buffer, from: number): void {
    this.#pending.push(Buffer.from(buf.subarray(from)));
    this.#pendingLength += buf.length - from;
    if (this.#pendingLength > MAX_LINE) throw new PromParseError(`a line longer than ${MAX_LINE} bytes`, this.#line + 1);
  }

  /** The body has ended: parse its last line (the format ends with a newline, but a missing one is forgiven). */
  end(): void {
    if (this.#highSurrogate !== '') this.#pending.push(Buffer.from(this.#highSurrogate));
    this.#highSurrogate = '';
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingLength = 0;
    if (rest.length > 0) this.#parseLine(rest, 0, rest.length);
  }

  /** One line, bytes [from, to) of `buf` without its newline. */
  #parseLine(buf: Buffer, from: number, to: number): void {
    this.#line++;
    // A byte order mark at the very start is not part of the first metric name.
    if (this.#line === 1 && buf[from] === 0xef && buf[from + 1] === 0xbb && buf[from + 2] === 0xbf) from += 3;
    if (to > from && buf[to - 1] === CR) to--;
    let i = from;
    while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i++;
    if (i === to) return;
    if (buf[i] === HASH) {
      this.#comment(buf, i + 1, to);
      return;
    }
    if (NAME_BYTE[buf[i]!] !== 1) throw new PromParseError(`expected a metric name, got ${JSON.stringify(buf.toString('utf8', i, to).slice(0, 20))}`, this.#line);
    const nameStart = i;
    while (i < to && NAME_BYTE[buf[i]!] !== 0) i++;
    if (this.#wantBytes !== null && !wantedBytes(this.#wantBytes, buf, nameStart, i)) return;
    // Name bytes are ASCII: latin1 is their exact text.
    const name = buf.toString('latin1', nameStart, i);
    if (this.#want !== null && !this.#want(name)) return;
    // Everything before `i` was ASCII, so byte and character offsets agree up to there.
    this.#sample(buf.toString('utf8', from, to), i - from, name);
  }

  /** The rest of a wanted sample's line, from just past its name. */
  #sample(line: string, from: number, name: string): void {
    let i = skipSpaces(line, from);
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

  /** `# TYPE name type` is remembered; HELP and free comments are skipped without being decoded. */
  #comment(buf: Buffer, from: number, to: number): void {
    let i = from;
    while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i++;
    if (to - i < 5 || buf.compare(TYPE, 0, 4, i, i + 4) !== 0 || (buf[i + 4] !== SPACE && buf[i + 4] !== TAB)) return;
    const words = buf.toString('utf8', i, to).trim().split(/\s+/);
    if (words.length >= 3) this.types.set(words[1]!, words[2]!.toLowerCase());
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

/** Is bytes [from, to) of `buf` one of the names in `byLength`? */
function wantedBytes(byLength: Map<number, Buffer[]>, buf: Buffer, from: number, to: number): boolean {
  const candidates = byLength.get(to - from);
  if (candidates === undefined) return false;
  for (const c of candidates) if (buf.compare(c, 0, c.length, from, to) === 0) return true;
  return false;
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
