// Micro-benchmark of the /metrics parser on a vLLM-sized body (~110 KB: the three gauges infergate reads among
// histograms of latencies and token counts, as a real vLLM server exports them). Prints ms per parse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Parser {
  write(chunk: Uint8Array): void;
  end(): void;
}
// The built parser (npm run build), as the other micro-benchmarks load dist/.
const DIST = process.env.INFERGATE_DIST ?? join(import.meta.dirname, '..', '..', 'dist');
const { PromTextParser } = (await import(join(DIST, 'signals', 'prom-text.js'))) as {
  PromTextParser: new (onSample: () => void, options: { want?: ((name: string) => boolean) | ReadonlySet<string>; maxBytes: number }) => Parser;
};

const fixture = readFileSync(join(import.meta.dirname, '..', '..', 'test', 'signals', 'fixtures', 'vllm.prom'), 'utf8');

/** The fixture, then histograms until the body is ~`bytes` long. */
export function vllmSizedBody(bytes = 110_000): string {
  const parts = [fixture];
  let size = fixture.length;
  const buckets = ['0.001', '0.005', '0.01', '0.02', '0.04', '0.06', '0.08', '0.1', '0.25', '0.5', '0.75', '1.0', '2.5', '5.0', '7.5', '10.0', '20.0', '40.0', '80.0', '160.0', '640.0', '2560.0', '+Inf'];
  for (let h = 0; size < bytes; h++) {
    const name = `vllm:request_latency_family_${h}_seconds`;
    let text = `# HELP ${name} Histogram of a latency, in seconds.\n# TYPE ${name} histogram\n`;
    for (const le of buckets) text += `${name}_bucket{engine="0",le="${le}",model_name="meta-llama/Llama-3.1-8B-Instruct"} ${h * 7 + le.length}.0\n`;
    text += `${name}_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1234.0\n${name}_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 567.89\n`;
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}

const body = Buffer.from(vllmSizedBody());
const want = new Set(['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc']);
const chunkSize = 16_384;
let samples = 0;
const parseOnce = (): void => {
  const p = new PromTextParser(() => samples++, { want: process.env.WANT === 'function' ? (n) => want.has(n) : want, maxBytes: 1 << 22 });
  for (let i = 0; i < body.length; i += chunkSize) p.write(body.subarray(i, i + chunkSize));
  p.end();
};
for (let i = 0; i < 200; i++) parseOnce();
const runs = Number(process.env.RUNS ?? 1000);
const t0 = performance.now();
for (let i = 0; i < runs; i++) parseOnce();
const ms = (performance.now() - t0) / runs;
console.log(`| body | chunks | ms per parse | samples per parse |\n|---|---|---|---|\n| ${body.length} B | ${Math.ceil(body.length / chunkSize)} × 16 KiB | ${ms.toFixed(3)} | ${samples / (runs + 200)} |`);

// A whole scrape as the scraper makes it (undici request + streamed parse) of the same body served by another
// process, CPU of this process per scrape: what one backend's signal costs the prober every `load.interval`.
if (process.env.SCRAPE !== '0') {
  const { spawn } = await import('node:child_process');
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }); s.end(process.env.BODY); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  const server = spawn(process.execPath, ['-e', code], { env: { ...process.env, BODY: body.toString('utf8') }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const dist = DIST;
  const { scrapeLoad } = (await import(join(dist, 'signals', 'scrape.js'))) as { scrapeLoad(req: object, deps: object): Promise<{ ok: boolean; message?: string }> };
  const { ADAPTERS } = (await import(join(dist, 'signals', 'adapters.js'))) as { ADAPTERS: Record<string, object> };
  const { systemClock } = (await import(join(dist, 'clock.js'))) as { systemClock: object };
  const { Pool } = await import('undici');
  const dispatcher = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const req = { url: `http://127.0.0.1:${port}/metrics`, spec: ADAPTERS.vllm, timeoutMs: 5000, maxBytes: 4 << 20 };
  const scrapes = Number(process.env.SCRAPES ?? 500);
  for (let i = 0; i < 50; i++) await scrapeLoad(req, { clock: systemClock, dispatcher });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < scrapes; i++) {
    const r = await scrapeLoad(req, { clock: systemClock, dispatcher });
    if (!r.ok) throw new Error(`scrape failed: ${r.message}`);
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`\n| scrape of the same body over HTTP (undici, 1 connection) | CPU ms per scrape |\n|---|---|\n| ${scrapes} scrapes | ${((cpu.user + cpu.system) / 1000 / scrapes).toFixed(3)} |`);
  await dispatcher.close();
  server.kill();
}
