// Small builders shared by the presets: a GET probe, and a model name or version made safe for a URL path.
import type { BodyExpectation, ProbeBase, ProbeDefaults } from './types.js';

export function get(path: string, expectStatus: number[] | null, expectBody: BodyExpectation | null = null, base: ProbeBase = 'origin'): ProbeDefaults {
  return base === 'origin' ? { path, method: 'GET', expectStatus, expectBody } : { path, method: 'GET', expectStatus, expectBody, base };
}

/** One path segment: model names may hold "/" (Hugging Face ids) or spaces. */
export function seg(text: string): string {
  return encodeURIComponent(text);
}
