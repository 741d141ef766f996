/**
 * The verdict of one answer (`judge` in challenge.ts): only an audit passes or fails an answer; a
 * protocol violation (a bound broken, a forged usage count) is a failed verdict; any other error is
 * unavailability, not a verdict; a majority alone earns nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, VIOLATIONS } from '../../src/validator/challenge.js';

const audit = (failure: 'TRUNCATED' | null) => ({
  stats: {
    tokens: 3,
    argmaxMatched: 3,
    logprobsCompared: 3,
    logprobsMatched: 3,
    maxLogprobDiff: 0,
    passed: failure === null,
  },
  failure,
  detail: failure ?? 'passed',
});

describe('judge', () => {
  it('a violation fails; another error is an error verdict', () => {
    for (const code of VIOLATIONS) {
      assert.deepEqual(judge({ text: null, errorCode: code }, null, null), {
        verdict: 'fail',
        reason: `violation ${code}`,
      });
    }
    assert.equal(judge({ text: null, errorCode: 'TIMEOUT' }, null, null).verdict, 'error');
  });

  it('an audit decides; without one the majority is evidence only', () => {
    assert.equal(judge({ text: 'a', errorCode: null }, 'a', audit(null)).verdict, 'pass');
    assert.equal(judge({ text: 'a', errorCode: null }, 'a', audit('TRUNCATED')).verdict, 'fail');
    assert.equal(judge({ text: 'a', errorCode: null }, 'a', null).verdict, 'unverified');
  });
});
