// Rendezvous (highest random weight) hashing of a prompt's first block over the backends: on a miss, every infergate
// process — each worker of `workers: N`, each replica behind a TCP balancer — sends a new prefix to the same backend
// without sharing any state, so the memory each keeps of what went where agrees (Thaler and Ravishankar, 1996).
import { avalanche } from '../hash.js';
import { fnv } from './blocks.js';

const LANE = 0x9747b28c;
const TWO_32 = 0x1_0000_0000;

/** A backend id's hash, computed once per backend. */
export function idHash(id: string): number {
  return avalanche(fnv(id, 0, id.length, LANE));
}

/** The weight of (key, backend): the backend with the highest weight for a key takes it; a backend leaving moves only its own keys. */
export function rendezvousWeight(key: number, id: number): number {
  const low = key >>> 0;
  const high = Math.floor(key / TWO_32);
  return avalanche(Math.imul(low ^ id, 0x01000193) ^ high ^ id);
}
