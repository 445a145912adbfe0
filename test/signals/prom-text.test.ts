// The streaming Prometheus text parser: every line form of the format, and chunks split anywhere.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePromText, PromParseError, PromTextParser, type PromSample } from '../../src/signals/prom-text.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function parseInChunks(text: string, sizes: (i: number) => number): PromSample[] {
  const out: PromSample[] = [];
  const p = new PromTextParser((s) => out.push(s), { maxBytes: Infinity });
  const bytes = Buffer.from(text);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    p.write(bytes.subarray(at, at + n));
    at += n;
  }
  p.end();
  return out;
}

describe('PromTextParser', () => {
  it('reads names, labels, values and timestamps; skips HELP, TYPE and other comments; remembers TYPE', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '# a free comment',
      '',
      '   ',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'negative{} -Inf',
      'not_a_number NaN',
      'exp:colon_name 1.5e-03',
    ].join('\n');
    const p = new PromTextParser(() => {}, { maxBytes: Infinity });
    p.write(text);
    p.end();
    expect(p.types.get('http_requests_total')).toBe('counter');
    const s = parsePromText(text);
    expect(s.map((x) => x.name)).toEqual(['http_requests_total', 'http_requests_total', 'metric_without_timestamp_and_labels', 'something_weird', 'negative', 'not_a_number', 'exp:colon_name']);
    expect(s[0]).toEqual({ name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 });
    expect(s[1]!.value).toBe(3);
    expect(s[2]).toEqual({ name: 'metric_without_timestamp_and_labels', labels: {}, value: 12.47 });
    expect(s[3]!.value).toBe(Infinity);
    expect(s[3]!.timestampMs).toBe(-3982045);
    expect(s[4]!.value).toBe(-Infinity);
    expect(s[5]!.value).toBeNaN();
    expect(s[6]!.value).toBeCloseTo(0.0015);
  });

  it('unescapes \\\\, \\" and \\n in label values, keeps commas, braces and spaces inside quotes', () => {
    const [s] = parsePromText('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",odd="a,b}c d"} 1.458255915e9\n');
    expect(s!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"', odd: 'a,b}c d' });
    expect(s!.value).toBe(1.458255915e9);
  });

  it('accepts a trailing comma in the label set, spaces around labels, CRLF line ends and a missing last newline', () => {
    const s = parsePromText('a{x="1", y = "2",} 5\r\nb 6');
    expect(s).toEqual([{ name: 'a', labels: { x: '1', y: '2' }, value: 5 }, { name: 'b', labels: {}, value: 6 }]);
  });

  it.each([
    ['1bad 1', 'expected a metric name'],
    ['a{x=1} 1', 'must be quoted'],
    ['a{x="1" 1', 'expected , or }'],
    ['a{x="1', 'unterminated value'],
    ['a', 'no value'],
    ['a 0x10', 'invalid value'],
    ['a 1 notatime', 'invalid timestamp'],
    ['a{1x="1"} 1', 'invalid label name'],
  ])('rejects %j (%s) with its line number', (line, message) => {
    let err: unknown;
    try {
      parsePromText(`ok 1\n${line}\n`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PromParseError);
    expect((err as PromParseError).message).toContain(message);
    expect((err as PromParseError).line).toBe(2);
  });

  it('skips unwanted metrics without reading them, so their malformed lines do not matter', () => {
    const s = parsePromText('other{broken 1\nwanted{a="1"} 2\n', { maxBytes: Infinity, want: (n) => n === 'wanted' });
    expect(s).toEqual([{ name: 'wanted', labels: { a: '1' }, value: 2 }]);
  });

  it.each(['vllm.prom', 'vllm-legacy.prom', 'tgi.prom', 'triton.prom', 'sglang.prom'])('gives the same samples for %s whatever the chunk boundaries', (name) => {
    const text = fixture(name);
    const whole = parsePromText(text);
    expect(whole.length).toBeGreaterThanOrEqual(5);
    expect(parseInChunks(text, () => 1)).toEqual(whole);
    expect(parseInChunks(text, () => 7)).toEqual(whole);
    let seed = 3;
    expect(parseInChunks(text, () => (seed = (seed * 1103515245 + 12345) % 97))).toEqual(whole);
  });

  it.each(['vllm.prom', 'vllm-legacy.prom', 'tgi.prom', 'triton.prom', 'sglang.prom'])('a set of names, matched on bytes, picks what the same test as a function picks in %s, whatever the chunks', (name) => {
    const text = fixture(name);
    const all = parsePromText(text);
    // Every other family, plus a name no line has and one of a length no line has.
    const names = new Set([...new Set(all.map((x) => x.name))].filter((_, i) => i % 2 === 0));
    names.add(`${all[0]!.name}_nope`);
    names.add('x');
    const byFunction = parsePromText(text, { maxBytes: Infinity, want: (n) => names.has(n) });
    expect(byFunction.length).toBeGreaterThan(0);
    expect(byFunction.length).toBeLessThan(all.length);
    expect(parsePromText(text, { maxBytes: Infinity, want: names })).toEqual(byFunction);
    const out: PromSample[] = [];
    const p = new PromTextParser((s) => out.push(s), { maxBytes: Infinity, want: names });
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 5) p.write(bytes.subarray(at, at + 5));
    p.end();
    expect(out).toEqual(byFunction);
  });

  it('a name that only starts like a wanted one, or contains it, is not wanted', () => {
    const want = new Set(['vllm:num_requests_waiting']);
    const text = 'vllm:num_requests_waiting_total 9\nvllm:num_requests_waitin 8\nxvllm:num_requests_waiting 7\nvllm:num_requests_waiting{a="b"} 3\n';
    expect(parsePromText(text, { maxBytes: Infinity, want }).map((x) => x.value)).toEqual([3]);
  });

  it('# TYPE is remembered with tabs or several spaces; # HELP, #TYPEX and a short TYPE line are not', () => {
    const p = new PromTextParser(() => {}, { maxBytes: Infinity });
    p.write('#\tTYPE  a\tgauge\n#TYPE b counter\n# TYPEX c gauge\n# TYPE d\n# HELP TYPE e gauge\n');
    p.end();
    expect([...p.types]).toEqual([['a', 'gauge'], ['b', 'counter']]);
  });

  it('text chunks may split a surrogate pair; a set of names must be metric names', () => {
    const out: PromSample[] = [];
    const p = new PromTextParser((s) => out.push(s), { maxBytes: Infinity });
    p.write('a{l="\uD83D');
    p.write('\uDE00"} 1\n');
    p.end();
    expect(out[0]!.labels.l).toBe('\u{1F600}');
    expect(() => new PromTextParser(() => {}, { maxBytes: 1, want: new Set(['\u0161']) })).toThrow(/not a metric name/);
  });

  it('decodes a UTF-8 character split between two chunks', () => {
    const out: PromSample[] = [];
    const p = new PromTextParser((s) => out.push(s), { maxBytes: Infinity });
    const bytes = Buffer.from('m{model="café"} 1\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of é
    p.write(bytes.subarray(0, cut));
    p.write(bytes.subarray(cut));
    p.end();
    expect(out[0]!.labels.model).toBe('café');
  });

  it('fails as soon as the body passes maxBytes', () => {
    const p = new PromTextParser(() => {}, { maxBytes: 10 });
    p.write('a 1\nb 2\n');
    expect(() => p.write('c 3\n')).toThrow(/larger than 10 bytes/);
  });
});

describe('hostile and unusual text', () => {
  it('a line without end fails once past 64 KB (pieces are kept apart until the line ends: no re-joining per chunk)', () => {
    const p = new PromTextParser(() => {}, { maxBytes: 10_000_000 });
    const piece = 'x'.repeat(100);
    let fed = 0;
    expect(() => {
      for (; fed < 2_000; fed++) p.write(piece);
    }).toThrow(/longer than 65536/);
    expect(fed).toBe(655);
  });

  it('a byte order mark at the start and an exemplar right after the value are accepted', () => {
    const got: number[] = [];
    const p = new PromTextParser((s) => got.push(s.value), { maxBytes: 1_000_000 });
    p.write('\uFEFFvllm:num_requests_waiting{model_name="m"} 3 # {trace_id="a"} 1\n');
    p.end();
    expect(got).toEqual([3]);
  });
});
