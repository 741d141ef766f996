/**
 * `chain_*` payment methods (issue 15): the chain stack's side of the payment rail. Reads of the payment
 * contracts (token, prices, revenue split, prepaid accounts), the writes a gateway makes with its node's
 * hotkey (settling collected payments with their revenue split, crediting a client's account, x402
 * settlement) and the usage receipts it signs. Amounts are decimal strings of the payment token's smallest
 * unit (6 decimals on the devnet's sUSD), like every other amount of the Engine API. The typed data signed
 * here is defined once, in `@subnet/contracts` (`payments.ts`).
 */
import { z } from 'zod';
import { unary } from '../define.js';
import { defineErrors } from '../errors.js';
import { AddressSchema, AmountSchema, chainErrors } from './chain.js';

export const paymentErrors = defineErrors({
  PAYMENTS_NOT_DEPLOYED: {
    code: 1110,
    summary:
      'The network file names no payment contracts (`contracts.paymentEscrow`): this chain takes no payments.',
  },
  INVALID_AUTHORIZATION: {
    code: 1111,
    summary:
      'A spending authorization or x402 payment is malformed, not signed by its client, expired, or for another gateway; `error.data.reason` says which.',
  },
});

const Netuid = z.number().int().min(1).max(65_535);
const Bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex string');
const SignatureSchema = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2}){65,}$/, 'a 0x-prefixed signature (65 bytes or more)');
const Bps = z.number().int().min(0).max(10_000);
const TxResult = z.object({ txHash: z.string(), gasUsed: z.number().int() });

/** A PaymentEscrow `SpendingAuthorization` (amounts and the expiry as decimal strings). */
export const SpendingAuthorizationSchema = z
  .object({
    client: AddressSchema,
    gateway: AddressSchema,
    cap: AmountSchema.describe('Most units the gateway may collect under it, in total'),
    expiry: AmountSchema.describe('Unix seconds from which it can no longer be collected against'),
    nonce: Bytes32Schema,
  })
  .strict();

/** A voucher: the authorization, the client's signature of it and the cumulative total charged under it. */
export const VoucherSchema = z
  .object({
    authorization: SpendingAuthorizationSchema,
    signature: SignatureSchema,
    cumulative: AmountSchema.describe('Everything charged under the authorization so far (not the increase)'),
  })
  .strict();

/**
 * A usage receipt (EIP-712 `UsageReceipt`, `@subnet/contracts` `usageReceiptTypedData`): what one request
 * cost, signed by the gateway's hotkey, sent with the response so the client can check every charge.
 */
export const UsageReceiptSchema = z
  .object({
    requestId: Bytes32Schema.describe('The gateway request id, hashed (keccak256 of its UTF-8)'),
    client: AddressSchema.describe('The paying account (the x402 payer, or the API key’s bound account)'),
    gateway: AddressSchema.describe("The gateway's hotkey address (filled in by the chain stack)"),
    miner: AddressSchema.describe('Hotkey of the miner that served the request'),
    netuid: Netuid,
    model: z.string().min(1).max(256),
    promptTokens: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    completionTokens: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    priceBlock: z
      .number()
      .int()
      .min(0)
      .describe('The block whose on-chain price was charged (request start)'),
    cost: AmountSchema.describe('What this request cost, in token units'),
    cumulative: AmountSchema.describe(
      'Everything charged under the same authorization so far, this request included (x402: the amount paid)',
    ),
  })
  .strict();

export const ModelPriceSchema = z.object({
  model: z.string(),
  modelId: Bytes32Schema,
  promptPerMillion: AmountSchema.describe('Units per million prompt tokens, in effect now'),
  completionPerMillion: AmountSchema.describe('Units per million completion tokens, in effect now'),
  effectiveBlock: z.number().int().min(0),
  pending: z
    .object({
      promptPerMillion: AmountSchema,
      completionPerMillion: AmountSchema,
      effectiveBlock: z.number().int().min(0),
    })
    .nullable()
    .describe('A change already set that takes effect at the next epoch boundary'),
});

export const RevenueSplitSchema = z.object({
  validatorBps: Bps.describe("The settling gateway's (validator's) fee"),
  ownerBps: Bps.describe("The subnet owner's fee"),
  burnBps: Bps.describe('Burnt (sent to the burn address)'),
  minerBps: Bps.describe('The rest: to the miners that served the requests, pro rata to what they served'),
});

