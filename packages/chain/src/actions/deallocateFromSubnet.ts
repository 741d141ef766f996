import { stakingAbi } from '@subnet/contracts';
import type { Address, Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';
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
  return { hash: tx.hash, releaseBlock: minedEvent(tx, stakingAbi, 'Deallocated').releaseBlock };
}
