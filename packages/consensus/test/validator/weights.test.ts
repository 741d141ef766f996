import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWeights, normalizeWeights } from '../../src/validator/weights.js';

const rules = { minAllowedWeights: 1, maxWeightLimit: 65_535, maxAllowedUids: 256 };

describe('normalizeWeights', () => {
  it('scales so the best miner gets 65535, over the metagraph miners only, sorted by uid', () => {
    const v = normalizeWeights(
      new Map([
        [3, 1],
        [1, 0.5],
        [9, 0.8],
      ]),
      [1, 2, 3],
      rules,
    );
    assert.deepEqual(v, { uids: [1, 2, 3], weights: [32768, 0, 65535] });
    assert.ok(v !== null && checkWeights(v, rules));
  });

  it('null when no miner has a positive score, or there are no miners', () => {
    assert.equal(normalizeWeights(new Map([[1, 0]]), [1, 2], rules), null);
    assert.equal(normalizeWeights(new Map([[1, 1]]), [], rules), null);
  });

  it('caps a dominant miner at maxWeightLimit of the sum, spreading the excess', () => {
    const r = { ...rules, maxWeightLimit: 16_384 }; // at most 25% each
    const scores = new Map([
      [0, 1],
      [1, 0.01],
      [2, 0.01],
      [3, 0.01],
      [4, 0.02],
    ]);
    const v = normalizeWeights(scores, [0, 1, 2, 3, 4], r);
    assert.ok(v !== null);
    assert.ok(checkWeights(v, r), JSON.stringify(v));
    const sum = v.weights.reduce((a, b) => a + b, 0);
    assert.ok((v.weights[0] as number) * 65_535 <= r.maxWeightLimit * sum);
    assert.ok((v.weights[0] as number) / sum > 0.24);
    // The order among the others is kept.
    assert.ok((v.weights[4] as number) > (v.weights[1] as number));
  });

  it('meets minAllowedWeights by giving the best of the rest the smallest weight', () => {
    const r = { ...rules, minAllowedWeights: 3 };
    const v = normalizeWeights(
      new Map([
        [5, 1],
        [6, 0],
      ]),
      [5, 6, 7, 8],
      r,
    );
    assert.ok(v !== null);
    assert.deepEqual(v.weights.filter((w) => w > 0).length, 3);
    assert.equal(v.weights[0], 65535);
    assert.ok(checkWeights(v, r));
  });

  it('drops uids at or above maxAllowedUids', () => {
    const v = normalizeWeights(
      new Map([
        [1, 1],
        [300, 1],
      ]),
      [1, 300],
      rules,
    );
    assert.deepEqual(v, { uids: [1], weights: [65535] });
  });

  it('random vectors always satisfy the contract rules when they can', () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(rnd() * 20);
      const r = {
        minAllowedWeights: 1 + Math.floor(rnd() * n),
        maxWeightLimit: Math.ceil(65_535 / n) + Math.floor(rnd() * 60_000),
        maxAllowedUids: 256,
      };
      const uids = Array.from({ length: n }, (_, i) => i * 3);
      const scores = new Map(uids.map((u) => [u, rnd() < 0.3 ? 0 : rnd() ** 3]));
      const v = normalizeWeights(scores, uids, r);
      if (v === null) continue;
      assert.ok(checkWeights(v, r), JSON.stringify({ r, v }));
    }
  });
});
