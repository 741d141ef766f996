import { stakingAbi } from '@subnet/contracts';
import type { Address, Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkAmount, checkNetuid } from '../validate.js';

/** Returns allocated stake to the coldkey's free stake (`Staking.deallocate`). */
export async function deallocateFromSubnet(
  client: ChainClient,
  params: { netuid: number; hotkey: Address; amount: bigint },
): Promise<{ hash: Hash }> {
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
  return { hash: tx.hash };
}
