/** Identifiers: UUIDv7 (time-ordered, so B-tree inserts stay local) for every row we create. */
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * Random bytes from the system CSPRNG, drawn 4 KiB at a time: one fill per 256 ids instead of one
 * `getRandomValues` call per id (which was most of an id's cost).
 */
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function random16(): Uint8Array {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const bytes = POOL.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return bytes;
}

/**
 * The millisecond and counter of the last id, kept as uuid's own v7 does when it draws its own random bytes
 * (RFC 9562 §6.2, method 1): a new millisecond seeds the 31-bit counter from the random bytes, and ids of
 * one millisecond count up from it, so ids made in order sort in order.
 */
let lastMs = -Infinity;
let counter = 0;

export function newId(): string {
  const random = random16();
  const now = Date.now();
  if (now > lastMs) {
    counter = (((random[6] ?? 0) & 0x7f) << 24) | ((random[7] ?? 0) << 16) | ((random[8] ?? 0) << 8) | (random[9] ?? 0);
    lastMs = now;
  } else {
    counter = (counter + 1) | 0;
    if (counter === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq: counter });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
