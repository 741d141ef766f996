/**
 * The simulator's chain: one anvil with the real contract suite (`deployContracts`), subnet 1 with the
 * simulated validators and miners registered, and blocks mined only on demand (`evm_mine`) at timestamps the
 * seeded clock gives, so block contents and hashes are a function of the seed alone (`--order fifo`: a block
 * holds its transactions in the order they were sent). Senders are impersonated (`--auto-impersonate`), so
 * nothing is signed per transaction. After each block it indexes the EpochConsensus and Weights events and
 * the calldata of the transactions that produced them (the attested root is in `attest`'s arguments, not in
 * its event), for the invariant checks.
 *
 * It also answers the reads the chain stack answers a validator (the epoch view of `chain_getEpochV1`, the
 * inputs of `chain_getEpochInputsV1`), from the same contract calls and events, once per block or per hash
 * of an epoch's last block and shared by every simulated validator (the chain stack caches inputs by that
 * hash too). Test code only: it must never be imported by a package's src.
 */
import {
  countedReveals,
  type DeployedContracts,
  deployContracts,
  epochConsensusAbi,
  hotkeyBindingTypedData,
  neuronRegistryAbi,
  slashingAbi,
  stakingAbi,
  startAnvil,
  subnetRegistryAbi,
  subnetTokenAbi,
  unpackU16,
  weightsAbi,
} from '@subnet/contracts';
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  custom,
  decodeErrorResult,
  decodeEventLog,
  decodeFunctionData,
  decodeFunctionResult,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  hexToBytes,
  keccak256,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import type { EpochView } from '../../src/epoch/agent.js';
import type { EpochInputs, EpochNeuron } from '../../src/epoch/settle.js';
import type { Rng } from './rng.js';
import { createRpc, type Rpc, RpcError } from './rpc.js';

export const NETUID = 1;
const SUB = 10n ** 18n;
/** Genesis timestamp: fixed, so the genesis hash (and every hash after it) is the seed's alone. */
const GENESIS_TIME = 1_800_000_000;
const GAS = toHex(8_000_000n);
const MULTIADDR = '/ip4/127.0.0.1/tcp/40123';
const FAR = 2n ** 40n;

/** Every custom error of the suite, for decoding reverts. */
const allAbis = [
  ...subnetTokenAbi,
  ...stakingAbi,
  ...subnetRegistryAbi,
  ...neuronRegistryAbi,
  ...weightsAbi,
  ...epochConsensusAbi,
  ...slashingAbi,
] as Abi;
const errorsAbi = allAbis.filter((x) => x.type === 'error');
const eventsAbi = [...epochConsensusAbi, ...weightsAbi].filter((x) => x.type === 'event') as Abi;

/** A revert as the chain stack reports it: `code` REVERTED, `data.errorName` the custom error. */
export class SimRevert extends Error {
  override readonly name = 'SimRevert';
  readonly code = 'REVERTED';
  constructor(
    readonly data: { errorName: string; args: string[] },
    what: string,
  ) {
    super(`${what} reverted: ${data.errorName}(${data.args.join(', ')})`);
  }
}

