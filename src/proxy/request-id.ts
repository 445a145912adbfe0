// Request ids: the client's x-request-id when it sent a sane one, else a fresh one.
import { randomUUID } from 'node:crypto';

const MAX_LEN = 200;

export function requestIdFor(header: string | string[] | undefined): string {
  if (typeof header === 'string' && header.length > 0 && header.length <= MAX_LEN && isPrintable(header)) return header;
  return randomUUID();
}

function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
