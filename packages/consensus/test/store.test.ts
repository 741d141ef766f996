/**
 * The consensus store on a real SQLite file: the validator's scoreboard, verification log and claim queue
 * written through, closed, reopened, and found as they were; a file from a newer version is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { ConsensusStoreErrorCode, createConsensusStore } from '../src/store.js';
import type { Verification } from '../src/validator/records.js';
import { createValidatorState, type ValidatorStateOpts } from '../src/validator/state.js';

const dir = mkdtempSync(join(tmpdir(), 'consensus-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const stateOpts: ValidatorStateOpts = {
  ewmaAlpha: 0.1,
  latencyTargetMs: 1000,
  routingRecoveryPasses: 3,
  routingMinCorrectness: 0.5,
  maxVerifications: 3,
  maxVerificationTextBytes: 32,
  stateFlushIntervalMs: 60_000,
};
const hk = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const neurons = [1, 2, 3].map((uid) => ({ uid, hotkey: hk(uid), registeredAt: 100 + uid }));
const record = (uid: number, text: string): Omit<Verification, 'id'> => ({
  at: 1_760_000_000_000 + uid,
  model: 'bigram',
  seed: uid,
  prompt: `prompt ${uid}`,
  maxTokens: 8,
  majority: null,
  miners: [
    {
      uid,
      peerId: null,
      verdict: uid === 2 ? 'fail' : 'pass',
      reason: uid === 2 ? 'audit' : 'majority',
      text,
      tokens: 2,
      latencyMs: 12.5,
      requestId: `r${uid}`,
      audit: null,
      receipt: null,
    },
  ],
});

describe('consensus store', () => {
  it('gives back the scoreboard and the verification log after close and reopen', () => {
    const file = join(dir, 'state', 'a.sqlite');
    const store = createConsensusStore({ file });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const s1 = createValidatorState(stateOpts, { store });
    s1.start();
    s1.board.retain(neurons);
    for (let i = 0; i < 4; i++) {
      s1.board.recordResponse(1, 100 + i);
      s1.board.recordVerdict(1, true);
      s1.board.recordResponse(3, null, { organic: true });
    }
    s1.board.recordVerdict(2, false, { reason: 'audit' });
    for (let uid = 1; uid <= 5; uid++) s1.log.add(record(uid, 'z'.repeat(100)));
    const v3 = s1.log.list({ limit: 10 }).find((v) => v.id === 3) as Verification;
    s1.stop();
    // A receipt arrives after a write: touched, written on the next one.
    (v3.miners[0] as Verification['miners'][number]).requestId = 'late';
    s1.log.touch(v3.id);
    s1.stop();
    const scores = s1.board.list();
    const records = s1.log.list({ limit: 10 });
    store.close();
    store.close(); // idempotent

    const reopened = createConsensusStore({ file });
    const s2 = createValidatorState(stateOpts, { store: reopened });
    assert.deepEqual(s2.board.list(), scores);
    assert.deepEqual(s2.log.list({ limit: 10 }), records);
    assert.deepEqual(
      records.map((v) => v.id),
      [4, 3, 2],
      'only the newest maxVerifications are kept',
    );
    assert.equal(records.find((v) => v.id === 3)?.miners[0]?.requestId, 'late');
    assert.equal(records[0]?.miners[0]?.text, `${'z'.repeat(32)}…`, 'texts are stored bounded');
    const two = s2.board.get(2);
    assert.deepEqual(
      [two?.routable, two?.failed],
      [false, 1],
      'an unroutable miner stays so across a restart',
    );
    assert.equal(s2.log.add(record(9, 'x')).id, 5, 'ids continue');

    // Neurons that left are deleted from the file too.
    s2.board.retain(neurons.slice(0, 1));
    s2.stop();
    reopened.close();
    const third = createConsensusStore({ file });
    assert.deepEqual(
      third.loadScores().map((e) => e.uid),
      [1],
    );
    assert.deepEqual(
      third.loadVerifications(10).map((v) => v.id),
      [3, 4, 5],
    );
    third.close();
  });

  it('keeps the claim queue, amounts as bigints, and an emptied epoch', () => {
    const file = join(dir, 'b.sqlite');
    const store = createConsensusStore({ file });
    const leaf = {
      uid: 4,
      account: hk(4) as `0x${string}`,
      amount: 2n ** 100n + 7n,
      proof: [`0x${'ab'.repeat(32)}`],
      attempts: 1,
    };
    store.claims.save(7, [leaf]);
    store.claims.save(8, []);
    store.claims.save(9, [leaf]);
    store.claims.delete(9);
    store.close();
    const again = createConsensusStore({ file });
    assert.deepEqual(
      [...again.claims.load()],
      [
        [7, [leaf]],
        [8, []],
      ],
    );
    again.close();
    assert.throws(() => again.claims.save(1, []), { code: ConsensusStoreErrorCode.CLOSED });
  });

  it('upgrades a version 1 file: its scores are kept, with no strikes', () => {
    const file = join(dir, 'v1.sqlite');
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE scores (neuron TEXT PRIMARY KEY, uid INTEGER NOT NULL, hotkey TEXT NOT NULL,
      registered_at INTEGER NOT NULL, correctness REAL, by_model TEXT NOT NULL DEFAULT '{}', availability REAL,
      latency_ms REAL, passed INTEGER NOT NULL, failed INTEGER NOT NULL, errors INTEGER NOT NULL,
      organic INTEGER NOT NULL, probation INTEGER NOT NULL, fail_reason TEXT);
      CREATE TABLE verifications (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
      CREATE TABLE claims (epoch INTEGER PRIMARY KEY, leaves TEXT NOT NULL);
      PRAGMA user_version = 1;`);
    db.prepare('INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      `${hk(1)}@101`,
      1,
      hk(1),
      101,
      0.75,
      '{"bigram":0.75}',
      1,
      20,
      3,
      1,
      0,
      0,
      2,
      'audit',
    );
    db.close();
    const store = createConsensusStore({ file });
    const [row] = store.loadScores();
    assert.equal(row?.correctness, 0.75);
    assert.equal(row?.probation, 2);
    assert.equal(row?.strikes, 0);
    assert.equal(row?.cleanPasses, 0);
    store.close();
    const check = new DatabaseSync(file);
    assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 2);
    check.close();
  });

  it('refuses a file written by a newer version, with a named error', () => {
    const file = join(dir, 'c.sqlite');
    createConsensusStore({ file }).close();
    const db = new DatabaseSync(file);
    db.exec('PRAGMA user_version = 99');
    db.close();
    assert.throws(() => createConsensusStore({ file }), {
      name: 'ConsensusStoreError',
      code: ConsensusStoreErrorCode.SCHEMA_TOO_NEW,
    });
  });
});
