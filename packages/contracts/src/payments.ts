/**
 * The payment messages clients sign, as EIP-712 typed data: the prepaid account's spending authorization
 * (PaymentEscrow.sol `SPENDING_AUTHORIZATION_TYPEHASH`) and the stablecoin's EIP-3009 transfer, receive and
 * cancel authorizations and EIP-2612 permit (PaymentToken.sol; the same types as USDC). Pure; the domains
 * and types must stay identical to the contracts, which the contract tests check by paying with signatures
 * made here. Also the model id PaymentEscrow's sibling Pricing.sol keys prices by.
 */
import { type Address, type Hex, keccak256, toBytes, toHex } from 'viem';

/** EIP-712 domain name and version of PaymentEscrow. */
export const PAYMENT_ESCROW_EIP712 = { name: 'SubnetPaymentEscrow', version: '1' } as const;

/** EIP-712 domain name and version of the devnet PaymentToken (USDC on mainnet is `USD Coin`, `2`). */
export const PAYMENT_TOKEN_EIP712 = { name: 'Subnet USD', version: '1' } as const;

/** The devnet payment token's decimals (like USDC). */
export const PAYMENT_TOKEN_DECIMALS = 6;

/** The EIP-712 types of a spending authorization. */
export const spendingAuthorizationTypes = {
  SpendingAuthorization: [
    { name: 'client', type: 'address' },
    { name: 'gateway', type: 'address' },
    { name: 'cap', type: 'uint256' },
    { name: 'expiry', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** A PaymentEscrow `SpendingAuthorization`: `gateway` may collect up to `cap` in total before `expiry`. */
export interface SpendingAuthorization {
  client: Address;
  gateway: Address;
  /** Most units the gateway may collect under it, in total. */
  cap: bigint;
  /** Timestamp (seconds) from which it can no longer be collected against. */
  expiry: bigint;
  /** Any unique 32 bytes ({@link randomNonce}). */
  nonce: Hex;
}

/** The EIP-712 domain of a token: its name and version, the chain and the token's address. */
export interface TokenDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

/** The typed data a client signs (`account.signTypedData(...)`) to authorize a gateway's collections. */
export function spendingAuthorizationTypedData(p: {
  chainId: number;
  paymentEscrow: Address;
  authorization: SpendingAuthorization;
}) {
  return {
    domain: { ...PAYMENT_ESCROW_EIP712, chainId: p.chainId, verifyingContract: p.paymentEscrow },
    types: spendingAuthorizationTypes,
    primaryType: 'SpendingAuthorization' as const,
    message: { ...p.authorization },
  };
}

const transferFields = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

/** The EIP-3009 types (USDC's): transfer, receive and cancel authorizations. */
export const transferWithAuthorizationTypes = { TransferWithAuthorization: transferFields } as const;
/** EIP-3009 `ReceiveWithAuthorization` (only the payee may submit it). */
export const receiveWithAuthorizationTypes = { ReceiveWithAuthorization: transferFields } as const;
/** EIP-3009 `CancelAuthorization`. */
export const cancelAuthorizationTypes = {
  CancelAuthorization: [
    { name: 'authorizer', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;
/** EIP-2612 `Permit`. */
export const permitTypes = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** An EIP-3009 transfer: `value` from `from` to `to`, valid strictly between the two timestamps, once. */
export interface TransferAuthorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

/** The typed data `from` signs for `transferWithAuthorization` (what an x402 `exact` EVM payment is). */
export function transferWithAuthorizationTypedData(domain: TokenDomain, message: TransferAuthorization) {
  return {
    domain,
    types: transferWithAuthorizationTypes,
    primaryType: 'TransferWithAuthorization' as const,
    message: { ...message },
  };
}

/** The typed data `from` signs for `receiveWithAuthorization`. */
export function receiveWithAuthorizationTypedData(domain: TokenDomain, message: TransferAuthorization) {
  return {
    domain,
    types: receiveWithAuthorizationTypes,
    primaryType: 'ReceiveWithAuthorization' as const,
    message: { ...message },
  };
}

/** The typed data `authorizer` signs to cancel its unused authorization `nonce`. */
export function cancelAuthorizationTypedData(
  domain: TokenDomain,
  message: { authorizer: Address; nonce: Hex },
) {
  return {
    domain,
    types: cancelAuthorizationTypes,
    primaryType: 'CancelAuthorization' as const,
    message: { ...message },
  };
}

/** The typed data `owner` signs for an EIP-2612 `permit` (`nonce` is the token's `nonces(owner)`). */
export function permitTypedData(
  domain: TokenDomain,
  message: { owner: Address; spender: Address; value: bigint; nonce: bigint; deadline: bigint },
) {
  return { domain, types: permitTypes, primaryType: 'Permit' as const, message: { ...message } };
}

/** A fresh random 32-byte nonce for an EIP-3009 or spending authorization. */
export function randomNonce(): Hex {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** The id Pricing.sol keys a model's prices by: `keccak256(bytes(name))`. */
export function modelId(name: string): Hex {
  return keccak256(toBytes(name));
}
