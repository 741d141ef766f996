import { epochConsensusAbi } from '@subnet/contracts';
import type { Hash, Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import { checkBytes32, checkEpoch, checkNetuid } from '../validate.js';

/**
 * Attests epoch `epoch`'s proposal (`EpochConsensus.attest`) with the caller's own root and results hash,
 * signed by a validator's hotkey permitted when it was proposed (not the proposer). A different root reverts
 * `WrongRoot`; the attestation reaching two thirds of the stake finalises the epoch.
 */
export async function attestEpoch(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; root: Hex; resultsHash: Hex },
): Promise<{ hash: Hash; gasUsed: bigint }> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  const tx = await sendContractTx(client, {
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    functionName: 'attest',
    args: [netuid, epoch, checkBytes32(params.root, 'root'), checkBytes32(params.resultsHash, 'resultsHash')],
  });
  return { hash: tx.hash, gasUsed: tx.receipt.gasUsed };
}
