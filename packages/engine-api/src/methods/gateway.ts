/**
 * `gateway_*`: the gateway stack's namespace — the OpenAI-compatible front door a validator runs. API keys
 * (created, listed with their usage, revoked; stored hashed), the gateway's status, per-miner routing
 * statistics, the stream of organic request outcomes the validator's scoring consumes, and what the gateway
 * charged and settled (issue 15: spend per account-bound key, cost served per miner, settlements).
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';
import { MAX_TOKEN_IDS } from './app.js';
import { AddressSchema, AmountSchema } from './chain.js';

export const gatewayErrors = defineErrors({
  KEY_NOT_FOUND: { code: 1401, summary: 'No API key with that id.' },
});

const KeyId = z.string().regex(/^key_[a-z0-9]{8,32}$/, 'a key id such as key_1a2b3c4d');

export const KeyLimitsSchema = z.object({
  requestsPerMinute: z.number().int().min(1).max(1_000_000),
  tokensPerMinute: z.number().int().min(1).max(1_000_000_000),
});

export const KeyUsageSchema = z.object({
  requests: z.number().int().min(0),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  rejected: z.number().int().min(0).describe('Requests refused for this key by its rate limits'),
  lastUsedAt: z.number().int().nullable().describe('Unix ms of the last request'),
});

export const ApiKeyInfoSchema = z.object({
  id: KeyId,
  name: z.string(),
  prefix: z.string().describe('The first characters of the key, to recognise it'),
  createdAt: z.number().int(),
  revokedAt: z.number().int().nullable(),
  limits: KeyLimitsSchema,
  usage: KeyUsageSchema,
});

export const gateway_createKeyV1 = unary('gateway_createKeyV1', {
  summary: 'Creates an API key; the secret is returned once and stored only as a hash.',
  params: z
    .object({
      name: z.string().min(1).max(64),
      requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
      tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
    })
    .strict(),
  result: z.object({ key: z.string().describe('The secret, shown only now'), info: ApiKeyInfoSchema }),
});

export const gateway_listKeysV1 = unary('gateway_listKeysV1', {
  summary: 'Every API key (never the secret) with its limits and usage.',
  params: z.object({ includeRevoked: z.boolean().default(false) }).strict(),
  result: z.object({ keys: z.array(ApiKeyInfoSchema) }),
});

export const gateway_revokeKeyV1 = unary('gateway_revokeKeyV1', {
  summary: 'Revokes an API key: requests with it are refused with 401 from now on.',
  params: z.object({ id: KeyId }).strict(),
  result: z.object({ revoked: z.boolean().describe('false when it was already revoked') }),
  errors: [gatewayErrors.KEY_NOT_FOUND],
});

export const MinerStatsSchema = z.object({
  uid: z.number().int().nullable(),
  peerId: z.string(),
  models: z.array(z.string()),
  inFlight: z.number().int().min(0),
  requests: z.number().int().min(0),
  failures: z.number().int().min(0),
  latencyEwmaMs: z.number().nullable().describe('Time to first event, moving average'),
  successEwma: z.number().min(0).max(1),
});

export const gateway_getStatusV1 = unary('gateway_getStatusV1', {
  summary: 'Where the OpenAI-compatible API listens, the models it can route and the miners behind them.',
  params: z.object({}).strict(),
  result: z.object({
    url: z.string(),
    models: z.array(z.object({ id: z.string(), miners: z.number().int().min(0) })),
    miners: z.array(MinerStatsSchema),
    requests: z.number().int().min(0),
  }),
});

/**
 * One relayed token event of a sampled answer: its text, the logprob the miner reported (null: none) and the
 * model token ids it covered when the miner sent them (never relayed to the client; kept for the audit).
 */
export const SampledTokenSchema = z.object({
  text: z.string(),
  logprob: z.number().nullable(),
  ids: z.array(z.number().int().min(0)).max(MAX_TOKEN_IDS).optional(),
});

/**
 * What the gateway keeps of an organic request chosen for audit: the synapse params exactly as the miner
 * received them (seed fixed by the gateway, so a sampled answer is reproducible) and what the miner returned,
 * as relayed. The consensus stack audits it against its reference model after the fact.
 */
export const OutcomeSampleSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('generate'),
    params: z.record(z.string(), z.unknown()).describe('The `generate` synapse params as sent'),
    tokens: z.array(SampledTokenSchema).max(32_768),
    finishReason: z.enum(['stop', 'length']),
  }),
  z.object({
    kind: z.literal('embed'),
    params: z.record(z.string(), z.unknown()).describe('The `embed` synapse params as sent'),
    embeddings: z.array(z.array(z.number())).max(2048),
  }),
]);

