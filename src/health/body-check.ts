// Judge a probe response: status against the allowed codes, body against a substring or a JSON pointer value.
import { readPointer } from './metadata.js';
import type { BodyExpectation, ProbeDefaults } from './presets/types.js';

export interface CheckResult {
  ok: boolean;
  /** Why it failed, in words fit for a log line; null when ok. */
  reason: string | null;
}

const PASS: CheckResult = { ok: true, reason: null };

export function checkBody(body: string, exp: BodyExpectation): CheckResult {
  switch (exp.kind) {
    case 'substring':
      return body.includes(exp.text) ? PASS : { ok: false, reason: `body does not contain ${JSON.stringify(exp.text)}` };
    case 'json': {
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch (err) {
        return { ok: false, reason: `body is not JSON (${(err as Error).message})` };
      }
      const value = readPointer(doc, exp.pointer);
      if (value === undefined) return { ok: false, reason: `body has no value at ${exp.pointer}` };
      if (value !== exp.equals) {
        return { ok: false, reason: `body ${exp.pointer} is ${JSON.stringify(value)}, expected ${JSON.stringify(exp.equals)}` };
      }
      return PASS;
    }
    default: {
      const never: never = exp;
      return { ok: false, reason: `unknown body expectation ${JSON.stringify(never)}` };
    }
  }
}

/** Status first (null = any 2xx), then body: the whole verdict of one probe response. */
export function checkResponse(status: number, body: string, probe: Pick<ProbeDefaults, 'expectStatus' | 'expectBody'>): CheckResult {
  const statusOk = probe.expectStatus === null ? status >= 200 && status < 300 : probe.expectStatus.includes(status);
  if (!statusOk) return { ok: false, reason: `status ${status}` };
  return probe.expectBody === null ? PASS : checkBody(body, probe.expectBody);
}
