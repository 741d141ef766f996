import { stakingAbi } from '@subnet/contracts';
import { type Hash, parseEventLogs } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
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
  const [event] = parseEventLogs({ abi: stakingAbi, logs: tx.receipt.logs, eventName: 'Unstaked' });
  return { hash: tx.hash, releaseBlock: event?.args.releaseBlock ?? BigInt(tx.result as bigint | number) };
}
