/**
 * The epoch agent takes the validator snapshot once per epoch, before the epoch step (after it when it
 * proposes as the drawn proposer); already taken by another validator is no error, a failure is not retried
 * within the epoch, and neither the snapshot nor the step keeps the other from running. Its claim
 * queue survives a restart: an agent queues the leaves of a finalised epoch it
 * proposed, the process "dies" before claiming them, and a new agent on the same SQLite file claims every
 * one with its proof; a claim that fails stays queued, one already made (AlreadyClaimed) leaves the queue.
 * It waits (no error) while an epoch's inputs are not at the chain's confirmation depth, and settles an epoch
 * again when a reorg replaced its last block (a new hash in the epoch view).
 * The chain is a scripted {@link EpochChainPort} (the agent's seam); settlement and the Merkle tree are real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@subnet/utils';
import { createEpochAgent, type EpochChainPort, type EpochView } from '../src/epoch/agent.js';
import { contractsTree } from '../src/epoch/loop.js';
import { type EpochInputs, type EpochNeuron, settleEpoch } from '../src/epoch/settle.js';
import { createConsensusStore } from '../src/store.js';

const dir = mkdtempSync(join(tmpdir(), 'epoch-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NETUID = 1;
const SUB = 10n ** 18n;
const hk = (uid: number): `0x${string}` => `0x${(uid + 1).toString(16).padStart(40, '0')}`;
const ME = hk(0);
const neuron = (uid: number, role: 'validator' | 'miner'): EpochNeuron => ({
  uid,
  hotkey: hk(uid),
  role,
  stake: role === 'validator' ? 1000n * SUB : 0n,
  validatorPermit: role === 'validator',
  registeredAt: 1,
});
const neurons = [neuron(0, 'validator'), neuron(1, 'validator'), neuron(2, 'miner'), neuron(3, 'miner')];
const inputsOf = (epoch: number): EpochInputs => ({
  epoch,
  startBlock: 100 + 20 * epoch,
  owner: '0x00000000000000000000000000000000000000aa',
  emission: 20n * SUB,
  yumaVersion: 3,
  params: {
    kappa: 32_767,
    bondsMovingAverage: 900_000,
    ownerSplit: 1800,
    minerSplit: 4100,
    validatorSplit: 4100,
  },
  neurons,
  reveals: [0, 1].map((uid) => ({ uid, block: 50 + 20 * epoch, uids: [2, 3], weights: [65_535, 30_000] })),
});
const settled = settleEpoch([0, 1, 2].map(inputsOf));
const tree = contractsTree(NETUID, settled);

type Claim = Parameters<EpochChainPort['claim']>[0];

/** A chain whose epoch view and claim answers the test sets; it records every claim sent. */
function scriptedChain(view: EpochView, onClaim: (c: Claim) => void = () => {}) {
  const claims: Claim[] = [];
  const slashReports: number[] = [];
  const port: EpochChainPort = {
    hotkey: async () => ME,
    epoch: async () => view,
    inputs: async (_n, e) => inputsOf(e),
    snapshot: async () => ({ epoch: view.currentEpoch, taken: false, txHash: null }),
    propose: async () => ({ txHash: '0x01' }),
    attest: async () => ({ txHash: '0x02' }),
    recordResults: async () => ({ txHash: '0x03' }),
    slashWrongRoots: async ({ epoch }) => {
      slashReports.push(epoch);
      return { slashed: [] };
    },
    claim: async (c) => {
      claims.push(c);
      onClaim(c);
      return { txHash: '0x04' };
    },
  };
  return { port, claims, slashReports };
}

const reverted = (errorName: string) =>
  Object.assign(new Error(`reverted: ${errorName}`), { data: { errorName } });

