/**
 * The hotkey's consent to its binding (NeuronRegistry.sol `HotkeyConsent`): the EIP-712 typed data a hotkey
 * signs before its first registration, naming the coldkey it binds to. Pure; the domain (name, version,
 * chain id, verifying contract) and the type must stay identical to `NeuronRegistry.sol`, which the contract
 * tests check by registering with signatures made here.
 */
import type { Address, Hex } from 'viem';

/** EIP-712 domain name and version of NeuronRegistry. */
export const NEURON_REGISTRY_EIP712 = { name: 'NeuronRegistry', version: '1' } as const;

/** The EIP-712 types of the binding consent. */
export const hotkeyBindingTypes = {
  HotkeyBinding: [
    { name: 'hotkey', type: 'address' },
    { name: 'coldkey', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** What {@link hotkeyBindingTypedData} needs. */
export interface HotkeyBindingParameters {
  chainId: number;
  neuronRegistry: Address;
  hotkey: Address;
  coldkey: Address;
  /** Last block timestamp (seconds) the consent is valid at. */
  deadline: bigint;
}

/** The typed data the hotkey signs (`account.signTypedData(...)`) to consent to its binding to `coldkey`. */
export function hotkeyBindingTypedData(p: HotkeyBindingParameters) {
  return {
    domain: { ...NEURON_REGISTRY_EIP712, chainId: p.chainId, verifyingContract: p.neuronRegistry },
    types: hotkeyBindingTypes,
    primaryType: 'HotkeyBinding' as const,
    message: { hotkey: p.hotkey, coldkey: p.coldkey, deadline: p.deadline },
  };
}

/** A `HotkeyConsent` argument. */
export interface HotkeyConsent {
  deadline: bigint;
  signature: Hex;
}

/** The consent argument of a registration whose hotkey is already bound to the caller (not read). */
export const NO_CONSENT: HotkeyConsent = { deadline: 0n, signature: '0x' };
