import {
  countedReveals,
  epochConsensusAbi,
  neuronRegistryAbi,
  subnetRegistryAbi,
  unpackU16,
  weightsAbi,
} from '@subnet/contracts';
import type { Address, Hash } from 'viem';
import type { ChainClient } from '../client.js';
import type { EpochInputsCache } from '../epochInputsCache.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import type { Hyperparams } from '../types.js';
import { checkEpoch, checkNetuid } from '../validate.js';
import { getEpochBlocks } from './getEpochBlocks.js';
import { readSubnet, requireSubnet } from './getSubnetInfo.js';
import { enrichNeurons } from './getSubnetNeurons.js';

/** A neuron as of an epoch's last block. */
export interface EpochNeuron {
  uid: number;
  hotkey: Address;
  role: 'validator' | 'miner';
  stake: bigint;
  validatorPermit: boolean;
  registeredAt: bigint;
}

/** A validator's counted reveal. */
export interface EpochReveal {
  uid: number;
  /** Block of the reveal. */
  block: bigint;
  /** Epoch the weights were committed in. */
  epoch: bigint;
  uids: number[];
  weights: number[];
}

/** Everything epoch `e` is settled from (docs/epoch.md, Inputs). */
export interface EpochInputs {
  netuid: number;
  epoch: bigint;
  startBlock: bigint;
  endBlock: bigint;
  /** The hash of `B(e)` every input was read at. */
  endBlockHash: Hash;
  deadline: bigint;
  owner: Address;
  params: Hyperparams;
  yumaVersion: number;
  /** `A(e)`. */
  emission: bigint;
  neurons: EpochNeuron[];
  reveals: EpochReveal[];
}

/** How many epochs before `e` a reveal still counts (a reveal older than four epochs does not). */
const REVEAL_LOOKBACK = 3n;

/** The weight rules of docs/epoch.md (one definition, in `@subnet/contracts`; the simulator uses it too). */
export { countedReveals };

/** How often a read is retried when `B(e)` is replaced while it runs (a reorg during the read). */
const REORG_RETRIES = 2;

export interface GetEpochInputsParameters {
  netuid: number;
  epoch: number | bigint;
  /** Blocks that must be mined on top of `B(e)` before it is read (default 0: as soon as it exists). */
  confirmations?: number;
  /** Reads by `B(e)`'s hash: a hit answers without reading, a reorg that replaced `B(e)` misses. */
  cache?: EpochInputsCache;
}

/**
 * Reads epoch `e`'s inputs at its last block `B(e)`: the subnet's owner and hyperparameters
 * (`SubnetRegistry.getSubnet`, `getHyperparams`), its neurons with stake and permit
 * (`NeuronRegistry.getSubnetNeurons`, `Staking.hotkeyStake`, `NeuronRegistry.hasValidatorPermit`),
 * `EpochConsensus.yumaVersion` and `EpochConsensus.epochEmission`, and the counted `Weights.WeightsRevealed`
 * logs of `[S(e-3), B(e)]` ({@link countedReveals}). NOT_FOUND for an unknown subnet, EPOCH_NOT_ENDED until
 * `B(e)` is mined, EPOCH_NOT_CONFIRMED until `confirmations` more blocks are. The result carries `B(e)`'s
 * hash, checked again after the reads: a reorg that replaced `B(e)` meanwhile reads again (twice at most,
 * then EPOCH_NOT_CONFIRMED), so the inputs always come from the one chain that hash names.
 */
