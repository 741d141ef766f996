import { decodeResults, epochConsensusAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import type { EpochResult } from '../types.js';
import { checkEpoch, checkNetuid } from '../validate.js';

/** The results of a finalised epoch, as its proposal carried them. */
export interface EpochResults {
  netuid: number;
  epoch: bigint;
  root: Hash;
  resultsHash: Hash;
  total: bigint;
  /** Block of the proposal. */
  block: bigint;
  results: EpochResult[];
}

const U16_MAX = 65_535;

/**
 * The per-uid results of finalised epoch `epoch`, or of the latest finalised one (`EpochConsensus.settledEpoch`
 * minus one), decoded from the `results` bytes of its `EpochProposed` event; `undefined` when the subnet has
 * no finalised epoch yet, NOT_FOUND when the given epoch is not finalised. Read at `blockNumber` when given,
 * else at the latest block (every read at the same one).
 */
export async function getEpochResults(
  client: ChainClient,
  params: { netuid: number; epoch?: number | bigint; blockNumber?: bigint },
): Promise<EpochResults | undefined> {
  const netuid = checkNetuid(params.netuid);
  try {
    // Every read at one block: read at "latest", a block mined between the reads could hold a proposal (a
    // competing root that finalised) whose event lies after the block the events are searched up to.
    const at = params.blockNumber ?? (await client.public.getBlockNumber({ cacheTime: 0 }));
    const read = {
      address: client.contracts.epochConsensus,
      abi: epochConsensusAbi,
      blockNumber: at,
    } as const;
    let epoch: bigint;
    if (params.epoch === undefined) {
      const settled = await client.public.readContract({
        ...read,
        functionName: 'settledEpoch',
        args: [netuid],
      });
      if (settled === 0n) return undefined;
      epoch = settled - 1n;
    } else {
      epoch = checkEpoch(params.epoch);
    }
    const info = await client.public.readContract({
      ...read,
      functionName: 'getEpoch',
      args: [netuid, epoch],
    });
    if (info.status !== 3) {
      throw new ChainError(ChainErrorCode.NOT_FOUND, `epoch ${epoch} of subnet ${netuid} is not finalised`);
    }
    const event = await proposedEvent(client, netuid, epoch, info, at);
    return {
      netuid,
      epoch,
      root: info.root,
      resultsHash: event.args.resultsHash,
      total: event.args.total,
      block: event.blockNumber,
      results: decodeResults(event.args.results).map((r) => ({
        uid: r.uid,
        incentive: r.incentive / U16_MAX,
        dividends: r.dividends / U16_MAX,
        trust: r.trust / U16_MAX,
        consensus: r.consensus / U16_MAX,
        amount: r.amount,
      })),
    };
  } catch (err) {
    throw toChainError(err, `getEpochResults(${netuid})`);
  }
}

/**
 * The `EpochProposed` event of epoch `epoch`'s proposal (the one with root `info.root`), searched between the
 * epoch's end and its deadline (or block `at` when earlier); NOT_FOUND when there is none. Throws raw viem
 * errors: callers wrap them.
 */
export async function proposedEvent(
  client: ChainClient,
  netuid: number,
  epoch: bigint,
  info: { root: Hash; endBlock: bigint; deadline: bigint },
  at: bigint,
) {
  const events = await client.public.getContractEvents({
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    eventName: 'EpochProposed',
    args: { netuid, epoch },
    fromBlock: info.endBlock,
    toBlock: info.deadline < at ? info.deadline : at,
    strict: true,
  });
  const event = events.find((e) => e.args.root === info.root);
  if (event === undefined) {
    throw new ChainError(
      ChainErrorCode.NOT_FOUND,
      `no EpochProposed event for epoch ${epoch} of subnet ${netuid}`,
    );
  }
  return event;
}

/** The latest finalised epoch's results by uid (empty before any), for the metagraph's neurons. */
export async function latestResultsByUid(
  client: ChainClient,
  netuid: number,
  blockNumber?: bigint,
): Promise<Map<number, EpochResult>> {
  const latest = await getEpochResults(
    client,
    blockNumber === undefined ? { netuid } : { netuid, blockNumber },
  );
  return new Map((latest?.results ?? []).map((r) => [r.uid, r]));
}
