// Connection limits of one listener: in total and per client address, decided when the TCP connection is accepted
// (before any TLS or HTTP work), so a flood of idle connections cannot take the file descriptors that probes and
// backend connections need (EMFILE made healthy backends look dead).
import { readFileSync } from 'node:fs';

export type Refusal = 'listener-full' | 'client-full';

export class ConnectionLimits {
  readonly max: number;
  readonly maxPerClient: number;
  #open = 0;
  readonly #perClient = new Map<string, number>();

  constructor(max: number, maxPerClient: number) {
    this.max = max;
    this.maxPerClient = maxPerClient;
  }

  get open(): number {
    return this.#open;
  }

  /** Count a new connection from `address`, or say why it is refused. */
  admit(address: string): Refusal | null {
    if (this.max > 0 && this.#open >= this.max) return 'listener-full';
    const n = this.#perClient.get(address) ?? 0;
    if (this.maxPerClient > 0 && n >= this.maxPerClient) return 'client-full';
    this.#open++;
    this.#perClient.set(address, n + 1);
    return null;
  }

  release(address: string): void {
    this.#open--;
    const n = (this.#perClient.get(address) ?? 1) - 1;
    if (n <= 0) this.#perClient.delete(address);
    else this.#perClient.set(address, n);
  }
}

/** The soft limit of open files of this process (Linux /proc), or null where it cannot be read. */
export function openFileLimit(limitsText: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | null {
  try {
    const line = limitsText().split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return soft === undefined || soft === 'unlimited' || !Number.isFinite(n) ? null : n;
  } catch {
    return null;
  }
}

/** Default without a readable limit: a number that a stock 1024-descriptor process could not reach anyway. */
const FALLBACK_MAX = 16_384;

/**
 * `auto`: half of the descriptor limit for clients (each proxied request also holds a backend connection; probes and
 * the log need some too), less a small reserve; per client half of that, so one address (or one NAT) cannot take it all.
 */
export function resolveLimits(max: number | 'auto', perClient: number | 'auto', fdLimit: number | null): { max: number; perClient: number } {
  const total = max !== 'auto' ? max : fdLimit === null ? FALLBACK_MAX : Math.max(64, Math.floor((fdLimit - 64) / 2));
  const each = perClient !== 'auto' ? perClient : total === 0 ? 0 : Math.max(1, Math.floor(total / 2));
  return { max: total, perClient: each };
}
