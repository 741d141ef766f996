/**
 * The chain side of the epoch (docs/epoch.md) against a real anvil devnet with two validators and two
 * miners: inputs read at the epoch's last block (stakes as they were then, reveals filtered by the window and
 * by registrations), and one epoch settled end to end through the chain_* handlers: its validator snapshot taken
 * during it, proposed by the drawn proposer (another validator refused in the exclusive window), a wrong root
 * refused by name, attested to finality, shown in the metagraph and the results, and
 * claimed (minted and staked). With chain.confirmations = 3, inputs are refused (EPOCH_NOT_CONFIRMED) until
 * the epoch's last block is 3 deep; a reorg (evm_snapshot / evm_revert, then another history) that replaces
 * that block with other weights yields the new inputs, not the ones cached under the old block's hash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildEpochTree,
  encodeResults,
  neuronRegistryAbi,
  OWNER_UID,
  resultsHash,
  subnetRegistryAbi,
} from '@subnet/contracts';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  EngineError,
} from '@subnet/engine-api';
import { createWalletStore } from '@subnet/wallet';
import { nonceManager, type PrivateKeyAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  countedReveals,
  createSubnetClient,
  type Devnet,
  defaultConfirmations,
  EpochInputsCache,
  type EpochNeuron,
  type SubnetClient,
  startDevnet,
} from '../src/index.js';
import { type ChainStackOpts, chainApi, chainHandlers } from '../src/stack.js';

const SUB = 10n ** 18n;
type Client = ReturnType<typeof createEngineClient<typeof chainApi>>;

let dataDir: string;
let devnet: Devnet;
let sdk: SubnetClient;
let stackOpts: ChainStackOpts;
const accounts = new Map<string, { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount }>();
const clients = new Map<string, Client>();

const acct = (name: string) =>
  accounts.get(name) as { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount };
const client = (name: string) => clients.get(name) as Client;

/** Mines until the latest block is the first of `epoch` in subnet 1. */
async function mineToEpoch(epoch: bigint | number): Promise<void> {
  const start = await sdk.chain.public.readContract({
    address: devnet.network.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'epochStartBlock',
    args: [1, BigInt(epoch)],
  });
  const latest = await sdk.getCurrentBlock();
  if (latest >= start) return;
  await sdk.chain.public.request({
    method: 'anvil_mine' as never,
    params: [`0x${(start - latest).toString(16)}`] as never,
  });
}

async function expectEngineError(p: Promise<unknown>, code: string, errorName?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code, e.message);
    if (errorName !== undefined) assert.equal((e.data as { errorName: string }).errorName, errorName);
    return true;
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'subnet-epoch-'));
  devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 2, miners: 2 });
  sdk = createSubnetClient({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: devnet.network.chainId,
    contracts: devnet.network.contracts,
    pollingIntervalMs: 50,
  });
  const password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
  const store = createWalletStore({ dataDir });
  for (const name of ['owner', 'validator1', 'validator2', 'miner1', 'miner2']) {
    accounts.set(name, {
      coldkey: await store.unlock(name, 'coldkey', password),
      hotkey: await store.unlock(name, 'default', password),
    });
  }
  stackOpts = {
    dataDir,
    chain: {
      rpcUrl: devnet.anvil.rpcUrl,
      rpcTimeoutMs: 5000,
      retryCount: 0,
      pollIntervalMs: 50,
      wallet: 'validator1',
      hotkey: 'default',
    },
  };
  for (const name of ['validator1', 'validator2']) {
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 4 });
    server.register(chainApi, chainHandlers(stackOpts, sdk, sdk.withAccount(acct(name).hotkey)));
    clients.set(name, createEngineClient(chainApi, createInProcessTransport(server)));
  }
});

