/**
 * MERGER: DELETE THIS FILE. A stand-in, written from /work/notes/pay_spec.md, for what helper A adds to
 * `@subnet/contracts` (issue 15): the ABI fragments of Pricing's `setSplit` / `splitAt` and PaymentEscrow's
 * `depositFor` / `settle` / `claimEarnings` / `earningsOf` (and their new errors and events), the usage
 * receipt typed data, `requestIdHash`, `splitRevenue` and `minerShares`. On merge, import these from
 * `@subnet/contracts` instead (`pricingAbi` / `paymentEscrowAbi` and `payments.ts`) and delete this file:
 * `grep -rn pendingPayments packages/` lists every import to change.
 */
import { type Address, type Hex, keccak256, toBytes } from 'viem';

/** MERGER: replaced by the generated `pricingAbi` (setSplit, splitAt, InvalidSplit). */
export const pricingSplitAbi = [
  {
    type: 'function',
    name: 'setSplit',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'netuid', type: 'uint16' },
      { name: 'validatorBps', type: 'uint16' },
      { name: 'ownerBps', type: 'uint16' },
      { name: 'burnBps', type: 'uint16' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'splitAt',
    stateMutability: 'view',
    inputs: [
      { name: 'netuid', type: 'uint16' },
      { name: 'blockNumber', type: 'uint256' },
    ],
    outputs: [
      { name: 'validatorBps', type: 'uint16' },
      { name: 'ownerBps', type: 'uint16' },
      { name: 'burnBps', type: 'uint16' },
    ],
  },
  { type: 'error', name: 'InvalidSplit', inputs: [] },
] as const;

const authorizationTuple = {
  name: 'authorization',
  type: 'tuple',
  components: [
    { name: 'client', type: 'address' },
    { name: 'gateway', type: 'address' },
    { name: 'cap', type: 'uint256' },
    { name: 'expiry', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** MERGER: replaced by the generated `paymentEscrowAbi` (depositFor, settle, claimEarnings, earningsOf). */
export const escrowSettleAbi = [
  {
    type: 'function',
    name: 'depositFor',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'client', type: 'address' },
      { name: 'gateway', type: 'address' },
      { name: 'amount', type: 'uint256' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'settle',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'netuid', type: 'uint16' },
      {
        name: 'vouchers',
        type: 'tuple[]',
        components: [
          authorizationTuple,
          { name: 'signature', type: 'bytes' },
          { name: 'cumulative', type: 'uint256' },
        ],
      },
      { name: 'direct', type: 'uint256' },
      {
        name: 'shares',
        type: 'tuple[]',
        components: [
          { name: 'miner', type: 'address' },
          { name: 'amount', type: 'uint256' },
        ],
      },
    ],
    outputs: [{ name: 'settlementId', type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'claimEarnings',
    stateMutability: 'nonpayable',
    inputs: [],
    outputs: [{ name: 'amount', type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'earningsOf',
    stateMutability: 'view',
    inputs: [{ name: 'miner', type: 'address' }],
    outputs: [
      { name: 'unclaimed', type: 'uint256' },
      { name: 'claimed', type: 'uint256' },
    ],
  },
  {
    type: 'event',
    name: 'Settled',
    inputs: [
      { name: 'settlementId', type: 'uint256', indexed: true },
      { name: 'gateway', type: 'address', indexed: true },
      { name: 'netuid', type: 'uint16', indexed: true },
      { name: 'total', type: 'uint256', indexed: false },
      { name: 'validatorFee', type: 'uint256', indexed: false },
      { name: 'ownerFee', type: 'uint256', indexed: false },
      { name: 'burned', type: 'uint256', indexed: false },
      { name: 'minerTotal', type: 'uint256', indexed: false },
    ],
  },
  { type: 'error', name: 'EmptySettlement', inputs: [] },
  { type: 'error', name: 'MinerTotalMismatch', inputs: [] },
] as const;

/** MERGER: `@subnet/contracts` `USAGE_RECEIPT_EIP712`. */
export const USAGE_RECEIPT_EIP712 = { name: 'SubnetUsageReceipt', version: '1' } as const;

/** MERGER: `@subnet/contracts` `usageReceiptTypes`. */
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

/** MERGER: `@subnet/contracts` `UsageReceipt`. */
export interface UsageReceipt {
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

/** MERGER: `@subnet/contracts` `usageReceiptTypedData`. */
export function usageReceiptTypedData(p: { chainId: number; paymentEscrow: Address; receipt: UsageReceipt }) {
  return {
    domain: { ...USAGE_RECEIPT_EIP712, chainId: p.chainId, verifyingContract: p.paymentEscrow },
    types: usageReceiptTypes,
    primaryType: 'UsageReceipt' as const,
    message: { ...p.receipt },
  };
}

/** MERGER: `@subnet/contracts` `requestIdHash`. */
export function requestIdHash(id: string): Hex {
  return keccak256(toBytes(id));
}

/**
 * MERGER: `@subnet/contracts` `minerShares`. Pro rata to weight, floored; the remainder units go to the
 * largest weights first (ties: lowest address), so the amounts sum to `minerTotal` exactly.
 */
export function minerShares(
  minerTotal: bigint,
  weights: readonly { miner: Address; weight: bigint }[],
): { miner: Address; amount: bigint }[] {
  const sum = weights.reduce((s, w) => s + w.weight, 0n);
  if (sum === 0n) return [];
  const out = weights.map((w) => ({
    miner: w.miner,
    amount: (minerTotal * w.weight) / sum,
    weight: w.weight,
  }));
  let rest = minerTotal - out.reduce((s, x) => s + x.amount, 0n);
  const order = [...out].sort((a, b) =>
    a.weight === b.weight
      ? a.miner.toLowerCase() < b.miner.toLowerCase()
        ? -1
        : 1
      : a.weight > b.weight
        ? -1
        : 1,
  );
  for (let i = 0; rest > 0n; i = (i + 1) % order.length, rest--) (order[i] as { amount: bigint }).amount++;
  return out.map(({ miner, amount }) => ({ miner, amount }));
}