/** Base58btc. */
function base58(bytes: Uint8Array): string {
  const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = (ALPHABET[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** The libp2p peer id of a secp256k1 account (what NeuronRegistry checks against the hotkey). */
function peerIdOf(account: PrivateKeyAccount): string {
  const raw = hexToBytes(account.publicKey);
  const compressed = [(raw[64] as number) & 1 ? 3 : 2, ...raw.subarray(1, 33)];
  return base58(Uint8Array.from([0x00, 0x25, 0x08, 0x02, 0x12, 0x21, ...compressed]));
}

const keyOf = (label: string): PrivateKeyAccount => privateKeyToAccount(keccak256(toHex(label)));

export interface SimNeuron {
  uid: number;
  hotkey: Address;
  coldkey: Address;
}

/** Indexed events of one epoch (the invariants read these). */
export interface EpochEvents {
  snapshot?: { totalStake: bigint; count: number; late: boolean; block: number };
  proposals: { proposer: Address; root: Hex; resultsHash: Hex; total: bigint; block: number }[];
  attestations: { validator: Address; stake: bigint; root: Hex; block: number }[];
  finalised?: { root: Hex; total: bigint; block: number };
  expired?: { proposer: Address; block: number };
  claims: { uid: number; amount: bigint; block: number }[];
}

/** A mined transaction: its hash, and for a revert the custom error it reverted with. */
export type TxOutcome = { ok: true; hash: Hex } | { ok: false; hash: Hex; revert: SimRevert };

export interface SimChainOpts {
  validators: number;
  miners: number;
  tempo: number;
  /** Stake of each validator, in SUB (default 1000 each). */
  stakes?: readonly bigint[];
  /**
   * Creation bytecode of a replacement EpochConsensus (same constructor and storage): deployed beside the
   * real one and its runtime code put at the real one's address, so a deliberately broken rule runs in
   * place of the real one.
   */
  epochConsensusBytecode?: Hex;
}

export interface SimChain {
  readonly addresses: DeployedContracts;
  readonly owner: Address;
  readonly validators: readonly SimNeuron[];
  readonly miners: readonly SimNeuron[];
  readonly emissionCap: bigint;
  /** Latest mined block. */
  head(): number;
  /** The subnet's epoch at block `n` (`SubnetRegistry.currentEpoch` in a transaction of block `n`). */
  epochOf(n: number): number;
  /** `S(e)`, the first block of epoch `e`. */
  startOf(e: number): number;
  /** The hash of mined block `n`. */
  hashOf(n: number): Hex;
  /**
   * Runs `data` as `from` against the latest block, as the chain stack simulates before sending, or against
   * the pending block (the mempool included) with `pending`; throws {@link SimRevert}.
   */
  simulate(from: Address, to: Address, data: Hex, what: string, pending?: boolean): Promise<Hex>;
  /** Whether a transaction calling `fn` (a function name) waits in the mempool for the next block. */
  inMempool(to: Address, fn: string): boolean;
  /**
   * Puts a transaction in the mempool (now, or after `delay` more blocks are mined); returns a ticket whose
   * {@link SimChain.outcome} is known once the block holding it is mined.
   */
  send(from: Address, to: Address, data: Hex, delay?: number): Promise<number>;
  /** The receipt of a sent transaction: undefined until mined; a mined revert carries its decoded error. */
  outcome(ticket: number): TxOutcome | undefined;
  /** An eth_call at block `at` (default latest). */
  read<T>(to: Address, abi: Abi, fn: string, args: readonly unknown[], at?: number): Promise<T>;
  /** Mines one block at the seeded clock's next timestamp and indexes it. */
  mine(): Promise<void>;
  /** The epoch view `chain_getEpochV1` gives (latest ended epoch), read once per block. */
  view(): Promise<EpochView>;
  /** `chain_getEpochInputsV1` of an ended epoch, read once per hash of its last block. */
  inputs(epoch: number): Promise<EpochInputs>;
  /** Indexed events by epoch. */
  events(epoch: number): EpochEvents;
  /** Every WeightsRevealed event so far (ascending). */
  reveals(): readonly { uid: number; block: number; epoch: number; uids: number[]; weights: number[] }[];
  /** Transactions mined reverted, by function name. */
  minedReverts(): Record<string, number>;
  stop(): Promise<void>;
}

/** Starts anvil, deploys the suite and registers the subnet's neurons. */
export async function startSimChain(opts: SimChainOpts, rng: Rng): Promise<SimChain> {
  const anvil = await startAnvil({
    port: 0,
    gasLimit: 1n << 40n,
    extraArgs: [
      '--order',
      'fifo',
      '--timestamp',
      String(GENESIS_TIME),
      '--auto-impersonate',
      '--disable-code-size-limit',
    ],
  });
  try {
    return await setUp(anvil.rpcUrl, opts, rng, () => anvil.stop());
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

async function setUp(
  url: string,
  opts: SimChainOpts,
  rng: Rng,
  stop: () => Promise<void>,
): Promise<SimChain> {
  const rpc: Rpc = createRpc(url);
  let clock = GENESIS_TIME;
  const tick = () => {
    clock += 12 + rng.int(3);
    return clock;
  };
  // Deployment with automine, each block at the seeded clock's time.
  await rpc.call('anvil_setBlockTimestampInterval', [12]);
  const chain = { ...foundry, rpcUrls: { default: { http: [url] } } } as const;
  // One transaction per block while deploying: the deployment pipelines its transactions, and anvil's
  // automine put a varying number of them in one block depending on timing, so the deployment's blocks (and
  // every hash after them) differed between runs of one seed. Each send returns only once it is mined.
  const transport = custom({
    async request({ method, params }: { method: string; params?: unknown }) {
      const result = await rpc.call<unknown>(method, (params ?? []) as unknown[]);
      if (method === 'eth_sendTransaction' || method === 'eth_sendRawTransaction') {
        // A generous deadline only guards against a transaction never mined (automine mines at once).
        const deadline = Date.now() + 60_000;
        while ((await rpc.call<unknown>('eth_getTransactionReceipt', [result])) === null) {
          if (Date.now() > deadline)
            throw new Error(`deployment transaction ${String(result)} was never mined`);
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      return result;
    },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 5, cacheTime: 0 });
  const [deployerAddress] = await rpc.call<Address[]>('eth_accounts', []);
  if (deployerAddress === undefined) throw new Error('anvil has no dev account');
  const wallet = createWalletClient({ chain, transport, account: deployerAddress });
  const emission = { ratePerBlock: 1n * SUB, halvingInterval: 10_500_000n, emissionCap: 21_000_000n * SUB };
  const addresses = await deployContracts(wallet, publicClient as never, { admin: 'deployer', emission });
  if (opts.epochConsensusBytecode !== undefined) {
    const hash = await wallet.sendTransaction({
      data: encodeDeployData({
        abi: epochConsensusAbi,
        bytecode: opts.epochConsensusBytecode,
        args: [
          addresses.token,
          addresses.staking,
          addresses.subnetRegistry,
          addresses.neuronRegistry,
          emission.ratePerBlock,
          emission.halvingInterval,
          emission.emissionCap,
        ],
      }),
      gas: 30_000_000n,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.contractAddress == null) throw new Error('the patched EpochConsensus was not deployed');
    const code = await rpc.call<Hex>('eth_getCode', [receipt.contractAddress, 'latest']);
    await rpc.call('anvil_setCode', [addresses.epochConsensus, code]);
  }
  await rpc.call('evm_setAutomine', [false]);
  await rpc.call('anvil_removeBlockTimestampInterval', []);
  const latest = await rpc.call<{ timestamp: Hex }>('eth_getBlockByNumber', ['latest', false]);
  clock = Number(BigInt(latest.timestamp));

  // --- the mempool, the block loop and the event index ---
  const hashes: Hex[] = [];
  let head = Number(BigInt(await rpc.call<Hex>('eth_blockNumber', [])));
  const sentThisBlock: { hash: Hex; from: Address; to: Address; data: Hex; ticket: number }[] = [];
  const delayed: { at: number; from: Address; to: Address; data: Hex; ticket: number }[] = [];
  const outcomes = new Map<number, TxOutcome>();
  let tickets = 0;
  const byEpoch = new Map<number, EpochEvents>();
  const reveals: { uid: number; block: number; epoch: number; uids: number[]; weights: number[] }[] = [];
  const reverts: Record<string, number> = {};
  const events = (e: number): EpochEvents => {
    let x = byEpoch.get(e);
    if (x === undefined) {
      x = { proposals: [], attestations: [], claims: [] };
      byEpoch.set(e, x);
    }
    return x;
  };

  const sendNow = async (from: Address, to: Address, data: Hex, ticket = ++tickets): Promise<number> => {
    const hash = await rpc.call<Hex>('eth_sendTransaction', [{ from, to, data, gas: GAS }]);
    sentThisBlock.push({ hash, from, to, data, ticket });
    return ticket;
  };

  const decodeRevert = (err: unknown): { errorName: string; args: string[] } | undefined => {
    const data = err instanceof RpcError ? err.data : undefined;
    if (typeof data !== 'string' || !data.startsWith('0x') || data.length < 10) return undefined;
    try {
      const d = decodeErrorResult({ abi: errorsAbi, data: data as Hex });
      return { errorName: d.errorName, args: (d.args ?? []).map((a) => String(a)) };
    } catch {
      return { errorName: 'unknown', args: [data] };
    }
  };

  async function mineBlock(): Promise<void> {
    const n = head + 1;
    for (const d of delayed.filter((x) => x.at <= n)) await sendNow(d.from, d.to, d.data, d.ticket);
    for (let i = delayed.length - 1; i >= 0; i--)
      if ((delayed[i] as { at: number }).at <= n) delayed.splice(i, 1);
    await rpc.call('evm_setNextBlockTimestamp', [tick()]);
    await rpc.call('evm_mine', []);
    head = n;
    const sent = sentThisBlock.splice(0);
    const answers = await rpc.batch([
      ['eth_getBlockByNumber', [toHex(n), false]],
      [
        'eth_getLogs',
        [{ fromBlock: toHex(n), toBlock: toHex(n), address: [addresses.epochConsensus, addresses.weights] }],
      ],
      ...sent.map((t) => ['eth_getTransactionReceipt', [t.hash]] as const),
    ]);
    const result = (k: number): unknown => {
      const a = answers[k];
      if (a === undefined || !a.ok) throw a?.ok === false ? a.error : new Error('no answer');
      return a.result;
    };
    const block = result(0) as { hash: Hex; transactions: Hex[] };
    hashes[n] = block.hash;
    const txByHash = new Map(sent.map((t) => [t.hash, t]));
    for (const [k, t] of sent.entries()) {
      const r = result(2 + k) as { status: Hex; blockNumber: Hex } | null;
      if (r === null) throw new Error(`transaction ${t.hash} sent for block ${n} was not mined in it`);
      if (r.status === '0x1') {
        outcomes.set(t.ticket, { ok: true, hash: t.hash });
        continue;
      }
      let fn = 'unknown';
      try {
        fn = decodeFunctionData({ abi: allAbis, data: t.data }).functionName;
      } catch {}
      reverts[fn] = (reverts[fn] ?? 0) + 1;
      // The revert's custom error, as the chain stack decodes it from the failed receipt.
      const trace = await rpc.call<{ output?: Hex }>('debug_traceTransaction', [
        t.hash,
        { tracer: 'callTracer' },
      ]);
      const d = decodeRevert(new RpcError('reverted', 3, trace.output ?? '0x')) ?? {
        errorName: 'unknown',
        args: [],
      };
      outcomes.set(t.ticket, { ok: false, hash: t.hash, revert: new SimRevert(d, fn) });
    }
    for (const k of outcomes.keys()) if (k < tickets - 100_000) outcomes.delete(k);
    for (const log of result(1) as { topics: [Hex, ...Hex[]]; data: Hex; transactionHash: Hex }[]) {
      const ev = decodeEventLog({ abi: eventsAbi, topics: log.topics, data: log.data }) as unknown as {
        eventName: string;
        args: Record<string, unknown>;
      };
      const a = ev.args;
      const epoch = Number(a.epoch as bigint);
      switch (ev.eventName) {
        case 'ValidatorsSnapshotted':
          events(epoch).snapshot = {
            totalStake: a.totalStake as bigint,
            count: Number(a.count as bigint),
            late: a.late as boolean,
            block: n,
          };
          break;
        case 'EpochProposed':
          events(epoch).proposals.push({
            proposer: a.proposer as Address,
            root: a.root as Hex,
            resultsHash: a.resultsHash as Hex,
            total: a.total as bigint,
            block: n,
          });
          break;
        case 'EpochAttested': {
          const tx = txByHash.get(log.transactionHash);
          const call =
            tx === undefined ? undefined : decodeFunctionData({ abi: epochConsensusAbi, data: tx.data });
          const root = call?.functionName === 'attest' ? (call.args[2] as Hex) : zeroHash;
          events(epoch).attestations.push({
            validator: a.validator as Address,
            stake: a.stake as bigint,
            root,
            block: n,
          });
          break;
        }
        case 'EpochFinalised':
          events(epoch).finalised = { root: a.root as Hex, total: a.total as bigint, block: n };
          break;
        case 'EpochExpired':
          events(epoch).expired = { proposer: a.proposer as Address, block: n };
          break;
        case 'EmissionClaimed':
          events(epoch).claims.push({ uid: Number(a.uid), amount: a.amount as bigint, block: n });
          break;
        case 'WeightsRevealed':
          reveals.push({
            uid: Number(a.uid),
            block: n,
            epoch,
            uids: unpackU16(a.uids as Hex),
            weights: unpackU16(a.weights as Hex),
          });
          break;
      }
    }
  }

  const read = async <T>(to: Address, abi: Abi, fn: string, args: readonly unknown[], at?: number) => {
    const data = encodeFunctionData({ abi, functionName: fn, args } as never);
    const out = await rpc.call<Hex>('eth_call', [{ to, data }, at === undefined ? 'latest' : toHex(at)]);
    return decodeFunctionResult({ abi, functionName: fn, data: out } as never) as T;
  };
  /** Sends a batch of set-up transactions, mines them and checks every one succeeded. */
  const setupBatch = async (txs: { from: Address; to: Address; data: Hex }[]) => {
    for (const t of txs) await sendNow(t.from, t.to, t.data);
    const sent = [...sentThisBlock];
    await mineBlock();
    const receipts = await rpc.batch(sent.map((t) => ['eth_getTransactionReceipt', [t.hash]] as const));
    receipts.forEach((r, k) => {
      const st = r.ok ? (r.result as { status: Hex }).status : 'none';
      if (st !== '0x1') {
        const t = sent[k] as { data: Hex };
        throw new Error(
          `set-up transaction ${decodeFunctionData({ abi: allAbis, data: t.data }).functionName} failed`,
        );
      }
    });
  };
  const tx = (from: Address, to: Address, abi: Abi, fn: string, args: readonly unknown[]) => ({
    from,
    to,
    data: encodeFunctionData({ abi, functionName: fn, args } as never),
  });

  // --- subnet 1 with its validators and miners ---
  const owner = keyOf('sim-owner').address;
  const minerColdkey = keyOf('sim-miner-coldkey').address;
  const validatorKeys = Array.from({ length: opts.validators }, (_, i) => keyOf(`sim-validator-${i}`));
  const coldkeys = Array.from({ length: opts.validators }, (_, i) => keyOf(`sim-coldkey-${i}`).address);
  const minerKeys = Array.from({ length: opts.miners }, (_, i) => keyOf(`sim-miner-${i}`));
  const stakeOf = (i: number) => (opts.stakes?.[i] ?? 1000n) * SUB;
  for (const a of [owner, minerColdkey, ...coldkeys, ...validatorKeys.map((k) => k.address)]) {
    await rpc.call('anvil_setBalance', [a, toHex(10n ** 22n)]);
  }
  const spenders = [addresses.staking, addresses.subnetRegistry, addresses.neuronRegistry];
  const funded = [owner, minerColdkey, ...coldkeys];
  await setupBatch([
    ...funded.map((a, i) =>
      tx(deployerAddress, addresses.token, subnetTokenAbi, 'transfer', [
        a,
        i < 2 ? 100_000n * SUB : 4n * stakeOf(i - 2) + 100n * SUB,
      ]),
    ),
    ...funded.flatMap((a) =>
      spenders.map((s) => tx(a, addresses.token, subnetTokenAbi, 'approve', [s, 2n ** 255n])),
    ),
  ]);
  const hyperparams = {
    tempo: BigInt(opts.tempo),
    maxAllowedUids: opts.validators + opts.miners,
    maxValidators: opts.validators,
    immunityPeriod: 5n,
    minStake: 100n * SUB,
    registrationBurn: 1n * SUB,
    maxRegistrationBurn: 1n * SUB,
    kappa: 32_767,
    bondsMovingAverage: 900_000,
    ownerSplit: 1_800,
    minerSplit: 4_100,
    validatorSplit: 4_100,
    commitRevealPeriod: 1,
    weightsRateLimit: 0n,
    minAllowedWeights: 1,
    maxWeightLimit: 65_535,
    weightsVersionKey: 1n,
    registrationAllowed: true,
    burnAdjustmentInterval: 1_000_000n,
  };
  await setupBatch([
    tx(owner, addresses.subnetRegistry, subnetRegistryAbi, 'registerSubnet', [
      'sim',
      'simulated',
      hyperparams,
    ]),
  ]);
  await setupBatch([tx(owner, addresses.subnetRegistry, subnetRegistryAbi, 'activateSubnet', [NETUID])]);
  const consent = async (hot: PrivateKeyAccount, cold: Address) => ({
    deadline: FAR,
    signature: await hot.signTypedData(
      hotkeyBindingTypedData({
        chainId: chain.id,
        neuronRegistry: addresses.neuronRegistry,
        hotkey: hot.address,
        coldkey: cold,
        deadline: FAR,
      }),
    ),
  });
  const validators: SimNeuron[] = [];
  const stakeTxs = validatorKeys.flatMap((hot, i) => {
    const cold = coldkeys[i] as Address;
    return [
      tx(cold, addresses.staking, stakingAbi, 'stake', [2n * stakeOf(i)]),
      tx(cold, addresses.staking, stakingAbi, 'allocate', [NETUID, hot.address, stakeOf(i)]),
    ];
  });
  await setupBatch(stakeTxs);
  const registrations: { from: Address; to: Address; data: Hex }[] = [];
  for (const [i, hot] of validatorKeys.entries()) {
    const cold = coldkeys[i] as Address;
    registrations.push(
      tx(cold, addresses.neuronRegistry, neuronRegistryAbi, 'registerNeuron', [
        NETUID,
        hot.address,
        true,
        peerIdOf(hot),
        MULTIADDR,
        '',
        await consent(hot, cold),
      ]),
    );
    validators.push({ uid: i, hotkey: hot.address, coldkey: cold });
  }
  const miners: SimNeuron[] = [];
  for (const [j, hot] of minerKeys.entries()) {
    registrations.push(
      tx(minerColdkey, addresses.neuronRegistry, neuronRegistryAbi, 'registerNeuron', [
        NETUID,
        hot.address,
        false,
        peerIdOf(hot),
        MULTIADDR,
        '',
        await consent(hot, minerColdkey),
      ]),
    );
    miners.push({ uid: opts.validators + j, hotkey: hot.address, coldkey: minerColdkey });
  }
  await setupBatch(registrations);

  // --- the reads the chain stack answers ---
  const s0 = Number(
    await read<bigint>(addresses.subnetRegistry, subnetRegistryAbi, 'epochStartBlock', [NETUID, 0n]),
  );
  const s1 = Number(
    await read<bigint>(addresses.subnetRegistry, subnetRegistryAbi, 'epochStartBlock', [NETUID, 1n]),
  );
  const tempo = s1 - s0;
  const epochOf = (n: number) => (n < s0 ? 0 : Math.floor((n - s0) / tempo));
  const startOf = (e: number) => s0 + e * tempo;

  let viewCache: { block: number; view: Promise<EpochView> } | undefined;
  async function readView(): Promise<EpochView> {
    const at = head;
    const currentEpoch = epochOf(at + 0);
    const epoch = currentEpoch > 0 ? currentEpoch - 1 : 0;
    type Info = {
      status: number;
      root: Hex;
      resultsHash: Hex;
      startBlock: bigint;
      endBlock: bigint;
      exclusiveUntil: bigint;
      deadline: bigint;
    };
    const info = await read<Info>(
      addresses.epochConsensus,
      epochConsensusAbi,
      'getEpoch',
      [NETUID, BigInt(epoch)],
      at,
    );
    const proposalStart = Number(info.endBlock);
    const ended = at >= proposalStart;
    const drawAt = Math.min(at, Number(info.exclusiveUntil));
    const drawn = ended
      ? await read<Address>(
          addresses.epochConsensus,
          epochConsensusAbi,
          'proposerOf',
          [NETUID, BigInt(epoch)],
          drawAt,
        )
      : zeroAddress;
    const ev = events(epoch);
    const leading = info.root === zeroHash ? undefined : ev.proposals.find((p) => p.root === info.root);
    const statuses = ['open', 'awaiting', 'proposed', 'finalised', 'expired'] as const;
    return {
      epoch,
      currentEpoch,
      currentBlock: at,
      startBlock: Number(info.startBlock),
      endBlock: proposalStart - 1,
      endBlockHash: at >= proposalStart - 1 ? (hashes[proposalStart - 1] ?? null) : null,
      deadline: Number(info.deadline),
      status: statuses[info.status] ?? 'open',
      proposer: drawn === zeroAddress ? null : drawn,
      proposal:
        leading === undefined
          ? null
          : {
              proposer: leading.proposer,
              root: info.root,
              resultsHash: leading.resultsHash,
              attestations: ev.attestations.filter((x) => x.block <= at).map((x) => x.validator),
            },
    };
  }

  const inputsCache = new Map<string, Promise<EpochInputs>>();
  async function readInputs(epoch: number): Promise<EpochInputs> {
    const at = startOf(epoch + 1) - 1;
    if (head < at) {
      throw Object.assign(new Error(`epoch ${epoch} has not ended`), { code: 'EPOCH_NOT_ENDED' });
    }
    const hash = hashes[at] as Hex;
    const key = `${epoch}:${hash}`;
    let hit = inputsCache.get(key);
    if (hit === undefined) {
      hit = readInputsAt(epoch, at, hash);
      inputsCache.set(key, hit);
      for (const k of inputsCache.keys()) if (Number(k.split(':')[0]) < epoch - 12) inputsCache.delete(k);
    }
    return await hit;
  }
  async function readInputsAt(epoch: number, at: number, hash: Hex): Promise<EpochInputs> {
    type Params = {
      kappa: number;
      bondsMovingAverage: number;
      ownerSplit: number;
      minerSplit: number;
      validatorSplit: number;
    };
    type Record_ = { uid: number; hotkey: Address; isValidator: boolean; registeredAt: bigint };
    const [subnet, params, records, yumaVersion, emission] = await Promise.all([
      read<{ owner: Address }>(addresses.subnetRegistry, subnetRegistryAbi, 'getSubnet', [NETUID], at),
      read<Params>(addresses.subnetRegistry, subnetRegistryAbi, 'getHyperparams', [NETUID], at),
      read<readonly Record_[]>(addresses.neuronRegistry, neuronRegistryAbi, 'getSubnetNeurons', [NETUID], at),
      read<number>(addresses.epochConsensus, epochConsensusAbi, 'yumaVersion', [NETUID], at),
      read<bigint>(addresses.epochConsensus, epochConsensusAbi, 'epochEmission', [NETUID, BigInt(epoch)], at),
    ]);
    const calls = records.flatMap((r) => [
      [
        'eth_call',
        [
          {
            to: addresses.staking,
            data: encodeFunctionData({
              abi: stakingAbi,
              functionName: 'hotkeyStake',
              args: [NETUID, r.hotkey],
            }),
          },
          toHex(at),
        ],
      ] as const,
      [
        'eth_call',
        [
          {
            to: addresses.neuronRegistry,
            data: encodeFunctionData({
              abi: neuronRegistryAbi,
              functionName: 'hasValidatorPermit',
              args: [NETUID, r.uid],
            }),
          },
          toHex(at),
        ],
      ] as const,
    ]);
    const answers = await rpc.batch(calls);
    const word = (k: number): bigint => {
      const a = answers[k];
      if (a === undefined || !a.ok) throw a?.ok === false ? a.error : new Error('no answer');
      return BigInt(a.result as Hex);
    };
    const neurons: EpochNeuron[] = records
      .map((r, k) => ({
        uid: r.uid,
        hotkey: r.hotkey,
        role: r.isValidator ? ('validator' as const) : ('miner' as const),
        stake: word(2 * k),
        validatorPermit: r.isValidator && word(2 * k + 1) === 1n,
        registeredAt: Number(r.registeredAt),
      }))
      .sort((a, b) => a.uid - b.uid);
    const from = startOf(Math.max(0, epoch - 3));
    return {
      epoch,
      startBlock: startOf(epoch),
      endBlockHash: hash,
      owner: subnet.owner,
      emission,
      yumaVersion: yumaVersion === 2 ? 2 : 3,
      params: {
        kappa: params.kappa,
        bondsMovingAverage: params.bondsMovingAverage,
        ownerSplit: params.ownerSplit,
        minerSplit: params.minerSplit,
        validatorSplit: params.validatorSplit,
      },
      neurons,
      reveals: countedReveals(neurons, reveals, { from, to: at }),
    };
  }

  return {
    addresses,
    owner,
    validators,
    miners,
    emissionCap: emission.emissionCap,
    head: () => head,
    epochOf,
    startOf,
    hashOf: (n) => hashes[n] ?? zeroHash,
    async simulate(from, to, data, what, pending = false) {
      try {
        return await rpc.call<Hex>('eth_call', [
          { from, to, data, gas: GAS },
          pending ? 'pending' : 'latest',
        ]);
      } catch (err) {
        const d = decodeRevert(err);
        if (d !== undefined) throw new SimRevert(d, what);
        throw err;
      }
    },
    inMempool(to, fn) {
      return sentThisBlock.some((t) => {
        if (t.to !== to) return false;
        try {
          return decodeFunctionData({ abi: allAbis, data: t.data }).functionName === fn;
        } catch {
          return false;
        }
      });
    },
    async send(from, to, data, delay = 0) {
      if (delay > 0) {
        const ticket = ++tickets;
        delayed.push({ at: head + 1 + delay, from, to, data, ticket });
        return ticket;
      }
      return await sendNow(from, to, data);
    },
    outcome: (ticket) => outcomes.get(ticket),
    read,
    mine: mineBlock,
    view() {
      if (viewCache === undefined || viewCache.block !== head) viewCache = { block: head, view: readView() };
      return viewCache.view;
    },
    inputs: readInputs,
    events,
    reveals: () => reveals,
    minedReverts: () => ({ ...reverts }),
    stop,
  };
}