export const chain_getPaymentsV1 = unary('chain_getPaymentsV1', {
  summary:
    "The subnet's payment terms: token, escrow and pricing contracts, per-model prices in effect (and pending), the revenue split, and this node's gateway address.",
  params: z.object({ netuid: Netuid }).strict(),
  result: z.object({
    chainId: z.number().int(),
    block: z.number().int().describe('The block the answer was read at'),
    token: z.object({
      address: AddressSchema,
      name: z.string(),
      symbol: z.string(),
      decimals: z.number().int().min(0).max(36),
      eip712: z
        .object({ name: z.string(), version: z.string() })
        .nullable()
        .describe(
          'EIP-712 domain name and version of its EIP-3009 / EIP-2612 signatures; null when it has none',
        ),
    }),
    escrow: AddressSchema,
    pricing: AddressSchema,
    noticePeriodS: z.number().int().min(0).describe("The escrow's withdrawal notice period (seconds)"),
    gateway: AddressSchema.nullable().describe(
      "This node's hotkey address (its gateway's payee); null when read-only",
    ),
    models: z.array(ModelPriceSchema),
    split: RevenueSplitSchema.describe('The revenue split in effect at `block`'),
    splitPending: RevenueSplitSchema.extend({
      effectiveBlock: z.number().int().min(0).describe('The epoch boundary it takes effect at'),
    })
      .nullable()
      .default(null)
      .describe('A split the subnet owner set that takes effect at the next epoch boundary; null when none'),
  }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.RPC_UNREACHABLE],
});

export const chain_getPaymentAccountV1 = unary('chain_getPaymentAccountV1', {
  summary:
    "A client's prepaid account with a gateway (default: this node's), and its wallet's token balance.",
  params: z.object({ client: AddressSchema, gateway: AddressSchema.optional() }).strict(),
  result: z.object({
    client: AddressSchema,
    gateway: AddressSchema,
    balance: AmountSchema,
    pendingWithdrawal: AmountSchema,
    withdrawableAt: z.number().int().min(0).describe('Unix seconds; 0 when no withdrawal is pending'),
    spendable: AmountSchema.describe(
      'Balance less the pending withdrawal: what a gateway should still serve for',
    ),
    walletBalance: AmountSchema.describe("The client wallet's own token balance"),
  }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.RPC_UNREACHABLE],
});

export const chain_checkAuthorizationV1 = unary('chain_checkAuthorizationV1', {
  summary:
    "Checks a client's signed spending authorization for this node's gateway (signature, gateway, expiry) and answers what was already collected under it; INVALID_AUTHORIZATION when it does not hold.",
  params: z.object({ authorization: SpendingAuthorizationSchema, signature: SignatureSchema }).strict(),
  result: z.object({
    digest: Bytes32Schema.describe("The authorization's EIP-712 digest (its id in the escrow)"),
    collected: AmountSchema.describe('Already collected under it on chain'),
  }),
  errors: [
    paymentErrors.INVALID_AUTHORIZATION,
    paymentErrors.PAYMENTS_NOT_DEPLOYED,
    chainErrors.NO_ACCOUNT,
    chainErrors.RPC_UNREACHABLE,
  ],
});

export const chain_signUsageReceiptV1 = unary('chain_signUsageReceiptV1', {
  summary:
    "Signs a usage receipt with this node's hotkey (EIP-712 `UsageReceipt` in the escrow's receipt domain); `gateway` is set to the hotkey's address.",
  params: z.object({ receipt: UsageReceiptSchema.omit({ gateway: true }) }).strict(),
  result: z.object({ receipt: UsageReceiptSchema, signature: SignatureSchema }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.NO_ACCOUNT],
});

