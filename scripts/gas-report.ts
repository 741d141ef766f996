/**
 * `npm run gas`: gas per subnet operation as JSON, measured from receipts on a fresh anvil devnet (3
 * validators of equal stake, 4 miners on subnet 1): register subnet, register neuron (miner and validator),
 * stake, allocate, commit weights and reveal 256 weights, and the epoch operations of EpochConsensus
 * (propose, the attestation that finalises, claim of a miner's leaf to its coldkey, claim of a validator's
 * own leaf to stake) in a later epoch of the subnet, each beside its target where the issue sets one. The
 * first epoch settled on a subnet writes fresh storage (the subnet's round, the validators' snapshots, the
 * first total emitted, each leaf's claim bits); its figures are reported apart, as `*FirstEpoch`.
 * `atMaxAllowedUids256` adds issue 14's scale: propose, attest, claim, register and reveal on a subnet with
 * maxAllowedUids = 256 and 64 validators, from the contract suite's gas test (run here with GAS_REPORT_FILE).
 * `settlement` adds issue 15's: PaymentEscrow.settle's gas per settled request at batch sizes of 1, 100 and
 * 10,000 requests (packages/contracts/test/settlementGas.test.ts, the same way).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSubnetClient, startDevnet } from '../packages/chain/dist/src/index.js';
import {
  buildEpochTree,
  type EpochLeaf,
  encodeResults,
  epochConsensusAbi,
  OWNER_UID,
  type ResultEntry,
  resultsHash,
  subnetTokenAbi,
} from '../packages/contracts/dist/src/index.js';
import { createWalletStore, peerIdOfPublicKey } from '../packages/wallet/dist/src/index.js';

const SUB = 10n ** 18n;

/** Runs the contract suite's gas tests with GAS_REPORT_FILE and returns their figures by section. */
function measureAtScale(): Record<string, Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-gas-scale-'));
  const file = join(dir, 'gas.jsonl');
  try {
    const tests = ['gas.test.js', 'settlementGas.test.js'].map((name) =>
      fileURLToPath(new URL(`../packages/contracts/dist/test/${name}`, import.meta.url)),
    );
    const run = spawnSync(
      process.execPath,
      ['--test', '--test-concurrency=1', '--test-reporter=dot', ...tests],
      {
        env: { ...process.env, GAS_REPORT_FILE: file },
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
    if (run.status !== 0)
      process.stderr.write(`gas: the contract gas test failed:\n${run.stdout}${run.stderr}\n`);
    const sections: Record<string, Record<string, number>> = {};
    for (const line of readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')) {
      const { section, gas } = JSON.parse(line) as { section: string; gas: Record<string, number> };
      sections[section] = gas;
    }
    return sections;
  } catch (err) {
    process.stderr.write(`gas: no figures at scale: ${(err as Error).message}\n`);
    return {};
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const dataDir = mkdtempSync(join(tmpdir(), 'subnet-gas-'));
const devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 3, miners: 4 });
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

  // The epoch operations, on subnet 1 before anything else joins it (the validator registered below would
  // be a fourth permitted validator, of smaller stake). The payout follows docs/epoch.md's split with equal
  // weights: each miner an equal share of the miner pool, each validator of the validator pool, the owner
  // leaf its pool and the rest; the tree and results are built as the consensus stack builds them.
  const netuid = network.netuid ?? 1;
  const neurons = network.neurons ?? [];
  const hp1 = await read.getSubnetParams(netuid);
  const validatorKeys = await Promise.all(
    neurons.filter((n) => n.role === 'validator').map((n) => store.unlock(n.wallet, 'default', password)),
  );
  const signer = (hotkey: string) => {
    const key = validatorKeys.find((k) => k.address.toLowerCase() === hotkey.toLowerCase());
    if (key === undefined) throw new Error(`no validator key for ${hotkey}`);
    return read.withAccount(key);
  };
  const mineTo = async (block: bigint) => {
    const gap = block - (await pub.getBlockNumber({ cacheTime: 0 }));
    if (gap > 0n) {
      await pub.request({ method: 'anvil_mine' as never, params: [`0x${gap.toString(16)}`] as never });
    }
  };
  const payoutOf = (epoch: bigint, total: bigint) => {
    const vs = neurons.filter((n) => n.role === 'validator');
    const ms = neurons.filter((n) => n.role === 'miner');
    const minerShare = (total * BigInt(hp1.minerSplit)) / 10_000n / BigInt(ms.length);
    const validatorShare = (total * BigInt(hp1.validatorSplit)) / 10_000n / BigInt(vs.length);
    const leaves: EpochLeaf[] = [];
    const entries: ResultEntry[] = [];
    for (const n of [...neurons].sort((a, b) => a.uid - b.uid)) {
      const miner = n.role === 'miner';
      const amount = miner ? minerShare : validatorShare;
      leaves.push({ uid: n.uid, account: n.hotkey, amount });
      entries.push({
        uid: n.uid,
        incentive: miner ? Math.floor(65_535 / ms.length) : 0,
        dividends: miner ? 0 : Math.floor(65_535 / vs.length),
        trust: 65_535,
        consensus: miner ? Math.floor(65_535 / ms.length) : 0,
        amount,
      });
    }
    const rest = total - leaves.reduce((sum, l) => sum + l.amount, 0n);
    leaves.push({ uid: OWNER_UID, account: owner.address, amount: rest });
    const results = encodeResults(entries);
    return { tree: buildEpochTree(netuid, epoch, leaves), results, resultsHash: resultsHash(results) };
  };
  const paidMiner = neurons.find((n) => n.role === 'miner');
  const staker = neurons.find((n) => n.role === 'validator');
  if (paidMiner === undefined || staker === undefined || validatorKeys.length !== 3) {
    throw new Error('devnet without its neurons');
  }
  const claimer = signer(staker.hotkey);
  const snapshots: { gasUsed: bigint }[] = [];
  // Settles `epoch`: proposed by the drawn proposer in its window (when the drawn one is `avoid`, by another
  // validator once the window has passed), finalised by one attestation (2 of 3 equal stakes); then the
  // first miner's leaf is claimed to its coldkey and the first validator's own leaf to stake, both sent by
  // that validator's hotkey (as the epoch agent does).
  const settle = async (epoch: bigint, avoid?: string) => {
    // The epoch's validator snapshot, taken while it runs (as the epoch agents do): the draw needs it.
    const [taken] = await pub.readContract({
      address: network.contracts.epochConsensus,
      abi: epochConsensusAbi,
      functionName: 'getSnapshot',
      args: [netuid, epoch],
    });
    if (!taken) {
      const hash = await signer(validatorKeys[0]?.address ?? '').chain.wallet?.writeContract({
        address: network.contracts.epochConsensus,
        abi: epochConsensusAbi,
        functionName: 'snapshotValidators',
        args: [netuid],
      });
      if (hash !== undefined) snapshots.push(await pub.waitForTransactionReceipt({ hash }));
    }
    const before = await read.getEpoch(netuid, epoch);
    const tempo = before.deadline - before.endBlock;
    const exclusiveUntil = before.endBlock + (tempo / 4n > 1n ? tempo / 4n : 1n);
    // Latest block S(e + 1): blockhash(B(e)) is known and the next transaction lands in the drawn one's window.
    await mineTo(before.endBlock + 1n);
    const drawn = (await read.getEpoch(netuid, epoch)).proposer;
    if (drawn === null) throw new Error(`no proposer drawn for epoch ${epoch}`);
    let proposer = drawn;
    if (avoid !== undefined && drawn.toLowerCase() === avoid.toLowerCase()) {
      // Past the window for the SDK's simulation too, which runs at the latest block's number.
      await mineTo(exclusiveUntil + 1n);
      const other = validatorKeys.find((k) => k.address.toLowerCase() !== avoid.toLowerCase());
      if (other === undefined) throw new Error('no other validator');
      proposer = other.address;
    }
    const { emission } = await read.getEpoch(netuid, epoch);
    const payout = payoutOf(epoch, emission);
    const propose = await signer(proposer).proposeEpoch({
      netuid,
      epoch,
      root: payout.tree.root,
      resultsHash: payout.resultsHash,
      total: emission,
      results: payout.results,
    });
    const attester = validatorKeys.find((k) => k.address.toLowerCase() !== proposer.toLowerCase());
    if (attester === undefined) throw new Error('no attester');
    const attest = await read
      .withAccount(attester)
      .attestEpoch({ netuid, epoch, root: payout.tree.root, resultsHash: payout.resultsHash });
    const { status } = await read.getEpoch(netuid, epoch);
    if (status !== 'finalised') throw new Error(`epoch ${epoch} is ${status} after one attestation`);
    const leafOf = (uid: number) => {
      const leaf = payout.tree.leaf(uid);
      if (leaf === undefined) throw new Error(`no leaf for uid ${uid}`);
      return {
        netuid,
        epoch,
        uid,
        account: leaf.account,
        amount: leaf.amount,
        proof: payout.tree.proof(uid),
      };
    };
    const claim = await claimer.claimEmission(leafOf(paidMiner.uid));
    const claimToStake = await claimer.claimEmission({ ...leafOf(staker.uid), toStake: true });
    return { proposer, propose, attest, claim, claimToStake };
  };
  // The first epoch writes the subnet's round, the snapshots of the validators but its proposer, the first
  // total emitted and each claimed uid's bits for the first time; the second, proposed by another validator
  // than the first (late, if need be), writes the last snapshot; from the third on every epoch costs the same.
  const firstEpoch = (await read.getEpoch(netuid)).currentEpoch;
  const e1 = await settle(firstEpoch);
  await settle(firstEpoch + 1n, e1.proposer);
  const e3 = await settle(firstEpoch + 2n);

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
  const peerId = peerIdOfPublicKey(hot.publicKey); // the hotkey's own (53 characters): the registry checks it
  const multiaddr = `/ip4/203.0.113.7/tcp/30333/p2p/${peerId}`.slice(0, 60);
  // The hotkey's first registration carries its consent to the binding (EIP-712 signature); the second, of
  // the same (now bound) hotkey on subnet 1, does not.
  const miner = await sdk.registerNeuron({
    netuid: subnet.netuid,
    hotkey: hot.address,
    hotkeyAccount: hot,
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
    proposeEpoch: e3.propose.gasUsed,
    attestEpochFinalising: e3.attest.gasUsed,
    claimEmission: e3.claim.gasUsed,
    claimEmissionToStake: e3.claimToStake.gasUsed,
    proposeEpochFirstEpoch: e1.propose.gasUsed,
    attestEpochFinalisingFirstEpoch: e1.attest.gasUsed,
    claimEmissionFirstEpoch: e1.claim.gasUsed,
    claimEmissionToStakeFirstEpoch: e1.claimToStake.gasUsed,
    snapshotValidators: snapshots.at(-1)?.gasUsed ?? 0n,
  };
  const within = (limit: number, gas: bigint | number) => ({
    limit,
    value: Number(gas),
    pass: Number(gas) <= limit,
  });
  const targets = {
    revealWeights256: within(250_000, ops.revealWeights256),
    // A first registration also checks the hotkey's consent signature (~6k gas, once per hotkey).
    registerNeuronWithConsent: within(310_000, ops.registerNeuronMiner),
    registerNeuron: within(300_000, ops.registerNeuronValidator),
    proposeEpoch: within(250_000, ops.proposeEpoch),
    attestEpochFinalising: within(100_000, ops.attestEpochFinalising),
    claimEmission: within(80_000, ops.claimEmission),
  };
  // At maxAllowedUids = 256 with 64 validators (issue 14's targets): the contract suite's gas test, on its own
  // anvil, hands its figures over through GAS_REPORT_FILE.
  const atScale = measureAtScale();
  const scaleTargets = {
    proposeEpoch: within(250_000, atScale.epoch64Validators256Uids?.propose ?? Number.NaN),
    attestEpochMax: within(100_000, atScale.epoch64Validators256Uids?.attestMax ?? Number.NaN),
    claimEmission: within(80_000, atScale.epoch64Validators256Uids?.claim ?? Number.NaN),
    registerNeuron: within(300_000, atScale.registerNeuron256?.miner ?? Number.NaN),
    registerNeuronFirstValidator: within(310_000, atScale.registerNeuron256?.validator ?? Number.NaN),
    revealWeights256: within(250_000, atScale.weights256?.revealWeights256 ?? Number.NaN),
  };
  const { settlement: settlementOps = {}, ...scaleOps } = atScale;
  const settlementTargets = {
    settlePerRequestAt10000: within(1_000, settlementOps.perRequest10000First ?? Number.NaN),
  };
  const report = {
    report: 'gas',
    date: new Date().toISOString(),
    note:
      "gasUsed from receipts on anvil (cancun); registerNeuron with a 52-character peer id and one multiaddr: registerNeuronMiner is the hotkey's first registration (with its consent signature, on a fresh subnet), registerNeuronValidator the same hotkey again (bound, no consent); the ERC-20 approve before each paid call is not included; " +
      'epoch operations on subnet 1 (3 validators of equal stake, 4 miners: 7 result entries, 8 leaves) in its third settled epoch, the *FirstEpoch ones in its first; ' +
      'attestEpochFinalising is the one attestation that reaches 2/3; claimEmission pays a miner leaf to its coldkey, claimEmissionToStake a validator its own leaf to stake (no target: the claim target is for the payout to the coldkey)',
    operations: Object.fromEntries(Object.entries(ops).map(([k, g]) => [k, Number(g)])),
    targets,
    atMaxAllowedUids256: {
      note: 'packages/contracts/test/gas.test.ts on its own anvil: a subnet with maxAllowedUids 256 and 64 validators of equal stake (192 miners, 256 result entries, 257 leaves, proofs of depth 9), steady state (the third settled epoch; *Epoch1/*Epoch2 are the first two); attestMax is the dearest of the 42 attestations that reach 2/3, attestFinalising the last; snapshot64 is the per-epoch validator snapshot (no target); registerNeuron256: first registrations bind the hotkey with its consent signature, *Bound ones re-register a bound hotkey',
      operations: scaleOps,
      targets: scaleTargets,
    },
    settlement: {
      note: "packages/contracts/test/settlementGas.test.ts on its own anvil: one PaymentEscrow.settle transaction per batch; requests aggregate into one cumulative voucher per client, min(requests, 50) clients (requests spread evenly) and min(requests, 8) miners credited, default split 1000/1000/500, no direct (x402) revenue; settleN is the gas of the transaction, perRequestN = ceil(settleN / N); *First is a first settlement (fresh storage: the authorizations' collected totals, the miners' earnings, the burn address's balance), *Next the next one with the same authorizations and miners (steady state)",
      operations: settlementOps,
      targets: settlementTargets,
    },
    pass: [
      ...Object.values(targets),
      ...Object.values(scaleTargets),
      ...Object.values(settlementTargets),
    ].every((t) => t.pass),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.pass ? 0 : 1;
} finally {
  await devnet.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
