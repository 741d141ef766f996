import { packU16, subnetRegistryAbi, weightsAbi } from '@subnet/contracts';
import type { Hash, Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkBytes32, checkNetuid, checkWeights } from '../validate.js';

/**
 * Reveals committed weights (`Weights.revealWeights`), signed by the validator's hotkey: the vector is
 * emitted as `WeightsRevealed`. The version key is read from the subnet's hyperparameters.
 */
export async function revealWeights(
  client: ChainClient,
  params: { netuid: number; uids: readonly number[]; weights: readonly number[]; salt: Hex },
): Promise<{ hash: Hash }> {
  const netuid = checkNetuid(params.netuid);
  checkWeights(params.uids, params.weights);
  const salt = checkBytes32(params.salt, 'salt');
  let versionKey: bigint;
  try {
    const hp = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'getHyperparams',
      args: [netuid],
    });
    versionKey = hp.weightsVersionKey;
  } catch (err) {
    throw toChainError(err, 'revealWeights');
  }
  const tx = await sendContractTx(client, {
    address: client.contracts.weights,
    abi: weightsAbi,
    functionName: 'revealWeights',
    args: [netuid, packU16(params.uids), packU16(params.weights), salt, versionKey],
  });
  return { hash: tx.hash };
}
