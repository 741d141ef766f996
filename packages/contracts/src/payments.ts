/**
 * The payment messages clients sign, as EIP-712 typed data: the prepaid account's spending authorization
 * (PaymentEscrow.sol `SPENDING_AUTHORIZATION_TYPEHASH`) and the stablecoin's EIP-3009 transfer, receive and
 * cancel authorizations and EIP-2612 permit (PaymentToken.sol; the same types as USDC). Pure; the domains
 * and types must stay identical to the contracts, which the contract tests check by paying with signatures
 * made here. Also the model id PaymentEscrow's sibling Pricing.sol keys prices by.
 */
import {
  type Address,
  concat,
  encodeAbiParameters,
  type Hex,
  hashDomain,
  keccak256,
  toBytes,
  toHex,
} from 'viem';

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

/** EIP-712 domain name and version of a gateway's signed usage receipts (verifying contract: the escrow). */
export const USAGE_RECEIPT_EIP712 = { name: 'SubnetUsageReceipt', version: '1' } as const;

/** The EIP-712 types of a usage receipt. */
export const usageReceiptTypes = {
  UsageReceipt: [
    { name: 'requestId', type: 'bytes32' },
    { name: 'client', type: 'address' },
    { name: 'gateway', type: 'address' },
    { name: 'miner', type: 'address' },
    { name: 'netuid', type: 'uint16' },
    { name: 'model', type: 'string' },
    { name: 'promptTokens', type: 'uint32' },
    { name: 'completionTokens', type: 'uint32' },
    { name: 'priceBlock', type: 'uint64' },
    { name: 'cost', type: 'uint256' },
    { name: 'cumulative', type: 'uint256' },
  ],
} as const;

/**
 * What a gateway signs for each metered request: the client was charged `cost` units (tokens at the prices in
 * effect at `priceBlock`, the block the request started at) for `model` served by `miner`, and `cumulative` is
 * what it charged the client so far (under the authorization, for an account key). Verified off chain.
 */
export interface UsageReceipt {
  /** {@link requestIdHash} of the request id. */
  requestId: Hex;
  client: Address;
  gateway: Address;
  miner: Address;
  netuid: number;
  model: string;
  promptTokens: number;
  completionTokens: number;
  priceBlock: bigint;
  cost: bigint;
  cumulative: bigint;
}

/** The typed data a gateway signs for a usage receipt (a client checks it with viem `verifyTypedData`). */
export function usageReceiptTypedData(p: { chainId: number; paymentEscrow: Address; receipt: UsageReceipt }) {
  return {
    domain: { ...USAGE_RECEIPT_EIP712, chainId: p.chainId, verifyingContract: p.paymentEscrow },
    types: usageReceiptTypes,
    primaryType: 'UsageReceipt' as const,
    message: { ...p.receipt },
  };
}

const RECEIPT_FIELDS = [
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'address' },
  { type: 'address' },
  { type: 'address' },
  { type: 'uint16' },
  { type: 'bytes32' },
  { type: 'uint32' },
  { type: 'uint32' },
  { type: 'uint64' },
  { type: 'uint256' },
  { type: 'uint256' },
] as const;
const RECEIPT_TYPEHASH = keccak256(
  toBytes(
    'UsageReceipt(bytes32 requestId,address client,address gateway,address miner,uint16 netuid,string model,uint32 promptTokens,uint32 completionTokens,uint64 priceBlock,uint256 cost,uint256 cumulative)',
  ),
);
const receiptDomains = new Map<string, Hex>();

/**
 * `hashTypedData(usageReceiptTypedData(p))`, computed with the domain separator cached and the struct encoded
 * directly: about 35 µs instead of viem's generic 200 µs, on the gateway's path of every metered request.
 * Equal to the generic digest by test (`payments.test.ts`, random receipts).
 */
export function usageReceiptDigest(p: {
  chainId: number;
  paymentEscrow: Address;
  receipt: UsageReceipt;
}): Hex {
  const domainKey = `${p.chainId}:${p.paymentEscrow.toLowerCase()}`;
  let domain = receiptDomains.get(domainKey);
  if (domain === undefined) {
    domain = hashDomain({
      domain: { ...USAGE_RECEIPT_EIP712, chainId: BigInt(p.chainId), verifyingContract: p.paymentEscrow },
      types: { EIP712Domain: EIP712_DOMAIN_FIELDS },
    });
    receiptDomains.set(domainKey, domain);
  }
  const r = p.receipt;
  const struct = keccak256(
    encodeAbiParameters(RECEIPT_FIELDS, [
      RECEIPT_TYPEHASH,
      r.requestId,
      r.client,
      r.gateway,
      r.miner,
      r.netuid,
      keccak256(toBytes(r.model)),
      r.promptTokens,
      r.completionTokens,
      r.priceBlock,
      r.cost,
      r.cumulative,
    ]),
  );
  return keccak256(concat(['0x1901', domain, struct]));
}

