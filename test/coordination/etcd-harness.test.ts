// The real etcd the coordination tests run against: it starts, the etcd3 client reads and writes through it, a lease
// expires with its keys, and a stopped member comes back with its data. Skips (saying why) where etcd is missing.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ETCD_MISSING, startEtcd, type Etcd } from '../helpers/etcd.js';

let etcd: Etcd | null = null;
beforeAll(async () => {
  if (ETCD_MISSING === null) etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  await etcd?.close();
});

test.skipIf(ETCD_MISSING !== null)(`etcd v3 round trip, lease expiry, restart with data (${ETCD_MISSING ?? 'etcd found'})`, async () => {
  const client = new Etcd3({ hosts: etcd!.endpoint });
  try {
    await client.put('infergate/test/key').value('v1');
    expect(await client.get('infergate/test/key').string()).toBe('v1');
    const lease = client.lease(1, { autoKeepAlive: false });
    await lease.put('infergate/test/leased').value('x');
    expect(await client.get('infergate/test/leased').string()).toBe('x');
    await expect.poll(async () => client.get('infergate/test/leased').string(), { timeout: 5000, interval: 200 }).toBeNull();
  } finally {
    client.close();
  }
  await etcd!.stop();
  await etcd!.start();
  const again = new Etcd3({ hosts: etcd!.endpoint });
  try {
    expect(await again.get('infergate/test/key').string()).toBe('v1');
  } finally {
    again.close();
  }
}, 30_000);
