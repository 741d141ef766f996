import { neuronRegistryAbi, weightsAbi } from '@subnet/contracts';
import { type Address, type Hex, isAddressEqual, zeroHash } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkNetuid } from '../validate.js';

/** A commit waiting for its reveal. */
export interface PendingWeightsCommit {
  uid: number;
  commitHash: Hex;
  epoch: bigint;
}

/**
 * The commit `hotkey` made in `netuid` that still waits for its reveal (`NeuronRegistry.uidOf`, then
 * `Weights.getCommit`), or null when there is none (or the UID's commit was made by a previous holder).
 * Reverts with `NotRegistered` when the hotkey holds no UID.
 */
export async function getPendingWeightsCommit(
  client: ChainClient,
  params: { netuid: number; hotkey: Address },
): Promise<PendingWeightsCommit | null> {
  const netuid = checkNetuid(params.netuid);
  try {
    const uid = await client.public.readContract({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'uidOf',
      args: [netuid, params.hotkey],
    });
    const c = await client.public.readContract({
      address: client.contracts.weights,
      abi: weightsAbi,
      functionName: 'getCommit',
      args: [netuid, uid],
    });
    if (c.commitHash === zeroHash || !isAddressEqual(c.hotkey, params.hotkey)) return null;
    return { uid, commitHash: c.commitHash, epoch: c.epoch };
  } catch (err) {
    throw toChainError(err, 'getPendingWeightsCommit');
  }
}
