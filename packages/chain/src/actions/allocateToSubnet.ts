import { stakingAbi } from '@subnet/contracts';
import { type Address, formatUnits, type Hash } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { invalidInput, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkAmount, checkNetuid } from '../validate.js';

/**
 * Allocates free stake to a hotkey in a subnet (`Staking.allocate`): staking to one's own validator, or
 * delegating to someone else's.
 */
export async function allocateToSubnet(
  client: ChainClient,
  params: { netuid: number; hotkey: Address; amount: bigint },
): Promise<{ hash: Hash }> {
  const amount = checkAmount(params.amount, 'amount');
  const coldkey = requireWallet(client).account.address;
  let free: bigint;
  try {
    free = await client.public.readContract({
      address: client.contracts.staking,
      abi: stakingAbi,
      functionName: 'freeStake',
      args: [coldkey],
    });
  } catch (err) {
    throw toChainError(err, 'allocateToSubnet');
  }
  if (amount > free) {
    throw invalidInput(
      `amount ${formatUnits(amount, 18)} SUB exceeds the free stake of ${formatUnits(free, 18)} SUB; stake more first (deallocated stake is free only once withdrawn after its deallocation period)`,
    );
  }
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'allocate',
    args: [checkNetuid(params.netuid), checkAddress(params.hotkey, 'hotkey'), amount],
  });
  return { hash: tx.hash };
}