export const chain_signReceiptKeyV1 = unary('chain_signReceiptKeyV1', {
  summary:
    "Delegates this node's usage receipts to an ed25519 key until `expires` (at most a day ahead): the hotkey signs EIP-712 `ReceiptKey { gateway, key, expires }` in the receipt domain, and the gateway then signs each receipt with the key (a few dozen microseconds instead of a secp256k1 signature's millisecond).",
  params: z
    .object({
      key: Bytes32Schema.describe('The raw ed25519 public key'),
      expires: z.number().int().min(0).describe('Unix seconds'),
    })
    .strict(),
  result: z.object({
    gateway: AddressSchema,
    key: Bytes32Schema,
    expires: z.number().int(),
    signature: SignatureSchema,
  }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_settlePaymentsV1 = unary('chain_settlePaymentsV1', {
  summary:
    "Settles a gateway's collected payments in one transaction (PaymentEscrow.settle, sent by this node's hotkey): collects the vouchers, adds `direct` units from the hotkey's own balance (x402 revenue), and splits the total into the validator fee, the owner fee, the burn and the miners' shares, pro rata to `miners[].weight`.",
  params: z
    .object({
      netuid: Netuid,
      vouchers: z.array(VoucherSchema).max(1000),
      direct: AmountSchema.default('0').describe("Units from the hotkey's own token balance (x402 payments)"),
      miners: z
        .array(
          z
            .object({
              miner: AddressSchema,
              weight: AmountSchema.describe(
                'What the miner served, in token units of cost (its share is pro rata)',
              ),
            })
            .strict(),
        )
        .max(4096),
    })
    .strict(),
  result: TxResult.extend({
    settlementId: z.number().int().min(0),
    total: AmountSchema,
    validatorFee: AmountSchema,
    ownerFee: AmountSchema,
    burned: AmountSchema,
    minerTotal: AmountSchema,
    shares: z.array(z.object({ miner: AddressSchema, amount: AmountSchema })),
  }),
  errors: [
    chainErrors.REVERTED,
    paymentErrors.PAYMENTS_NOT_DEPLOYED,
    chainErrors.NO_ACCOUNT,
    chainErrors.RPC_UNREACHABLE,
  ],
});

export const chain_depositForV1 = unary('chain_depositForV1', {
  summary:
    "Credits a client's prepaid account with this node's gateway from the hotkey's token balance (PaymentEscrow.depositFor): how an x402 payment's unused part is given back.",
  params: z.object({ client: AddressSchema, amount: AmountSchema }).strict(),
  result: TxResult,
  errors: [
    chainErrors.REVERTED,
    paymentErrors.PAYMENTS_NOT_DEPLOYED,
    chainErrors.NO_ACCOUNT,
    chainErrors.RPC_UNREACHABLE,
  ],
});

export const chain_getMinerEarningsV1 = unary('chain_getMinerEarningsV1', {
  summary:
    "A miner's payment earnings in the escrow: credited by settlements and not yet withdrawn, and withdrawn.",
  params: z.object({ miner: AddressSchema.optional().describe("Default: this node's hotkey") }).strict(),
  result: z.object({ miner: AddressSchema, unclaimed: AmountSchema, claimed: AmountSchema }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_claimMinerEarningsV1 = unary('chain_claimMinerEarningsV1', {
  summary:
    "Withdraws this node's hotkey's unclaimed payment earnings to the hotkey (PaymentEscrow.claimEarnings).",
  params: z.object({}).strict(),
  result: TxResult.extend({ amount: AmountSchema }),
  errors: [
    chainErrors.REVERTED,
    paymentErrors.PAYMENTS_NOT_DEPLOYED,
    chainErrors.NO_ACCOUNT,
    chainErrors.RPC_UNREACHABLE,
  ],
});

/** An x402 v2 payment payload and the requirements it answers (the `@x402/core` JSON shapes, checked there). */
const X402Params = z
  .object({
    paymentPayload: z.record(z.string(), z.unknown()),
    paymentRequirements: z.record(z.string(), z.unknown()),
  })
  .strict();

export const chain_verifyX402V1 = unary('chain_verifyX402V1', {
  summary:
    "Verifies an x402 `exact` EVM payment (an EIP-3009 authorization to this node's hotkey) against its requirements, in process with `@x402/evm`'s facilitator on this chain.",
  params: X402Params,
  result: z.object({
    isValid: z.boolean(),
    invalidReason: z.string().optional(),
    payer: z.string().optional(),
  }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chain_settleX402V1 = unary('chain_settleX402V1', {
  summary:
    "Settles a verified x402 payment on this chain (`transferWithAuthorization`, sent by this node's hotkey), in process with `@x402/evm`'s facilitator.",
  params: X402Params,
  result: z.object({
    success: z.boolean(),
    errorReason: z.string().optional(),
    payer: z.string().optional(),
    transaction: z.string(),
    network: z.string(),
  }),
  errors: [paymentErrors.PAYMENTS_NOT_DEPLOYED, chainErrors.NO_ACCOUNT, chainErrors.RPC_UNREACHABLE],
});

export const chainPaymentMethods = [
  chain_getPaymentsV1,
  chain_getPaymentAccountV1,
  chain_checkAuthorizationV1,
  chain_signUsageReceiptV1,
  chain_signReceiptKeyV1,
  chain_settlePaymentsV1,
  chain_depositForV1,
  chain_getMinerEarningsV1,
  chain_claimMinerEarningsV1,
  chain_verifyX402V1,
  chain_settleX402V1,
] as const;
