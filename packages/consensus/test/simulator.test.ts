/**
 * The deterministic subnet simulator (test/sim/, docs/epoch.md "The simulator"), short runs: a few seeds
 * with faults for a few epochs each, one of them at full size (64 validators, 256 miners), finding no
 * invariant broken; one seed run twice giving the same per-epoch digests (a failing seed replays exactly);
 * and a deliberately broken rule caught: EpochConsensus compiled here with its two-thirds threshold lowered
 * to one half, on a subnet where exactly half the stake is cut off from the chain, finalises epochs the
 * safety check reports as "finalised without 2/3" (with the real contract the same seed finalises none and
 * breaks nothing). Each run starts its own anvil and stops it before it returns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEpochConsensus, halfThresholdSource } from './sim/patched.js';
import { DEFAULT_FAULTS, NO_FAULTS, type SimOpts, simulate } from './sim/simulate.js';

const brief = (r: Awaited<ReturnType<typeof simulate>>) =>
  JSON.stringify({ seed: r.seed, violations: r.violations, faults: r.faults, activity: r.activity });

describe('subnet simulator', { timeout: 240_000 }, () => {
  it('finds no invariant broken over seeds with faults, and replays a seed exactly', async () => {
    const opts: SimOpts = {
      seed: 21,
      epochs: 6,
      validators: 8,
      miners: 24,
      faults: { ...DEFAULT_FAULTS, byzantine: 0.25 },
    };
    const a = await simulate(opts);
    assert.deepEqual(a.violations, [], brief(a));
    assert.equal(a.epochs, 6);
    assert.ok(a.activity.proposals !== undefined && a.activity.proposals >= 6, brief(a));
    assert.ok((a.activity.claims ?? 0) > 0 && (a.activity.revealsCounted ?? 0) > 0, brief(a));
    const b = await simulate(opts);
    assert.deepEqual(b.epochDigests, a.epochDigests, 'the same seed must give the same per-epoch digests');
    assert.equal(b.digest, a.digest);
    const c = await simulate({ ...opts, seed: 22 });
    assert.deepEqual(c.violations, [], brief(c));
    assert.notEqual(c.digest, a.digest, 'another seed takes another course');
  });

  it('runs a subnet of real size (64 validators, 256 miners) without a violation', async () => {
    const r = await simulate({ seed: 64, epochs: 2, validators: 64, miners: 256 });
    assert.deepEqual(r.violations, [], brief(r));
    assert.equal(r.epochs, 2);
    assert.ok((r.activity.attestations ?? 0) >= 2 * 40, brief(r));
    // With 6 byzantine validators of 64 and the faults of the seed, finalisation was required and happened.
    assert.ok((r.activity.livenessRequired ?? 0) >= 1, brief(r));
    assert.equal(r.finalised, 2, brief(r));
  });

  it('catches a contract that finalises at one half instead of two thirds', async () => {
    const bytecode = compileEpochConsensus(halfThresholdSource());
    // Six validators of equal stake, three cut off: exactly half the snapshot's stake can vote.
    const opts: SimOpts = {
      seed: 5,
      epochs: 2,
      validators: 6,
      miners: 12,
      faults: NO_FAULTS,
      isolate: [3, 4, 5],
    };
    const real = await simulate(opts);
    assert.deepEqual(real.violations, [], brief(real));
    assert.equal(real.finalised, 0, 'the real contract finalises nothing at one half');
    const broken = await simulate({ ...opts, epochConsensusBytecode: bytecode });
    const v = broken.violations[0];
    assert.equal(v?.invariant, 'SAFETY_FINALISED_WITHOUT_TWO_THIRDS', brief(broken));
    assert.match(v.detail, /finalised without 2\/3/);
    assert.equal(broken.seed, 5);
  });
});
