/**
 * The chain stack against a real anvil devnet: bootstrap and resume, the SDK's reads and writes, input
 * refused before sending, reverts named, an unreachable RPC, concurrent writes, commit-reveal, and the
 * chain_* Engine API handlers including their streams.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { subnetRegistryAbi, weightsAbi } from '@subnet/contracts';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  EngineError,
} from '@subnet/engine-api';
import { createWalletStore, peerIdOfPublicKey } from '@subnet/wallet';
import { keccak256, type PrivateKeyAccount, parseEventLogs } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { ChainError, createSubnetClient, type Devnet, type SubnetClient, startDevnet } from '../src/index.js';
import { chainApi, chainHandlers } from '../src/stack.js';

const SUB = 10n ** 18n;

async function expectChainError(p: Promise<unknown>, code: string, errorName?: string): Promise<ChainError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ChainError, `expected a ChainError, got ${(err as Error).message}`);
    assert.equal(err.code, code, err.message);
    if (errorName !== undefined) assert.equal(err.errorName, errorName, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

let dataDir: string;
let devnet: Devnet;
let sdk: SubnetClient;
let password: string;
const accounts = new Map<string, { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount }>();

async function mine(blocks: number): Promise<void> {
  await sdk.chain.public.request({
    method: 'anvil_mine' as never,
    params: [`0x${blocks.toString(16)}`] as never,
  });
}

/**
 * Mines until the latest block is the first of `epoch` in subnet 1: a write is simulated at the latest
 * block and mined in the next, and both are then in `epoch` (tempo 20).
 */
async function mineToEpoch(epoch: bigint): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const latest = await sdk.chain.public.readContract({
      address: devnet.network.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'currentEpoch',
      args: [1],
    });
    if (latest >= epoch) return;
    await mine(1);
  }
  throw new Error(`epoch ${epoch} not reached`);
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'subnet-chain-'));
  devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 3 });
  sdk = createSubnetClient({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: devnet.network.chainId,
    contracts: devnet.network.contracts,
    pollingIntervalMs: 50,
  });
  const { readFileSync } = await import('node:fs');
  password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
  const store = createWalletStore({ dataDir });
  for (const name of ['owner', 'validator1', 'miner1', 'miner2', 'miner3']) {
    accounts.set(name, {
      coldkey: await store.unlock(name, 'coldkey', password),
      hotkey: await store.unlock(name, 'default', password),
    });
  }
});

