// Runs a preset's probe or metadata request against a fake with plain undici, as the prober would, without it.
import { request } from 'undici';
import { checkResponse } from '../../../src/health/body-check.js';
import { requestUrl, type ModelFacts, type ModelSpec, type Preset, type ProbeDefaults } from '../../../src/health/presets/index.js';

export interface ProbeOutcome {
  ok: boolean;
  status: number | null;
  reason: string | null;
}

export const model = (name: string | null, version: string | null = null, md5: string | null = null): ModelSpec => ({ name, version, md5 });

export async function runProbe(probe: ProbeDefaults, origin: string, managementOrigin: string | null = null): Promise<ProbeOutcome> {
  try {
    // A fresh connection per probe, as src/health/prober.ts does.
    const res = await request(requestUrl(origin, probe, managementOrigin), { method: probe.method, reset: true, headersTimeout: 2_000, bodyTimeout: 2_000 });
    const body = await res.body.text();
    const verdict = checkResponse(res.statusCode, body, probe);
    return { ok: verdict.ok, status: res.statusCode, reason: verdict.reason };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, status: null, reason: e.code ?? e.message ?? String(err) };
  }
}

/** GET the preset's metadata and read facts from it; null when the preset has none or the server says no. */
export async function readFacts(preset: Preset, spec: ModelSpec, origin: string, managementOrigin: string | null = null, query = ''): Promise<ModelFacts | null> {
  const where = preset.metadata(spec);
  if (where === null) return null;
  const res = await request(requestUrl(origin, { ...where, path: where.path + query }, managementOrigin), { method: 'GET', reset: true });
  const text = await res.body.text();
  if (res.statusCode !== 200) return null;
  return preset.facts(JSON.parse(text) as unknown, spec);
}

/** POST JSON and return status and body text. */
export async function post(url: string, body: unknown): Promise<{ status: number; text: string; contentType: string | undefined }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  const ct = res.headers['content-type'];
  return { status: res.statusCode, text, contentType: Array.isArray(ct) ? ct[0] : ct };
}

/** The `data` payloads of a server-sent event stream (with or without a space after "data:"). */
export function sseData(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart());
}
