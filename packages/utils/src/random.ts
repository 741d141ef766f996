/**
 * Random identifiers and draws for the request path, taken from a pool: one `randomBytes` call per 8 KiB instead of
 * one per id (a synchronous `randomBytes` costs microseconds each on this machine). For ids that must be
 * unpredictable and unique, not for keys: secrets are drawn with `randomBytes` where they are made.
 */
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 8 * 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/** Makes sure `bytes` unread bytes are left in the pool. */
function reserve(bytes: number): void {
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
}

/** A uniformly random unsigned 32-bit integer from the pool. */
export function randomUint32(): number {
  reserve(4);
  const v = pool.readUInt32LE(offset);
  offset += 4;
  return v;
}

/** `bytes` random bytes as lower-case hex (2 × bytes characters); at most 1 KiB at a time. */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024)
    throw new RangeError('randomHex takes 1 to 1024 bytes');
  reserve(bytes);
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
