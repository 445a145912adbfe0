// Request ids: the client's x-request-id when it sent a sane one, else a fresh one.
import { randomBytes } from 'node:crypto';

const MAX_LEN = 200;
/** Fresh ids per prefix: the sequence fills the last 12 hex digits of the id. */
const SEQUENCE_SPACE = 2 ** 48;

/**
 * Fresh ids keep the UUID layout (version 4, RFC 9562 variant), so whoever parses ours as UUIDs still can:
 * the first 80 bits are random per process (and per 2^48 ids), the last 48 a sequence. Unique like
 * `randomUUID()` across processes and restarts, at the price of a counter rather than a CSPRNG call.
 */
let prefix = '';
let sequence = SEQUENCE_SPACE;

function newPrefix(): void {
  const b = randomBytes(10);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`;
  sequence = 0;
}

/** A new id, unique within and across processes; 36 printable characters. */
export function freshRequestId(): string {
  if (sequence >= SEQUENCE_SPACE) newPrefix();
  const n = sequence++;
  // Two 24-bit halves: short hex strings, no padStart on a 12-digit number string.
  return prefix + hex6((n / 0x1000000) >>> 0) + hex6(n % 0x1000000);
}

function hex6(n: number): string {
  const s = n.toString(16);
  return s.length === 6 ? s : '000000'.slice(s.length) + s;
}

export function requestIdFor(header: string | string[] | undefined): string {
  if (typeof header === 'string' && header.length > 0 && header.length <= MAX_LEN && isPrintable(header)) return header;
  return freshRequestId();
}

function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
