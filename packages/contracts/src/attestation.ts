/**
 * The epoch statement a validator signs (Slashing.sol `ATTESTATION_TYPEHASH`): a root and results hash for
 * one epoch of one subnet, in the Slashing contract's EIP-712 domain. Two such statements with different
 * roots for the same epoch, signed by one key, prove equivocation (`Slashing.slashEquivocation`). Pure; the
 * domain and the type must stay identical to `Slashing.sol`, which the contract tests check by slashing with
 * signatures made here.
 */
import type { Address, Hex } from 'viem';

/** EIP-712 domain name and version of Slashing. */
export const SLASHING_EIP712 = { name: 'SubnetSlashing', version: '1' } as const;

/** The EIP-712 types of an epoch statement. */
export const attestationTypes = {
  Attestation: [
    { name: 'netuid', type: 'uint16' },
    { name: 'epoch', type: 'uint64' },
    { name: 'root', type: 'bytes32' },
    { name: 'resultsHash', type: 'bytes32' },
  ],
} as const;

/** What {@link attestationTypedData} needs. */
export interface AttestationParameters {
  chainId: number;
  slashing: Address;
  netuid: number;
  epoch: bigint;
  root: Hex;
  resultsHash: Hex;
}

/** The typed data a validator signs (`account.signTypedData(...)`) to state epoch `epoch`'s root. */
export function attestationTypedData(p: AttestationParameters) {
  return {
    domain: { ...SLASHING_EIP712, chainId: p.chainId, verifyingContract: p.slashing },
    types: attestationTypes,
    primaryType: 'Attestation' as const,
    message: { netuid: p.netuid, epoch: p.epoch, root: p.root, resultsHash: p.resultsHash },
  };
}