export async function getEpochInputs(
  client: ChainClient,
  params: GetEpochInputsParameters,
): Promise<EpochInputs> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  const confirmations = params.confirmations ?? 0;
  if (!Number.isInteger(confirmations) || confirmations < 0) {
    throw new ChainError(ChainErrorCode.INVALID_INPUT, `confirmations must be an integer >= 0`);
  }
  try {
    const [, latest] = await Promise.all([
      requireSubnet(client, netuid),
      client.public.getBlockNumber({ cacheTime: 0 }),
    ]);
    const from = epoch >= REVEAL_LOOKBACK ? epoch - REVEAL_LOOKBACK : 0n;
    const [blocks, windowStart] = await Promise.all([
      getEpochBlocks(client, { netuid, epoch }),
      client.public.readContract({
        address: client.contracts.subnetRegistry,
        abi: subnetRegistryAbi,
        functionName: 'epochStartBlock',
        args: [netuid, from],
      }),
    ]);
    const at = blocks.endBlock;
    if (latest < at) {
      throw new ChainError(
        ChainErrorCode.EPOCH_NOT_ENDED,
        `epoch ${epoch} of subnet ${netuid} ends at block ${at} (now ${latest}); ask again after it`,
      );
    }
    const depth = latest - at;
    if (depth < BigInt(confirmations)) {
      throw notConfirmed(netuid, epoch, at, depth, confirmations);
    }
    for (let attempt = 0; ; attempt++) {
      const hash = await blockHash(client, at);
      const hit = params.cache?.get(netuid, epoch, hash);
      if (hit !== undefined) return hit;
      const inputs = await readAt(client, netuid, epoch, blocks, windowStart, hash);
      if ((await blockHash(client, at)) === hash) {
        params.cache?.set(inputs);
        return inputs;
      }
      if (attempt >= REORG_RETRIES) throw notConfirmed(netuid, epoch, at, depth, confirmations, true);
    }
  } catch (err) {
    throw toChainError(err, `getEpochInputs(${netuid}, ${epoch})`);
  }
}

function notConfirmed(
  netuid: number,
  epoch: bigint,
  endBlock: bigint,
  depth: bigint,
  confirmations: number,
  replaced = false,
): ChainError {
  return new ChainError(
    ChainErrorCode.EPOCH_NOT_CONFIRMED,
    replaced
      ? `block ${endBlock}, the last of epoch ${epoch} of subnet ${netuid}, kept being replaced while its inputs were read (a reorg); ask again a few blocks later`
      : `block ${endBlock}, the last of epoch ${epoch} of subnet ${netuid}, is ${depth} blocks deep; its inputs are read at ${confirmations}: ask again ${BigInt(confirmations) - depth} blocks later`,
    { meta: { endBlock, depth, confirmations } },
  );
}

/** The hash of block `n` as the chain has it now. */
async function blockHash(client: ChainClient, n: bigint): Promise<Hash> {
  const block = await client.public.getBlock({ blockNumber: n, includeTransactions: false });
  return block.hash;
}

/** Every input of epoch `epoch`, read at block `blocks.endBlock` (whose hash is `hash`). */
async function readAt(
  client: ChainClient,
  netuid: number,
  epoch: bigint,
  blocks: { startBlock: bigint; endBlock: bigint; deadline: bigint },
  windowStart: bigint,
  hash: Hash,
): Promise<EpochInputs> {
  const at = blocks.endBlock;
  const read = {
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    blockNumber: at,
  } as const;
  const [subnet, records, yumaVersion, emission, logs] = await Promise.all([
    readSubnet(client, netuid, at),
    client.public.readContract({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'getSubnetNeurons',
      args: [netuid],
      blockNumber: at,
    }),
    client.public.readContract({ ...read, functionName: 'yumaVersion', args: [netuid] }),
    client.public.readContract({ ...read, functionName: 'epochEmission', args: [netuid, epoch] }),
    client.public.getContractEvents({
      address: client.contracts.weights,
      abi: weightsAbi,
      eventName: 'WeightsRevealed',
      args: { netuid },
      fromBlock: windowStart,
      toBlock: at,
      strict: true,
    }),
  ]);
  const neurons: EpochNeuron[] = (await enrichNeurons(client, netuid, records, new Map(), at))
    .map((n) => ({
      uid: n.uid,
      hotkey: n.hotkey,
      role: n.isValidator ? ('validator' as const) : ('miner' as const),
      stake: n.stake,
      validatorPermit: n.validatorPermit,
      registeredAt: n.registeredAt,
    }))
    .sort((a, b) => a.uid - b.uid);
  const reveals = countedReveals(
    neurons,
    logs.map((l) => ({
      uid: l.args.uid,
      block: l.blockNumber,
      epoch: l.args.epoch,
      uids: unpackU16(l.args.uids),
      weights: unpackU16(l.args.weights),
    })),
    { from: windowStart, to: at },
  );
  return {
    netuid,
    epoch,
    startBlock: blocks.startBlock,
    endBlock: at,
    endBlockHash: hash,
    deadline: blocks.deadline,
    owner: subnet.owner,
    params: subnet.params,
    yumaVersion: Number(yumaVersion),
    emission,
    neurons,
    reveals,
  };
}
