import { slashingAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';
import { checkBytes32, checkEpoch, checkNetuid } from '../validate.js';
import { type SignedAttestation, slashingAddress } from './slashingAddress.js';

/**
 * Proves that a validator signed two different roots for one epoch (`Slashing.slashEquivocation`) and
 * slashes it by the subnet's slash share; anyone may send it.
 */
export async function slashEquivocation(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; a: SignedAttestation; b: SignedAttestation },
): Promise<{ hash: Hash; amount: bigint }> {
  const { a, b } = params;
  const tx = await sendContractTx(client, {
    address: await slashingAddress(client),
    abi: slashingAbi,
    functionName: 'slashEquivocation',
    args: [
      checkNetuid(params.netuid),
      checkEpoch(params.epoch),
      checkBytes32(a.root, 'a.root'),
      checkBytes32(a.resultsHash, 'a.resultsHash'),
      a.signature,
      checkBytes32(b.root, 'b.root'),
      checkBytes32(b.resultsHash, 'b.resultsHash'),
      b.signature,
    ],
  });
  return { hash: tx.hash, amount: minedEvent(tx, slashingAbi, 'ValidatorSlashed').amount };
}
