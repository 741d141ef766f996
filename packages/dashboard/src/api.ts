/**
 * The dashboard's HTTP API, defined once: the JSON the server (`src/server.ts`) sends and accepts under
 * `/api/` on the gateway's port, and the events of `/api/events` (server-sent). The web app imports these
 * types only (`import type`), so no schema code reaches the browser bundle. Amounts are decimal strings of
 * the token's smallest unit (18 decimals); fractions are numbers in [0, 1]; times are Unix milliseconds.
 *
 * Public (no login): GET /api/snapshot, /api/events, /api/neurons/:uid, /api/emissions, /api/models,
 * /api/payments, /api/payments/accounts/:address (payment amounts are in the payment token's smallest unit,
 * its `decimals` given with them; a chain without payments answers `{ enabled: false }`). The
 * first three answer the public without this validator's live consensus view (scores null, neuron history
 * and verifications empty: weights follow from scores and would be copied before their reveal) and answer
 * with it when the admin token is sent.
 * Admin (`Authorization: Bearer <admin token>`): GET /api/admin, /api/keys, /api/nodes, /api/payments/keys; POST /api/keys,
 * DELETE /api/keys/:id, POST /api/nodes/:name/models, DELETE /api/nodes/:name/models/:id,
 * POST /api/events/ticket. A browser's `EventSource` sends no header: it opens the operator's view of
 * /api/events with `?ticket=<ticket>`, a ticket from POST /api/events/ticket (single use, good for seconds,
 * for that stream alone; a spent, expired or unknown ticket is a 401), so the admin token is never in a URL.
 * Errors: `{ error: { code, message } }` with 400 (bad input, naming the field), 401 (no or wrong admin
 * token), 404, 405, 413 (body over 64 KiB), 502 (a stack behind the dashboard failed), 503 (not ready yet).
 */
import { z } from 'zod';

const Amount = z.string().regex(/^[0-9]+$/);
const Fraction = z.number().min(0).max(1);
const Uid = z.number().int().min(0).max(65_535);

export const NeuronRowSchema = z.object({
  uid: Uid,
  hotkey: z.string(),
  coldkey: z.string(),
  role: z.enum(['validator', 'miner']),
  stake: Amount,
  validatorPermit: z.boolean(),
  /**
   * The consensus stack's score of a miner (null for validators, before the first challenge, and for anyone
   * without the admin token).
   */
  score: Fraction.nullable(),
  incentive: Fraction,
  dividends: Fraction,
  trust: Fraction,
  consensus: Fraction,
  /** Emission of the latest finalised epoch. */
  emission: Amount,
  /** Median latency of this miner's recent organic requests through the gateway (null: none yet). */
  latencyP50Ms: z.number().nullable(),
  /** Share of this miner's recent organic requests that succeeded (null: none yet). */
  successRate: Fraction.nullable(),
  /** Models the miner's heartbeat lists. */
  models: z.array(z.string()),
  /** Whether this validator's network stack holds a connection to it. */
  connected: z.boolean(),
});
export type NeuronRow = z.infer<typeof NeuronRowSchema>;

export const SnapshotSchema = z.object({
  at: z.number(),
  subnet: z
    .object({
      netuid: z.number().int(),
      name: z.string(),
      description: z.string(),
      owner: z.string(),
      params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    })
    .nullable(),
  block: z.object({ number: z.number().int(), timestamp: z.number() }).nullable(),
  epoch: z
    .object({
      current: z.number().int(),
      /** First block of the next epoch; `blocksLeft` until it, `secondsLeft` at the recent block rate. */
      nextStartBlock: z.number().int(),
      blocksLeft: z.number().int(),
      secondsLeft: z.number(),
      /** The latest ended epoch and its settlement status (awaiting, proposed, finalised, expired). */
      latestEnded: z.object({ epoch: z.number().int(), status: z.string() }).nullable(),
      lastFinalised: z.number().int().nullable(),
    })
    .nullable(),
  counts: z.object({ miners: z.number().int(), validators: z.number().int() }),
  /** Organic requests per second through this gateway over the last 10 s. */
  requestsPerSecond: z.number(),
  neurons: z.array(NeuronRowSchema),
});
export type Snapshot = z.infer<typeof SnapshotSchema>;