after(async () => {
  await devnet.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('countedReveals (the weight rules of docs/epoch.md)', () => {
  const neuron = (
    uid: number,
    role: 'validator' | 'miner',
    registeredAt: bigint,
    permit = true,
  ): EpochNeuron => ({
    uid,
    hotkey: `0x${uid.toString(16).padStart(40, '0')}`,
    role,
    stake: 1n,
    validatorPermit: role === 'validator' && permit,
    registeredAt,
  });
  const neurons = [
    neuron(0, 'validator', 10n),
    neuron(1, 'validator', 150n), // a new holder of uid 1
    neuron(2, 'validator', 10n, false),
    neuron(3, 'miner', 10n),
    neuron(4, 'miner', 125n), // registered after some reveals
  ];
  const reveal = (uid: number, block: bigint) => ({
    uid,
    block,
    epoch: 0n,
    uids: [3, 4, 9],
    weights: [1, 2, 3],
  });

  it('keeps the latest reveal per permitted validator in the window and drops later-registered miners', () => {
    const out = countedReveals(
      neurons,
      [reveal(0, 90n), reveal(0, 120n), reveal(0, 130n), reveal(1, 140n), reveal(2, 120n), reveal(0, 210n)],
      { from: 100n, to: 200n },
    );
    // uid 0: the 130 reveal (210 is after B(e)); uid 4 registered at 125 <= 130 stays, uid 9 is no miner.
    // uid 1: its only reveal predates its holder's registration; uid 2 has no permit.
    assert.deepEqual(out, [{ uid: 0, block: 130n, epoch: 0n, uids: [3, 4], weights: [1, 2] }]);
    const early = countedReveals(neurons, [reveal(0, 120n)], { from: 100n, to: 200n });
    assert.deepEqual(early[0]?.uids, [3], 'uid 4 registered after the reveal');
    assert.deepEqual(countedReveals(neurons, [reveal(0, 90n)], { from: 100n, to: 200n }), []);
  });
});

describe('an epoch on chain', () => {
  let e: number;
  let revealBlock: bigint;
  let commitEpoch: bigint;

  it('an epoch that has not ended is EPOCH_NOT_ENDED', async () => {
    const { currentEpoch } = await client('validator1').call('chain_getEpochV1', { netuid: 1 });
    await expectEngineError(
      client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: currentEpoch + 1 }),
      'EPOCH_NOT_ENDED',
    );
    await expectEngineError(
      client('validator1').call('chain_getEpochInputsV1', { netuid: 9, epoch: 0 }),
      'NOT_FOUND',
    );
  });

  it('reads inputs at B(e): stakes as they were, reveals filtered by registrations', async () => {
    const v1 = sdk.withAccount(acct('validator1').hotkey);
    const commit = await v1.commitWeights({ netuid: 1, uids: [2, 3, 4], weights: [100, 200, 300] });
    commitEpoch = commit.epoch;
    await mineToEpoch(commit.epoch + 1n);
    const { hash } = await v1.revealWeights({
      netuid: 1,
      uids: commit.uids,
      weights: commit.weights,
      salt: commit.salt,
    });
    revealBlock = (await sdk.chain.public.getTransactionReceipt({ hash })).blockNumber;
    // The epoch's validator snapshot, taken during it (the epoch agents' first step in every epoch): the first
    // call takes it, a second finds it taken and sends nothing.
    const snap = await client('validator2').call('chain_snapshotValidatorsV1', { netuid: 1 });
    assert.equal(snap.epoch, Number(commit.epoch + 1n));
    assert.equal(snap.taken, true);
    assert.ok(snap.txHash !== null && snap.gasUsed > 0, JSON.stringify(snap));
    assert.deepEqual(await client('validator1').call('chain_snapshotValidatorsV1', { netuid: 1 }), {
      epoch: snap.epoch,
      taken: false,
      txHash: null,
      gasUsed: 0,
    });
    await expectEngineError(
      client('validator1').call('chain_snapshotValidatorsV1', { netuid: 9 }),
      'NOT_FOUND',
    );
    // A miner registered after the reveal takes uid 4: the reveal's weight on it must not count.
    const late = privateKeyToAccount(generatePrivateKey());
    const { uid } = await sdk
      .withAccount(acct('miner1').coldkey)
      .registerNeuron({ netuid: 1, hotkey: late.address, hotkeyAccount: late, role: 'miner' });
    assert.equal(uid, 4);
    e = Number(commit.epoch + 1n);
    await mineToEpoch(e + 1);

    const x = await client('validator2').call('chain_getEpochInputsV1', { netuid: 1, epoch: e });
    assert.equal(x.epoch, e);
    assert.equal(x.endBlock, x.deadline - (x.endBlock - x.startBlock + 1));
    assert.equal(x.owner, acct('owner').coldkey.address);
    assert.equal(x.yumaVersion, 3);
    assert.ok(BigInt(x.emission) > 0n);
    assert.deepEqual(
      x.neurons.map((n) => [n.uid, n.role, n.stake, n.validatorPermit]),
      [
        [0, 'validator', (1000n * SUB).toString(), true],
        [1, 'validator', (1000n * SUB).toString(), true],
        [2, 'miner', '0', false],
        [3, 'miner', '0', false],
        [4, 'miner', '0', false],
      ],
    );
    assert.deepEqual(x.reveals, [
      { uid: 0, block: Number(revealBlock), epoch: Number(commit.epoch), uids: [2, 3], weights: [100, 200] },
    ]);
  });

  it('settles the epoch: awaiting → proposed → finalised, with a wrong root refused by name', async () => {
    const before = await client('validator1').call('chain_getEpochV1', { netuid: 1 });
    assert.equal(before.epoch, e);
    assert.equal(before.status, 'awaiting');
    assert.equal(before.proposal, null);
    // The snapshot was taken during the epoch: one of its validators is drawn by stake.
    const proposerName =
      before.proposer === acct('validator1').hotkey.address
        ? 'validator1'
        : before.proposer === acct('validator2').hotkey.address
          ? 'validator2'
          : assert.fail(`expected a drawn proposer, got ${before.proposer}`);
    const attesterName = proposerName === 'validator1' ? 'validator2' : 'validator1';

    const x = await client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: e });
    const total = BigInt(x.emission);
    const toValidator = total / 4n;
    const toMiner = total / 4n;
    const results = encodeResults([
      { uid: 0, incentive: 0, dividends: 65_535, trust: 65_535, consensus: 0, amount: toValidator },
      { uid: 1, incentive: 0, dividends: 0, trust: 0, consensus: 0, amount: 0n },
      { uid: 2, incentive: 65_535, dividends: 0, trust: 65_535, consensus: 32_767, amount: toMiner },
      { uid: 3, incentive: 0, dividends: 0, trust: 0, consensus: 0, amount: 0n },
      { uid: 4, incentive: 0, dividends: 0, trust: 0, consensus: 0, amount: 0n },
    ]);
    const tree = buildEpochTree(1, BigInt(e), [
      { uid: 0, account: acct('validator1').hotkey.address, amount: toValidator },
      { uid: 2, account: acct('miner1').hotkey.address, amount: toMiner },
      { uid: OWNER_UID, account: x.owner as `0x${string}`, amount: total - toValidator - toMiner },
    ]);
    const proposal = { netuid: 1, epoch: e, root: tree.root, resultsHash: resultsHash(results) };
    // In the exclusive window only the drawn proposer may propose.
    await expectEngineError(
      client(attesterName).call('chain_proposeEpochV1', { ...proposal, total: total.toString(), results }),
      'REVERTED',
      'NotDrawnProposer',
    );
    const proposed = await client(proposerName).call('chain_proposeEpochV1', {
      ...proposal,
      total: total.toString(),
      results,
    });
    assert.ok(proposed.gasUsed > 0);

    const mid = await client('validator1').call('chain_getEpochV1', { netuid: 1, epoch: e });
    assert.equal(mid.status, 'proposed');
    assert.equal(mid.proposal?.proposer, acct(proposerName).hotkey.address);
    assert.equal(mid.proposal?.root, tree.root);
    assert.equal(mid.proposal?.totalStake, (2000n * SUB).toString());
    assert.equal(mid.proposal?.attestedStake, (1000n * SUB).toString());
    assert.deepEqual(mid.proposal?.attestations, []);

    await expectEngineError(
      client(attesterName).call('chain_attestEpochV1', { ...proposal, root: `0x${'11'.repeat(32)}` }),
      'REVERTED',
      'WrongRoot',
    );
    const attested = await client(attesterName).call('chain_attestEpochV1', proposal);
    const final = await client('validator1').call('chain_getEpochV1', { netuid: 1, epoch: e });
    assert.equal(final.status, 'finalised');
    assert.equal(final.proposal?.attestedStake, (2000n * SUB).toString());
    const attestBlock = Number(
      (await sdk.chain.public.getTransactionReceipt({ hash: attested.txHash as `0x${string}` })).blockNumber,
    );
    assert.deepEqual(final.proposal?.attestations, [
      { hotkey: acct(attesterName).hotkey.address, stake: (1000n * SUB).toString(), block: attestBlock },
    ]);

    // Both validators voted the final root: reporting wrong-root voters finds none and sends nothing (an epoch
    // not final yet has none either).
    const blockBefore = await sdk.getCurrentBlock();
    assert.deepEqual(await client(attesterName).call('chain_slashWrongRootsV1', { netuid: 1, epoch: e }), {
      slashed: [],
    });
    assert.deepEqual(
      await client(attesterName).call('chain_slashWrongRootsV1', { netuid: 1, epoch: e + 1 }),
      {
        slashed: [],
      },
    );
    assert.equal(await sdk.getCurrentBlock(), blockBefore, 'no transaction was sent');

    // Recording the results in the neuron registry (the pruning score): wrong bytes are refused by name; left
    // out, the chain stack reads them from the EpochProposed event; recording again changes nothing.
    const registryEmission = async (uid: number) =>
      (
        await sdk.chain.public.readContract({
          address: devnet.network.contracts.neuronRegistry,
          abi: neuronRegistryAbi,
          functionName: 'getNeuronInfo',
          args: [1, uid],
        })
      ).emission;
    assert.deepEqual(await Promise.all([0, 2].map(registryEmission)), [0n, 0n]);
    await expectEngineError(
      client(attesterName).call('chain_recordEpochResultsV1', {
        netuid: 1,
        epoch: e,
        results: encodeResults([{ uid: 2, incentive: 0, dividends: 0, trust: 0, consensus: 0, amount: 1n }]),
      }),
      'REVERTED',
      'WrongResults',
    );
    const recorded = await client(attesterName).call('chain_recordEpochResultsV1', { netuid: 1, epoch: e });
    assert.ok(recorded.gasUsed > 0);
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map(registryEmission)), [toValidator, 0n, toMiner, 0n]);
    assert.equal((await sdk.getNeuronInfo(1, 2)).recordedEmission, toMiner);
    await client(proposerName).call('chain_recordEpochResultsV1', { netuid: 1, epoch: e, results });
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map(registryEmission)), [toValidator, 0n, toMiner, 0n]);

    // The metagraph and the results show the finalised epoch.
    const m = await client('validator1').call('chain_getMetagraphV1', { netuid: 1 });
    const byUid = new Map(m.neurons.map((n) => [n.uid, n]));
    assert.deepEqual(
      [byUid.get(0)?.dividends, byUid.get(0)?.trust, byUid.get(0)?.emission],
      [1, 1, toValidator.toString()],
    );
    assert.deepEqual(
      [byUid.get(2)?.incentive, byUid.get(2)?.consensus, byUid.get(2)?.emission],
      [1, 32_767 / 65_535, toMiner.toString()],
    );
    assert.deepEqual([byUid.get(3)?.incentive, byUid.get(3)?.emission], [0, '0']);
    const r = await client('validator2').call('chain_getEpochResultsV1', { netuid: 1 });
    assert.equal(r.epoch, e);
    assert.equal(r.root, tree.root);
    assert.deepEqual(
      r.results.map((line) => [line.uid, line.emission]),
      [
        [0, toValidator.toString()],
        [1, '0'],
        [2, toMiner.toString()],
        [3, '0'],
        [4, '0'],
      ],
    );

    // Claims: the miner's leaf is minted to its coldkey, the validator's own leaf goes to its stake.
    const minerClaim = {
      netuid: 1,
      epoch: e,
      uid: 2,
      account: acct('miner1').hotkey.address,
      amount: toMiner.toString(),
      proof: tree.proof(2),
      toStake: false,
    };
    const balance = await sdk.getTokenBalance(acct('miner1').coldkey.address);
    await client('validator1').call('chain_claimEmissionV1', minerClaim);
    assert.equal(await sdk.getTokenBalance(acct('miner1').coldkey.address), balance + toMiner);
    await client('validator1').call('chain_claimEmissionV1', {
      netuid: 1,
      epoch: e,
      uid: 0,
      account: acct('validator1').hotkey.address,
      amount: toValidator.toString(),
      proof: tree.proof(0),
      toStake: true,
    });
    assert.equal((await sdk.getNeuronInfo(1, 0)).stake, 1000n * SUB + toValidator);
    await expectEngineError(
      client('validator1').call('chain_claimEmissionV1', minerClaim),
      'REVERTED',
      'AlreadyClaimed',
    );
    const claimed = await client('validator1').call('chain_getEpochV1', { netuid: 1, epoch: e });
    assert.equal(claimed.claimed, (toValidator + toMiner).toString());

    // The inputs of the settled epoch still show the stake as of its last block.
    const again = await client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: e });
    assert.equal(again.neurons[0]?.stake, (1000n * SUB).toString());
  });

  it('a reveal counts for four epochs: in [S(e-3), B(e)] and not after', async () => {
    await mineToEpoch(e + 5);
    const counted = await client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: e + 3 });
    assert.deepEqual(
      counted.reveals.map((r) => [r.uid, r.block, r.epoch]),
      [[0, Number(revealBlock), Number(commitEpoch)]],
    );
    const expired = await client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: e + 4 });
    assert.deepEqual(expired.reveals, []);
    // Epoch e+1 was never proposed and its deadline passed.
    assert.equal(
      (await client('validator1').call('chain_getEpochV1', { netuid: 1, epoch: e + 1 })).status,
      'expired',
    );
  });

  it('two validators snapshotting in one block: one takes it, the other answers taken: false', async () => {
    const rpc = (method: string, params: unknown[]) =>
      sdk.chain.public.request({ method: method as never, params: params as never });
    const pending = async () => BigInt(((await rpc('txpool_status', [])) as { pending: string }).pending);
    const { currentEpoch } = await client('validator1').call('chain_getEpochV1', { netuid: 1 });
    // No block per transaction from here on (the last test): the two wait in the pool for anvil_mine.
    await devnet.intervalMiningOnly();
    try {
      // validator1's transaction waits in the pool; validator2 reads the snapshot as not taken, then either
      // its gas estimate (against the pending block) reverts SnapshotTaken, or its transaction is mined after
      // validator1's and reverts: both answer taken: false.
      const done = new Set<string>();
      const snapshot = (name: string) =>
        client(name)
          .call('chain_snapshotValidatorsV1', { netuid: 1 })
          .finally(() => done.add(name));
      const until = async (stop: () => Promise<boolean>) => {
        while (!(await stop())) await new Promise((r) => setTimeout(r, 20));
      };
      const first = snapshot('validator1');
      await until(async () => done.has('validator1') || (await pending()) >= 1n);
      const second = snapshot('validator2');
      await until(async () => done.has('validator2') || (await pending()) >= 2n);
      await rpc('anvil_mine', ['0x1']);
      const [a, b] = await Promise.all([first, second]);
      assert.deepEqual([a.epoch, a.taken], [currentEpoch, true]);
      assert.ok(a.txHash !== null && a.gasUsed > 0);
      assert.deepEqual([b.epoch, b.taken], [currentEpoch, false]);
      // No transaction, or one mined and reverted (its gas spent).
      assert.equal(b.txHash === null, b.gasUsed === 0, JSON.stringify(b));
    } finally {
      await rpc('evm_setAutomine', [true]);
    }
  });
});

