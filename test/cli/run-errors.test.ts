// `infergate --config FILE` that cannot bind its listener exits 1 with the reason on stderr.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect, test } from 'vitest';
import { tempConfig } from '../lifecycle/process.js';
import { cli } from './run.js';

test('listen address in use: exit 1, "cannot start" and EADDRINUSE on stderr', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const file = tempConfig(`
listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:0 }
pools:
  p:
    backends: [http://127.0.0.1:9]
`);
    const r = await cli(['--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^infergate: cannot start: .*EADDRINUSE/);
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});
