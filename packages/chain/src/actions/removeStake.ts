import { stakingAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';
import { checkAmount } from '../validate.js';

/** Starts unbonding free stake (`Staking.unstake`); claim it with `claimStake` after the unbonding period. */
export async function removeStake(
  client: ChainClient,
  params: { amount: bigint },
): Promise<{ hash: Hash; releaseBlock: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'unstake',
    args: [checkAmount(params.amount, 'amount')],
  });
  // From the mined event: the simulation ran a block earlier than the transaction.
  return { hash: tx.hash, releaseBlock: minedEvent(tx, stakingAbi, 'Unstaked').releaseBlock };
}
