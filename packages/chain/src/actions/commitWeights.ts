import { subnetRegistryAbi, weightsAbi, weightsCommitHash } from '@subnet/contracts';
import { bytesToHex, type Hash, type Hex } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkBytes32, checkNetuid, checkWeights } from '../validate.js';

/** What a reveal needs later, known before the commit is sent: keep it (durably) until the reveal. */
export interface PreparedWeightsCommit {
  netuid: number;
  uids: number[];
  weights: number[];
  salt: Hex;
  epoch: bigint;
  commitHash: Hex;
}

/** A commit that landed: the prepared commit and its transaction. */
export interface WeightsCommit extends PreparedWeightsCommit {
  hash: Hash;
}

/**
 * Commits `keccak256(abi.encode(chainId, weights contract, netuid, hotkey, epoch, uids, weights, salt))`
 * (`Weights.commitWeights`), signed by the validator's hotkey. The epoch is read at the pending block; if the
 * commit lands in another epoch the hash would not reveal, so that is reported as an error to retry.
 * `beforeSend` gets the salt and vector before the transaction is signed: a caller that must survive a crash
 * between the send and its own bookkeeping stores them there (durably), or the commit can never be revealed.
 */
export async function commitWeights(
  client: ChainClient,
  params: {
    netuid: number;
    uids: readonly number[];
    weights: readonly number[];
    salt?: Hex;
    beforeSend?: (prepared: PreparedWeightsCommit) => Promise<void>;
  },
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
  const committer = requireWallet(client).account.address;
  const commitHash = weightsCommitHash({
    chainId: client.chain.id,
    contract: client.contracts.weights,
    netuid,
    committer,
    epoch,
    uids: params.uids,
    weights: params.weights,
    salt,
  });
  const prepared: PreparedWeightsCommit = {
    netuid,
    uids: [...params.uids],
    weights: [...params.weights],
    salt,
    epoch,
    commitHash,
  };
  await params.beforeSend?.(prepared);
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
  return { ...prepared, hash: tx.hash };
}
