/** The dashboard's pure arithmetic: rings, the median, requests per second, the emission split, the countdown. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emissionSplit, median, msPerBlock, nextEpochStart, Ring, requestsPerSecond } from '../src/stats.js';

describe('dashboard stats', () => {
  it('a ring keeps the newest values up to its capacity', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
    assert.equal(r.last(), 5);
    assert.equal(r.length, 3);
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
