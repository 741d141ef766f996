import { slashingAbi } from '@subnet/contracts';
import type { Address, Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';
import { checkAddress, checkEpoch, checkNetuid } from '../validate.js';
import { slashingAddress } from './slashingAddress.js';

/**
 * Slashes a validator that proposed or attested a root other than the one final epoch `epoch` was settled
 * with (`Slashing.slashWrongRoot`); anyone may send it while the validator's vote is stored.
 */
export async function slashWrongRoot(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; hotkey: Address },
): Promise<{ hash: Hash; amount: bigint }> {
  const tx = await sendContractTx(client, {
    address: await slashingAddress(client),
    abi: slashingAbi,
    functionName: 'slashWrongRoot',
    args: [checkNetuid(params.netuid), checkEpoch(params.epoch), checkAddress(params.hotkey, 'hotkey')],
  });
  return { hash: tx.hash, amount: minedEvent(tx, slashingAbi, 'ValidatorSlashed').amount };
}
