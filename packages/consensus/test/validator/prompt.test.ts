import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHALLENGE_WORDS, challengePrompt, mulberry32 } from '../../src/validator/prompt.js';

describe('challenge prompts', () => {
  it('are a deterministic function of the seed', () => {
    for (const seed of [0, 1, 42, 2 ** 32 - 1]) assert.equal(challengePrompt(seed), challengePrompt(seed));
  });

  it('differ between seeds and use only the word list, 4 to 11 words', () => {
    const prompts = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const p = challengePrompt(seed);
      prompts.add(p);
      const words = p.split(' ');
      assert.ok(words.length >= 4 && words.length <= 11, p);
      for (const w of words) assert.ok(CHALLENGE_WORDS.includes(w), w);
    }
    assert.ok(prompts.size > 190, `${prompts.size} distinct prompts of 200`);
  });

  it('mulberry32 is pinned (a changed PRNG would make old seeds unreproducible)', () => {
    const r = mulberry32(1);
    assert.deepEqual(
      [r(), r(), r()].map((x) => x.toFixed(6)),
      ['0.627074', '0.002736', '0.527447'],
    );
  });
});
