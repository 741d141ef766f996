/**
 * The per-key limiter on a fake clock: bursts up to capacity then a refusal saying when to retry, refill,
 * token estimates settled both ways, limits changed on a key, and buckets forgotten once full again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLimiter } from '../src/limits.js';
import type { KeyRecord } from '../src/types.js';

const key = (id: string, requestsPerMinute: number, tokensPerMinute: number): KeyRecord => ({
  id,
  name: id,
  requestsPerMinute,
  tokensPerMinute,
});

function clock() {
  const c = { t: 0, now: () => c.t };
  return c;
}

describe('limiter', () => {
  it('admits a burst up to the request capacity, then says when one will fit', () => {
    const c = clock();
    const limiter = createLimiter({}, { now: c.now });
    const k = key('k', 6, 1_000_000); // one request per 10 s
    for (let i = 0; i < 6; i++) assert.deepEqual(limiter.admit(k, 0), { ok: true }, `request ${i}`);
    assert.deepEqual(limiter.admit(k, 0), { ok: false, retryAfterS: 10, reason: 'requests' });
    c.t = 7_500;
    assert.deepEqual(limiter.admit(k, 0), { ok: false, retryAfterS: 3, reason: 'requests' });
    c.t = 9_999;
    assert.deepEqual(limiter.admit(k, 0), { ok: false, retryAfterS: 1, reason: 'requests' });
    c.t = 10_000;
    assert.deepEqual(limiter.admit(k, 0), { ok: true });
    assert.equal(limiter.admit(k, 0).ok, false, 'the refill was spent');
    // A minute idle refills to capacity, never beyond.
    c.t = 10 * 60_000;
    for (let i = 0; i < 6; i++) assert.equal(limiter.admit(k, 0).ok, true);
    assert.equal(limiter.admit(k, 0).ok, false);
  });

  it('limits tokens by the estimate and takes nothing when it refuses', () => {
    const c = clock();
    const limiter = createLimiter({}, { now: c.now });
    const k = key('k', 1000, 600); // 10 tokens per second
    assert.deepEqual(limiter.admit(k, 500), { ok: true });
    assert.deepEqual(limiter.admit(k, 150), { ok: false, retryAfterS: 5, reason: 'tokens' });
    assert.deepEqual(limiter.admit(k, 100), { ok: true }, 'the refusal took nothing');
    assert.deepEqual(limiter.admit(k, 1), { ok: false, retryAfterS: 1, reason: 'tokens' });
    c.t = 60_000;
    // Larger than a whole minute's tokens: admitted on a full bucket, which then owes the rest.
    assert.deepEqual(limiter.admit(k, 900), { ok: true });
    assert.deepEqual(limiter.admit(k, 60), { ok: false, retryAfterS: 36, reason: 'tokens' });
  });

  it('reports the longer wait when both buckets are short', () => {
    const c = clock();
    const limiter = createLimiter({}, { now: c.now });
    const k = key('k', 1, 60);
    assert.equal(limiter.admit(k, 60).ok, true);
    assert.deepEqual(limiter.admit(k, 30), { ok: false, retryAfterS: 60, reason: 'requests' });
    c.t = 59_000;
    assert.deepEqual(limiter.admit(k, 0), { ok: false, retryAfterS: 1, reason: 'requests' });
    const k2 = key('k2', 60, 6);
    assert.equal(limiter.admit(k2, 6).ok, true);
    assert.deepEqual(limiter.admit(k2, 6), { ok: false, retryAfterS: 60, reason: 'tokens' });
  });

  it('settles the real token count against the estimate, both ways', () => {
    const c = clock();
    const limiter = createLimiter({}, { now: c.now });
    const k = key('k', 1000, 600);
    assert.equal(limiter.admit(k, 100).ok, true); // 500 left
    limiter.settle(k, 100, 40); // 60 given back: 560
    assert.equal(limiter.admit(k, 560).ok, true);
    assert.equal(limiter.admit(k, 1).ok, false);
    // Used more than estimated: the bucket goes negative and the key waits it out.
    limiter.settle(k, 560, 1160); // 600 taken: -600
    assert.deepEqual(limiter.admit(k, 10), { ok: false, retryAfterS: 61, reason: 'tokens' });
    c.t = 61_000;
    assert.equal(limiter.admit(k, 10).ok, true);
    // Giving back never fills beyond capacity.
    c.t = 10 * 60_000;
    limiter.settle(k, 1_000_000, 0);
    assert.equal(limiter.admit(k, 600).ok, true);
    assert.equal(limiter.admit(k, 1).ok, false);
  });

  it('follows a key whose limits change', () => {
    const c = clock();
    const limiter = createLimiter({}, { now: c.now });
    assert.equal(limiter.admit(key('k', 10, 1000), 0).ok, true);
    // Lowered to 2 per minute: the 9 left are capped at the new capacity.
    const lowered = key('k', 2, 1000);
    assert.equal(limiter.admit(lowered, 0).ok, true);
    assert.equal(limiter.admit(lowered, 0).ok, true);
    assert.deepEqual(limiter.admit(lowered, 0), { ok: false, retryAfterS: 30, reason: 'requests' });
  });

  it('forgets buckets once they are full again, keeping memory to the keys in use', () => {
    const c = clock();
    const limiter = createLimiter({ sweepIntervalMs: 1000 }, { now: c.now });
    for (let i = 0; i < 1000; i++) limiter.admit(key(`k${i}`, 60, 6000), 100);
    assert.equal(limiter.size(), 1000);
    const busy = key('busy', 60, 6000);
    // They refill within 1 s; the busy key keeps spending meanwhile.
    c.t = 500;
    for (let i = 0; i < 60; i++) limiter.admit(busy, 0);
    c.t = 1_500;
    limiter.admit(busy, 0); // sweeps: the others refilled in 1 s; busy is empty
    assert.equal(limiter.size(), 1);
    // A forgotten key starts again from a full bucket, as it would have been.
    for (let i = 0; i < 60; i++) assert.equal(limiter.admit(key('k0', 60, 6000), 0).ok, true, `k0 ${i}`);
    assert.equal(limiter.admit(key('k0', 60, 6000), 0).ok, false);
    // A bucket in debt is not forgotten early.
    limiter.settle(busy, 0, 60_000);
    c.t = 100_000;
    limiter.admit(key('other', 60, 6000), 0); // sweeps: k0 is full again, busy is not
    assert.equal(limiter.size(), 2);
    assert.equal(limiter.admit(busy, 6000).ok, false, 'busy still owes tokens');
  });
});
