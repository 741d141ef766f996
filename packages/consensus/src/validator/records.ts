/**
 * The verification records of the validator loop: a bounded ring in memory (the newest `capacity`), each
 * record the evidence of one challenge — prompt seed, answers, verdicts, audit statistics and, once they
 * come in, the miners' signed receipts. Texts are cut to `maxTextBytes` (UTF-8) when stored, so a miner's
 * answer never costs more memory here than that (review H3). What was added or touched since the last
 * {@link VerificationLog.takeChanges} is tracked so a store can write it through. No I/O.
 */
import type { VerificationSchema } from '@subnet/engine-api';
import type { z } from 'zod';

export type Verification = z.output<typeof VerificationSchema>;
export type VerificationMiner = Verification['miners'][number];

export interface VerificationLogOpts {
  /** Records kept (the newest). */
  capacity: number;
  /** Largest prompt, majority or answer text kept, in UTF-8 bytes; longer ones are cut (ending in `…`). */
  maxTextBytes: number;
}

/** What changed since the last {@link VerificationLog.takeChanges}. */
export interface VerificationChanges {
  /** Records added or touched (their receipts came in), oldest first. */
  upserts: Verification[];
  /** The oldest id still kept (older records may be deleted); null when the log is empty. */
  oldestId: number | null;
}

export interface VerificationLog {
  /** Stores a record (texts bounded) and gives it the next id. */
  add(record: Omit<Verification, 'id'>): Verification;
  /** Marks a stored record changed (its receipts were filled in), for the store. */
  touch(id: number): void;
  /** Newest first, optionally only those that challenged `uid`. */
  list(opts: { uid?: number | undefined; limit: number }): Verification[];
  /** Records added or touched since the last call. */
  takeChanges(): VerificationChanges;
  readonly size: number;
}

const ELLIPSIS = '…';

/** `s` cut to at most `maxBytes` UTF-8 bytes plus `…` when it is longer (never inside a character). */
export function boundText(s: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no encoding.
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const bytes = Buffer.from(s, 'utf8').subarray(0, maxBytes);
  let end = bytes.length;
  // Back off over a partial multi-byte character (continuation bytes are 10xxxxxx).
  let i = end - 1;
  while (i >= 0 && ((bytes[i] as number) & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = bytes[i] as number;
    const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (i + len > end) end = i;
  }
  return bytes.subarray(0, end).toString('utf8') + ELLIPSIS;
}

function bounded(record: Omit<Verification, 'id'>, maxBytes: number): Omit<Verification, 'id'> {
  const cut = (s: string | null) => (s === null ? null : boundText(s, maxBytes));
  return {
    ...record,
    prompt: boundText(record.prompt, maxBytes),
    majority: cut(record.majority),
    miners: record.miners.map((m) => ({ ...m, text: cut(m.text), reason: boundText(m.reason, maxBytes) })),
  };
}

/** A log starting from `initial` records (as a store loaded them, any order) when given. */
export function createVerificationLog(
  opts: VerificationLogOpts,
  init: { initial?: Iterable<Verification> } = {},
): VerificationLog {
  const ring = [...(init.initial ?? [])].sort((a, b) => a.id - b.id).slice(-opts.capacity);
  let next = (ring.at(-1)?.id ?? -1) + 1;
  const dirty = new Set<number>();
  return {
    add(record) {
      const v: Verification = { id: next++, ...bounded(record, opts.maxTextBytes) };
      ring.push(v);
      if (ring.length > opts.capacity) {
        for (const old of ring.splice(0, ring.length - opts.capacity)) dirty.delete(old.id);
      }
      dirty.add(v.id);
      return v;
    },
    touch(id) {
      if ((ring[0]?.id ?? Number.POSITIVE_INFINITY) <= id) dirty.add(id);
    },
    list({ uid, limit }) {
      const out: Verification[] = [];
      for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
        const v = ring[i] as Verification;
        if (uid === undefined || v.miners.some((m) => m.uid === uid)) out.push(v);
      }
      return out;
    },
    takeChanges() {
      const oldestId = ring[0]?.id ?? null;
      const upserts: Verification[] = [];
      if (dirty.size > 0) {
        for (const v of ring) if (dirty.has(v.id)) upserts.push(v);
        dirty.clear();
      }
      return { upserts, oldestId };
    },
    get size() {
      return ring.length;
    },
  };
}
