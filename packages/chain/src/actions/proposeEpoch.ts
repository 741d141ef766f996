import { epochConsensusAbi } from '@subnet/contracts';
import type { Hash, Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { invalidInput } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkBytes32, checkEpoch, checkNetuid, checkResults } from '../validate.js';

/**
 * Proposes epoch `epoch` (`EpochConsensus.propose`): its Merkle root, `keccak256(results)`, its total `A(e)` and
 * the packed results, signed by a permitted validator's hotkey (the drawn proposer alone in the first
 * `max(1, tempo / 4)` blocks of the next epoch).
 */
export async function proposeEpoch(
  client: ChainClient,
  params: {
    netuid: number;
    epoch: number | bigint;
    root: Hex;
    resultsHash: Hex;
    total: bigint;
    results: Hex;
  },
): Promise<{ hash: Hash; gasUsed: bigint }> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  const root = checkBytes32(params.root, 'root');
  const resultsHash = checkBytes32(params.resultsHash, 'resultsHash');
  if (params.total < 0n || params.total >= 2n ** 128n) throw invalidInput('total must be 0..2^128-1');
  const results = checkResults(params.results);
  const tx = await sendContractTx(client, {
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    functionName: 'propose',
    args: [netuid, epoch, root, resultsHash, params.total, results],
  });
  return { hash: tx.hash, gasUsed: tx.receipt.gasUsed };
}