describe('epoch agent claim queue', () => {
  it('reloads pending claims after a restart and claims each leaf once, with its proof', async () => {
    const file = join(dir, 'claims.sqlite');
    const signal = new AbortController().signal;
    const finalised: EpochView = {
      epoch: 2,
      currentEpoch: 3,
      currentBlock: 170,
      startBlock: 140,
      endBlock: 159,
      deadline: 200,
      status: 'finalised',
      proposer: ME,
      proposal: { proposer: ME, root: tree.root, resultsHash: tree.resultsHash, attestations: [hk(1)] },
    };
    const store1 = createConsensusStore({ file });
    const first = scriptedChain(finalised);
    const a1 = createEpochAgent(
      { netuid: NETUID, claim: 'all', claimToStake: false },
      { chain: first.port, tree: contractsTree, log: silentLogger(), claims: store1.claims },
    );
    // The first step queues every leaf and records the results; then the process dies.
    await a1.tick(signal);
    assert.equal(a1.status().recorded, 1);
    assert.equal(first.claims.length, 0);
    assert.equal(store1.claims.load().get(2)?.length, settled.leaves.length);
    store1.close();

    // A new process: the epoch is long past; the queue comes back from the file.
    const store2 = createConsensusStore({ file });
    let failNext: Error | undefined = new Error('connection reset');
    const second = scriptedChain(
      { ...finalised, epoch: 9, currentEpoch: 10, status: 'open', proposal: null },
      () => {
        const err = failNext;
        failNext = undefined;
        if (err !== undefined) throw err;
      },
    );
    const a2 = createEpochAgent(
      { netuid: NETUID, claim: 'all', claimToStake: false },
      { chain: second.port, tree: contractsTree, log: silentLogger(), claims: store2.claims },
    );
    await a2.tick(signal); // fails: the leaf stays queued, its attempt counted on disk
    assert.equal(a2.status().lastError, 'connection reset');
    assert.equal(store2.claims.load().get(2)?.[0]?.attempts, 1);
    assert.equal(store2.claims.load().get(2)?.length, settled.leaves.length);
    failNext = reverted('AlreadyClaimed'); // the first try went through after all
    for (let i = 0; i < settled.leaves.length + 2; i++) await a2.tick(signal);

    const sent = second.claims.slice(1);
    assert.deepEqual(
      sent.map((c) => [c.epoch, c.uid, c.account, c.amount, c.proof]),
      settled.leaves.map((l) => [2, l.uid, l.account, l.amount, tree.proof(l.uid)]),
    );
    assert.equal(a2.status().claimed, settled.leaves.length - 1, 'the AlreadyClaimed leaf is not counted');
    assert.deepEqual(
      [...store2.claims.load()],
      [[2, []]],
      'the emptied epoch is kept, so it is not queued again',
    );
    store2.close();
  });
});

describe('epoch agent validator snapshot', () => {
  it('tries once per epoch, first unless proposing as the drawn proposer; "already taken" is no error', async () => {
    const signal = new AbortController().signal;
    let view: EpochView = {
      epoch: 2,
      currentEpoch: 3,
      currentBlock: 161,
      startBlock: 140,
      endBlock: 159,
      deadline: 179,
      status: 'expired',
      proposer: null,
      proposal: null,
    };
    const calls: string[] = [];
    let answer: () => { taken: boolean; txHash: string | null } = () => ({ taken: true, txHash: '0x05' });
    const { port } = scriptedChain(view);
    const chain: EpochChainPort = {
      ...port,
      epoch: async () => view,
      propose: async () => {
        calls.push(`propose:${view.epoch}`);
        throw new Error('propose failed');
      },
      snapshot: async (netuid) => {
        assert.equal(netuid, NETUID);
        calls.push(`snapshot:${view.currentEpoch}`);
        return { epoch: view.currentEpoch, ...answer() };
      },
    };
    const agent = createEpochAgent(
      { netuid: NETUID, claim: 'none', claimToStake: false },
      { chain, tree: contractsTree, log: silentLogger() },
    );

    // Epoch 3: the first tick takes the snapshot; later ticks of the same epoch send nothing.
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(calls, ['snapshot:3']);
    assert.equal(agent.status().snapshots, 1);
    assert.equal(agent.status().lastError, null);

    // Epoch 4: another validator took it first: taken false, no error, still one attempt.
    answer = () => ({ taken: false, txHash: null });
    view = { ...view, epoch: 3, currentEpoch: 4, currentBlock: 181 };
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(calls, ['snapshot:3', 'snapshot:4']);
    assert.equal(agent.status().snapshots, 1);
    assert.equal(agent.status().lastError, null);

    // Epoch 5: the call fails: counted, not retried within the epoch.
    answer = () => {
      throw Object.assign(new Error('reverted: SnapshotTaken'), { data: { errorName: 'SnapshotTaken' } });
    };
    view = { ...view, epoch: 4, currentEpoch: 5, currentBlock: 201 };
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(calls, ['snapshot:3', 'snapshot:4', 'snapshot:5']);
    assert.equal(agent.status().lastError, 'reverted: SnapshotTaken');

    // Epoch 6: this validator is the drawn proposer of epoch 5: it proposes first (its window is short), and
    // the proposal failing does not stop the snapshot.
    answer = () => ({ taken: true, txHash: '0x06' });
    view = { ...view, epoch: 5, currentEpoch: 6, currentBlock: 220, status: 'awaiting', proposer: ME };
    view = { ...view, startBlock: 200, endBlock: 219, deadline: 239 };
    await agent.tick(signal);
    assert.deepEqual(calls.slice(3), ['propose:5', 'snapshot:6']);
    assert.equal(agent.status().snapshots, 2);
    assert.equal(agent.status().lastError, 'propose failed');
    await agent.tick(signal);
    assert.deepEqual(calls.slice(5), ['propose:5'], 'the proposal is retried, the snapshot is not');

    // Epoch 7: another validator was drawn for epoch 6 and its window has passed, so this one proposes too,
    // but after the snapshot.
    view = { ...view, epoch: 6, currentEpoch: 7, startBlock: 220, endBlock: 239, deadline: 259 };
    view = { ...view, currentBlock: 246, proposer: hk(1) };
    await agent.tick(signal);
    assert.deepEqual(calls.slice(6), ['snapshot:7', 'propose:6']);
    assert.equal(agent.status().snapshots, 3);
  });
});