export const VerificationSchema = z.object({
  at: z.number(),
  model: z.string(),
  verdict: z.enum(['pass', 'fail', 'error', 'unverified']),
  reason: z.string(),
  /** Whether the answer matched the ≥ 2/3 majority (null: no majority). */
  majority: z.boolean().nullable(),
  audit: z
    .object({
      tokens: z.number().int(),
      argmaxMatched: z.number().int(),
      logprobsCompared: z.number().int(),
      logprobsMatched: z.number().int(),
      maxLogprobDiff: z.number().nullable(),
      passed: z.boolean(),
    })
    .nullable(),
  latencyMs: z.number().nullable(),
  receipt: z.boolean(),
});
export type Verification = z.infer<typeof VerificationSchema>;

export const NeuronDetailSchema = z.object({
  neuron: NeuronRowSchema,
  /** Samples over time (newest last): score and latency EWMA from the consensus stack (admin only: empty for the public). */
  history: z.array(
    z.object({
      at: z.number(),
      block: z.number().int(),
      score: z.number().nullable(),
      latencyMs: z.number().nullable(),
    }),
  ),
  /** Emission per finalised epoch (oldest first). */
  emissions: z.array(z.object({ epoch: z.number().int(), amount: Amount })),
  /** This validator's recent verdicts on the miner (admin only: empty for the public). */
  verifications: z.array(VerificationSchema),
});
export type NeuronDetail = z.infer<typeof NeuronDetailSchema>;

export const EmissionsSchema = z.object({
  epochs: z.array(
    z.object({ epoch: z.number().int(), total: Amount, owner: Amount, miners: Amount, validators: Amount }),
  ),
});
export type Emissions = z.infer<typeof EmissionsSchema>;

export const ModelsSchema = z.object({
  models: z.array(z.object({ id: z.string(), miners: z.array(Uid) })),
});
export type Models = z.infer<typeof ModelsSchema>;

export const KeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
  limits: z.object({ requestsPerMinute: z.number().int(), tokensPerMinute: z.number().int() }),
  usage: z.object({
    requests: z.number().int(),
    promptTokens: z.number().int(),
    completionTokens: z.number().int(),
    rejected: z.number().int(),
    lastUsedAt: z.number().nullable(),
  }),
});
export type Key = z.infer<typeof KeySchema>;

export const KeysSchema = z.object({ keys: z.array(KeySchema) });
export type Keys = z.infer<typeof KeysSchema>;

