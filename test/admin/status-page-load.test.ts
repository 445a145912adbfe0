// The status page's "server load" cell, built in the browser from the `load` field of /admin/backends.
import { expect, it } from 'vitest';
import { STATUS_PAGE } from '../../src/admin/status-page.js';

type Load = { queued: number | null; running: number | null; kvUsage: number | null; ageMs: number; stale: boolean } | null;

/** The page's own `serverLoad()` (with the `text` escaper it uses), taken out of its script. */
function pageServerLoad(): (l: Load) => string {
  const script = STATUS_PAGE.split('<script>')[1]!.split('</script>')[0]!;
  const text = script.slice(script.indexOf('  const text ='), script.indexOf('  const state ='));
  const fn = script.slice(script.indexOf('  function serverLoad('), script.indexOf('  async function refresh('));
  return new Function(`${text}${fn}; return serverLoad;`)() as (l: Load) => string;
}

it.each([
  { load: { queued: 4, running: 21, kvUsage: 0.65, ageMs: 180, stale: false }, html: 'queued 4 · running 21 · KV 65 %<div class="reason">0.2 s ago</div>' },
  { load: { queued: 8, running: null, kvUsage: null, ageMs: 3400, stale: true }, html: 'queued 8<div class="reason">stale, ignored: 3.4 s ago</div>' },
  { load: null, html: '–' },
])('shows $html', ({ load, html }) => {
  expect(pageServerLoad()(load)).toBe(html);
});
