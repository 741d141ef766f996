/**
 * The gateway's API keys and their usage, in one SQLite file (`gateway.dbFile`, mode 0600). A secret
 * (`sk-sub-…`) is shown once, at creation; the file holds only its SHA-256 hash and a short display prefix.
 * Live keys are kept in memory by hash, so {@link KeyStore.authenticate} — called on every request — is a
 * hash and a map lookup and never touches SQLite; creating or revoking a key updates that map at once.
 * Usage is counted in memory and written in one transaction at most every `flushIntervalMs` and on close.
 * It must never store, log or return a secret other than from `create`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import type { ApiKeyInfoSchema } from '@subnet/engine-api';
import { errorMessage, hasCode, type Logger, preparePrivateFile, SubnetError } from '@subnet/utils';
import type { z } from 'zod';
import type { KeyAuthority, KeyRecord, UsageSink } from './types.js';

/** A key as `gateway_listKeysV1` returns it: never the secret. */
export type ApiKeyInfo = z.output<typeof ApiKeyInfoSchema>;

/** Codes of {@link KeyStoreError}. */
export const KeyStoreErrorCode = {
  /** No key with that id; the Engine API answers `gatewayErrors.KEY_NOT_FOUND`. */
  KEY_NOT_FOUND: 'GATEWAY_KEY_NOT_FOUND',
  /** The file was written by a newer version (its `user_version` is above ours). */
  SCHEMA_TOO_NEW: 'GATEWAY_KEYS_SCHEMA_TOO_NEW',
  /** A key was already made for this spending authorization (its digest). */
  AUTHORIZATION_BOUND: 'GATEWAY_AUTHORIZATION_BOUND',
} as const;
export type KeyStoreErrorCode = (typeof KeyStoreErrorCode)[keyof typeof KeyStoreErrorCode];

export class KeyStoreError extends SubnetError<KeyStoreErrorCode, { id?: string; version?: number }> {
  override readonly name: string = 'KeyStoreError';
}

/** True when `err` is the key store's KEY_NOT_FOUND (compared by code, not by class). */
export function isKeyNotFound(err: unknown): boolean {
  return hasCode(err) && err.code === KeyStoreErrorCode.KEY_NOT_FOUND;
}

/** True when `err` is the key store's AUTHORIZATION_BOUND. */
export function isAuthorizationBound(err: unknown): boolean {
  return hasCode(err) && err.code === KeyStoreErrorCode.AUTHORIZATION_BOUND;
}

export interface KeyStoreOpts {
  /** The SQLite file (`gateway.dbFile`); it and its folder are created (0600 / 0700) when absent. */
  file: string;
  /** Limits of keys created without their own (`gateway.requestsPerMinute`, `gateway.tokensPerMinute`). */
  defaults: { requestsPerMinute: number; tokensPerMinute: number };
  /** How often counted usage is written, and keys written by another process are picked up (default 1 s). */
  flushIntervalMs?: number;
}

export interface KeyStoreModules {
  logger?: Logger;
  /** Unix ms (default `Date.now`). */
  now?: () => number;
}

export interface CreateKeyParams {
  name: string;
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
}

/** A key bound to a client's spending authorization (issue 15): metered, created by the client itself. */
export interface CreateBoundKeyParams {
  name: string;
  client: string;
  /** The authorization's EIP-712 digest: one key per authorization, ever. */
  digest: string;
  /** The SpendingAuthorization as JSON (amounts as decimal strings) and the client's signature of it. */
  authorization: { cap: string; expiry: string } & Record<string, unknown>;
  signature: string;
  /** Already collected under it on chain: its charged total starts there. */
  collected: string;
}

