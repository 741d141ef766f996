/**
 * The weight setter across a restart: a setter commits and "dies" before the reveal; a new setter (same
 * hotkey, same chain stack state) neither commits over the pending commit nor loses it: it waits while the
 * chain answers `RevealTooEarly`, then reveals in the reveal epoch. The chain is a scripted chain stack at the
 * Engine API seam (`chain_commitWeightsV1` / `chain_revealWeightsV1`) that models `Weights.sol`'s rules: one
 * pending commit, revealable only in commit epoch + `commitRevealPeriod`, a new commit replacing it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chain_commitWeightsV1,
  chain_revealWeightsV1,
  chainErrors,
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  defineApi,
  type EngineApi,
  type EngineClient,
  EngineError,
} from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import type { Block, ChainView, Metagraph, Subnet } from '../../src/chainView.js';
import { createWeightSetter } from '../../src/validator/weightSetter.js';

const TEMPO = 10;
const PERIOD = 2; // commitRevealPeriod

/** Weights.sol's commit-reveal rules for one hotkey; the vector is what the chain stack stored. */
function scriptedChain() {
  let block = 0;
  const epochOf = (n: number) => Math.floor(n / TEMPO);
  let pending: { epoch: number; uids: number[]; weights: number[] } | null = null;
  const commits: number[] = [];
  const reveals: { epoch: number; uids: number[]; weights: number[] }[] = [];
  const api = defineApi([chain_commitWeightsV1, chain_revealWeightsV1]);
  const server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
  server.register(api, {
    chain_commitWeightsV1: async ({ uids, weights }) => {
      pending = { epoch: epochOf(block), uids, weights };
      commits.push(pending.epoch);
      return { txHash: `0x${'11'.repeat(32)}`, epoch: pending.epoch, commitHash: `0x${'22'.repeat(32)}` };
    },
    chain_revealWeightsV1: async () => {
      if (pending === null) throw EngineError.of(chainErrors.NO_COMMIT, 'no pending weight commit');
      const now = epochOf(block);
      const at = pending.epoch + PERIOD;
      const revert = (errorName: string) =>
        EngineError.of(chainErrors.REVERTED, `revealWeights reverted: ${errorName}`, {
          errorName,
          args: [String(now), String(at)],
        });
      if (now < at) throw revert('RevealTooEarly');
      if (now > at) throw revert('RevealTooLate');
      reveals.push(pending);
      const epoch = pending.epoch;
      pending = null;
      return { txHash: `0x${'33'.repeat(32)}`, epoch };
    },
  });
  const engine = createEngineClient(
    api,
    createInProcessTransport(server),
  ) as unknown as EngineClient<EngineApi>;
  return {
    engine,
    commits,
    reveals,
    setBlock: (n: number): Block => {
      block = n;
      return { number: n, hash: `0x${n.toString(16).padStart(64, '0')}`, timestamp: n };
    },
  };
}

const subnet = {
  netuid: 1,
  params: {
    minAllowedWeights: 1,
    maxWeightLimit: 65_535,
    maxAllowedUids: 16,
    commitRevealPeriod: PERIOD,
    weightsRateLimit: 0,
  },
} as unknown as Subnet;
const metagraph = {
  neurons: [1, 2, 3].map((uid) => ({ uid, role: 'miner' })),
} as unknown as Metagraph;
const view = {
  netuid: 1,
  subnet: () => subnet,
  metagraph: () => metagraph,
  uid: () => 0,
  epochOf: (n: number) => Math.floor(n / TEMPO),
} as unknown as ChainView;

function setter(engine: EngineClient<EngineApi>, signal: AbortSignal) {
  return createWeightSetter(
    { netuid: 1 },
    {
      engine,
      logger: silentLogger(),
      chain: view,
      signal,
      scores: () =>
        new Map([
          [1, 0.5],
          [2, 0.3],
          [3, 0.2],
        ]),
    },
  );
}

async function drive(s: ReturnType<typeof setter>, b: Block): Promise<void> {
  s.onBlock(b);
  await s.idle();
}

describe('weight setter restart', () => {
  it('a new setter waits for and reveals the commit a killed one left, without committing over it', async () => {
    const chain = scriptedChain();
    const first = new AbortController();
    const a = setter(chain.engine, first.signal);
    await drive(a, chain.setBlock(5)); // looks for a previous commit: none
    await drive(a, chain.setBlock(6)); // commits in epoch 0
    assert.deepEqual(chain.commits, [0]);
    assert.equal(a.status().pendingRevealEpoch, PERIOD);
    first.abort(); // killed before the reveal

    const second = new AbortController();
    const b = setter(chain.engine, second.signal);
    await drive(b, chain.setBlock(12)); // epoch 1: the chain says RevealTooEarly(1, 2)
    assert.equal(b.status().pendingRevealEpoch, PERIOD);
    for (let n = 13; n < 20; n++) await drive(b, chain.setBlock(n));
    assert.deepEqual(chain.commits, [0], 'no commit over the pending one');
    assert.equal(chain.reveals.length, 0);
    await drive(b, chain.setBlock(20)); // epoch 2: reveal
    assert.deepEqual(
      chain.reveals.map((r) => r.epoch),
      [0],
    );
    assert.equal(b.status().reveals, 1);
    assert.equal(b.status().pendingRevealEpoch, null);
    await drive(b, chain.setBlock(21)); // then commits again for epoch 2
    assert.deepEqual(chain.commits, [0, 2]);
    second.abort();
  });

  it('a setter restarted inside the reveal window reveals at once', async () => {
    const chain = scriptedChain();
    const first = new AbortController();
    const a = setter(chain.engine, first.signal);
    await drive(a, chain.setBlock(1));
    await drive(a, chain.setBlock(2));
    first.abort();
    const second = new AbortController();
    const b = setter(chain.engine, second.signal);
    await drive(b, chain.setBlock(25)); // epoch 2 = 0 + PERIOD
    assert.deepEqual(
      chain.reveals.map((r) => r.epoch),
      [0],
    );
    assert.equal(b.status().reveals, 1);
    assert.deepEqual(chain.commits, [0]);
    second.abort();
  });
});
