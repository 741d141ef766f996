import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundText, createVerificationLog, type Verification } from '../../src/validator/records.js';

const record = (text: string, uid = 1): Omit<Verification, 'id'> => ({
  at: 1_760_000_000_000,
  model: 'm',
  seed: 1,
  prompt: text,
  maxTokens: 8,
  majority: text,
  miners: [
    {
      uid,
      peerId: null,
      verdict: 'pass',
      reason: 'majority',
      text,
      tokens: 1,
      latencyMs: 5,
      requestId: null,
      audit: null,
      receipt: null,
    },
  ],
});

describe('boundText', () => {
  it('keeps short texts and cuts long ones to the byte budget, never inside a character', () => {
    assert.equal(boundText('hello', 5), 'hello');
    assert.equal(boundText('hello!', 5), 'hello…');
    // 'é' is 2 bytes, '€' 3, '😀' 4: a cut inside one drops the whole character.
    assert.equal(boundText('éé', 3), 'é…');
    assert.equal(boundText('a€', 3), 'a…');
    assert.equal(boundText('😀😀', 7), '😀…');
    assert.equal(boundText('😀😀', 8), '😀😀');
    const long = 'x'.repeat(10 * 1_048_576);
    assert.equal(Buffer.byteLength(boundText(long, 1024)), 1024 + Buffer.byteLength('…'));
  });
});

describe('verification log', () => {
  it('keeps the newest `capacity` records with bounded texts', () => {
    const log = createVerificationLog({ capacity: 3, maxTextBytes: 16 });
    for (let i = 0; i < 5; i++) log.add(record('y'.repeat(1000), i));
    assert.equal(log.size, 3);
    const [newest] = log.list({ limit: 10 });
    assert.equal(newest?.id, 4);
    assert.equal(newest?.prompt, `${'y'.repeat(16)}…`);
    assert.equal(newest?.miners[0]?.text, `${'y'.repeat(16)}…`);
    assert.equal(newest?.majority, `${'y'.repeat(16)}…`);
    assert.deepEqual(
      log.list({ uid: 3, limit: 10 }).map((v) => v.id),
      [3],
    );
  });

  it('reports added and touched records once, and continues ids after loaded ones', () => {
    const log = createVerificationLog({ capacity: 2, maxTextBytes: 64 });
    log.add(record('a'));
    log.add(record('b'));
    log.add(record('c'));
    const c1 = log.takeChanges();
    assert.deepEqual(
      c1.upserts.map((v) => v.id),
      [1, 2],
    );
    assert.equal(c1.oldestId, 1);
    assert.deepEqual(log.takeChanges().upserts, []);
    log.touch(0); // dropped already: nothing to write
    log.touch(2);
    assert.deepEqual(
      log.takeChanges().upserts.map((v) => v.id),
      [2],
    );

    const again = createVerificationLog(
      { capacity: 2, maxTextBytes: 64 },
      { initial: log.list({ limit: 10 }) },
    );
    assert.equal(again.add(record('d')).id, 3);
    assert.deepEqual(
      again.list({ limit: 10 }).map((v) => v.id),
      [3, 2],
    );
  });
});
