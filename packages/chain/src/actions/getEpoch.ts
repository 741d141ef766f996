import { epochConsensusAbi, subnetRegistryAbi } from '@subnet/contracts';
import { type Address, type Hash, zeroAddress, zeroHash } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkEpoch, checkNetuid } from '../validate.js';
import { proposedEvent } from './getEpochResults.js';
import { requireSubnet } from './getSubnetInfo.js';

/** Where an epoch's settlement stands (docs/epoch.md); the order of `EpochConsensus.EpochStatus`. */
export const EPOCH_STATUSES = ['open', 'awaiting', 'proposed', 'finalised', 'expired'] as const;
export type EpochStatus = (typeof EPOCH_STATUSES)[number];

/** One `EpochAttested` event. */
export interface EpochAttestation {
  hotkey: Address;
  /** The stake it counted with (snapshotted at the proposal). */
  stake: bigint;
  block: bigint;
}

/** An epoch's proposal and the attestations to it. */
export interface EpochProposal {
  proposer: Address;
  root: Hash;
  resultsHash: Hash;
  total: bigint;
  /** Stake of the validators permitted at the proposal. */
  totalStake: bigint;
  /** Stake attested so far, the proposer's included. */
  attestedStake: bigint;
  attestations: EpochAttestation[];
  /** Block of the proposal. */
  block: bigint;
}

/** The settlement of one epoch. */
export interface EpochState {
  netuid: number;
  epoch: bigint;
  currentEpoch: bigint;
  currentBlock: bigint;
  startBlock: bigint;
  /** `B(e)`, the epoch's last block. */
  endBlock: bigint;
  /** `B(e)`'s hash as the chain has it now (null until it is mined): a change means a reorg replaced it. */
  endBlockHash: Hash | null;
  /** `D(e)`, the last block to propose or attest. */
  deadline: bigint;
  status: EpochStatus;
  /** The drawn proposer: null until the epoch has ended, or when no validator is eligible. */
  proposer: Address | null;
  proposal: EpochProposal | null;
  /** `A(e)` as the contract computes it now (the proposal's total once proposed). */
  emission: bigint;
  claimed: bigint;
  yumaVersion: number;
}

/**
 * Reads the settlement of epoch `epoch` (default: the latest ended one) of a subnet: `EpochConsensus.getEpoch`,
 * `epochEmission`, `yumaVersion`, the hash of its last block and `proposerOf` (read at the last block reserved to the drawn proposer, or
 * now while that window is open), the `EpochProposed` and `EpochAttested` events of the epoch, and, once the
 * subnet's next proposal replaced this one in the contract's round, `getEpoch` at the epoch's deadline for the
 * proposer and stakes. NOT_FOUND for an unknown subnet.
 */
export async function getEpoch(
  client: ChainClient,
  params: { netuid: number; epoch?: number | bigint },
): Promise<EpochState> {
  const netuid = checkNetuid(params.netuid);
  const address = client.contracts.epochConsensus;
  try {
    const [, currentBlock] = await Promise.all([
      requireSubnet(client, netuid),
      client.public.getBlockNumber({ cacheTime: 0 }),
    ]);
    const now = { blockNumber: currentBlock } as const;
    const currentEpoch = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'currentEpoch',
      args: [netuid],
      ...now,
    });
    const epoch =
      params.epoch === undefined ? (currentEpoch > 0n ? currentEpoch - 1n : 0n) : checkEpoch(params.epoch);
    const read = { address, abi: epochConsensusAbi, ...now } as const;
    const [info, emission, yumaVersion] = await Promise.all([
      client.public.readContract({ ...read, functionName: 'getEpoch', args: [netuid, epoch] }),
      client.public.readContract({ ...read, functionName: 'epochEmission', args: [netuid, epoch] }),
      client.public.readContract({ ...read, functionName: 'yumaVersion', args: [netuid] }),
    ]);
    // `getEpoch.endBlock` is S(e+1), where proposals start; the spec's B(e) is the block before.
    const proposalStart = info.endBlock;
    const ended = currentBlock >= proposalStart;
    const drawAt = currentBlock < info.exclusiveUntil ? currentBlock : info.exclusiveUntil;
    const [drawn, proposal, endBlockHash] = await Promise.all([
      ended
        ? client.public.readContract({
            ...read,
            functionName: 'proposerOf',
            args: [netuid, epoch],
            blockNumber: drawAt,
          })
        : Promise.resolve(zeroAddress),
      info.root === zeroHash
        ? Promise.resolve(null)
        : readProposal(client, netuid, epoch, info, currentBlock),
      currentBlock >= proposalStart - 1n
        ? client.public
            .getBlock({ blockNumber: proposalStart - 1n, includeTransactions: false })
            .then((b) => b.hash)
        : Promise.resolve(null),
    ]);
    return {
      netuid,
      epoch,
      currentEpoch,
      currentBlock,
      startBlock: info.startBlock,
      endBlock: proposalStart - 1n,
      endBlockHash,
      deadline: info.deadline,
      status: EPOCH_STATUSES[info.status] ?? 'open',
      proposer: drawn === zeroAddress ? null : drawn,
      proposal,
      emission,
      claimed: info.claimed,
      yumaVersion: Number(yumaVersion),
    };
  } catch (err) {
    throw toChainError(err, `getEpoch(${netuid})`);
  }
}

type EpochInfo = {
  proposer: Address;
  root: Hash;
  resultsHash: Hash;
  total: bigint;
  totalValidatorStake: bigint;
  attestedStake: bigint;
  endBlock: bigint;
  deadline: bigint;
};

/** The proposal of an epoch that has one: its event, its attestations and (from the round) its stakes. */
async function readProposal(
  client: ChainClient,
  netuid: number,
  epoch: bigint,
  info: EpochInfo,
  currentBlock: bigint,
): Promise<EpochProposal> {
  const address = client.contracts.epochConsensus;
  const [event, attested, round] = await Promise.all([
    proposedEvent(client, netuid, epoch, info, currentBlock),
    client.public.getContractEvents({
      address,
      abi: epochConsensusAbi,
      eventName: 'EpochAttested',
      args: { netuid, epoch },
      fromBlock: info.endBlock,
      toBlock: info.deadline < currentBlock ? info.deadline : currentBlock,
      strict: true,
    }),
    // The contract keeps the proposer and stakes only while this is the subnet's latest proposal; at the
    // deadline it still was.
    info.proposer === zeroAddress
      ? client.public.readContract({
          address,
          abi: epochConsensusAbi,
          functionName: 'getEpoch',
          args: [netuid, epoch],
          blockNumber: info.deadline,
        })
      : Promise.resolve(info),
  ]);
  return {
    proposer: event.args.proposer,
    root: info.root,
    resultsHash: event.args.resultsHash,
    total: info.total,
    totalStake: round.totalValidatorStake,
    attestedStake: round.attestedStake,
    attestations: attested.map((a) => ({
      hotkey: a.args.validator,
      stake: a.args.stake,
      block: a.blockNumber,
    })),
    block: event.blockNumber,
  };
}
