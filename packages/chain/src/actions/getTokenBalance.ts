import { subnetTokenAbi } from '@subnet/contracts';
import type { Address } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkAddress } from '../validate.js';

/** SUB balance of an address (`SubnetToken.balanceOf`). */
export async function getTokenBalance(client: ChainClient, params: { address: Address }): Promise<bigint> {
  try {
    return await client.public.readContract({
      address: client.contracts.token,
      abi: subnetTokenAbi,
      functionName: 'balanceOf',
      args: [checkAddress(params.address, 'address')],
    });
  } catch (err) {
    throw toChainError(err, 'getTokenBalance');
  }
}