after(async () => {
  await devnet.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const acct = (name: string) =>
  accounts.get(name) as { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount };

describe('devnet bootstrap', () => {
  it('creates subnet 1 with one staked validator and three miners, and writes devnet.json', async () => {
    assert.equal(devnet.resumed, false);
    assert.equal(devnet.network.netuid, 1);
    assert.deepEqual(
      devnet.network.neurons?.map((n) => `${n.uid}:${n.role}:${n.wallet}`),
      ['0:validator:validator1', '1:miner:miner1', '2:miner:miner2', '3:miner:miner3'],
    );
    const m = await sdk.getMetagraph(1);
    assert.equal(m.neurons.length, 4);
    const v = m.neurons[0];
    assert.equal(v?.isValidator, true);
    assert.equal(v?.stake, 1000n * SUB);
    assert.equal(v?.validatorPermit, true);
    assert.equal(v?.hotkey, acct('validator1').hotkey.address);
    assert.equal(v?.coldkey, acct('validator1').coldkey.address);
    for (const n of m.neurons.slice(1)) {
      assert.equal(n.isValidator, false);
      assert.equal(n.validatorPermit, false);
      assert.ok(n.registeredAt > 0n && n.registeredAt <= m.block);
    }
    // Each neuron's libp2p identity is its hotkey: devnet.json and the chain carry the same peer id and addresses.
    for (const [i, entry] of (devnet.network.neurons ?? []).entries()) {
      const onChain = m.neurons.find((n) => n.uid === entry.uid);
      assert.equal(entry.peerId, peerIdOfPublicKey(acct(entry.wallet).hotkey.publicKey));
      assert.match(entry.peerId ?? '', /^16Uiu2/);
      assert.equal(onChain?.peerId, entry.peerId);
      assert.deepEqual(entry.multiaddrs, [
        `/ip4/127.0.0.1/tcp/${9100 + 2 * i}`,
        `/ip4/127.0.0.1/tcp/${9101 + 2 * i}/ws`,
      ]);
      assert.equal(onChain?.multiaddrs, entry.multiaddrs?.join(','));
    }
  });
});

describe('SubnetClient reads', () => {
  it('lists subnets and reads one with its hyperparameters', async () => {
    const subnets = await sdk.getSubnets();
    assert.equal(subnets.length, 1);
    const s = await sdk.getSubnetInfo(1);
    assert.equal(s.name, 'devnet-llm');
    assert.equal(s.active, true);
    assert.equal(s.owner, acct('owner').coldkey.address);
    assert.equal((await sdk.getSubnetParams(1)).tempo, 20n);
  });

  it('reads neurons, validators, miners, one neuron by uid or hotkey, and stake', async () => {
    assert.equal((await sdk.getSubnetNeurons(1)).length, 4);
    assert.deepEqual(
      (await sdk.getSubnetValidators(1)).map((n) => n.uid),
      [0],
    );
    assert.deepEqual((await sdk.getSubnetMiners(1)).map((n) => n.uid).sort(), [1, 2, 3]);
    const byUid = await sdk.getNeuronInfo(1, 2);
    const byHotkey = await sdk.getNeuronInfo(1, byUid.hotkey);
    assert.equal(byHotkey.uid, 2);
    const stake = await sdk.getStakeInfo(acct('validator1').coldkey.address);
    assert.equal(stake.allocated, 1000n * SUB);
    assert.equal(stake.total, 1000n * SUB);
    assert.ok((await sdk.getCurrentBlock()) > 0n);
  });

  it('an unknown subnet is NOT_FOUND', async () => {
    await expectChainError(sdk.getSubnetInfo(9), 'CHAIN_NOT_FOUND');
  });
});

describe('bad input is refused before anything is sent', () => {
  it('addresses, amounts, netuids and weight vectors', async () => {
    const miner = sdk.withAccount(acct('miner1').coldkey);
    const before = await sdk.chain.public.getTransactionCount({ address: acct('miner1').coldkey.address });
    await expectChainError(miner.addStake(0n), 'CHAIN_INVALID_INPUT');
    await expectChainError(miner.addStake(10n ** 30n), 'CHAIN_INVALID_INPUT');
    await expectChainError(miner.allocateToSubnet(1, '0x1234' as `0x${string}`, SUB), 'CHAIN_INVALID_INPUT');
    await expectChainError(
      miner.allocateToSubnet(0, acct('miner1').hotkey.address, SUB),
      'CHAIN_INVALID_INPUT',
    );
    await expectChainError(
      miner.commitWeights({ netuid: 1, uids: [1, 1], weights: [1, 2] }),
      'CHAIN_INVALID_INPUT',
    );
    await expectChainError(
      miner.commitWeights({ netuid: 1, uids: [1], weights: [70_000] }),
      'CHAIN_INVALID_INPUT',
    );
    await expectChainError(
      miner.registerNeuron({
        netuid: 1,
        hotkey: acct('miner1').hotkey.address,
        role: 'miner',
        multiaddrs: ['no-slash'],
      }),
      'CHAIN_INVALID_INPUT',
    );
    // A hotkey bound to no coldkey yet: its first registration needs its own signature (consent).
    const fresh = privateKeyToAccount(generatePrivateKey());
    await expectChainError(
      miner.registerNeuron({ netuid: 1, hotkey: fresh.address, role: 'miner' }),
      'CHAIN_INVALID_INPUT',
    );
    await expectChainError(
      miner.registerNeuron({
        netuid: 1,
        hotkey: fresh.address,
        hotkeyAccount: acct('miner1').hotkey,
        role: 'miner',
      }),
      'CHAIN_INVALID_INPUT',
    );
    await expectChainError(sdk.addStake(SUB), 'CHAIN_NO_ACCOUNT');
    const afterCount = await sdk.chain.public.getTransactionCount({
      address: acct('miner1').coldkey.address,
    });
    assert.equal(afterCount, before, 'no transaction was sent');
  });
});

describe('SubnetClient writes', () => {
  it('a revert carries the custom error name (checked in simulation, nothing mined)', async () => {
    const miner = sdk.withAccount(acct('miner1').coldkey);
    await expectChainError(
      miner.registerNeuron({ netuid: 1, hotkey: acct('miner1').hotkey.address, role: 'miner' }),
      'CHAIN_REVERTED',
      'HotkeyAlreadyRegistered',
    );
    await expectChainError(
      miner.setSubnetParams(1, await sdk.getSubnetParams(1)),
      'CHAIN_REVERTED',
      'NotSubnetOwner',
    );
    await expectChainError(miner.removeStake(SUB), 'CHAIN_REVERTED', 'InsufficientFreeStake');
  });

  it('an owner’s hyperparameter change waits for the next epoch boundary', async () => {
    const owner = sdk.withAccount(acct('owner').coldkey);
    const params = await sdk.getSubnetParams(1);
    assert.deepEqual(await sdk.getPendingSubnetParams(1), { pending: false, effectiveBlock: 0n, params });
    const set = await owner.setSubnetParams(1, params);
    const epoch = await sdk.chain.public.readContract({
      address: sdk.chain.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'currentEpoch',
      args: [1],
    });
    assert.equal(set.effectiveEpoch, epoch + 1n);
    assert.deepEqual(await sdk.getPendingSubnetParams(1), {
      pending: true,
      effectiveBlock: set.effectiveBlock,
      params,
    });
  });

  it('concurrent writes from one key get distinct nonces', async () => {
    const miner = sdk.withAccount(acct('miner2').coldkey);
    await miner.addStake(10n * SUB);
    const hotkey = acct('miner2').hotkey.address;
    await Promise.all(Array.from({ length: 5 }, () => miner.allocateToSubnet(1, hotkey, SUB)));
    assert.equal((await sdk.getStakeInfo(acct('miner2').coldkey.address)).allocated, 5n * SUB);
    assert.equal((await sdk.getNeuronInfo(1, hotkey)).stake, 5n * SUB);
  });

  it('deallocated stake unbonds until a block, then withdraws to free stake', async () => {
    const miner = sdk.withAccount(acct('miner2').coldkey);
    const coldkey = acct('miner2').coldkey.address;
    const hotkey = acct('miner2').hotkey.address;
    const free = (await sdk.getStakeInfo(coldkey)).free;
    const { releaseBlock } = await miner.deallocateFromSubnet(1, hotkey, 2n * SUB);
    const latest = await sdk.chain.public.getBlockNumber({ cacheTime: 0 });
    assert.equal(releaseBlock, latest + 60n, 'the devnet deallocation period is 60 blocks');
    assert.deepEqual(await sdk.getDeallocation(coldkey, 1, hotkey), {
      allocated: 3n * SUB,
      deallocating: 2n * SUB,
      releaseBlock,
    });
    assert.equal((await sdk.getStakeInfo(coldkey)).free, free, 'not free while it unbonds');
    await expectChainError(miner.withdrawAllocation(1, hotkey), 'CHAIN_REVERTED', 'UnbondingNotMatured');
    await mine(60);
    const { amount } = await miner.withdrawAllocation(1, hotkey);
    assert.equal(amount, 2n * SUB);
    assert.equal((await sdk.getStakeInfo(coldkey)).free, free + 2n * SUB);
    await expectChainError(miner.withdrawAllocation(1, hotkey), 'CHAIN_REVERTED', 'NothingToWithdraw');
  });

  it('commit then reveal weights; the vector is emitted and lastUpdate moves', async () => {
    const validator = sdk.withAccount(acct('validator1').hotkey);
    const commit = await validator.commitWeights({ netuid: 1, uids: [1, 2, 3], weights: [100, 200, 300] });
    await expectChainError(
      validator.revealWeights({ netuid: 1, uids: commit.uids, weights: commit.weights, salt: commit.salt }),
      'CHAIN_REVERTED',
      'RevealTooEarly',
    );
    await mineToEpoch(commit.epoch + 1n);
    const { hash } = await validator.revealWeights({
      netuid: 1,
      uids: commit.uids,
      weights: commit.weights,
      salt: commit.salt,
    });
    const receipt = await sdk.chain.public.getTransactionReceipt({ hash });
    const [event] = parseEventLogs({ abi: weightsAbi, logs: receipt.logs, eventName: 'WeightsRevealed' });
    assert.equal(event?.args.uid, 0);
    assert.equal(event?.args.epoch, commit.epoch);
    assert.equal((await sdk.getNeuronInfo(1, 0)).lastUpdate, receipt.blockNumber);
  });

  it('an unreachable RPC fails fast with RPC_UNREACHABLE', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dead = createSubnetClient({
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: 31337,
      contracts: devnet.network.contracts,
      timeoutMs: 2000,
      retryCount: 0,
    });
    await expectChainError(dead.getSubnets(), 'CHAIN_RPC_UNREACHABLE');
  });
});

describe('chain_* Engine API handlers', () => {
  const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
  const readOnly = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
  let client: ReturnType<typeof createEngineClient<typeof chainApi>>;
  let ro: ReturnType<typeof createEngineClient<typeof chainApi>>;
  before(() => {
    const opts = {
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
    server.register(chainApi, chainHandlers(opts, sdk, sdk.withAccount(acct('validator1').hotkey)));
    readOnly.register(chainApi, chainHandlers(opts, sdk, undefined));
    client = createEngineClient(chainApi, createInProcessTransport(server));
    ro = createEngineClient(chainApi, createInProcessTransport(readOnly));
  });

  it('status, subnets, metagraph and neurons', async () => {
    const status = await client.call('chain_getStatusV1', {});
    assert.equal(status.chainId, 31337);
    assert.equal(status.hotkey, acct('validator1').hotkey.address);
    assert.equal((await ro.call('chain_getStatusV1', {})).hotkey, null);
    assert.equal((await client.call('chain_listSubnetsV1', {})).subnets[0]?.name, 'devnet-llm');
    const m = await client.call('chain_getMetagraphV1', { netuid: 1 });
    assert.equal(m.neurons.length, 4);
    assert.equal(m.neurons[0]?.stake, (1000n * SUB).toString());
    assert.equal((await client.call('chain_getNeuronV1', { netuid: 1, uid: 3 })).role, 'miner');
    await assert.rejects(client.call('chain_getMetagraphV1', { netuid: 5 }), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'NOT_FOUND');
      return true;
    });
  });

  it('writes need the hotkey; reverts come back with the error name', async () => {
    await assert.rejects(ro.call('chain_commitWeightsV1', { netuid: 1, uids: [1], weights: [1] }), {
      code: 'NO_ACCOUNT',
    });
    await assert.rejects(client.call('chain_revealWeightsV1', { netuid: 1 }), { code: 'NO_COMMIT' });
    const info = await client.call('chain_updateServiceInfoV1', {
      netuid: 1,
      peerId: peerIdOfPublicKey(acct('validator1').hotkey.publicKey),
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      metadata: '',
    });
    assert.match(info.txHash, /^0x[0-9a-f]{64}$/);
    const n = await client.call('chain_getNeuronV1', {
      netuid: 1,
      hotkey: acct('validator1').hotkey.address,
    });
    assert.deepEqual(n.multiaddrs, ['/ip4/127.0.0.1/tcp/4001']);
    await mine(20); // past the rate limit
    const c = await client.call('chain_commitWeightsV1', { netuid: 1, uids: [1, 2], weights: [1, 1] });
    await assert.rejects(client.call('chain_revealWeightsV1', { netuid: 1 }), (e: unknown) => {
      assert.equal((e as EngineError).code, 'REVERTED');
      assert.equal(((e as EngineError).data as { errorName: string }).errorName, 'RevealTooEarly');
      return true;
    });
    await mineToEpoch(BigInt(c.epoch) + 1n);
    assert.equal((await client.call('chain_revealWeightsV1', { netuid: 1 })).epoch, c.epoch);
  });

  it('chain_watchMetagraphV1 streams the metagraph now and after a change', async () => {
    const stream = await client.stream('chain_watchMetagraphV1', { netuid: 1 });
    const seen: number[] = [];
    let changed = false;
    for await (const m of stream) {
      seen.push(m.neurons.find((n) => n.uid === 1)?.stake === '0' ? 0 : 1);
      if (!changed) {
        changed = true;
        const miner = sdk.withAccount(acct('miner1').coldkey);
        await miner.addStake(SUB);
        await miner.allocateToSubnet(1, acct('miner1').hotkey.address, SUB);
      } else if (m.neurons.find((n) => n.uid === 1)?.stake === SUB.toString()) break;
    }
    assert.equal(seen[0], 0);
    assert.ok(seen.length >= 2);
  });

  it('chain_watchBlocksV1 streams new blocks', async () => {
    const stream = await client.stream('chain_watchBlocksV1', {});
    const numbers: number[] = [];
    for await (const b of stream) {
      numbers.push(b.number);
      if (numbers.length === 1) await mine(1);
      if (numbers.length === 2) break;
    }
    assert.ok((numbers[1] as number) > (numbers[0] as number));
  });
});

