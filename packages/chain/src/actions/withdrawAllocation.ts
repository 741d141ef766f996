import { stakingAbi } from '@subnet/contracts';
import type { Address, Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';
import { checkAddress, checkNetuid } from '../validate.js';

/**
 * Moves the coldkey's matured deallocation record of a (subnet, hotkey) pair to its free stake
 * (`Staking.withdrawAllocation`); before its release block it reverts `UnbondingNotMatured`.
 */
export async function withdrawAllocation(
  client: ChainClient,
  params: { netuid: number; hotkey: Address },
): Promise<{ hash: Hash; amount: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'withdrawAllocation',
    args: [checkNetuid(params.netuid), checkAddress(params.hotkey, 'hotkey')],
  });
  return { hash: tx.hash, amount: minedEvent(tx, stakingAbi, 'AllocationWithdrawn').amount };
}
