import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32, newSeed } from '../../src/validator/prompt.js';

describe('seeds', () => {
  it('mulberry32 is pinned (a changed PRNG would make old seeds unreproducible)', () => {
    const r = mulberry32(1);
    assert.deepEqual(
      [r(), r(), r()].map((x) => x.toFixed(6)),
      ['0.627074', '0.002736', '0.527447'],
    );
  });

  it('newSeed draws u32s that differ', () => {
    const seeds = new Set(Array.from({ length: 64 }, () => newSeed()));
    for (const s of seeds) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32, String(s));
    assert.ok(seeds.size > 60);
  });
});
