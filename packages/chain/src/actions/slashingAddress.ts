/**
 * Where the Slashing contract lives (`Staking.slasher()`, so network files need no new entry); the EIP-712
 * statement validators sign for it is defined once, in `@subnet/contracts` (attestation.ts).
 */
import { stakingAbi } from '@subnet/contracts';
import type { Address, Hex } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';

/** One signed statement: a root and results hash for an epoch, and the hotkey's signature over it. */
export interface SignedAttestation {
  root: Hex;
  resultsHash: Hex;
  signature: Hex;
}

const slashers = new WeakMap<ChainClient['contracts'], Promise<Address>>();

/** The Slashing contract's address (`Staking.slasher()`, read once per client). */
export function slashingAddress(client: ChainClient): Promise<Address> {
  let address = slashers.get(client.contracts);
  if (address === undefined) {
    address = client.public
      .readContract({ address: client.contracts.staking, abi: stakingAbi, functionName: 'slasher' })
      .catch((err: unknown) => {
        slashers.delete(client.contracts);
        throw toChainError(err, 'slashingAddress');
      });
    slashers.set(client.contracts, address);
  }
  return address;
}