describe('slashing through the SDK', () => {
  it('a validator that signs two roots for one epoch is slashed by anyone holding both statements', async () => {
    const validator = sdk.withAccount(acct('validator1').hotkey);
    const reporter = sdk.withAccount(acct('miner3').coldkey);
    const hotkey = acct('validator1').hotkey.address;
    const epoch = (await sdk.getEpoch(1)).epoch;
    const resultsHash = `0x${'22'.repeat(32)}` as const;
    const a = await validator.signAttestation({
      netuid: 1,
      epoch,
      root: `0x${'aa'.repeat(32)}`,
      resultsHash,
    });
    const b = await validator.signAttestation({
      netuid: 1,
      epoch,
      root: `0x${'bb'.repeat(32)}`,
      resultsHash,
    });
    await expectChainError(
      reporter.slashEquivocation({ netuid: 1, epoch, a, b: a }),
      'CHAIN_REVERTED',
      'SameRoot',
    );
    const before = (await sdk.getNeuronInfo(1, hotkey)).stake;
    const { amount } = await reporter.slashEquivocation({ netuid: 1, epoch, a, b });
    assert.equal(amount, before / 10n, 'the default slash share is 10 %');
    assert.equal((await sdk.getNeuronInfo(1, hotkey)).stake, before - amount);
    await expectChainError(
      reporter.slashEquivocation({ netuid: 1, epoch, a, b }),
      'CHAIN_REVERTED',
      'AlreadySlashed',
    );
    await expectChainError(
      reporter.slashWrongRoot({ netuid: 1, epoch, hotkey }),
      'CHAIN_REVERTED',
      'EpochNotFinalised',
    );
  });
});

