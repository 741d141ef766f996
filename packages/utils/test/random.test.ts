/** randomHex: length, alphabet, uniqueness across pool refills, and bad sizes refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomHex } from '../src/index.js';

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

  it('refuses a size outside 1 to 1024 bytes', () => {
    for (const bad of [0, -1, 1.5, 1025, Number.NaN]) assert.throws(() => randomHex(bad), RangeError);
  });
});
