import { epochConsensusAbi } from '@subnet/contracts';
import { type Hash, type Hex, zeroHash } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkEpoch, checkNetuid, checkResults } from '../validate.js';
import { proposedEvent } from './getEpochResults.js';

/**
 * Records finalised epoch `epoch`'s results in the neuron registry (`EpochConsensus.recordResults`): each
 * uid's amount becomes its recorded emission, the pruning score. Anyone may send it, until the subnet's next
 * proposal (then it reverts `ResultsUnavailable`); recording twice writes the same values. Without `results`
 * the action reads them from the epoch's `EpochProposed` event (NOT_FOUND when the epoch has no proposal).
 * Other reverts: `EpochNotFinalised`, `WrongResults`.
 */
export async function recordEpochResults(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; results?: Hex },
): Promise<{ hash: Hash; gasUsed: bigint }> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  let results = params.results === undefined ? undefined : checkResults(params.results);
  if (results === undefined) {
    try {
      const info = await client.public.readContract({
        address: client.contracts.epochConsensus,
        abi: epochConsensusAbi,
        functionName: 'getEpoch',
        args: [netuid, epoch],
      });
      if (info.root === zeroHash) {
        throw new ChainError(ChainErrorCode.NOT_FOUND, `epoch ${epoch} of subnet ${netuid} has no proposal`);
      }
      const at = await client.public.getBlockNumber({ cacheTime: 0 });
      results = (await proposedEvent(client, netuid, epoch, info, at)).args.results;
    } catch (err) {
      throw toChainError(err, `recordEpochResults(${netuid}, ${epoch})`);
    }
  }
  const tx = await sendContractTx(client, {
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    functionName: 'recordResults',
    args: [netuid, epoch, results],
  });
  return { hash: tx.hash, gasUsed: tx.receipt.gasUsed };
}