describe('epoch agent claims at an epoch boundary', () => {
  it('sends no claim in the last two blocks of the running epoch', async () => {
    const signal = new AbortController().signal;
    // Epoch 2 (blocks 140..159) is final; the chain is in epoch 3 (160..179), whose last block is 179.
    let view: EpochView = {
      epoch: 2,
      currentEpoch: 3,
      currentBlock: 161,
      startBlock: 140,
      endBlock: 159,
      deadline: 179,
      status: 'finalised',
      proposer: ME,
      proposal: { proposer: ME, root: tree.root, resultsHash: tree.resultsHash, attestations: [hk(1)] },
    };
    const { port, claims, slashReports } = scriptedChain(view);
    const agent = createEpochAgent(
      { netuid: NETUID, claim: 'all', claimToStake: false },
      { chain: { ...port, epoch: async () => view }, tree: contractsTree, log: silentLogger() },
    );
    await agent.tick(signal); // queues every leaf and records the results
    await agent.tick(signal); // reports the wrong-root voters
    assert.deepEqual(slashReports, [2]);
    await agent.tick(signal);
    assert.equal(claims.length, 1);
    for (const currentBlock of [178, 179]) {
      view = { ...view, currentBlock };
      await agent.tick(signal);
    }
    assert.equal(claims.length, 1, 'held back at the end of the epoch');
    view = { ...view, epoch: 3, currentEpoch: 4, currentBlock: 181, startBlock: 160, endBlock: 179 };
    view = { ...view, deadline: 199, status: 'open', proposer: null, proposal: null };
    await agent.tick(signal);
    assert.equal(claims.length, 2, 'resumed in the next epoch');
  });
});

describe('epoch agent and reorgs', () => {
  it('waits while the inputs are not confirmed, then proposes; a replaced last block is settled again', async () => {
    const signal = new AbortController().signal;
    // This validator is the drawn proposer of epoch 2 (blocks 140..159); the chain is in epoch 3.
    let view: EpochView = {
      epoch: 2,
      currentEpoch: 3,
      currentBlock: 160,
      startBlock: 140,
      endBlock: 159,
      endBlockHash: `0x${'aa'.repeat(32)}`,
      deadline: 179,
      status: 'awaiting',
      proposer: ME,
      proposal: null,
    };
    let confirmed = false;
    /** Epoch 2's inputs as the chain has them now: after the reorg validator 1 revealed other weights. */
    let reorged = false;
    const reads: number[] = [];
    const proposals: string[] = [];
    const { port } = scriptedChain(view);
    const chain: EpochChainPort = {
      ...port,
      epoch: async () => view,
      inputs: async (_n, e) => {
        if (!confirmed && e === 2) {
          throw Object.assign(new Error('block 159 is 1 blocks deep; its inputs are read at 3'), {
            code: 'EPOCH_NOT_CONFIRMED',
          });
        }
        reads.push(e);
        const x = inputsOf(e);
        if (!reorged || e !== 2)
          return { ...x, endBlockHash: e === 2 ? (view.endBlockHash ?? undefined) : undefined };
        return {
          ...x,
          endBlockHash: view.endBlockHash ?? undefined,
          reveals: x.reveals.map((r) => (r.uid === 1 ? { ...r, weights: [1000, 65_535] } : r)),
        };
      },
      propose: async (p) => {
        proposals.push(p.root);
        return { txHash: '0x07' };
      },
    };
    const agent = createEpochAgent(
      { netuid: NETUID, claim: 'none', claimToStake: false },
      { chain, tree: contractsTree, log: silentLogger() },
    );

    // B(2) is not deep enough: the agent waits, with no error and no proposal.
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(proposals, []);
    assert.equal(agent.status().lastError, null);
    assert.equal(agent.settled(2), undefined);

    // Three blocks later it is: the agent settles and proposes.
    confirmed = true;
    view = { ...view, currentBlock: 162 };
    await agent.tick(signal);
    assert.deepEqual(proposals, [tree.root]);
    assert.equal(agent.settled(2)?.endBlockHash, view.endBlockHash);
    assert.deepEqual(reads, [2, 0, 1]);
    // The same last block: the settlement is kept, nothing is read again.
    await agent.tick(signal);
    assert.deepEqual(reads, [2, 0, 1]);

    // A reorg replaces block 159 with one in which validator 1 revealed other weights.
    reorged = true;
    view = { ...view, currentBlock: 163, endBlockHash: `0x${'bb'.repeat(32)}` };
    await agent.tick(signal);
    assert.deepEqual(reads, [2, 0, 1, 2, 0, 1], 'the window is read again');
    const again = agent.settled(2);
    assert.equal(again?.endBlockHash, view.endBlockHash);
    assert.notEqual(again?.root, tree.root, 'settled from the new inputs');
    // (The scripted chain stays `awaiting`, so each tick proposes again: the same root until the reorg.)
    assert.deepEqual(proposals, [tree.root, tree.root, again?.root]);
    assert.equal(agent.status().reorgs, 1);
  });
});

