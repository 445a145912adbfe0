// Per-request metric children that add up in plain numbers and fold into prom-client when it collects.
//
// Checked against prom-client 15.1.3 (pinned exactly in package.json): the histogram fold writes prom-client's
// stored series (`hashMap`, not public API). HISTOGRAM_INTERNALS_OK re-checks the shape at load; if a future
// version stores series differently, histograms fall back to plain prom-client children (correct, slower).
import { Histogram, type Counter } from 'prom-client';

/*
 * Batched children for the per-request metrics. A prom-client child rebuilds and hashes its label string
 * on every inc()/observe() (~1 µs per call, three calls per request); these add up in plain numbers and
 * fold the sums into prom-client from the metric's `collect()`, which every read (scrape, get()) runs first.
 */
type LabelSet = Record<string, string>;

/** One string per label set, in the metric's label order, so that a child and its stored series agree. */
const labelKey = (names: readonly string[], labels: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(names.map((name) => String(labels[name] ?? '')));
const labelNamesOf = (metric: Counter<string> | Histogram<string>): readonly string[] =>
  (metric as unknown as { labelNames: readonly string[] }).labelNames;

class BatchedCounter implements Counter.Internal {
  pending = 0;
  constructor(readonly target: Counter.Internal) {}

  inc(value = 1): void {
    // Let prom-client reject what it rejects (negative, NaN), at once.
    if (value >= 0 && value !== Infinity) this.pending += value;
    else this.target.inc(value);
  }
}

/** The batched children of one Counter, one per label set. */
export class BatchedCounters {
  readonly #children = new Map<string, BatchedCounter>();

  child(counter: Counter<string>, labels: LabelSet): BatchedCounter {
    const key = labelKey(labelNamesOf(counter), labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      child = new BatchedCounter(counter.labels(labels));
      this.#children.set(key, child);
    }
    return child;
  }

  flush(): void {
    for (const child of this.#children.values()) {
      if (child.pending === 0) continue;
      const n = child.pending;
      child.pending = 0;
      child.target.inc(n);
    }
  }
}

/** prom-client 15's stored series of a histogram (not public API; checked once, see HISTOGRAM_INTERNALS_OK). */
interface HistogramSeries {
  labels: LabelSet;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

const seriesOf = (h: Histogram<string>): Record<string, HistogramSeries> | undefined =>
  (h as unknown as { hashMap?: Record<string, HistogramSeries> }).hashMap;

/** Whether this prom-client stores histograms as batching expects; if not, children stay plain prom-client ones. */
const HISTOGRAM_INTERNALS_OK = ((): boolean => {
  try {
    const h = new Histogram({ name: 'probe', help: 'probe', labelNames: ['a'], buckets: [1, 2], registers: [] });
    h.zero({ a: 'x' });
    const series = Object.values(seriesOf(h) ?? {});
    const s = series[0];
    return series.length === 1 && s !== undefined && s.labels.a === 'x' && s.sum === 0 && s.count === 0 &&
      s.bucketValues['1'] === 0 && s.bucketValues['2'] === 0;
  } catch {
    return false;
  }
})();

class BatchedHistogram implements Histogram.Internal<string> {
  /** Observations per bucket since the last flush (index i counts values <= bounds[i], above bounds[i - 1]). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: LabelSet,
    readonly bounds: readonly number[],
    readonly target: Histogram.Internal<string>,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) {
      this.target.observe(value); // throws prom-client's TypeError
      return;
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  startTimer(): (labels?: Partial<Record<string, string | number>>) => void {
    return this.target.startTimer();
  }
}

/** The batched children of one Histogram, one per label set. */
export class BatchedHistograms {
  readonly #children = new Map<string, BatchedHistogram>();
  constructor(readonly bounds: readonly number[]) {}

  child(histogram: Histogram<string>, labels: LabelSet): Histogram.Internal<string> {
    const target = histogram.labels(labels);
    if (!HISTOGRAM_INTERNALS_OK) return target;
    const key = labelKey(labelNamesOf(histogram), labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      child = new BatchedHistogram(labels, this.bounds, target);
      this.#children.set(key, child);
    }
    return child;
  }

  /** Adds the pending observations to prom-client's series (created as observe() would, on first use). */
  flush(histogram: Histogram<string>): void {
    let byKey: Map<string, HistogramSeries> | null = null;
    for (const [key, child] of this.#children) {
      if (child.count === 0) continue;
      byKey ??= seriesByKey(histogram);
      let series = byKey.get(key);
      if (series === undefined) {
        histogram.zero(child.labels);
        byKey = seriesByKey(histogram);
        series = byKey.get(key);
        if (series === undefined) continue;
      }
      const { bounds, counts } = child;
      for (let i = 0; i < bounds.length; i++) {
        if (counts[i] === 0) continue;
        series.bucketValues[bounds[i]!] = (series.bucketValues[bounds[i]!] ?? 0) + counts[i]!;
        counts[i] = 0;
      }
      series.sum += child.sum;
      series.count += child.count;
      child.sum = 0;
      child.count = 0;
    }
  }
}

function seriesByKey(histogram: Histogram<string>): Map<string, HistogramSeries> {
  const names = labelNamesOf(histogram);
  const out = new Map<string, HistogramSeries>();
  for (const series of Object.values(seriesOf(histogram) ?? {})) out.set(labelKey(names, series.labels), series);
  return out;
}

