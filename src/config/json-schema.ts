// The JSON Schema of the config file, generated from the zod schema (for editors and `config/infergate.schema.json`).

import * as z from 'zod';
import { configSchema } from './schema.js';

/** Draft-07, which the common YAML/JSON editor plugins understand; describes what a user writes (input side). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