describe('epoch agent wrong-root reports', () => {
  it('reports each final epoch once, counts the slashed, and a failure is logged, not retried', async () => {
    const signal = new AbortController().signal;
    let view: EpochView = {
      epoch: 2,
      currentEpoch: 3,
      currentBlock: 178,
      startBlock: 140,
      endBlock: 159,
      deadline: 179,
      status: 'finalised',
      proposer: hk(1),
      proposal: { proposer: hk(1), root: tree.root, resultsHash: tree.resultsHash, attestations: [ME] },
    };
    const calls: number[] = [];
    let answer: () => { slashed: { hotkey: string; amount: string }[] } = () => ({
      slashed: [{ hotkey: hk(5), amount: '100' }],
    });
    const { port, claims } = scriptedChain(view);
    const agent = createEpochAgent(
      { netuid: NETUID, claim: 'own', claimToStake: false },
      {
        chain: {
          ...port,
          epoch: async () => view,
          slashWrongRoots: async (p) => {
            assert.equal(p.netuid, NETUID);
            calls.push(p.epoch);
            return answer();
          },
        },
        tree: contractsTree,
        log: silentLogger(),
      },
    );
    // Not in the running epoch's last two blocks (a transaction then could delay the next proposal).
    await agent.tick(signal);
    assert.deepEqual(calls, []);
    view = { ...view, currentBlock: 165 };
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(calls, [2], 'once per epoch');
    assert.equal(agent.status().slashed, 1);
    assert.equal(claims.length, 1, 'its own leaf is claimed on the next tick');
    // A root this validator did not compute is not final for it: nothing to judge (it mismatched).
    view = {
      ...view,
      epoch: 3,
      currentEpoch: 4,
      currentBlock: 185,
      startBlock: 160,
      endBlock: 179,
      deadline: 199,
    };
    view = {
      ...view,
      proposal: { ...(view.proposal as NonNullable<EpochView['proposal']>), root: `0x${'ee'.repeat(32)}` },
    };
    await agent.tick(signal);
    assert.deepEqual(calls, [2]);
    // Epoch 4 final with this validator's root: the report fails, is logged and not retried.
    answer = () => {
      throw new Error('rpc down');
    };
    const s4 = contractsTree(NETUID, settleEpoch([0, 1, 2, 3, 4].map(inputsOf)));
    view = {
      ...view,
      epoch: 4,
      currentEpoch: 5,
      currentBlock: 205,
      startBlock: 180,
      endBlock: 199,
      deadline: 219,
    };
    view = {
      ...view,
      proposal: { proposer: hk(1), root: s4.root, resultsHash: s4.resultsHash, attestations: [ME] },
    };
    await agent.tick(signal);
    await agent.tick(signal);
    assert.deepEqual(calls, [2, 4]);
    assert.equal(agent.status().lastError, 'rpc down');
  });
});
