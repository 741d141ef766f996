import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditAnswer, majority, type ReferenceToken } from '../../src/validator/verify.js';

describe('majority', () => {
  it('2 of 3 identical answers stand', () => {
    assert.equal(majority(['a b', 'a b', 'c']), 'a b');
    assert.equal(majority(['x', 'a b', 'a b']), 'a b');
  });

  it('no majority when all differ, with fewer than two responders, or below the quorum', () => {
    assert.equal(majority(['a', 'b', 'c']), null);
    assert.equal(majority(['a']), null);
    assert.equal(majority(['a', null, null]), null);
    assert.equal(majority(['a', 'a', 'b', 'b']), null);
    assert.equal(majority(['a', 'a', 'a', 'b']), 'a');
  });

  it('counts only miners that answered', () => {
    assert.equal(majority(['a', 'a', null]), 'a');
    assert.equal(majority(['a', 'b', null]), null);
  });
});

const tok = (token: string, logprob: number, best = logprob): ReferenceToken => ({
  token,
  logprob,
  topLogprobs: [{ token: 'best', logprob: best }],
});
const opts = { tolerance: 0.1, minMatch: 0.9 };

describe('auditAnswer', () => {
  it('passes greedy tokens with matching logprobs', () => {
    const ref = [tok('t', -0.5), tok('h', -0.1), tok('e', -0.2)];
    const r = auditAnswer(
      ref,
      [
        { text: 't', logprob: -0.5 },
        { text: 'h', logprob: -0.12 },
        { text: 'e', logprob: -0.2 },
      ],
      opts,
    );
    assert.deepEqual(r, {
      tokens: 3,
      argmaxMatched: 3,
      logprobsCompared: 3,
      logprobsMatched: 3,
      maxLogprobDiff: r.maxLogprobDiff,
      passed: true,
    });
    assert.ok((r.maxLogprobDiff ?? 1) < 0.03);
  });

  it('fails tokens that are not the reference argmax', () => {
    const ref = [tok('t', -3, -0.5), tok('h', -2, -0.1), tok('e', -0.2)];
    const r = auditAnswer(ref, [{ text: 'the' }], opts);
    assert.equal(r.argmaxMatched, 1);
    assert.equal(r.logprobsCompared, 0);
    assert.equal(r.passed, false);
  });

  it('accepts ties within the tolerance', () => {
    const ref = [tok('a', -0.69, -0.68), tok('b', -0.1)];
    assert.equal(auditAnswer(ref, [], opts).passed, true);
  });

  it('fails logprobs reported far from the reference', () => {
    const ref = Array.from({ length: 10 }, (_, i) => tok(String(i), -0.5));
    const miner = ref.map((t) => ({ text: t.token, logprob: -0.01 }));
    const r = auditAnswer(ref, miner, opts);
    assert.equal(r.argmaxMatched, 10);
    assert.equal(r.logprobsMatched, 0);
    assert.equal(r.passed, false);
  });

  it('compares logprobs only where the tokenisations cover the same characters', () => {
    // The miner's first token spans ' qu' while the reference split it in two: only 'ick' lines up.
    const ref = [tok(' q', -0.3), tok('u', -0.1), tok('ick', -0.2)];
    const r = auditAnswer(
      ref,
      [
        { text: ' qu', logprob: -0.4 },
        { text: 'ick', logprob: -0.21 },
      ],
      opts,
    );
    assert.equal(r.logprobsCompared, 1);
    assert.equal(r.logprobsMatched, 1);
    assert.equal(r.passed, true);
  });

  it('tolerates a boundary token that is not the argmax when the fraction allows it', () => {
    const ref = [tok(' ', -2, -0.1), ...Array.from({ length: 19 }, () => tok('x', -0.05))];
    assert.equal(auditAnswer(ref, [], opts).passed, true);
    assert.equal(auditAnswer(ref.slice(0, 5), [], opts).passed, false);
  });

  it('an empty reference never passes', () => {
    assert.equal(auditAnswer([], [], opts).passed, false);
  });
});
