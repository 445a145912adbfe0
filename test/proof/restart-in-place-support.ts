// Shared run of the restart-in-place proofs: four KServe replicas behind infergate with the README's config
// (shipped defaults), 40 inference POSTs per second, one replica replaced in place while traffic flows.
import { startStack, type Stack } from '../helpers/stack.js';
import { backendByUrl, waitAllReady, within } from '../e2e/support.js';
import { InferenceClient, KServeReplica, readmeConfig, type InferenceOutcome, type ModelIdentity } from './kserve-replica.js';

export const MODEL: ModelIdentity = { name: 'iris', version: '1', md5: '5d41402abc4b2a76b9719d911017c592' };

export interface Run {
  stack: Stack;
  replicas: KServeReplica[];
  outcomes: InferenceOutcome[];
  /** State of the replaced backend at the end. */
  state: string;
  close(): Promise<void>;
}

/**
 * `act` does the replacement; traffic runs `beforeMs` before it and `afterMs` after it finished — and then, when
 * `until` is given, on until it holds (checked every 50 ms, at most 15 s more: a busy machine is slower, not wrong).
 */
export async function restartInPlace(
  act: (r: KServeReplica, stack: Stack) => Promise<void>,
  opts: { beforeMs?: number; afterMs?: number; until?: (r: KServeReplica, stack: Stack) => boolean } = {},
): Promise<Run> {
  const replicas = [0, 1, 2, 3].map(() => new KServeReplica(MODEL));
  await Promise.all(replicas.map((r) => r.start()));
  const stack = await startStack(readmeConfig(MODEL, replicas));
  const close = async (): Promise<void> => {
    await stack.close();
    await Promise.all(replicas.map((r) => r.stop()));
  };
  try {
    await within(waitAllReady(stack), 10_000, 'all backends READY');
    const client = new InferenceClient(`${stack.url}/v2/models/${MODEL.name}/infer`);
    client.start();
    await sleep(opts.beforeMs ?? 1000);
    const target = replicas[1]!;
    await act(target, stack);
    await sleep(opts.afterMs ?? 2500);
    const until = opts.until;
    if (until !== undefined) {
      const s = stack;
      await within((async () => { while (!until(target, s)) await sleep(50); })(), 15_000, 'the condition after the replacement');
    }
    const outcomes = await client.stop();
    return { stack, replicas, outcomes, state: backendByUrl(stack, target.url).state(), close };
  } catch (error) {
    await close();
    throw error;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
