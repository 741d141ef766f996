/**
 * The validator's state on disk, so a restart (or kill -9) loses at most the last second of it: one SQLite
 * file (`consensus.stateFile`, WAL, mode 0600) holding the scoreboard (EWMAs, counters and routing state per
 * neuron), the verification log (the newest `maxVerifications` records, texts already bounded by the log)
 * and the epoch agent's claim queue. {@link persistValidatorState} writes the scoreboard's and the log's
 * changes in one transaction every `flushIntervalMs` and on stop; the claim queue is written at once (a
 * claim is rare and worth a write). It stores only what the validator computed: never keys or secrets.
 */
import { DatabaseSync } from 'node:sqlite';
import { VerificationSchema } from '@subnet/engine-api';
import { errorMessage, type Logger, preparePrivateFile, SubnetError } from '@subnet/utils';
import type { ClaimQueueStore, PendingClaim } from './epoch/agent.js';
import type { Verification, VerificationChanges, VerificationLog } from './validator/records.js';
import {
  MAX_STRIKES,
  neuronKey,
  type Scoreboard,
  type ScoreChanges,
  type ScoreEntry,
} from './validator/scores.js';

/** Codes of {@link ConsensusStoreError}. */
export const ConsensusStoreErrorCode = {
  /** The file was written by a newer version (its `user_version` is above ours). */
  SCHEMA_TOO_NEW: 'CONSENSUS_STORE_SCHEMA_TOO_NEW',
  /** The store was used after `close()`. */
  CLOSED: 'CONSENSUS_STORE_CLOSED',
} as const;
export type ConsensusStoreErrorCode = (typeof ConsensusStoreErrorCode)[keyof typeof ConsensusStoreErrorCode];

export class ConsensusStoreError extends SubnetError<
  ConsensusStoreErrorCode,
  { version?: number; file?: string }
> {
  override readonly name: string = 'ConsensusStoreError';
}

export interface ConsensusStoreOpts {
  /** The SQLite file; it and its folder are created (0600 / 0700) when absent. */
  file: string;
}

export interface ConsensusStore {
  /** Every stored scoreboard entry. */
  loadScores(): ScoreEntry[];
  /** Writes a scoreboard's changes (one transaction). */
  writeScores(changes: ScoreChanges): void;
  /** The newest `limit` verification records, oldest first (rows that no longer parse are skipped). */
  loadVerifications(limit: number): Verification[];
  /** Writes a log's changes and deletes records older than its oldest (one transaction). */
  writeVerifications(changes: VerificationChanges): void;
  /** Writes both in one transaction. */
  write(scores: ScoreChanges, verifications: VerificationChanges): void;
  /** The epoch agent's claim queue. */
  readonly claims: ClaimQueueStore;
  /** Closes the file. Idempotent; later writes throw CLOSED. */
  close(): void;
}

/** The schema version this code writes; `PRAGMA user_version` of the file. */
export const CONSENSUS_STORE_VERSION = 2;

/** Migrations: entry `i` takes a file from version `i` to `i + 1`. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE scores (
    neuron TEXT PRIMARY KEY,
    uid INTEGER NOT NULL,
    hotkey TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    correctness REAL,
    by_model TEXT NOT NULL DEFAULT '{}',
    availability REAL,
    latency_ms REAL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    organic INTEGER NOT NULL,
    probation INTEGER NOT NULL,
    fail_reason TEXT
  );
  CREATE TABLE verifications (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE claims (epoch INTEGER PRIMARY KEY, leaves TEXT NOT NULL);`,
  // 2: escalating probation (strikes, and the clean passes that forgive them).
  `ALTER TABLE scores ADD COLUMN strikes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE scores ADD COLUMN clean_passes INTEGER NOT NULL DEFAULT 0;`,
];

function migrate(db: DatabaseSync, file: string): void {
  const version = () => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  const v0 = version();
  if (v0 > CONSENSUS_STORE_VERSION) {
    throw new ConsensusStoreError(
      ConsensusStoreErrorCode.SCHEMA_TOO_NEW,
      `${file} has consensus store version ${v0}, newer than this subnet's ${CONSENSUS_STORE_VERSION}: upgrade subnet, or point consensus.stateFile at another file`,
      { meta: { version: v0, file } },
    );
  }
  if (v0 === CONSENSUS_STORE_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    for (let i = version(); i < CONSENSUS_STORE_VERSION; i++) db.exec(MIGRATIONS[i] as string);
    db.exec(`PRAGMA user_version = ${CONSENSUS_STORE_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

interface ScoreRow {
  uid: number;
  hotkey: string;
  registered_at: number;
  correctness: number | null;
  by_model: string;
  availability: number | null;
  latency_ms: number | null;
  passed: number;
  failed: number;
  errors: number;
  organic: number;
  probation: number;
  strikes: number;
  clean_passes: number;
  fail_reason: string | null;
}

/** A row's per-model correctness: a JSON object of finite numbers in [0, 1]; anything else is dropped. */
function byModelOf(json: string): Record<string, number> {
  try {
    const v: unknown = JSON.parse(json);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v).filter(
        (x): x is [string, number] => typeof x[1] === 'number' && x[1] >= 0 && x[1] <= 1,
      ),
    );
  } catch {
    return {};
  }
}

