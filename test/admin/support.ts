// The stack most admin tests boot: one pool with one health backend, behind an admin listener with a token.
import { startHealthBackend } from '../health/health-backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

export async function startTokenStack(token: string): Promise<{ stack: Stack; close(): Promise<void> }> {
  const target = await startHealthBackend();
  const stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: ${token} }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${target.url}]
`);
  return {
    stack,
    async close() {
      await stack.close();
      await target.close();
    },
  };
}