export const CreateKeyBodySchema = z
  .object({
    name: z.string().min(1).max(64),
    requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict();
export type CreateKeyBody = z.infer<typeof CreateKeyBodySchema>;

/** A created key: the secret is shown once. */
export const CreatedKeySchema = KeySchema.extend({ secret: z.string() });
export type CreatedKey = z.infer<typeof CreatedKeySchema>;

/** DELETE /api/keys/:id: `revoked` is false when the key was already revoked. */
export const RevokedKeySchema = z.object({ id: z.string(), revoked: z.boolean() });
export type RevokedKey = z.infer<typeof RevokedKeySchema>;

/** POST /api/events/ticket (admin): a single-use ticket that opens `/api/events?ticket=…` as the operator. */
export const StreamTicketSchema = z.object({
  ticket: z.string(),
  /** Unix ms after which the ticket is refused. */
  expiresAt: z.number(),
  ttlMs: z.number().int(),
});
export type StreamTicket = z.infer<typeof StreamTicketSchema>;

/** GET /api/admin: answers 200 only with a valid admin token (the web app's login check). */
export const AdminSchema = z.object({ admin: z.literal(true), nodes: z.array(z.string()) });
export type Admin = z.infer<typeof AdminSchema>;

/** A node the dashboard manages (its Engine API is configured): its models now. */
export const NodesSchema = z.object({
  nodes: z.array(
    z.object({
      name: z.string(),
      uid: Uid.nullable(),
      reachable: z.boolean(),
      models: z.array(z.object({ id: z.string(), backend: z.string() })),
    }),
  ),
});
export type Nodes = z.infer<typeof NodesSchema>;

export const LoadModelBodySchema = z
  .object({
    id: z.string().min(1).max(256),
    backend: z.enum(['llama.cpp', 'ollama', 'openai', 'use']),
    path: z.string().min(1).optional(),
    baseUrl: z.string().url().optional(),
    model: z.string().min(1).optional(),
  })
  .strict();
export type LoadModelBody = z.infer<typeof LoadModelBodySchema>;

/** POST /api/nodes/:name/models: the model now loaded (`replaced`: one with that id was unloaded first). */
export const LoadedModelSchema = z.object({
  node: z.string(),
  model: z.object({ id: z.string(), backend: z.string() }),
  replaced: z.boolean(),
});
export type LoadedModel = z.infer<typeof LoadedModelSchema>;

/** DELETE /api/nodes/:name/models/:id: `unloaded` is false when no model had that id. */
export const UnloadedModelSchema = z.object({ node: z.string(), id: z.string(), unloaded: z.boolean() });
export type UnloadedModel = z.infer<typeof UnloadedModelSchema>;

/** A chain without payment contracts (or a node without the payment methods): every payments route. */
const PaymentsDisabled = z.object({ enabled: z.literal(false) });
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const Bps = z.number().int().min(0).max(10_000);
/** The payment token (amounts of the payments routes are in its smallest unit, `decimals` of them). */
const PaymentToken = z.object({
  address: Address,
  name: z.string(),
  symbol: z.string(),
  decimals: z.number().int().min(0).max(36),
});

/**
 * GET /api/payments (public): the payment token, the prices per model in effect (and a pending change),
 * the revenue split in basis points, and each metagraph miner's payment earnings (unclaimed, claimed).
 */
export const PaymentsSchema = z.discriminatedUnion('enabled', [
  PaymentsDisabled,
  z.object({
    enabled: z.literal(true),
    chainId: z.number().int(),
    /** The block the terms were read at. */
    block: z.number().int(),
    token: PaymentToken,
    escrow: Address,
    /** This gateway's payee (its validator hotkey); null when its node is read-only. */
    gateway: Address.nullable(),
    noticePeriodS: z.number().int(),
    models: z.array(
      z.object({
        model: z.string(),
        promptPerMillion: Amount,
        completionPerMillion: Amount,
        effectiveBlock: z.number().int(),
        pending: z
          .object({
            promptPerMillion: Amount,
            completionPerMillion: Amount,
            effectiveBlock: z.number().int(),
          })
          .nullable(),
      }),
    ),
    split: z.object({ validatorBps: Bps, ownerBps: Bps, burnBps: Bps, minerBps: Bps }),
    miners: z.array(z.object({ uid: Uid, hotkey: Address, unclaimed: Amount, claimed: Amount })),
  }),
]);
export type Payments = z.infer<typeof PaymentsSchema>;

/** GET /api/payments/accounts/:address (public): a client's prepaid account with this gateway. */
export const PaymentAccountSchema = z.discriminatedUnion('enabled', [
  PaymentsDisabled,
  z.object({
    enabled: z.literal(true),
    token: PaymentToken,
    client: Address,
    gateway: Address,
    balance: Amount,
    pendingWithdrawal: Amount,
    /** Unix seconds from which the pending withdrawal can be completed; 0 when none is pending. */
    withdrawableAt: z.number().int(),
    /** Balance less the pending withdrawal: what the gateway still serves for. */
    spendable: Amount,
    /** The client wallet's own token balance. */
    walletBalance: Amount,
  }),
]);
export type PaymentAccount = z.infer<typeof PaymentAccountSchema>;

/**
 * GET /api/payments/keys (admin: it names clients): spend per account-bound key, cost served per miner,
 * the latest settlements with their split, totals, and x402 totals when the gateway records them.
 */
export const PaymentKeysSchema = z.discriminatedUnion('enabled', [
  PaymentsDisabled,
  z.object({
    enabled: z.literal(true),
    token: PaymentToken,
    keys: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        revokedAt: z.number().nullable(),
        client: Address,
        digest: z.string(),
        cap: Amount,
        /** Unix seconds. */
        expiry: Amount,
        charged: Amount,
        collected: Amount,
        settled: Amount,
      }),
    ),
    miners: z.array(z.object({ miner: Address, uid: Uid.nullable(), served: Amount, settled: Amount })),
    settlements: z.array(
      z.object({
        settlementId: z.number().int(),
        txHash: z.string(),
        total: Amount,
        validatorFee: Amount.nullable(),
        ownerFee: Amount.nullable(),
        burned: Amount.nullable(),
        minerTotal: Amount.nullable(),
        vouchers: z.number().int(),
        at: z.number(),
      }),
    ),
    totals: z.object({ charged: Amount, collected: Amount, settled: Amount, settlements: z.number().int() }),
    x402: z
      .object({
        payments: z.number().int(),
        paid: Amount,
        charged: Amount.optional(),
        settled: Amount.optional(),
      })
      .optional(),
  }),
]);
export type PaymentKeys = z.infer<typeof PaymentKeysSchema>;

export interface ApiErrorBody {
  error: { code: string; message: string };
}