export interface KeyStore extends KeyAuthority, UsageSink {
  /** Creates a key; `key` is the secret, returned only here. */
  create(params: CreateKeyParams): { key: string; info: ApiKeyInfo };
  /**
   * Creates a key bound to a spending authorization, with its payment row, in one transaction. Throws
   * AUTHORIZATION_BOUND when a key was already made for that authorization digest.
   */
  createBound(params: CreateBoundKeyParams): { key: string; info: ApiKeyInfo };
  /** The open SQLite file, for the payment store (`payments/store.ts`) that shares it. */
  readonly db: DatabaseSync;
  /** Keys by creation time, with their usage (counted usage is written first). */
  list(opts?: { includeRevoked?: boolean }): ApiKeyInfo[];
  /** Revokes a key at once; false when it already was. Throws KEY_NOT_FOUND for an unknown id. */
  revoke(id: string): boolean;
  /** Writes counted usage now. */
  flush(): void;
  /** Writes counted usage and closes the file. Idempotent; usage recorded afterwards is dropped. */
  close(): void;
}

/** The schema version this code writes; `PRAGMA user_version` of the file. */
export const KEY_STORE_VERSION = 3;

/** Migrations: entry `i` takes a file from version `i` to `i + 1`. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    tokens_per_minute INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    requests INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER
  ) STRICT`,
  // 1 → 2 (issue 15, payments): keys bound to a client's spending authorization, the charged and settled
  // totals per authorization, the cost each miner served, and the settlements made. Amounts are decimal
  // strings of token units (they exceed SQLite's 64-bit integers in principle).
  `ALTER TABLE keys ADD COLUMN client TEXT;
  ALTER TABLE keys ADD COLUMN auth_digest TEXT;
  CREATE TABLE payment_auths (
    digest TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    client TEXT NOT NULL,
    authorization TEXT NOT NULL,
    signature TEXT NOT NULL,
    cap TEXT NOT NULL,
    expiry TEXT NOT NULL,
    collected TEXT NOT NULL,
    charged TEXT NOT NULL,
    settled TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX payment_auths_client ON payment_auths(client);
  CREATE TABLE payment_miners (
    miner TEXT PRIMARY KEY,
    served TEXT NOT NULL,
    settled TEXT NOT NULL
  ) STRICT;
  CREATE TABLE payment_settlements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    settlement_id INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    total TEXT NOT NULL,
    vouchers INTEGER NOT NULL,
    result TEXT NOT NULL
  ) STRICT`,
  // 2 → 3 (issue 15, x402): each request paid with x402: what was paid (the upper bound), what it cost, the
  // miner that served it, whether the unused part was credited to the payer's account and whether the cost
  // was settled as direct revenue.
  `CREATE TABLE payment_x402 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    payer TEXT NOT NULL,
    paid TEXT NOT NULL,
    cost TEXT NOT NULL,
    miner TEXT,
    tx_hash TEXT NOT NULL,
    credited INTEGER NOT NULL DEFAULT 0,
    settled INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX payment_x402_open ON payment_x402(settled, credited)`,
];

const SECRET_PREFIX = 'sk-sub-';
/** `sk-sub-` and 32 random bytes in base64url. */
const SECRET_LENGTH = SECRET_PREFIX.length + 43;
const DISPLAY_PREFIX_LENGTH = 12;

interface KeyRow {
  id: string;
  hash: string;
  prefix: string;
  name: string;
  requests_per_minute: number;
  tokens_per_minute: number;
  created_at: number;
  revoked_at: number | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  rejected: number;
  last_used_at: number | null;
  client?: string | null;
  auth_digest?: string | null;
}

interface PendingUsage {
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  rejected: number;
  lastUsedAt: number;
}

const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/**
 * One request's count as the store takes it: a non-negative integer ≤ 2^26 (far above any request the
 * gateway admits), so no caller can overflow a total or break the flush for every key with one value.
 */
const boundedCount = (n: number): number =>
  Number.isFinite(n) ? Math.min(Math.max(0, Math.trunc(n)), MAX_RECORDED_COUNT) : 0;
const MAX_RECORDED_COUNT = 1 << 26;

const recordOf = (r: KeyRow): KeyRecord =>
  Object.freeze({
    id: r.id,
    name: r.name,
    requestsPerMinute: r.requests_per_minute,
    tokensPerMinute: r.tokens_per_minute,
    ...(r.client == null || r.auth_digest == null
      ? {}
      : { account: Object.freeze({ client: r.client, digest: r.auth_digest }) }),
  });

