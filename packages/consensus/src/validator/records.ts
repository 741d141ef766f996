/**
 * The verification records of the validator loop: a bounded ring in memory (the newest `capacity`), each
 * record the evidence of one challenge — prompt seed, answers, verdicts, audit statistics and, once they
 * come in, the miners' signed receipts.
 */
import type { VerificationSchema } from '@subnet/engine-api';
import type { z } from 'zod';

export type Verification = z.output<typeof VerificationSchema>;
export type VerificationMiner = Verification['miners'][number];

export interface VerificationLog {
  /** Stores a record and gives it the next id. */
  add(record: Omit<Verification, 'id'>): Verification;
  /** Newest first, optionally only those that challenged `uid`. */
  list(opts: { uid?: number | undefined; limit: number }): Verification[];
  readonly size: number;
}

export function createVerificationLog(opts: { capacity: number }): VerificationLog {
  const ring: Verification[] = [];
  let next = 0;
  return {
    add(record) {
      const v: Verification = { id: next++, ...record };
      ring.push(v);
      if (ring.length > opts.capacity) ring.splice(0, ring.length - opts.capacity);
      return v;
    },
    list({ uid, limit }) {
      const out: Verification[] = [];
      for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
        const v = ring[i] as Verification;
        if (uid === undefined || v.miners.some((m) => m.uid === uid)) out.push(v);
      }
      return out;
    },
    get size() {
      return ring.length;
    },
  };
}
