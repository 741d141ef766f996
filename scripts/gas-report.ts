/**
 * `npm run gas`: gas per subnet operation as JSON, measured from receipts on a fresh anvil devnet:
 * register subnet, register neuron (miner and validator), stake, allocate, commit weights and reveal 256
 * weights, each beside its target where the issue sets one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSubnetClient, startDevnet } from '../packages/chain/dist/src/index.js';
import { subnetTokenAbi } from '../packages/contracts/dist/src/index.js';
import { createWalletStore } from '../packages/wallet/dist/src/index.js';

const SUB = 10n ** 18n;
const dataDir = mkdtempSync(join(tmpdir(), 'subnet-gas-'));
const devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 0 });
try {
  const { network } = devnet;
  const password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
  const store = createWalletStore({ dataDir });
  const owner = await store.unlock('owner', 'coldkey', password);
  const validatorHot = await store.unlock('validator1', 'default', password);
  await store.create('gas', { password, hotkeys: ['default'], kdf: 'light' });
  const cold = await store.unlock('gas', 'coldkey', password);
  const hot = await store.unlock('gas', 'default', password);
  const base = {
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: network.chainId,
    contracts: network.contracts,
    pollingIntervalMs: 50,
  };
  const read = createSubnetClient(base);
  const pub = read.chain.public;
  const gasOf = async (hash: `0x${string}`) => (await pub.getTransactionReceipt({ hash })).gasUsed;
  await pub.request({
    method: 'anvil_setBalance' as never,
    params: [cold.address, `0x${(10n ** 21n).toString(16)}`] as never,
  });
  // Fund the new coldkey with SUB from the owner.
  const ownerSdk = read.withAccount(owner);
  const fund = await ownerSdk.chain.wallet?.writeContract({
    address: network.contracts.token,
    abi: subnetTokenAbi,
    functionName: 'transfer',
    args: [cold.address, 500n * SUB],
  });
  await pub.waitForTransactionReceipt({ hash: fund as `0x${string}` });

  const subnet = await ownerSdk.registerSubnet({
    name: 'gas-report',
    description: 'measures gas',
    params: await read.getSubnetParams(1),
  });
  await ownerSdk.activateSubnet(subnet.netuid);

  const sdk = read.withAccount(cold);
  const stake = await sdk.addStake(200n * SUB);
  const allocate = await sdk.allocateToSubnet(1, hot.address, 150n * SUB);
  const peerId = '16Uiu2HAmGkQ1qvLJ6rwA7CXd7PrLhMQsZyV2HZC3ZS1GvRgL5CsY'; // 52 characters, like a secp256k1 peer id
  const multiaddr = `/ip4/203.0.113.7/tcp/30333/p2p/${peerId}`.slice(0, 60);
  const miner = await sdk.registerNeuron({
    netuid: subnet.netuid,
    hotkey: hot.address,
    role: 'miner',
    peerId,
    multiaddrs: [multiaddr],
  });
  const validator = await sdk.registerNeuron({
    netuid: 1,
    hotkey: hot.address,
    role: 'validator',
    peerId,
    multiaddrs: [multiaddr],
  });

  // 256 weights from the devnet validator (uids need not be registered; the contract checks the range).
  const v = read.withAccount(validatorHot);
  const uids = Array.from({ length: 256 }, (_, i) => i);
  const weights = uids.map((i) => (i * 257) % 65_536);
  const commit = await v.commitWeights({ netuid: 1, uids, weights });
  const hp = await read.getSubnetParams(1);
  await pub.request({
    method: 'anvil_mine' as never,
    params: [`0x${Number(hp.tempo).toString(16)}`] as never,
  });
  const reveal = await v.revealWeights({ netuid: 1, uids, weights, salt: commit.salt });

  const ops = {
    registerSubnet: await gasOf(subnet.hash),
    stake: await gasOf(stake.hash),
    allocate: await gasOf(allocate.hash),
    registerNeuronMiner: await gasOf(miner.hash),
    registerNeuronValidator: await gasOf(validator.hash),
    commitWeights: await gasOf(commit.hash),
    revealWeights256: await gasOf(reveal.hash),
  };
  const targets = {
    revealWeights256: {
      limit: 250_000,
      value: Number(ops.revealWeights256),
      pass: ops.revealWeights256 <= 250_000n,
    },
    registerNeuron: {
      limit: 300_000,
      value: Number(
        ops.registerNeuronMiner > ops.registerNeuronValidator
          ? ops.registerNeuronMiner
          : ops.registerNeuronValidator,
      ),
      pass: ops.registerNeuronMiner <= 300_000n && ops.registerNeuronValidator <= 300_000n,
    },
  };
  const report = {
    report: 'gas',
    date: new Date().toISOString(),
    note: 'gasUsed from receipts on anvil (cancun); registerNeuron with a 52-character peer id and one multiaddr; the ERC-20 approve before each paid call is not included',
    operations: Object.fromEntries(Object.entries(ops).map(([k, g]) => [k, Number(g)])),
    targets,
    pass: Object.values(targets).every((t) => t.pass),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.pass ? 0 : 1;
} finally {
  await devnet.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
