// Script: regenerates config/infergate.schema.json from the zod schema (`node dist/config/write-schema.js`).

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from './json-schema.js';

// dist/config/ and src/config/ both sit two levels below the repository root.
const target = fileURLToPath(new URL('../../config/infergate.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target}`);