const infoOf = (r: KeyRow): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  limits: { requestsPerMinute: r.requests_per_minute, tokensPerMinute: r.tokens_per_minute },
  usage: {
    requests: r.requests,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    rejected: r.rejected,
    lastUsedAt: r.last_used_at,
  },
});

function migrate(db: DatabaseSync, file: string): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  if (version > KEY_STORE_VERSION) {
    throw new KeyStoreError(
      KeyStoreErrorCode.SCHEMA_TOO_NEW,
      `${file} has key store version ${version}, newer than this subnet's ${KEY_STORE_VERSION}: upgrade subnet, or point gateway.dbFile at another file`,
      { meta: { version } },
    );
  }
  if (version === KEY_STORE_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const { user_version: v } = db.prepare('PRAGMA user_version').get() as { user_version: number };
    for (let i = v; i < KEY_STORE_VERSION; i++) db.exec(MIGRATIONS[i] as string);
    db.exec(`PRAGMA user_version = ${KEY_STORE_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/**
 * Opens (creating or migrating) the key store at `opts.file`. Synchronous: SQLite work here is small and
 * never on a request's path.
 */
export function createKeyStore(opts: KeyStoreOpts, modules: KeyStoreModules = {}): KeyStore {
  const now = modules.now ?? Date.now;
  const logger = modules.logger;
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
    all: db.prepare('SELECT * FROM keys ORDER BY created_at, id'),
    live: db.prepare('SELECT * FROM keys WHERE revoked_at IS NULL'),
    byId: db.prepare('SELECT * FROM keys WHERE id = ?'),
    insert: db.prepare(
      `INSERT INTO keys (id, hash, prefix, name, requests_per_minute, tokens_per_minute, created_at, client, auth_digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    authByDigest: db.prepare('SELECT digest FROM payment_auths WHERE digest = ?'),
    insertAuth: db.prepare(
      `INSERT INTO payment_auths (digest, key_id, client, authorization, signature, cap, expiry, collected,
       charged, settled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    revoke: db.prepare('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    usage: db.prepare(
      `UPDATE keys SET requests = requests + ?, failed = failed + ?, prompt_tokens = prompt_tokens + ?,
       completion_tokens = completion_tokens + ?, rejected = rejected + ?,
       last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?`,
    ),
    dataVersion: db.prepare('PRAGMA data_version'),
  };

  /** Live keys by the hash of their secret: the request path's only view of the store. */
  let live = new Map<string, KeyRecord>();
  const load = () => {
    const next = new Map<string, KeyRecord>();
    for (const row of q.live.all() as unknown as KeyRow[]) next.set(row.hash, recordOf(row));
    live = next;
  };
  const dataVersion = () => (q.dataVersion.get() as { data_version: number }).data_version;
  load();
  let seenVersion = dataVersion();

  let pending = new Map<string, PendingUsage>();
  let closed = false;

  const pendingOf = (keyId: string): PendingUsage => {
    let p = pending.get(keyId);
    if (p === undefined) {
      p = { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, rejected: 0, lastUsedAt: 0 };
      pending.set(keyId, p);
    }
    return p;
  };

  const flush = () => {
    if (closed || pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const [id, p] of batch) {
          q.usage.run(p.requests, p.failed, p.promptTokens, p.completionTokens, p.rejected, p.lastUsedAt, id);
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      // Keep the counts for the next flush (the file may be busy or full).
      for (const [id, p] of batch) {
        const q2 = pendingOf(id);
        q2.requests += p.requests;
        q2.failed += p.failed;
        q2.promptTokens += p.promptTokens;
        q2.completionTokens += p.completionTokens;
        q2.rejected += p.rejected;
        q2.lastUsedAt = Math.max(q2.lastUsedAt, p.lastUsedAt);
      }
      logger?.warn({ err: errorMessage(err), file: opts.file }, 'cannot write API key usage; will retry');
    }
  };

  /** Picks up keys created or revoked by another process on the same file. */
  const refresh = () => {
    if (closed) return;
    try {
      const v = dataVersion();
      if (v !== seenVersion) {
        seenVersion = v;
        load();
      }
    } catch (err) {
      logger?.warn({ err: errorMessage(err), file: opts.file }, 'cannot reload API keys');
    }
  };

  const insertKey = (
    params: CreateKeyParams,
    bound: { client: string; digest: string } | undefined,
  ): { key: string; info: ApiKeyInfo } => {
    const key = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const row = {
      id: `key_${randomBytes(6).toString('hex')}`,
      hash: hashSecret(key),
      prefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
      name: params.name,
      requests_per_minute: params.requestsPerMinute ?? opts.defaults.requestsPerMinute,
      tokens_per_minute: params.tokensPerMinute ?? opts.defaults.tokensPerMinute,
      created_at: now(),
      revoked_at: null,
      requests: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      rejected: 0,
      last_used_at: null,
      client: bound?.client ?? null,
      auth_digest: bound?.digest ?? null,
    } satisfies KeyRow;
    q.insert.run(
      row.id,
      row.hash,
      row.prefix,
      row.name,
      row.requests_per_minute,
      row.tokens_per_minute,
      row.created_at,
      row.client,
      row.auth_digest,
    );
    live.set(row.hash, recordOf(row));
    logger?.info({ id: row.id, name: row.name, ...(bound === undefined ? {} : bound) }, 'API key created');
    return { key, info: infoOf(row) };
  };

  const timer = setInterval(() => {
    flush();
    refresh();
  }, opts.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    authenticate(secret) {
      if (
        typeof secret !== 'string' ||
        secret.length !== SECRET_LENGTH ||
        !secret.startsWith(SECRET_PREFIX)
      ) {
        return undefined;
      }
      return live.get(hashSecret(secret));
    },

    record(keyId, usage) {
      if (closed) return;
      const p = pendingOf(keyId);
      p.requests += 1;
      if (!usage.ok) p.failed += 1;
      p.promptTokens += boundedCount(usage.promptTokens);
      p.completionTokens += boundedCount(usage.completionTokens);
      p.lastUsedAt = now();
    },

    rejected(keyId) {
      if (closed) return;
      const p = pendingOf(keyId);
      p.rejected += 1;
      p.lastUsedAt = now();
    },

    create(params) {
      return insertKey(params, undefined);
    },

    createBound(params) {
      if (q.authByDigest.get(params.digest) !== undefined)
        throw new KeyStoreError(
          KeyStoreErrorCode.AUTHORIZATION_BOUND,
          `a key was already made for spending authorization ${params.digest}; sign a new authorization (another nonce) for another key`,
        );
      db.exec('BEGIN IMMEDIATE');
      try {
        const made = insertKey(params, params);
        q.insertAuth.run(
          params.digest,
          made.info.id,
          params.client,
          JSON.stringify(params.authorization),
          params.signature,
          params.authorization.cap,
          params.authorization.expiry,
          params.collected,
          params.collected,
          params.collected,
          now(),
        );
        db.exec('COMMIT');
        return made;
      } catch (err) {
        db.exec('ROLLBACK');
        // The in-memory map took the key: take it back.
        load();
        if (String(errorMessage(err)).includes('UNIQUE') && String(errorMessage(err)).includes('digest'))
          throw new KeyStoreError(
            KeyStoreErrorCode.AUTHORIZATION_BOUND,
            `a key was already made for spending authorization ${params.digest}`,
          );
        throw err;
      }
    },

    get db() {
      return db;
    },

    list(o = {}) {
      flush();
      const rows = q.all.all() as unknown as KeyRow[];
      return rows.filter((r) => o.includeRevoked === true || r.revoked_at === null).map(infoOf);
    },

    revoke(id) {
      const row = q.byId.get(id) as KeyRow | undefined;
      if (row === undefined) {
        throw new KeyStoreError(
          KeyStoreErrorCode.KEY_NOT_FOUND,
          `no API key ${id} (see subnet gateway keys list)`,
          {
            meta: { id },
          },
        );
      }
      live.delete(row.hash);
      if (row.revoked_at !== null) return false;
      const changed = Number(q.revoke.run(now(), id).changes) === 1;
      if (changed) logger?.info({ id }, 'API key revoked');
      return changed;
    },

    flush,

    close() {
      if (closed) return;
      clearInterval(timer);
      flush();
      closed = true;
      live = new Map();
      db.close();
    },
  };
}
