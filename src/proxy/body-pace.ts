// The pace a client must keep while sending its request body: a longest gap between two reads (nginx's
// client_body_timeout) and, once that much time has passed, a minimum average rate (Apache mod_reqtimeout's MinRate),
// so a client trickling 1 byte/s cannot hold a buffer, a backend connection or a worker for long.
import type { Clock, Timer } from '../clock.js';
import type { RequestBodyConfig } from '../config/types.js';

export class BodyPace {
  readonly #clock: Clock;
  readonly #idleMs: number;
  /** Bytes per ms; 0 = no rate check. */
  readonly #minRate: number;
  readonly #onTimeout: () => void;
  /** Data that arrived but is waiting on our side (upstream backpressure): not the client's delay. */
  readonly #waitingOnUs: () => boolean;
  #state: 'waiting' | 'running' | 'over' = 'waiting';
  #startedAt = 0;
  #lastAt = 0;
  #received = 0;
  #timer: Timer | null = null;

  constructor(cfg: RequestBodyConfig, clock: Clock, onTimeout: () => void, waitingOnUs: () => boolean = () => false) {
    this.#clock = clock;
    this.#idleMs = cfg.idleMs;
    this.#minRate = cfg.minRateBytes / 1000;
    this.#onTimeout = onTimeout;
    this.#waitingOnUs = waitingOnUs;
  }

  get started(): boolean {
    return this.#state !== 'waiting';
  }

  /** The clock starts now (reading began, or the upstream attempt took its connection). */
  start(): void {
    if (this.#state !== 'waiting') return;
    this.#state = 'running';
    const now = this.#clock.now();
    this.#startedAt = now;
    this.#lastAt = now;
    this.#arm(this.#idleMs);
  }

  /** Bytes read: one field update, no timer work on the hot path (the timer checks when it fires). */
  progress(bytes: number): void {
    this.#received += bytes;
    this.#lastAt = this.#clock.now();
  }

  /** The body is complete, or the request is over. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#state = 'over';
  }

  /** When the client is late: the gap since the last read, or the rate since the start, whichever ends first. */
  deadline(): number {
    const idle = this.#lastAt + this.#idleMs;
    if (this.#minRate === 0) return idle;
    return Math.min(idle, this.#startedAt + this.#idleMs + this.#received / this.#minRate);
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(Math.max(1, Math.ceil(ms)), this.#check);
  }

  readonly #check = (): void => {
    this.#timer = null;
    if (this.#state !== 'running') return;
    const now = this.#clock.now();
    if (this.#waitingOnUs()) {
      // Our delay: both clocks start over from now (the rate is judged from here, with what was received counted).
      this.#lastAt = now;
      if (this.#minRate > 0) this.#startedAt = now - this.#received / this.#minRate;
    }
    const left = this.deadline() - now;
    if (left > 0) {
      this.#arm(left);
      return;
    }
    this.#state = 'over';
    this.#onTimeout();
  };
}
