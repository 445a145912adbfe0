// GET /status: one self-refreshing HTML page of every backend and rollout, built in the browser from the JSON API.

/**
 * Static page: the data comes from /admin/backends and /admin/rollouts every 2 s, authenticated by the session cookie
 * /login sets (the token never appears in the page's URL); without it, the page links to /login.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>infergate status</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
  body { margin: 0 auto; max-width: 1200px; padding: 16px 24px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  #meta { color: #5b6475; }
  table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0001; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e6e8ec; vertical-align: top; }
  th { background: #eef0f4; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
  .READY, .promoted { background: #d8f3dc; color: #1b5e20; }
  .LOADING, .WARMING, .pending, .progressing { background: #e3ecfd; color: #1a3f8f; }
  .UNREADY, .EJECTED, .MISMATCH, .rolled-back { background: #fde2e1; color: #8e1b16; }
  .DRAINING, .paused { background: #fff1cc; color: #7a5200; }
  .reason { color: #5b6475; font-size: 12px; }
  #error { color: #8e1b16; }
</style>
</head>
<body>
<h1>infergate</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<h2>Rollouts</h2>
<table id="rollouts"><thead><tr><th>pool</th><th>group</th><th>state</th><th>weight</th><th>step</th><th>last check</th></tr></thead><tbody></tbody></table>
<h2>Backends</h2>
<table id="backends"><thead><tr><th>backend</th><th>state</th><th>weight</th><th>in flight</th><th>requests</th><th>error rate</th><th>latency</th><th>server load</th><th>ejections</th><th>last probe</th></tr></thead><tbody></tbody></table>
<script>
  const text = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const state = (s) => '<span class="state ' + text(s) + '">' + text(s) + '</span>';
  const pv = (p) => (p < 0.0001 ? '< 0.0001' : '= ' + p.toPrecision(2));
  // One line of the evidence behind a check: errors, latency at the median and the compared quantile, backends out.
  function evidence(c) {
    if (!c || !c.latency) return '';
    const parts = ['errors ' + c.canary.errors + '/' + c.canary.requests + ' vs ' + c.stable.errors + '/' + c.stable.requests + (c.errors.pValue === null ? '' : ' (p ' + pv(c.errors.pValue) + ')')];
    for (const p of [c.latency.typical, c.latency.tail]) {
      if (p && p.canaryMs !== null && p.stableMs !== null) parts.push('p' + +(p.quantile * 100).toFixed(2) + ' ' + p.canaryMs.toFixed(1) + ' vs ' + p.stableMs.toFixed(1) + ' ms' + (p.pValue === null ? '' : ' (p ' + pv(p.pValue) + ')'));
    }
    parts.push(c.latency.samples.canary + ' vs ' + c.latency.samples.stable + ' latency samples');
    if (c.backendsOut.length > 0) parts.push('out: ' + c.backendsOut.map((b) => b.id + ' ' + b.state).join(', '));
    return parts.join(' · ');
  }
  async function get(path) {
    const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) throw Object.assign(new Error(path + ': 401'), { signIn: true });
    if (!res.ok) throw new Error(path + ': ' + res.status);
    return res.json();
  }
  // What the model server said (balance load-aware): queue, running, KV use; stale ones are ignored by the picker.
  function serverLoad(l) {
    if (!l) return '–';
    const parts = [];
    if (l.queued !== null) parts.push('queued ' + text(l.queued));
    if (l.running !== null) parts.push('running ' + text(l.running));
    if (l.kvUsage !== null) parts.push('KV ' + text(Math.round(l.kvUsage * 100)) + ' %');
    return parts.join(' · ') + '<div class="reason">' + (l.stale ? 'stale, ignored: ' : '') + text((l.ageMs / 1000).toFixed(1)) + ' s ago</div>';
  }
  async function refresh() {
    try {
      const [b, r] = await Promise.all([get('/admin/backends'), get('/admin/rollouts')]);
      document.querySelector('#backends tbody').innerHTML = b.backends.map((x) =>
        '<tr><td>' + text(x.id) + '<div class="reason">' + text(x.url) + '</div></td>' +
        '<td>' + state(x.state) + '<div class="reason">' + text(x.stateReason) + '</div></td>' +
        '<td class="num">' + text(x.effectiveWeight) + (x.effectiveWeight !== x.weight ? ' / ' + text(x.weight) : '') + '</td>' +
        '<td class="num">' + text(x.inflight) + '</td><td class="num">' + text(x.requests) + '</td>' +
        '<td class="num">' + (x.errorRate * 100).toFixed(1) + ' %</td><td class="num">' + text(x.latencyMs) + ' ms</td>' +
        '<td>' + serverLoad(x.load) + '</td>' +
        '<td class="num">' + text(x.ejections) + '</td>' +
        '<td>' + (x.lastProbe ? (x.lastProbe.ok ? 'ok' : 'failed') + ' <span class="reason">' + text(x.lastProbe.error ?? '') + '</span>' : '–') + '</td></tr>').join('');
      document.querySelector('#rollouts tbody').innerHTML = r.rollouts.length === 0 ? '<tr><td colspan="6">no rollouts configured</td></tr>' : r.rollouts.map((x) =>
        '<tr><td>' + text(x.pool) + '</td><td>' + text(x.group) + '</td><td>' + state(x.state) + '<div class="reason">' + text(x.reason ?? '') + '</div></td>' +
        '<td class="num">' + text(x.weight) + ' %</td><td class="num">' + (x.step + 1) + ' / ' + x.steps.length + '</td>' +
        '<td class="reason">' + (x.lastCheck ? text(x.lastCheck.verdict) + ': ' + text(x.lastCheck.reason ?? '') + '<div>' + text(evidence(x.lastCheck)) + '</div>' : '–') +
        (x.backendsOut.length > 0 ? '<div>out of service now: ' + text(x.backendsOut.map((b) => b.id + ' ' + b.state).join(', ')) + '</div>' : '') + '</td></tr>').join('');
      const ready = b.backends.filter((x) => x.state === 'READY').length;
      document.getElementById('meta').textContent = ready + ' of ' + b.backends.length + ' backends READY · updated ' + new Date().toLocaleTimeString();
      document.getElementById('error').textContent = '';
    } catch (err) {
      document.getElementById('error').innerHTML = 'cannot reach the admin API: ' + text(err.message) + (err.signIn ? ' — <a href="/login">sign in</a>' : '');
    }
  }
  refresh();
  setInterval(refresh, 2000);
</script>
</body>
</html>
`;
