/**
 * The key store on a real SQLite file: keys created, listed and revoked; the secret never written; hash
 * lookup; revocation effective at once; usage written in batches that survive a reopen; file modes;
 * two stores on one file; a file from a newer version refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { ApiKeyInfoSchema } from '@subnet/engine-api';
import { waitFor } from '@subnet/utils';
import {
  createKeyStore,
  isKeyNotFound,
  KEY_STORE_VERSION,
  type KeyStore,
  KeyStoreErrorCode,
} from '../src/keys.js';

const DEFAULTS = { requestsPerMinute: 600, tokensPerMinute: 200_000 };

const until = (what: string, cond: () => boolean) =>
  waitFor(() => (cond() ? true : undefined), { timeoutMs: 20_000, intervalMs: 10, what });

describe('key store', () => {
  let dir: string;
  let n = 0;
  const file = () => join(dir, `db${++n}`, 'gateway.sqlite');
  const open = (f: string, extra: { flushIntervalMs?: number; now?: () => number } = {}): KeyStore =>
    createKeyStore(
      {
        file: f,
        defaults: DEFAULTS,
        ...(extra.flushIntervalMs === undefined ? {} : { flushIntervalMs: extra.flushIntervalMs }),
      },
      extra.now === undefined ? {} : { now: extra.now },
    );

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates, lists and revokes keys in the Engine API shape', () => {
    let t = 1_700_000_000_000;
    const store = open(file(), { now: () => t });
    try {
      const a = store.create({ name: 'alice' });
      t += 10;
      const b = store.create({ name: 'bob', requestsPerMinute: 5, tokensPerMinute: 1000 });
      assert.match(a.key, /^sk-sub-[A-Za-z0-9_-]{43}$/);
      assert.match(a.info.id, /^key_[0-9a-f]{12}$/);
      assert.equal(a.info.prefix, a.key.slice(0, 12));
      assert.deepEqual(a.info.limits, DEFAULTS);
      assert.deepEqual(b.info.limits, { requestsPerMinute: 5, tokensPerMinute: 1000 });
      assert.equal(a.info.createdAt, 1_700_000_000_000);
      assert.equal(a.info.revokedAt, null);
      ApiKeyInfoSchema.parse(a.info);

      assert.deepEqual(
        store.list().map((k) => k.name),
        ['alice', 'bob'],
      );
      t += 10;
      assert.equal(store.revoke(a.info.id), true);
      assert.equal(store.revoke(a.info.id), false, 'already revoked');
      assert.deepEqual(
        store.list().map((k) => k.name),
        ['bob'],
      );
      const all = store.list({ includeRevoked: true });
      assert.equal(all.length, 2);
      assert.equal(all[0]?.revokedAt, 1_700_000_000_020);
      for (const k of all) ApiKeyInfoSchema.parse(k);

      assert.throws(
        () => store.revoke('key_000000000000'),
        (err: unknown) =>
          isKeyNotFound(err) && (err as { code: string }).code === KeyStoreErrorCode.KEY_NOT_FOUND,
      );
    } finally {
      store.close();
    }
  });

  it('authenticates by hash, refuses revoked keys at once, and never writes the secret', () => {
    const f = file();
    const store = open(f);
    const { key, info } = store.create({ name: 'svc', tokensPerMinute: 42 });
    const other = store.create({ name: 'other' });
    assert.deepEqual(store.authenticate(key), {
      id: info.id,
      name: 'svc',
      requestsPerMinute: DEFAULTS.requestsPerMinute,
      tokensPerMinute: 42,
    });
    assert.equal(store.authenticate(other.key)?.id, other.info.id);
    // Near misses: one character changed, truncated, another prefix, empty.
    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, key.slice(0, -1), `sk-xxx-${key.slice(7)}`, '', `${key} `]) {
      assert.equal(store.authenticate(bad), undefined, bad);
    }
    store.revoke(info.id);
    assert.equal(store.authenticate(key), undefined);
    assert.equal(store.authenticate(other.key)?.id, other.info.id);
    store.close();

    const db = new DatabaseSync(f, { readOnly: true });
    const row = db.prepare('SELECT hash, prefix FROM keys WHERE id = ?').get(info.id) as {
      hash: string;
      prefix: string;
    };
    db.close();
    assert.match(row.hash, /^[0-9a-f]{64}$/);
    assert.equal(row.prefix, key.slice(0, 12));
    for (const name of [f, `${f}-wal`]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(name);
      } catch {
        continue; // the WAL is checkpointed and removed on close
      }
      for (const secret of [key, other.key]) {
        assert.equal(bytes.includes(secret), false, `${name} holds a secret`);
        assert.equal(bytes.includes(secret.slice(12)), false, `${name} holds the secret part of a key`);
      }
    }
  });

  it('counts usage in memory, writes it in batches, and keeps it across a reopen', async () => {
    const f = file();
    let t = 1000;
    const store = open(f, { flushIntervalMs: 50, now: () => t });
    const { key, info } = store.create({ name: 'u' });
    const id = store.authenticate(key)?.id ?? assert.fail('no key');
    store.record(id, { promptTokens: 10, completionTokens: 5, ok: true });
    t = 2000;
    store.record(id, { promptTokens: 3, completionTokens: 0, ok: false });
    store.rejected(id);
    store.rejected(id);

    // Written by the timer: visible to another connection without a list() on this one.
    const usageOnDisk = () => {
      const db = new DatabaseSync(f, { readOnly: true });
      try {
        return db.prepare('SELECT requests, failed, rejected FROM keys WHERE id = ?').get(info.id) as {
          requests: number;
          failed: number;
          rejected: number;
        };
      } finally {
        db.close();
      }
    };
    await until('usage written', () => usageOnDisk().requests === 2);
    assert.deepEqual({ ...usageOnDisk() }, { requests: 2, failed: 1, rejected: 2 });

    t = 3000;
    store.record(id, { promptTokens: 1, completionTokens: 1, ok: true });
    store.close(); // flushes what the timer had not written yet

    const again = open(f);
    try {
      assert.deepEqual(again.list()[0]?.usage, {
        requests: 3,
        promptTokens: 14,
        completionTokens: 6,
        rejected: 2,
        lastUsedAt: 3000,
      });
      assert.equal(again.authenticate(key)?.id, info.id, 'keys survive a reopen');
    } finally {
      again.close();
    }
  });

  it('list() includes usage not yet written; usage recorded after close is dropped', () => {
    const store = open(file(), { flushIntervalMs: 60_000 });
    const { info } = store.create({ name: 'x' });
    store.record(info.id, { promptTokens: 7, completionTokens: 8, ok: true });
    assert.equal(store.list()[0]?.usage.promptTokens, 7);
    store.close();
    store.close(); // idempotent
    store.record(info.id, { promptTokens: 1, completionTokens: 1, ok: true });
    store.rejected(info.id);
  });

  it('creates the file 0600 in a folder 0700', { skip: process.platform === 'win32' }, () => {
    const f = join(dir, 'modes', 'nested', 'gateway.sqlite');
    const store = open(f);
    try {
      store.create({ name: 'm' });
      assert.equal(statSync(f).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'modes', 'nested')).mode & 0o777, 0o700);
      const wal = statSync(`${f}-wal`, { throwIfNoEntry: false });
      if (wal !== undefined) assert.equal(wal.mode & 0o077, 0, 'the WAL is private too');
    } finally {
      store.close();
    }
  });

  it('a second store on the same file sees existing keys, and later ones within a flush interval', async () => {
    const f = file();
    const first = open(f, { flushIntervalMs: 20 });
    const early = first.create({ name: 'early' });
    const second = open(f, { flushIntervalMs: 20 });
    try {
      assert.equal(second.authenticate(early.key)?.name, 'early');
      const late = first.create({ name: 'late' });
      await until('the new key seen', () => second.authenticate(late.key) !== undefined);
      first.revoke(early.info.id);
      await until('the revocation seen', () => second.authenticate(early.key) === undefined);
      // Usage from both is added, not overwritten.
      first.record(late.info.id, { promptTokens: 1, completionTokens: 0, ok: true });
      second.record(late.info.id, { promptTokens: 2, completionTokens: 0, ok: true });
      first.flush();
      second.flush();
      assert.equal(first.list().find((k) => k.name === 'late')?.usage.promptTokens, 3);
    } finally {
      first.close();
      second.close();
    }
  });

  it('migrates a version-1 file: its keys keep working, unbound (free)', () => {
    const f = file();
    const s1 = open(f);
    const made = s1.create({ name: 'old' });
    s1.close();
    // Back to version 1: the payment columns and tables dropped, as a v1 file has them.
    const db = new DatabaseSync(f);
    db.exec(`DROP TABLE payment_x402; DROP TABLE payment_auths; DROP TABLE payment_miners;
      DROP TABLE payment_settlements; ALTER TABLE keys DROP COLUMN client; ALTER TABLE keys DROP COLUMN auth_digest; PRAGMA user_version = 1`);
    db.close();
    const s2 = open(f);
    const rec = s2.authenticate(made.key);
    assert.equal(rec?.id, made.info.id);
    assert.equal(rec?.account, undefined);
    const version = (s2.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    assert.equal(version, KEY_STORE_VERSION);
    assert.equal(KEY_STORE_VERSION, 3);
    s2.db.prepare('SELECT count(*) FROM payment_x402').get();
    s2.close();
  });

  it('binds one key per authorization digest', () => {
    const s = open(file());
    const p = {
      name: 'pay',
      client: '0xc1',
      digest: `0x${'aa'.repeat(32)}`,
      authorization: { cap: '100', expiry: '9999999999' },
      signature: '0x00',
      collected: '7',
    };
    const made = s.createBound(p);
    assert.deepEqual(s.authenticate(made.key)?.account, { client: '0xc1', digest: p.digest });
    assert.throws(
      () => s.createBound(p),
      (err: unknown) => (err as { code?: string }).code === KeyStoreErrorCode.AUTHORIZATION_BOUND,
    );
    assert.equal(s.list().length, 1);
    s.close();
  });

  it('refuses a file written by a newer version', () => {
    const f = file();
    open(f).close();
    const db = new DatabaseSync(f);
    db.exec(`PRAGMA user_version = ${KEY_STORE_VERSION + 1}`);
    db.close();
    assert.throws(
      () => open(f),
      (err: unknown) =>
        (err as { code?: string }).code === KeyStoreErrorCode.SCHEMA_TOO_NEW &&
        /upgrade subnet/.test(String(err)),
    );
  });
});
