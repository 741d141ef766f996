import { epochConsensusAbi, subnetRegistryAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { minedEvent, sendContractTx } from '../tx.js';
import { checkNetuid } from '../validate.js';
import { requireSubnet } from './getSubnetInfo.js';

/** What {@link snapshotValidators} did. */
export interface SnapshotValidatorsResult {
  /** The epoch whose snapshot was taken, or found taken. */
  epoch: bigint;
  /** Whether this call took it; false when it was already taken this epoch (by anyone): not an error. */
  taken: boolean;
  /** The transaction sent, or null when none was (already taken when read). */
  hash: Hash | null;
  /** Gas of that transaction (0 when none was sent). */
  gasUsed: bigint;
}

/**
 * Takes the current epoch's validator snapshot (`EpochConsensus.snapshotValidators`): the permitted
 * validators' stakes and the proposer draw that the epoch's proposals and attestations count (docs/epoch.md).
 * Anyone may send it, once per epoch and subnet; the epoch agents do early in each epoch. Reads
 * `EpochConsensus.getSnapshot` first and sends nothing when the snapshot is taken; a `SnapshotTaken` revert
 * (another sender came first) and a transaction that lost that race in the same block both answer
 * `taken: false` instead of an error. NOT_FOUND for an unknown subnet, NO_ACCOUNT without a signer.
 */
export async function snapshotValidators(
  client: ChainClient,
  params: { netuid: number },
): Promise<SnapshotValidatorsResult> {
  const netuid = checkNetuid(params.netuid);
  requireWallet(client);
  const notTaken = (epoch: bigint, hash: Hash | null = null, gasUsed = 0n): SnapshotValidatorsResult => ({
    epoch,
    taken: false,
    hash,
    gasUsed,
  });
  let epoch: bigint;
  try {
    const [, current] = await Promise.all([requireSubnet(client, netuid), currentEpoch(client, netuid)]);
    epoch = current;
    if (await isTaken(client, netuid, epoch)) return notTaken(epoch);
  } catch (err) {
    throw toChainError(err, `snapshotValidators(${netuid})`);
  }
  try {
    const tx = await sendContractTx(client, {
      address: client.contracts.epochConsensus,
      abi: epochConsensusAbi,
      functionName: 'snapshotValidators',
      args: [netuid],
    });
    return {
      epoch: minedEvent(tx, epochConsensusAbi, 'ValidatorsSnapshotted').epoch,
      taken: true,
      hash: tx.hash,
      gasUsed: tx.receipt.gasUsed,
    };
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    // Taken between the read and the simulation: SnapshotTaken(netuid, epoch).
    if (err.errorName === 'SnapshotTaken') {
      const at = err.meta?.errorArgs?.[1];
      return notTaken(typeof at === 'bigint' ? at : epoch);
    }
    // Simulated fine but mined after another sender's snapshot in the same block.
    const { txHash, gasUsed, blockNumber } = err.meta ?? {};
    if (err.code === ChainErrorCode.TX_FAILED && txHash !== undefined && blockNumber !== undefined) {
      const at = await currentEpoch(client, netuid, blockNumber).catch(() => epoch);
      const taken = await isTaken(client, netuid, at, blockNumber).catch(() => false);
      if (taken) return notTaken(at, txHash, gasUsed ?? 0n);
    }
    throw err;
  }
}

function currentEpoch(client: ChainClient, netuid: number, blockNumber?: bigint): Promise<bigint> {
  return client.public.readContract({
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'currentEpoch',
    args: [netuid],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
}

async function isTaken(
  client: ChainClient,
  netuid: number,
  epoch: bigint,
  blockNumber?: bigint,
): Promise<boolean> {
  const [taken] = await client.public.readContract({
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    functionName: 'getSnapshot',
    args: [netuid, epoch],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
  return taken;
}
