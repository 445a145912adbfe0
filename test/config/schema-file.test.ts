// The checked-in JSON Schema must match the zod schema; the example config must validate.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { loadConfigFile } from '../../src/config/load.js';

const root = new URL('../../', import.meta.url);

describe('config/infergate.schema.json', () => {
  it('is up to date (regenerate: npm run build && npm run schema)', () => {
    const onDisk: unknown = JSON.parse(readFileSync(new URL('config/infergate.schema.json', root), 'utf8'));
    expect(onDisk).toEqual(configJsonSchema());
  });

  it('is usable by editors: a draft-07 schema with a title and descriptions', () => {
    const s = configJsonSchema();
    expect(s.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(s.title).toBe('infergate configuration');
    expect(JSON.stringify(s)).toContain('"description":"Load-balancing algorithm."');
  });
});

describe('config/infergate.yaml', () => {
  it('is a valid configuration', async () => {
    const r = await loadConfigFile(new URL('config/infergate.yaml', root).pathname, {});
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('stays valid with the admin token set from the environment', async () => {
    const r = await loadConfigFile(new URL('config/infergate.yaml', root).pathname, { INFERGATE_ADMIN_TOKEN: 't0ken' });
    expect(r.ok && r.config.admin.token).toBe('t0ken');
  });
});

describe('loadConfigFile', () => {
  it('reports an unreadable file as one error at 1:1 with the OS message', async () => {
    const r = await loadConfigFile('/nonexistent/infergate.yaml', {});
    // One error (toMatchObject holds arrays to their length), at 1:1, with the OS message.
    expect(r).toMatchObject({ ok: false, errors: [{ file: '/nonexistent/infergate.yaml', line: 1, col: 1, message: expect.stringMatching(/ENOENT/) }] });
  });
});
