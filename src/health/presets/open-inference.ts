// What KServe v2 and Triton share (Open Inference Protocol): reading {name, versions, parameters} metadata.
import { readPointer, scalarText } from '../metadata.js';
import type { ModelFacts, ModelSpec } from './types.js';

/**
 * `versions` lists every loaded version; the expected one matches when listed (then it is reported alone),
 * otherwise all are reported joined by ", " so the mismatch shows what the server has.
 */
export function openInferenceFacts(metadata: unknown, model: ModelSpec): ModelFacts {
  const listed = readPointer(metadata, '/versions');
  const versions = Array.isArray(listed) ? listed.map(scalarText).filter((v): v is string => v !== null) : [];
  let version: string | null = null;
  if (model.version !== null && versions.includes(model.version)) version = model.version;
  else if (versions.length > 0) version = versions.join(', ');
  return {
    name: scalarText(readPointer(metadata, '/name')),
    version,
    // The protocol has no checksum field; a model may publish one through the parameters extension.
    checksum: scalarText(readPointer(metadata, '/parameters/md5')) ?? scalarText(readPointer(metadata, '/md5')),
    raw: metadata,
  };
}
