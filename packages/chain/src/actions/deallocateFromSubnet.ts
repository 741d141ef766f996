import { stakingAbi } from '@subnet/contracts';
import { type Address, type Hash, parseEventLogs } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkAmount, checkNetuid } from '../validate.js';

/**
 * Deallocates stake from a (subnet, hotkey) pair (`Staking.deallocate`): it stops counting for the hotkey at
 * once but stays slashable in the coldkey's deallocation record of the pair until `releaseBlock`, from which
 * {@link withdrawAllocation} moves it to free stake.
 */
export async function deallocateFromSubnet(
  client: ChainClient,
  params: { netuid: number; hotkey: Address; amount: bigint },
): Promise<{ hash: Hash; releaseBlock: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'deallocate',
    args: [
      checkNetuid(params.netuid),
      checkAddress(params.hotkey, 'hotkey'),
      checkAmount(params.amount, 'amount'),
    ],
  });
  // From the mined event: the simulation ran a block earlier than the transaction.
  const [event] = parseEventLogs({ abi: stakingAbi, logs: tx.receipt.logs, eventName: 'Deallocated' });
  return { hash: tx.hash, releaseBlock: event?.args.releaseBlock ?? BigInt(tx.result as bigint | number) };
}
