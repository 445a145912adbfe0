// The status page in a real browser (Debian's Chromium via playwright-core): it renders every backend and
// rollout from the admin API once signed in at /login (a session cookie; no token in any URL), and refreshes by itself.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// .ci/run installs Chromium; a developer machine without it skips this file (and says so).
const hasBrowser = existsSync(CHROMIUM);

let stable: TestBackend;
let canary: TestBackend;
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  if (!hasBrowser) return;
  stable = await startBackend();
  canary = await startBackend();
  stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: s3cret }
pools:
  p:
    health: { readiness: { path: /health, interval: 100ms } }
    groups:
      stable: { weight: 100, backends: [${stable.url}] }
      canary: { weight: 0, backends: [${canary.url}], rollout: { start: manual } }
`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  if (!hasBrowser) return;
  await browser.close();
  await stack.close();
  await Promise.all([stable.close(), canary.close()]);
});

test.skipIf(!hasBrowser)('renders backends and rollouts, then follows a state change', async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.adminUrl}/login`);
  await page.fill('#token', 's3cret');
  await Promise.all([page.waitForURL(`${stack.adminUrl}/status`), page.click('input[type=submit]')]);
  await page.waitForFunction(() => document.querySelectorAll('#backends tbody tr').length === 2);
  const rows = await page.locator('#backends tbody tr').allInnerTexts();
  expect(rows.join('\n')).toContain(`p.stable.127.0.0.1:${stable.port}`);
  expect(rows.every((r) => r.includes('READY'))).toBe(true);
  expect(await page.locator('#rollouts tbody').innerText()).toMatch(/p\s+canary\s+pending/);
  expect(await page.locator('#meta').innerText()).toMatch(/2 of 2 backends READY/);

  // Drain one backend through the API: the page shows it on its next refresh, with no reload.
  const res = await fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(`p.stable.127.0.0.1:${stable.port}`)}/drain`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } });
  expect(res.status).toBe(200);
  await page.waitForFunction(() => document.querySelector('#backends tbody')?.textContent?.includes('DRAINING') === true, undefined, { timeout: 10_000 });
  await page.close();
});

test.skipIf(!hasBrowser)('without signing in the page says it cannot reach the admin API and links to /login', async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.adminUrl}/status`);
  await page.waitForFunction(() => (document.getElementById('error')?.textContent ?? '').includes('401'));
  expect(await page.locator('#error').innerText()).toContain('401');
  expect(await page.locator('#error a[href="/login"]').count()).toBe(1);
  expect(await page.locator('#backends tbody tr').count()).toBe(0);
  await page.close();
});