describe('wrong-root reports through the SDK', () => {
  it('slashes the validator whose proposed root lost to the final one, once, and nobody else', async () => {
    // A second validator, X (100 SUB), proposes a root first; validator1 (900 SUB after the slash above)
    // proposes another once competing roots are allowed, and alone holds two thirds: its root is final.
    const xCold = privateKeyToAccount(generatePrivateKey());
    const xHot = privateKeyToAccount(generatePrivateKey());
    await sdk.chain.public.request({
      method: 'anvil_setBalance' as never,
      params: [xCold.address, `0x${(10n ** 20n).toString(16)}`] as never,
    });
    await sdk.chain.public.request({
      method: 'anvil_setBalance' as never,
      params: [xHot.address, `0x${(10n ** 20n).toString(16)}`] as never,
    });
    const xc = sdk.withAccount(xCold);
    await xc.faucet();
    await xc.addStake(100n * SUB);
    await xc.allocateToSubnet(1, xHot.address, 100n * SUB);
    await xc.registerNeuron({
      netuid: 1,
      hotkey: xHot.address,
      role: 'validator',
      peerId: peerIdOfPublicKey(xHot.publicKey),
      multiaddrs: ['/ip4/127.0.0.1/tcp/4009'],
      hotkeyAccount: xHot,
    });
    // An epoch nobody snapshotted: nobody is drawn, so X may propose first.
    const e = (await sdk.getEpoch(1)).currentEpoch + 1n;
    await mineToEpoch(e + 1n);
    const { emission: total } = await sdk.getEpoch(1, e);
    const results = '0x' as const;
    const rh = keccak256(results);
    const x = sdk.withAccount(xHot);
    const v = sdk.withAccount(acct('validator1').hotkey);
    await x.proposeEpoch({
      netuid: 1,
      epoch: e,
      root: `0x${'01'.repeat(32)}`,
      resultsHash: rh,
      total,
      results,
    });
    assert.deepEqual(await v.slashWrongRoots({ netuid: 1, epoch: e }), { slashed: [] }, 'not final yet');
    await mine(10); // past competeFrom (two quarter-tempo windows)
    await v.proposeEpoch({
      netuid: 1,
      epoch: e,
      root: `0x${'02'.repeat(32)}`,
      resultsHash: rh,
      total,
      results,
    });
    assert.equal((await sdk.getEpoch(1, e)).status, 'finalised');

    const reporter = sdk.withAccount(acct('miner3').coldkey);
    const r = await reporter.slashWrongRoots({ netuid: 1, epoch: e });
    assert.deepEqual(
      r.slashed.map((s) => [s.hotkey, s.amount]),
      [[xHot.address, 10n * SUB]],
    );
    assert.equal((await sdk.getNeuronInfo(1, xHot.address)).stake, 90n * SUB);
    assert.deepEqual(await reporter.slashWrongRoots({ netuid: 1, epoch: e }), { slashed: [] }, 'once');
  });
});

describe('devnet resume', () => {
  it('a second start on the same data dir resumes the same chain', async () => {
    const before = await sdk.getMetagraph(1);
    await devnet.stop();
    devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 3 });
    assert.equal(devnet.resumed, true);
    const again = createSubnetClient({
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: 31337,
      contracts: devnet.network.contracts,
    });
    const after = await again.getMetagraph(1);
    assert.deepEqual(
      after.neurons.map((n) => [n.uid, n.hotkey, n.stake]),
      before.neurons.map((n) => [n.uid, n.hotkey, n.stake]),
    );
    assert.ok(after.block >= before.block);
  });
});
