import { attestationTypedData } from '@subnet/contracts';
import type { Hex } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { checkBytes32, checkEpoch, checkNetuid } from '../validate.js';
import { type SignedAttestation, slashingAddress } from './slashingAddress.js';

/** Signs epoch `epoch`'s statement (root, results hash) with the client's account (the validator's hotkey). */
export async function signAttestation(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; root: Hex; resultsHash: Hex },
): Promise<SignedAttestation> {
  const wallet = requireWallet(client);
  const root = checkBytes32(params.root, 'root');
  const resultsHash = checkBytes32(params.resultsHash, 'resultsHash');
  const signature = await wallet.signTypedData({
    account: wallet.account,
    ...attestationTypedData({
      chainId: client.chain.id,
      slashing: await slashingAddress(client),
      netuid: checkNetuid(params.netuid),
      epoch: checkEpoch(params.epoch),
      root,
      resultsHash,
    }),
  });
  return { root, resultsHash, signature };
}