interface StoredClaim {
  uid: number;
  account: PendingClaim['account'];
  amount: string;
  proof: string[];
  attempts: number;
}

/** Opens (creating or migrating) the consensus store at `opts.file`. Synchronous: its writes are small. */
export function createConsensusStore(
  opts: ConsensusStoreOpts,
  modules: { logger?: Logger | undefined } = {},
): ConsensusStore {
  preparePrivateFile(opts.file);
  const db = new DatabaseSync(opts.file, { timeout: 2000 });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    migrate(db, opts.file);
  } catch (err) {
    db.close();
    throw err;
  }
  const q = {
    scores: db.prepare('SELECT * FROM scores'),
    upsertScore: db.prepare(
      `INSERT OR REPLACE INTO scores (neuron, uid, hotkey, registered_at, correctness, by_model, availability,
       latency_ms, passed, failed, errors, organic, probation, fail_reason, strikes, clean_passes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteScore: db.prepare('DELETE FROM scores WHERE neuron = ?'),
    verifications: db.prepare('SELECT record FROM verifications ORDER BY id DESC LIMIT ?'),
    upsertVerification: db.prepare('INSERT OR REPLACE INTO verifications (id, record) VALUES (?, ?)'),
    trimVerifications: db.prepare('DELETE FROM verifications WHERE id < ?'),
    clearVerifications: db.prepare('DELETE FROM verifications'),
    claims: db.prepare('SELECT epoch, leaves FROM claims ORDER BY epoch'),
    upsertClaims: db.prepare('INSERT OR REPLACE INTO claims (epoch, leaves) VALUES (?, ?)'),
    deleteClaims: db.prepare('DELETE FROM claims WHERE epoch = ?'),
  };
  let closed = false;

  const open = () => {
    if (closed) {
      throw new ConsensusStoreError(ConsensusStoreErrorCode.CLOSED, `${opts.file} is closed`, {
        meta: { file: opts.file },
      });
    }
  };
  const tx = (work: () => void) => {
    open();
    db.exec('BEGIN IMMEDIATE');
    try {
      work();
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  };
  const scoresIn = (c: ScoreChanges) => {
    for (const key of c.deletes) q.deleteScore.run(key);
    for (const e of c.upserts) {
      q.upsertScore.run(
        neuronKey(e),
        e.uid,
        e.hotkey.toLowerCase(),
        e.registeredAt,
        e.correctness,
        JSON.stringify(e.byModel),
        e.availability,
        e.latencyMs,
        e.passed,
        e.failed,
        e.errors,
        e.organic,
        e.probation,
        e.failReason,
        e.strikes,
        e.cleanPasses,
      );
    }
  };
  const verificationsIn = (c: VerificationChanges) => {
    for (const v of c.upserts) q.upsertVerification.run(v.id, JSON.stringify(v));
    if (c.oldestId === null) q.clearVerifications.run();
    else q.trimVerifications.run(c.oldestId);
  };
  const empty = (c: ScoreChanges, v: VerificationChanges) =>
    c.upserts.length === 0 && c.deletes.length === 0 && v.upserts.length === 0;

  return {
    loadScores() {
      open();
      return (q.scores.all() as unknown as ScoreRow[]).map((r) => ({
        uid: r.uid,
        hotkey: r.hotkey,
        registeredAt: r.registered_at,
        correctness: r.correctness,
        byModel: byModelOf(r.by_model),
        availability: r.availability,
        latencyMs: r.latency_ms,
        passed: r.passed,
        failed: r.failed,
        errors: r.errors,
        organic: r.organic,
        probation: r.probation,
        strikes: Math.min(Math.max(0, r.strikes), MAX_STRIKES),
        cleanPasses: Math.max(0, r.clean_passes),
        failReason: r.fail_reason,
      }));
    },
    writeScores(c) {
      if (c.upserts.length > 0 || c.deletes.length > 0) tx(() => scoresIn(c));
    },
    loadVerifications(limit) {
      open();
      const out: Verification[] = [];
      for (const row of q.verifications.all(limit) as unknown as { record: string }[]) {
        try {
          out.push(VerificationSchema.parse(JSON.parse(row.record)));
        } catch (err) {
          modules.logger?.warn({ err: errorMessage(err) }, 'skipping a stored verification record');
        }
      }
      return out.reverse();
    },
    writeVerifications(c) {
      tx(() => verificationsIn(c));
    },
    write(scores, verifications) {
      if (empty(scores, verifications)) return;
      tx(() => {
        scoresIn(scores);
        verificationsIn(verifications);
      });
    },
    claims: {
      load() {
        open();
        const out = new Map<number, PendingClaim[]>();
        for (const row of q.claims.all() as unknown as { epoch: number; leaves: string }[]) {
          const leaves = JSON.parse(row.leaves) as StoredClaim[];
          out.set(
            row.epoch,
            leaves.map((l) => ({ ...l, amount: BigInt(l.amount) })),
          );
        }
        return out;
      },
      save(epoch, leaves) {
        open();
        const stored: StoredClaim[] = leaves.map((l) => ({ ...l, amount: l.amount.toString() }));
        q.upsertClaims.run(epoch, JSON.stringify(stored));
      },
      delete(epoch) {
        open();
        q.deleteClaims.run(epoch);
      },
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

export interface StatePersister {
  /** Starts writing changes every `flushIntervalMs`. Idempotent. */
  start(): void;
  /** Writes the changes made since the last write now (errors are logged, the next write retries them). */
  flush(): void;
  /** Stops the timer and writes what is left. Idempotent. */
  stop(): void;
}

/**
 * Writes the scoreboard's and the verification log's changes to `store` in one transaction every
 * `flushIntervalMs` (and on `flush` / `stop`). Changes that fail to write are kept for the next try.
 */
export function persistValidatorState(
  opts: { flushIntervalMs: number },
  modules: { store: ConsensusStore; board: Scoreboard; log: VerificationLog; logger?: Logger | undefined },
): StatePersister {
  const { store, board, log } = modules;
  let timer: ReturnType<typeof setInterval> | undefined;
  let pendingScores: ScoreChanges = { upserts: [], deletes: [] };
  const pendingRecords = new Map<number, Verification>();
  let failing = false;

  const flush = () => {
    const s = board.takeChanges();
    const v = log.takeChanges();
    // Merge with what a failed write left (newer state of the same neuron wins).
    const upserts = new Map(pendingScores.upserts.map((e) => [neuronKey(e), e]));
    const deletes = new Set(pendingScores.deletes);
    for (const key of s.deletes) {
      upserts.delete(key);
      deletes.add(key);
    }
    for (const e of s.upserts) {
      const key = neuronKey(e);
      deletes.delete(key);
      upserts.set(key, e);
    }
    for (const r of v.upserts) pendingRecords.set(r.id, r);
    if (v.oldestId !== null)
      for (const id of pendingRecords.keys()) if (id < v.oldestId) pendingRecords.delete(id);
    const scores = { upserts: [...upserts.values()], deletes: [...deletes] };
    try {
      store.write(scores, { upserts: [...pendingRecords.values()], oldestId: v.oldestId });
      pendingScores = { upserts: [], deletes: [] };
      pendingRecords.clear();
      failing = false;
    } catch (err) {
      pendingScores = scores;
      if (!failing)
        modules.logger?.warn({ err: errorMessage(err) }, 'writing the validator state failed; retrying');
      failing = true;
    }
  };

  return {
    start() {
      if (timer !== undefined) return;
      timer = setInterval(flush, opts.flushIntervalMs);
      timer.unref();
    },
    flush,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      flush();
    },
  };
}
