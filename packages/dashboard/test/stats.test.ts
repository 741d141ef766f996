/** The dashboard's pure arithmetic: rings, the median, requests per second, the emission split, the countdown. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  emissionSplit,
  median,
  msPerBlock,
  nextEpochStart,
  Ring,
  requestsPerSecond,
  TimeWindow,
} from '../src/stats.js';

describe('dashboard stats', () => {
  it('a ring keeps the newest values up to its capacity', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
    assert.equal(r.last(), 5);
    assert.equal(r.length, 3);
    // Many times round: still the newest three, oldest first; a partly filled ring likewise.
    for (let i = 6; i <= 1001; i++) r.push(i);
    assert.deepEqual(r.toArray(), [999, 1000, 1001]);
    assert.equal(r.last(), 1001);
    const p = new Ring<number>(4);
    assert.equal(p.last(), undefined);
    p.push(7);
    p.push(8);
    assert.deepEqual(p.toArray(), [7, 8]);
    assert.equal(p.last(), 8);
  });

  it('a time window keeps the last windowMs, at most capacity entries, in order', () => {
    const w = new TimeWindow<{ at: number; n: number }>(1000, 5);
    for (let n = 0; n < 4; n++) w.push({ at: n * 400, n }, n * 400);
    // At 1,200 the window is (200, 1200]: entries at 400, 800 and 1,200.
    assert.deepEqual(
      w.toArray().map((e) => e.n),
      [1, 2, 3],
    );
    for (let n = 4; n < 10; n++) w.push({ at: 1200, n }, 1200);
    assert.equal(w.length, 5, 'capped at capacity, the oldest dropped');
    assert.deepEqual(
      w.toArray().map((e) => e.n),
      [5, 6, 7, 8, 9],
    );
    // 100,000 pushes at a steady rate: the window holds what it should and stays bounded.
    const big = new TimeWindow<{ at: number }>(10_000, 65_536);
    for (let t = 0; t < 100_000; t++) big.push({ at: t }, t);
    assert.equal(big.length, 10_000);
    assert.equal(big.toArray()[0]?.at, 90_000);
  });

  it('median of odd, even and empty lists', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
  });

  it('requests per second counts distinct requests in the window (failover attempts once)', () => {
    const now = 100_000;
    const seen = [
      { requestId: 'a', at: now - 1000 },
      { requestId: 'a', at: now - 900 },
      { requestId: 'b', at: now - 9_000 },
      { requestId: 'c', at: now - 11_000 },
    ];
    assert.equal(requestsPerSecond(seen, now), 0.2);
  });

  it('splits an epoch: miners and validators by role, the owner the rest', () => {
    const roles: Record<number, 'miner' | 'validator'> = { 0: 'validator', 1: 'miner' };
    const s = emissionSplit(
      '1000000000000000000000',
      [
        { uid: 0, emission: '410000000000000000000', dividends: 1 },
        { uid: 1, emission: '400000000000000000000', dividends: 0 },
        { uid: 2, emission: '10000000000000000000', dividends: 0 }, // deregistered since: a miner by its dividends
      ],
      (uid) => roles[uid],
    );
    assert.deepEqual(s, {
      total: '1000000000000000000000',
      owner: '180000000000000000000',
      miners: '410000000000000000000',
      validators: '410000000000000000000',
    });
  });

  it('counts down to the next epoch', () => {
    // Epoch 4 (blocks 40..49) ended; the chain is in epoch 5: the next starts at 60.
    assert.equal(nextEpochStart(49, 4, 5, 10), 60);
    // An epoch still open (no ended one yet): its own end is the next start.
    assert.equal(nextEpochStart(9, 0, 0, 10), 10);
    assert.equal(
      msPerBlock([
        { number: 10, timestamp: 20_000 },
        { number: 15, timestamp: 30_000 },
      ]),
      2000,
    );
    assert.equal(msPerBlock([{ number: 10, timestamp: 20_000 }]), undefined);
  });
});