const EIP712_DOMAIN_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
] as const;

/**
 * The EIP-712 types of a receipt key: the gateway's hotkey delegates signing its usage receipts to an
 * ed25519 `key` until `expires` (Unix seconds). A secp256k1 signature by the hotkey costs a millisecond of CPU,
 * as much as relaying a whole request; an ed25519 signature (native in Node) a few dozen microseconds. The
 * hotkey signs one delegation a day, and each receipt is signed with the key.
 */
export const receiptKeyTypes = {
  ReceiptKey: [
    { name: 'gateway', type: 'address' },
    { name: 'key', type: 'bytes32' },
    { name: 'expires', type: 'uint64' },
  ],
} as const;

/** A receipt key delegation (see {@link receiptKeyTypes}). */
export interface ReceiptKey {
  gateway: Address;
  /** The raw 32-byte ed25519 public key. */
  key: Hex;
  expires: bigint;
}

/** The typed data the gateway's hotkey signs to delegate its receipts to an ed25519 key. */
export function receiptKeyTypedData(p: { chainId: number; paymentEscrow: Address; receiptKey: ReceiptKey }) {
  return {
    domain: { ...USAGE_RECEIPT_EIP712, chainId: p.chainId, verifyingContract: p.paymentEscrow },
    types: receiptKeyTypes,
    primaryType: 'ReceiptKey' as const,
    message: { ...p.receiptKey },
  };
}

/**
 * A signed usage receipt as a gateway sends it (the `x-subnet-receipt` header is base64url of its JSON, with
 * numbers of the receipt as JSON numbers and amounts as decimal strings): the receipt, the ed25519 signature
 * of its EIP-712 digest by `key.key`, and the hotkey's delegation of that key.
 */
export interface SignedUsageReceipt {
  receipt: Omit<UsageReceipt, 'priceBlock' | 'cost' | 'cumulative'> & {
    priceBlock: number;
    cost: string;
    cumulative: string;
  };
  /** ed25519 signature (64 bytes) of `hashTypedData(usageReceiptTypedData(...))`. */
  signature: Hex;
  key: { key: Hex; expires: number; signature: Hex };
}

/** DER prefix of an ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Checks a signed usage receipt: the delegation is signed by `gateway` (the validator's hotkey) in this
 * chain's and escrow's receipt domain and names the receipt's gateway; the receipt's digest is signed by the
 * delegated ed25519 key; the delegation had not expired at `at` (Unix seconds; default now). Returns the
 * receipt with bigint amounts, or throws saying what does not hold.
 */
export async function verifyUsageReceipt(
  signed: SignedUsageReceipt,
  p: { chainId: number; paymentEscrow: Address; gateway: Address; at?: number },
): Promise<UsageReceipt> {
  const { verifyTypedData, hashTypedData, isAddressEqual, hexToBytes } = await import('viem');
  const { createPublicKey, verify } = await import('node:crypto');
  const r = signed.receipt;
  const receipt: UsageReceipt = {
    ...r,
    priceBlock: BigInt(r.priceBlock),
    cost: BigInt(r.cost),
    cumulative: BigInt(r.cumulative),
  };
  if (!isAddressEqual(receipt.gateway, p.gateway))
    throw new Error(`the receipt names gateway ${receipt.gateway}, not ${p.gateway}`);
  const delegated = await verifyTypedData({
    address: p.gateway,
    ...receiptKeyTypedData({
      chainId: p.chainId,
      paymentEscrow: p.paymentEscrow,
      receiptKey: { gateway: p.gateway, key: signed.key.key, expires: BigInt(signed.key.expires) },
    }),
    signature: signed.key.signature,
  });
  if (!delegated) throw new Error('the receipt key is not delegated by the gateway hotkey');
  if (signed.key.expires < (p.at ?? Math.floor(Date.now() / 1000)))
    throw new Error(`the receipt key expired at ${signed.key.expires}`);
  const digest = hashTypedData(
    usageReceiptTypedData({ chainId: p.chainId, paymentEscrow: p.paymentEscrow, receipt }),
  );
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hexToBytes(signed.key.key))]),
    format: 'der',
    type: 'spki',
  });
  if (!verify(null, hexToBytes(digest), key, hexToBytes(signed.signature)))
    throw new Error('the receipt signature is not by the delegated key');
  return receipt;
}

