// The admin listener's endpoints, listed once: GET / shows them (JSON, or HTML for a browser).

export interface Endpoint {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /** Needs the admin token (bearer header or session cookie) when one is configured. */
  readonly auth: boolean;
  readonly description: string;
}

export const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/', auth: false, description: 'this list of endpoints' },
  { method: 'GET', path: '/healthz', auth: false, description: 'the balancer process is alive' },
  { method: 'GET', path: '/readyz', auth: false, description: '200 when every pool has a READY backend, else 503' },
  { method: 'GET', path: '/metrics', auth: false, description: 'Prometheus metrics' },
  { method: 'GET', path: '/status', auth: false, description: 'status page (HTML); its data needs the token: sign in at /login' },
  { method: 'GET', path: '/login', auth: false, description: 'sign-in form: POST the token once, get an HttpOnly session cookie' },
  { method: 'POST', path: '/login', auth: false, description: 'form field token=...: sets the session cookie, redirects to /status' },
  { method: 'POST', path: '/logout', auth: false, description: 'clears the session cookie' },
  { method: 'GET', path: '/admin/backends', auth: true, description: 'every backend: state, weight, traffic, errors, probes (runtime: true = added at run time)' },
  { method: 'GET', path: '/admin/rollouts', auth: true, description: 'every rollout: state, weight, step, last check' },
  { method: 'GET', path: '/admin/config', auth: true, description: 'the effective configuration, defaults filled in, secrets redacted' },
  { method: 'POST', path: '/admin/backends/{id}/ready', auth: true, description: 'the model server says its model has loaded' },
  { method: 'POST', path: '/admin/backends/{id}/unready', auth: true, description: 'the model server says it is unloading' },
  { method: 'POST', path: '/admin/backends/{id}/drain', auth: true, description: 'take out of rotation; in-flight requests finish' },
  { method: 'POST', path: '/admin/backends/{id}/enable', auth: true, description: 'undo drain' },
  { method: 'POST', path: '/admin/backends/{id}/weight', auth: true, description: '{"weight": n} (0-1000), until the next reload' },
  { method: 'DELETE', path: '/admin/backends/{id}', auth: true, description: 'remove a backend until the next reload' },
  { method: 'POST', path: '/admin/pools/{pool}/groups/{group}/backends', auth: true, description: '{"url": "http://host:port", "weight": n?}: add a backend until the next reload' },
  { method: 'POST', path: '/admin/pools/{pool}/groups/{group}/weight', auth: true, description: '{"weight": n} (0-100), until the next reload; 409 while a rollout sets it' },
  { method: 'POST', path: '/admin/rollouts/{pool}/{group}/{pause|resume|promote|abort|start|weight}', auth: true, description: 'rollout actions (weight takes {"weight": n})' },
  { method: 'POST', path: '/admin/log-level', auth: true, description: '{"level": "debug"} (trace, debug, info, warn, error, fatal, silent), until the next reload' },
];

export function endpointsHtml(): string {
  const rows = ENDPOINTS.map((e) => `<tr><td>${e.method}</td><td>${link(e)}</td><td>${e.auth ? 'token' : ''}</td><td>${escape(e.description)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infergate admin</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px}table{border-collapse:collapse}td,th{text-align:left;padding:4px 10px;border-bottom:1px solid #e6e8ec}</style>
</head><body><h1>infergate admin</h1>
<table><thead><tr><th>method</th><th>path</th><th>auth</th><th>what</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

function link(e: Endpoint): string {
  const text = escape(e.path);
  return e.method === 'GET' && !e.path.includes('{') ? `<a href="${text}">${text}</a>` : text;
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