describe('epoch inputs at a confirmation depth, cached by block hash (reorgs)', () => {
  const rpc = (method: string, params: unknown[] = []) =>
    sdk.chain.public.request({ method: method as never, params: params as never });
  const mine = (n: number) => rpc('anvil_mine', [`0x${n.toString(16)}`]);
  /** A chain stack of validator1 that reads inputs only 3 blocks deep. */
  let deep: Client;

  before(async () => {
    // Blocks from transactions and anvil_mine only: an interval block would deepen B(e) behind the test's back.
    await rpc('evm_setIntervalMining', [0]);
    await rpc('evm_setAutomine', [true]);
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 4 });
    server.register(
      chainApi,
      chainHandlers(
        { ...stackOpts, chain: { ...stackOpts.chain, confirmations: 3 } },
        sdk,
        sdk.withAccount(acct('validator1').hotkey),
      ),
    );
    deep = createEngineClient(chainApi, createInProcessTransport(server));
  });

  it('defaults: none on a local chain, 12 elsewhere; the cache keys by the hash of B(e)', () => {
    assert.equal(defaultConfirmations(31_337), 0);
    assert.equal(defaultConfirmations(1), 12);
    assert.equal(defaultConfirmations(8453), 12);
    const cache = new EpochInputsCache(2);
    const inputs = (epoch: bigint, hash: `0x${string}`) =>
      ({ netuid: 1, epoch, endBlockHash: hash }) as Parameters<EpochInputsCache['set']>[0];
    const h = (b: string) => `0x${b.repeat(32)}` as const;
    cache.set(inputs(1n, h('aa')));
    assert.equal(cache.get(1, 1n, h('aa'))?.endBlockHash, h('aa'));
    assert.equal(cache.get(1, 1n, h('bb')), undefined, 'another block at that height is a miss');
    cache.set(inputs(1n, h('bb')));
    assert.equal(cache.get(1, 1n, h('aa')), undefined, 'a replaced block leaves the cache');
    cache.set(inputs(2n, h('cc')));
    cache.set(inputs(3n, h('dd')));
    assert.equal(cache.size, 2);
    assert.equal(cache.get(1, 1n, h('bb')), undefined, 'the oldest entry left first');
  });

  it("refuses an epoch's inputs with EPOCH_NOT_CONFIRMED until its last block is 3 deep", async () => {
    const { currentEpoch: c } = await client('validator1').call('chain_getEpochV1', { netuid: 1 });
    await mineToEpoch(c + 1); // the latest block is S(c+1): B(c) is 1 deep
    const shallow = await client('validator1').call('chain_getEpochInputsV1', { netuid: 1, epoch: c });
    for (const depth of [1, 2]) {
      await assert.rejects(deep.call('chain_getEpochInputsV1', { netuid: 1, epoch: c }), (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.code, 'EPOCH_NOT_CONFIRMED', e.message);
        assert.equal(e.rpcCode, 1107);
        assert.deepEqual(e.data, { endBlock: shallow.endBlock, depth, confirmations: 3 });
        return true;
      });
      await mine(1);
    }
    const confirmed = await deep.call('chain_getEpochInputsV1', { netuid: 1, epoch: c });
    assert.deepEqual(confirmed, shallow);
    const view = await deep.call('chain_getEpochV1', { netuid: 1, epoch: c });
    assert.equal(view.endBlockHash, confirmed.endBlockHash);
    assert.equal(
      confirmed.endBlockHash,
      (await sdk.chain.public.getBlock({ blockNumber: BigInt(confirmed.endBlock) })).hash,
    );
  });

  it('a reorg that replaces B(e) with other weights yields the new inputs, not the cached ones', async () => {
    const v2 = acct('validator2').hotkey;
    const { currentEpoch: c } = await client('validator1').call('chain_getEpochV1', { netuid: 1 });
    /** validator2 (uid 1) commits in epoch c and reveals in c+1; epoch c+1's inputs, read 3 deep. */
    const branch = async (weights: number[]) => {
      const signer = sdk.withAccount(v2);
      const commit = await signer.commitWeights({ netuid: 1, uids: [2, 3], weights });
      assert.equal(commit.epoch, BigInt(c));
      await mineToEpoch(c + 1);
      await signer.revealWeights({
        netuid: 1,
        uids: commit.uids,
        weights: commit.weights,
        salt: commit.salt,
      });
      await mineToEpoch(c + 2);
      await mine(3);
      return await deep.call('chain_getEpochInputsV1', { netuid: 1, epoch: c + 1 });
    };
    const snapshot = await rpc('evm_snapshot');
    const first = await branch([100, 200]);
    const revealed = first.reveals.find((r) => r.uid === 1);
    assert.deepEqual([revealed?.epoch, revealed?.uids, revealed?.weights], [c, [2, 3], [100, 200]]);
    // Served again from the cache while B(c+1) stands.
    assert.deepEqual(await deep.call('chain_getEpochInputsV1', { netuid: 1, epoch: c + 1 }), first);

    // The reorg: back to before the commit, and another history in which validator2 revealed other weights.
    assert.equal(await rpc('evm_revert', [snapshot]), true);
    nonceManager.reset({ address: v2.address, chainId: sdk.chain.chain.id });
    const second = await branch([7, 500]);
    assert.equal(second.endBlock, first.endBlock, 'the same height');
    assert.notEqual(second.endBlockHash, first.endBlockHash, 'another block at it');
    assert.deepEqual(
      second.reveals.find((r) => r.uid === 1)?.weights,
      [7, 500],
      'the new inputs, not the cached ones',
    );
    const view = await deep.call('chain_getEpochV1', { netuid: 1, epoch: c + 1 });
    assert.equal(view.endBlockHash, second.endBlockHash);
  });
});
