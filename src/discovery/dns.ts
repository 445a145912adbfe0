// DNS discovery: looks a name up every interval and reports the set of backend origins it resolves to.
import { lookup } from 'node:dns/promises';
import type { Clock } from '../clock.js';
import type { DiscoverConfig } from '../config/types.js';
import { PeriodicTask } from '../schedule/periodic-task.js';

/** Addresses of a name; injected in tests. The default uses the system resolver (getaddrinfo: /etc/hosts too). */
export type Resolve = (name: string) => Promise<string[]>;

export const systemResolve: Resolve = async (name) => (await lookup(name, { all: true })).map((a) => a.address);

export interface DiscoveryDeps {
  clock: Clock;
  resolve: Resolve;
  /** Every successful look-up, with the origins it found (sorted, deduplicated). */
  onResult(origins: string[]): void;
  /** A failed look-up: the last known backends are kept. */
  onError(err: Error): void;
}

export function originOf(address: string, cfg: DiscoverConfig): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${cfg.scheme}://${host}:${cfg.port}`;
}

export class DnsDiscovery {
  readonly #cfg: DiscoverConfig;
  readonly #deps: DiscoveryDeps;
  readonly #loop: PeriodicTask;

  constructor(cfg: DiscoverConfig, deps: DiscoveryDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
    // Jitter 0: a look-up every interval exactly (random is then never used for the delay).
    this.#loop = new PeriodicTask(cfg.intervalMs, 0, { clock: deps.clock, random: () => 0.5 }, () => this.#lookUp());
  }

  /** The first look-up runs at once, then every interval; look-ups never overlap. */
  start(): void {
    this.#loop.start();
  }

  stop(): void {
    this.#loop.stop();
  }

  async #lookUp(): Promise<void> {
    try {
      const addresses = await this.#deps.resolve(this.#cfg.dns);
      if (!this.#loop.started) return;
      this.#deps.onResult([...new Set(addresses.map((a) => originOf(a, this.#cfg)))].sort());
    } catch (err) {
      if (this.#loop.started) this.#deps.onError(err as Error);
    }
  }
}
