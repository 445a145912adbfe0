/** Prints the hottest functions (self time) and files of a V8 .cpuprofile, e.g. from BENCH_INFERGATE_NODE_ARGS=--cpu-prof. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

const [file, limitArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/tools/cpuprofile-top.ts <file.cpuprofile> [top=25]');
  process.exit(2);
}
const limit = Number(limitArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const hits = new Map<number, number>();
for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = [...hits.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'nm:').replace(/^.*\/work\/main\//, '');
const label = (node: ProfileNode): string =>
  `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url) || '(native)'}:${node.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, count] of hits) {
  const node = byId.get(id);
  if (node === undefined) continue;
  self.set(label(node), (self.get(label(node)) ?? 0) + count);
  const fileKey = shortUrl(node.callFrame.url) || node.callFrame.functionName;
  files.set(fileKey, (files.get(fileKey) ?? 0) + count);
  // Inclusive time: credit each distinct frame on the stack once.
  const seen = new Set<string>();
  for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
    const frame = byId.get(cursor);
    if (frame === undefined) break;
    const key = label(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + count);
  }
}

const top = (map: Map<string, number>, filter: (key: string) => boolean = () => true): string =>
  [...map]
    .filter(([key]) => filter(key))
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, count]) => `${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`)
    .join('\n');

console.log(`${total} samples\n\n## self time by function\n${top(self)}`);
console.log(`\n## self time by file\n${top(files)}`);
console.log(`\n## inclusive time, project code (dist/)\n${top(inclusive, (key) => key.includes('dist/'))}`);
