import { subnetRegistryAbi, weightsAbi, weightsCommitHash } from '@subnet/contracts';
import { bytesToHex, type Hash, type Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkBytes32, checkNetuid, checkWeights } from '../validate.js';

/** What a reveal needs later: keep it until then. */
export interface WeightsCommit {
  netuid: number;
  uids: number[];
  weights: number[];
  salt: Hex;
  epoch: bigint;
  commitHash: Hex;
  hash: Hash;
}

/**
 * Commits `keccak256(packed uids ‖ packed weights ‖ salt ‖ epoch)` (`Weights.commitWeights`), signed by the
 * validator's hotkey. The epoch is read at the pending block; if the commit lands in another epoch the hash
 * would not reveal, so that is reported as an error to retry.
 */
export async function commitWeights(
  client: ChainClient,
  params: { netuid: number; uids: readonly number[]; weights: readonly number[]; salt?: Hex },
): Promise<WeightsCommit> {
  const netuid = checkNetuid(params.netuid);
  checkWeights(params.uids, params.weights);
  const salt =
    params.salt === undefined
      ? bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
      : checkBytes32(params.salt, 'salt');
  let epoch: bigint;
  try {
    epoch = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'currentEpoch',
      args: [netuid],
      blockTag: 'pending',
    });
  } catch (err) {
    throw toChainError(err, 'commitWeights');
  }
  const commitHash = weightsCommitHash(params.uids, params.weights, salt, epoch);
  const tx = await sendContractTx(client, {
    address: client.contracts.weights,
    abi: weightsAbi,
    functionName: 'commitWeights',
    args: [netuid, commitHash],
  });
  const landed = await client.public.readContract({
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'currentEpoch',
    args: [netuid],
    blockNumber: tx.receipt.blockNumber,
  });
  if (landed !== epoch) {
    throw new ChainError(
      ChainErrorCode.TX_FAILED,
      `the commit landed in epoch ${landed} instead of ${epoch} (an epoch boundary passed); commit again`,
    );
  }
  return {
    netuid,
    uids: [...params.uids],
    weights: [...params.weights],
    salt,
    epoch,
    commitHash,
    hash: tx.hash,
  };
}
