/** randomHex: length, alphabet, uniqueness across pool refills, and bad sizes refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomHex, randomUint32 } from '../src/index.js';

describe('randomHex', () => {
  it('gives 2 × bytes lower-case hex characters, unique across several pool refills', () => {
    const seen = new Set<string>();
    // 12-byte ids: 8 KiB pools hold 682 of them; 5,000 draws cross seven refills, and a partial tail each time.
    for (let i = 0; i < 5000; i++) {
      const id = randomHex(12);
      assert.match(id, /^[0-9a-f]{24}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
    assert.match(randomHex(1024), /^[0-9a-f]{2048}$/);
  });

  it('randomUint32 spans 32 bits (a coarse uniformity check over 20,000 draws)', () => {
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const v = randomUint32();
      assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
      buckets[v >>> 28] = (buckets[v >>> 28] ?? 0) + 1;
    }
    // 1,250 expected per bucket; a bucket off by 30 % would be a broken draw, not chance (> 10 sigma).
    for (const b of buckets) assert.ok(b > 875 && b < 1625, `bucket count ${b}`);
  });

  it('refuses a size outside 1 to 1024 bytes', () => {
    for (const bad of [0, -1, 1.5, 1025, Number.NaN]) assert.throws(() => randomHex(bad), RangeError);
  });
});
