// Node's default process metrics keep their standard names (process_*, nodejs_*), so stock dashboards work;
// everything infergate adds is infergate_*.
import { expect, test } from 'vitest';
import { Metrics } from '../../src/observe/metrics.js';

test('default process metrics under their standard names, unprefixed', async () => {
  const m = new Metrics('test');
  const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    expect(names).toContain(n);
  }
  expect(names.filter((n) => n.startsWith('infergate_process_') || n.startsWith('infergate_nodejs_'))).toEqual([]);
  for (const n of names) expect(n).toMatch(/^(infergate_|process_|nodejs_)/);
});

test('off when asked (tests keep /metrics quiet)', async () => {
  const names = (await new Metrics('test', { defaultMetrics: false }).registry.getMetricsAsJSON()).map((x) => x.name);
  expect(names.filter((n) => !n.startsWith('infergate_'))).toEqual([]);
});
