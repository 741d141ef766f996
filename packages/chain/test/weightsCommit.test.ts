/**
 * The weight salt survives a crash: the durable record store alone (atomic write, load, prune), then a real
 * kill -9 of a chain stack process after its commit transaction was sent and before it was mined; a new
 * chain stack over the same data directory reveals the commit once its reveal epoch comes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { subnetRegistryAbi, weightsAbi } from '@subnet/contracts';
import { createEngineClient, createEngineServer, createInProcessTransport } from '@subnet/engine-api';
import { createWalletStore } from '@subnet/wallet';
import type { Hex } from 'viem';
import { createSubnetClient, type Devnet, type SubnetClient, startDevnet } from '../src/index.js';
import { chainApi, chainHandlers } from '../src/stack.js';
import {
  loadCommitRecord,
  pruneCommitRecords,
  saveCommitRecord,
  writeFileDurable,
} from '../src/weightsStore.js';

const HOTKEY = '0x00000000000000000000000000000000000000Aa';
const hash = (b: string) => `0x${b.repeat(32)}` as Hex;

describe('weight commit records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-weights-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically (no temp file left), 0600', async () => {
    const file = join(dir, 'x.json');
    await writeFileDurable(file, 'one');
    await writeFileDurable(file, 'two');
    assert.equal(readFileSync(file, 'utf8'), 'two');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['x.json']);
  });

  it('saves, loads by commit hash and prunes all but the kept hashes', async () => {
    const store = join(dir, 'weights');
    const c = (h: Hex, epoch: bigint) => ({
      netuid: 1,
      uids: [1, 2],
      weights: [3, 4],
      salt: hash('ab'),
      epoch,
      commitHash: h,
    });
    await saveCommitRecord(store, HOTKEY, c(hash('01'), 5n));
    await saveCommitRecord(store, HOTKEY, c(hash('02'), 6n));
    await saveCommitRecord(store, HOTKEY, { ...c(hash('03'), 6n), netuid: 2 });
    assert.equal(statSync(store).mode & 0o777, 0o700);
    assert.deepEqual(await loadCommitRecord(store, 1, HOTKEY.toLowerCase(), hash('01')), c(hash('01'), 5n));
    assert.equal(await loadCommitRecord(store, 1, HOTKEY, hash('09')), undefined);
    await pruneCommitRecords(store, 1, HOTKEY, new Set([hash('02')]));
    assert.equal(await loadCommitRecord(store, 1, HOTKEY, hash('01')), undefined);
    assert.deepEqual(await loadCommitRecord(store, 1, HOTKEY, hash('02')), c(hash('02'), 6n));
    assert.equal(
      (await loadCommitRecord(store, 2, HOTKEY, hash('03')))?.netuid,
      2,
      'other subnets untouched',
    );
    await pruneCommitRecords(join(dir, 'missing'), 1, HOTKEY, new Set());
  });
});

describe('a chain stack killed between sending its commit and the commit being mined', () => {
  let dataDir: string;
  let devnet: Devnet;
  let sdk: SubnetClient;
  let password: string;

  const rpc = (method: string, params: unknown[] = []) =>
    sdk.chain.public.request({ method: method as never, params: params as never });
  const currentEpoch = () =>
    sdk.chain.public.readContract({
      address: devnet.network.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'currentEpoch',
      args: [1],
    });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'subnet-weights-kill-'));
    devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 3 });
    sdk = createSubnetClient({
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: devnet.network.chainId,
      contracts: devnet.network.contracts,
      pollingIntervalMs: 50,
    });
    password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
  });

  after(async () => {
    await devnet.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('still reveals after a restart', async () => {
    const hotkey = await createWalletStore({ dataDir }).unlock('validator1', 'default', password);
    await rpc('anvil_mine', ['0x20']); // past the rate limit
    // Hold mining: no automine, no interval blocks, so the commit waits in the mempool once sent.
    await rpc('evm_setIntervalMining', [0]);
    await rpc('evm_setAutomine', [false]);
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, 'helpers', 'commitChild.js'),
        JSON.stringify({
          dataDir,
          rpcUrl: devnet.anvil.rpcUrl,
          contracts: devnet.network.contracts,
          password,
          uids: [1, 2, 3],
          weights: [30, 20, 10],
        }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, sig) => resolve(sig)),
    );
    try {
      // Wait until the commit transaction sits in the mempool: it has been sent.
      let pending = 0;
      for (let i = 0; i < 200 && pending === 0; i++) {
        const status = (await rpc('txpool_status')) as { pending: Hex | number };
        pending = Number(status.pending);
        if (pending === 0) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(
        pending,
        1,
        `no commit sent; child output: ${stderr}; records: ${existsSync(join(dataDir, 'weights')) ? readdirSync(join(dataDir, 'weights')).join(',') : 'none'}; pool: ${JSON.stringify(await rpc('txpool_status'))}; block ${await sdk.getCurrentBlock()}`,
      );
      // The salt and vector were on disk before the send.
      const weightsDir = join(dataDir, 'weights');
      const records = readdirSync(weightsDir).filter((n) =>
        n.startsWith(`1-${hotkey.address.toLowerCase()}-`),
      );
      assert.equal(records.length, 1);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    await rpc('evm_setAutomine', [true]);
    await rpc('anvil_mine', ['0x1']);

    // The commit landed although its sender died.
    const uid = await sdk.getNeuronInfo(1, hotkey.address);
    const onChain = await sdk.chain.public.readContract({
      address: devnet.network.contracts.weights,
      abi: weightsAbi,
      functionName: 'getCommit',
      args: [1, uid.uid],
    });
    assert.equal(onChain.hotkey, hotkey.address);

    // A new chain stack over the same data directory.
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
    } as Parameters<typeof chainHandlers>[0];
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 4 });
    server.register(chainApi, chainHandlers(opts, sdk, sdk.withAccount(hotkey)));
    const client = createEngineClient(chainApi, createInProcessTransport(server));
    await assert.rejects(client.call('chain_revealWeightsV1', { netuid: 1 }), (e: unknown) => {
      assert.equal((e as { data?: { errorName?: string } }).data?.errorName, 'RevealTooEarly');
      return true;
    });
    for (let i = 0; i < 200 && (await currentEpoch()) < onChain.epoch + 1n; i++)
      await rpc('anvil_mine', ['0x1']);
    const revealed = await client.call('chain_revealWeightsV1', { netuid: 1 });
    assert.equal(BigInt(revealed.epoch), onChain.epoch);
    const receipt = await sdk.chain.public.getTransactionReceipt({ hash: revealed.txHash as Hex });
    assert.equal(receipt.status, 'success');
    // Revealed: the record is gone, and a second reveal has nothing to open.
    assert.deepEqual(
      readdirSync(join(dataDir, 'weights')).filter((n) => n.startsWith(`1-${hotkey.address.toLowerCase()}-`)),
      [],
    );
    await assert.rejects(client.call('chain_revealWeightsV1', { netuid: 1 }), { code: 'NO_COMMIT' });
    assert.ok(existsSync(join(dataDir, 'weights')));
  });
});
