import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineScore, createScoreboard, ewma } from '../../src/validator/scores.js';

describe('ewma', () => {
  it('the first sample sets it, later ones move it by alpha', () => {
    assert.equal(ewma(null, 1, 0.1), 1);
    assert.equal(ewma(1, 0, 0.1), 0.9);
    let v: number | null = null;
    for (let i = 0; i < 200; i++) v = ewma(v, 0, 0.1);
    assert.ok((v as number) < 1e-6);
  });
});

describe('combineScore', () => {
  it('is correctness × availability × latency factor', () => {
    assert.deepEqual(combineScore(0.8, 0.5, 1000, 2000), { score: 0.4, latencyFactor: 1 });
    assert.deepEqual(combineScore(1, 1, 4000, 2000), { score: 0.5, latencyFactor: 0.5 });
    assert.equal(combineScore(null, null, null, 2000).score, 0, 'no challenge passed: no score');
    assert.equal(combineScore(1, null, null, 2000).score, 1);
  });
});

describe('scoreboard', () => {
  it('honest miners converge to 1, a cheater to 0, an unreliable one in between', () => {
    const b = createScoreboard({ alpha: 0.2, latencyTargetMs: 1000 });
    for (let i = 0; i < 30; i++) {
      b.recordResponse(1, 100);
      b.recordVerdict(1, true);
      b.recordResponse(2, 100);
      b.recordVerdict(2, false);
      if (i % 2 === 0) {
        b.recordResponse(3, 100);
        b.recordVerdict(3, true);
      } else b.recordResponse(3, null);
    }
    const [s1, s2, s3] = [b.get(1), b.get(2), b.get(3)];
    assert.ok((s1?.score ?? 0) > 0.99);
    assert.equal(s2?.score, 0);
    assert.ok((s3?.score ?? 0) > 0.3 && (s3?.score ?? 1) < 0.7, String(s3?.score));
    assert.deepEqual([s1?.passed, s2?.failed, s3?.errors, s3?.challenges], [30, 30, 15, 15]);
  });

  it('organic outcomes count for availability, and retain drops deregistered miners', () => {
    const b = createScoreboard({ alpha: 0.5, latencyTargetMs: 1000 });
    b.recordResponse(4, 50, { organic: true });
    b.recordResponse(4, null, { organic: true });
    b.recordResponse(5, 50);
    assert.equal(b.get(4)?.organic, 2);
    assert.equal(b.get(4)?.availability, 0.5);
    b.retain([5]);
    assert.equal(b.get(4), undefined);
    assert.deepEqual(
      b.list().map((s) => s.uid),
      [5],
    );
  });
});