export const OutcomeSchema = z.object({
  requestId: z.string(),
  model: z.string(),
  kind: z.enum(['chat', 'completion', 'embedding']),
  uid: z.number().int().nullable(),
  peerId: z.string(),
  ok: z.boolean(),
  errorCode: z
    .string()
    .nullable()
    .describe(
      'Why the attempt failed; on a served answer (ok), a lie the validator proved in it (USAGE_FORGED: the reported completion tokens differ from the token ids relayed)',
    ),
  latencyMs: z.number(),
  firstEventMs: z.number().nullable(),
  promptTokens: z.number().int().min(0).describe('Counted by the validator, never taken from the miner'),
  completionTokens: z.number().int().min(0).describe('Counted by the validator from the tokens it relayed'),
  at: z.number().int(),
  sample: OutcomeSampleSchema.nullable().describe(
    'The request and answer, for the share of successful requests the subscriber asked to audit (else null)',
  ),
});

export const gateway_watchOutcomesV1 = stream('gateway_watchOutcomesV1', {
  summary:
    "Streams the outcome of every organic request's attempt on a miner (latency, success, tokens): the feedback the validator's scoring consumes.",
  params: z
    .object({
      sampleRate: z
        .number()
        .min(0)
        .max(1)
        .default(0)
        .describe(
          'Share of successful organic requests whose outcome carries the request and answer (`sample`)',
        ),
    })
    .strict(),
  event: OutcomeSchema,
});

/** One account-bound key's spending authorization and what was charged and settled under it. */
export const PaymentKeySchema = z.object({
  id: z.string().describe('The API key id (key_…)'),
  name: z.string(),
  revokedAt: z.number().int().nullable(),
  client: AddressSchema.describe('The paying account (lower-case)'),
  digest: z.string().describe("The authorization's EIP-712 digest"),
  cap: AmountSchema.describe('Most units the gateway may collect under the authorization'),
  expiry: AmountSchema.describe('Unix seconds from which it can no longer be collected against'),
  charged: AmountSchema.describe('Everything charged under it so far (the voucher cumulative)'),
  collected: AmountSchema.describe('Collected on chain (settled by this gateway, or before it was bound)'),
  settled: AmountSchema.describe('The cumulative total of its last settled voucher'),
});

export const PaymentSettlementSchema = z.object({
  settlementId: z.number().int().min(0),
  txHash: z.string(),
  total: AmountSchema,
  validatorFee: AmountSchema.nullable().describe('null for a settlement recorded without its split'),
  ownerFee: AmountSchema.nullable(),
  burned: AmountSchema.nullable(),
  minerTotal: AmountSchema.nullable(),
  vouchers: z.number().int().min(0),
  at: z.number().int().describe('Unix ms it was recorded'),
});

export const gateway_getPaymentsV1 = unary('gateway_getPaymentsV1', {
  summary:
    "What this gateway charged and settled: per account-bound key its authorization's cap, expiry and charged, collected and settled totals, per miner hotkey the cost it served and what of it was settled, the latest settlements with their split, and x402 totals when the gateway records them. Names clients: admin only.",
  params: z
    .object({
      settlements: z.number().int().min(0).max(1000).default(100).describe('Newest settlements to list'),
    })
    .strict(),
  result: z.object({
    keys: z.array(PaymentKeySchema),
    miners: z.array(
      z.object({
        miner: AddressSchema,
        served: AmountSchema.describe('Cost of the metered requests it served'),
        settled: AmountSchema.describe('Of that, settled on chain'),
      }),
    ),
    settlements: z.array(PaymentSettlementSchema).describe('Newest first'),
    totals: z.object({
      charged: AmountSchema,
      collected: AmountSchema,
      settled: AmountSchema,
      settlements: z.number().int().min(0).describe('Settlements recorded, in all'),
    }),
    x402: z
      .object({
        payments: z.number().int().min(0),
        paid: AmountSchema.describe('Received from x402 payers'),
        charged: AmountSchema.describe('Of that, what the requests cost'),
        credited: AmountSchema.describe("The unused parts credited back to the payers' accounts so far"),
        settled: AmountSchema.describe('Settled on chain as direct revenue'),
      })
      .optional()
      .describe('Absent until a request was paid with x402'),
  }),
});

export const gatewayMethods = [
  gateway_createKeyV1,
  gateway_listKeysV1,
  gateway_revokeKeyV1,
  gateway_getStatusV1,
  gateway_watchOutcomesV1,
  gateway_getPaymentsV1,
] as const;
