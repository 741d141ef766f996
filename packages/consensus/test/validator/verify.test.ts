import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { majority } from '../../src/validator/verify.js';

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