/** A receipt's `requestId`: `keccak256(toBytes(id))` of the gateway's request id string. */
export function requestIdHash(id: string): Hex {
  return keccak256(toBytes(id));
}

/** A subnet's revenue split in basis points (Pricing.sol `splitAt`); the miners get the rest. */
export interface RevenueSplit {
  validatorBps: number;
  ownerBps: number;
  burnBps: number;
}

/** The parts of a settled total, as PaymentEscrow.settle computes them. */
export interface RevenueParts {
  validatorFee: bigint;
  ownerFee: bigint;
  burned: bigint;
  /** `total` less the three others: the rounding goes to the miners. */
  minerTotal: bigint;
}

/** Pricing.sol's split of a subnet that never set one: validator 10 %, owner 10 %, burn 5 % (miners 75 %). */
export const DEFAULT_REVENUE_SPLIT: RevenueSplit = { validatorBps: 1000, ownerBps: 1000, burnBps: 500 };

/**
 * Splits `total` like PaymentEscrow.settle: each fee `total * bps / 10000` floored, the miners the rest.
 * Throws on a negative total or a split over 10,000 basis points.
 */
export function splitRevenue(total: bigint, split: RevenueSplit): RevenueParts {
  const { validatorBps, ownerBps, burnBps } = split;
  for (const bps of [validatorBps, ownerBps, burnBps])
    if (!Number.isInteger(bps) || bps < 0) throw new RangeError(`invalid basis points: ${bps}`);
  if (validatorBps + ownerBps + burnBps > 10_000)
    throw new RangeError(`invalid split: ${validatorBps} + ${ownerBps} + ${burnBps} > 10000`);
  if (total < 0n) throw new RangeError('negative total');
  const part = (bps: number) => (total * BigInt(bps)) / 10_000n;
  const validatorFee = part(validatorBps);
  const ownerFee = part(ownerBps);
  const burned = part(burnBps);
  return { validatorFee, ownerFee, burned, minerTotal: total - validatorFee - ownerFee - burned };
}

/** A miner's weight in a settlement (e.g. the cost of the requests it served). */
export interface MinerWeight {
  miner: Address;
  weight: bigint;
}

/** A PaymentEscrow `MinerShare`. */
export interface MinerShare {
  miner: Address;
  amount: bigint;
}

/**
 * The miners' shares of `minerTotal`, pro rata to weight, floored; the remaining units go one each to the
 * largest weights first (ties: the lowest address), so the amounts sum to `minerTotal` exactly. Entries of the
 * same miner (any case) are merged, weights of 0 dropped, and so are shares that come out at 0 (PaymentEscrow
 * refuses them); ordered by weight (largest first, ties by address). Throws on a negative weight, or when
 * `minerTotal` > 0 and no weight is.
 */
export function minerShares(minerTotal: bigint, weights: readonly MinerWeight[]): MinerShare[] {
  if (minerTotal < 0n) throw new RangeError('negative miner total');
  const merged = new Map<string, { miner: Address; weight: bigint }>();
  for (const { miner, weight } of weights) {
    if (weight < 0n) throw new RangeError(`negative weight for ${miner}`);
    if (weight === 0n) continue;
    const key = miner.toLowerCase();
    const entry = merged.get(key);
    if (entry === undefined) merged.set(key, { miner, weight });
    else entry.weight += weight;
  }
  const ranked = [...merged.entries()]
    .sort(([ka, a], [kb, b]) => (a.weight !== b.weight ? (a.weight > b.weight ? -1 : 1) : ka < kb ? -1 : 1))
    .map(([, e]) => e);
  if (minerTotal === 0n) return [];
  const sum = ranked.reduce((s, e) => s + e.weight, 0n);
  if (sum === 0n) throw new RangeError('no miner weight to share a positive total by');
  const amounts = ranked.map((e) => (minerTotal * e.weight) / sum);
  let rest = minerTotal - amounts.reduce((s, a) => s + a, 0n);
  // rest < ranked.length: one unit each to the first `rest` miners.
  for (let i = 0; rest > 0n; i++, rest--) amounts[i] = (amounts[i] as bigint) + 1n;
  return ranked
    .map((e, i) => ({ miner: e.miner, amount: amounts[i] as bigint }))
    .filter((s) => s.amount > 0n);
}
