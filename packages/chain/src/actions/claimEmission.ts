import { epochConsensusAbi } from '@subnet/contracts';
import type { Address, Hash, Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { invalidInput } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkBytes32, checkEpoch, checkNetuid, checkUid } from '../validate.js';

/**
 * Claims one leaf `(uid, account, amount)` of finalised epoch `epoch` with its Merkle proof
 * (`EpochConsensus.claim`). Anyone may send it; the amount is minted to the account's coldkey (the owner leaf,
 * uid 65535, to the owner), or with `toStake` (sent by the hotkey or its coldkey) added to the hotkey's stake.
 */
export async function claimEmission(
  client: ChainClient,
  params: {
    netuid: number;
    epoch: number | bigint;
    uid: number;
    account: Address;
    amount: bigint;
    proof: readonly Hex[];
    toStake?: boolean;
  },
): Promise<{ hash: Hash; gasUsed: bigint }> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  if (params.amount <= 0n || params.amount >= 2n ** 256n)
    throw invalidInput('amount must be a positive uint256');
  const tx = await sendContractTx(client, {
    address: client.contracts.epochConsensus,
    abi: epochConsensusAbi,
    functionName: 'claim',
    args: [
      netuid,
      epoch,
      checkUid(params.uid),
      checkAddress(params.account, 'account'),
      params.amount,
      params.proof.map((p, i) => checkBytes32(p, `proof[${i}]`)),
      params.toStake ?? false,
    ],
  });
  return { hash: tx.hash, gasUsed: tx.receipt.gasUsed };
}
