/**
 * `consensus_*`: the consensus stack's namespace — what a validator's scoring loop knows: per-miner scores
 * with their components (challenge correctness, availability, latency), its weight commits and reveals,
 * and the recent verification records of its synthetic challenges, each with the miners' signed receipts.
 */
import { z } from 'zod';
import { unary } from '../define.js';
import { defineErrors } from '../errors.js';
import { ReceiptSchema } from './network.js';

export const consensusErrors = defineErrors({
  NOT_READY: {
    code: 1501,
    summary:
      'The consensus stack has not read the metagraph yet (the chain stack is unreachable); retry shortly.',
  },
});

const Uid = z.number().int().min(0).max(65_535);

export const MinerScoreSchema = z.object({
  uid: Uid,
  hotkey: z.string().nullable(),
  score: z.number().min(0).max(1).describe('correctness × availability × latencyFactor'),
  correctness: z.number().min(0).max(1).nullable().describe('EWMA of challenge pass (1) / fail (0)'),
  availability: z.number().min(0).max(1).nullable().describe('EWMA of answered (1) / error or timeout (0)'),
  latencyMs: z.number().nullable().describe('EWMA of response latency'),
  latencyFactor: z.number().min(0).max(1),
  challenges: z.number().int().min(0).describe('Challenge responses judged pass or fail'),
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  errors: z.number().int().min(0).describe('Challenges and organic requests that got no answer'),
  organic: z.number().int().min(0).describe('Organic outcomes seen from the gateway'),
  weight: z.number().int().min(0).max(65_535).nullable().describe('u16 weight in the last commit'),
});

/** How the gateway may use a miner: its verified score and whether it may get organic traffic now. */
export const MinerRoutingSchema = z.object({
  uid: Uid,
  hotkey: z.string(),
  score: z.number().min(0).max(1).describe('The verified score (as in consensus_getStatusV1)'),
  routable: z
    .boolean()
    .describe(
      'false while the miner is failing verification: it gets no organic traffic until it passes challenges',
    ),
  reason: z.string().nullable().describe('Why it is not routable (null when it is)'),
});

export const consensus_getRoutingV1 = unary('consensus_getRoutingV1', {
  summary:
    "Per-miner routing advice from the validator's verification: the verified score and whether organic traffic may go to it now.",
  params: z.object({}).strict(),
  result: z.object({
    miners: z.array(MinerRoutingSchema).describe('Miners this validator has verified; others are unknown'),
    at: z.number().int().describe('Unix ms when this was computed'),
  }),
  errors: [consensusErrors.NOT_READY],
});

const TxSchema = z.object({ epoch: z.number().int(), txHash: z.string(), at: z.number().int() });

export const consensus_getStatusV1 = unary('consensus_getStatusV1', {
  summary:
    "The validator loop's state: own hotkey and uid, per-miner scores and components, weight commits and reveals, challenge counters.",
  params: z.object({}).strict(),
  result: z.object({
    netuid: z.number().int(),
    hotkey: z.string().nullable().describe('Hotkey the chain stack signs with; null when read-only'),
    uid: Uid.nullable().describe('Own uid; null when not registered'),
    block: z.number().int().nullable().describe('Latest block seen'),
    epoch: z.number().int().nullable().describe('Current epoch as computed from the block and the tempo'),
    miners: z.array(MinerScoreSchema),
    weights: z.object({
      commits: z.number().int().min(0),
      reveals: z.number().int().min(0),
      failures: z.number().int().min(0).describe('Commits and reveals that reverted or failed'),
      lastCommit: TxSchema.nullable(),
      lastReveal: TxSchema.nullable(),
      pendingRevealEpoch: z.number().int().nullable().describe('Epoch in which the pending commit reveals'),
    }),
    challenges: z.object({
      rounds: z.number().int().min(0),
      sent: z.number().int().min(0),
      passed: z.number().int().min(0),
      failed: z.number().int().min(0),
      errors: z.number().int().min(0),
      audits: z.number().int().min(0),
      auditFailures: z.number().int().min(0),
    }),
  }),
});

export const AuditSchema = z.object({
  tokens: z.number().int().min(0).describe("Tokens of the miner's text, as the reference tokenises it"),
  argmaxMatched: z
    .number()
    .int()
    .min(0)
    .describe("Of those, the reference model's greedy choice (ties allowed)"),
  logprobsCompared: z
    .number()
    .int()
    .min(0)
    .describe('Tokens whose reported logprob was compared (same span)'),
  logprobsMatched: z.number().int().min(0),
  maxLogprobDiff: z.number().nullable(),
  passed: z.boolean(),
});

export const VerdictSchema = z.enum(['pass', 'fail', 'error', 'unverified']);

export const VerificationMinerSchema = z.object({
  uid: Uid,
  peerId: z.string().nullable(),
  verdict: VerdictSchema,
  reason: z.string().describe('Why: majority, minority, audit, no majority, or the error code'),
  text: z.string().nullable(),
  tokens: z.number().int().min(0),
  latencyMs: z.number().nullable(),
  requestId: z.string().nullable().describe('Synapse request id, the receipt key'),
  audit: AuditSchema.nullable(),
  receipt: ReceiptSchema.nullable().describe("The miner's signed receipt, once it came in"),
});

export const VerificationSchema = z.object({
  id: z.number().int().min(0),
  at: z.number().int().describe('Unix ms the challenge was sent'),
  model: z.string(),
  seed: z.number().int().min(0),
  prompt: z.string(),
  maxTokens: z.number().int(),
  majority: z.string().nullable().describe('The text at least 2/3 of the responders returned, if any'),
  miners: z.array(VerificationMinerSchema),
});

export const consensus_listVerificationsV1 = unary('consensus_listVerificationsV1', {
  summary:
    'Recent verification records of synthetic challenges (newest first), with verdicts, audits and receipts.',
  params: z
    .object({
      uid: Uid.optional().describe('Only records that challenged this miner'),
      limit: z.number().int().min(1).max(1000).default(50),
    })
    .strict(),
  result: z.object({ verifications: z.array(VerificationSchema) }),
});

const Amount = z.string().regex(/^[0-9]+$/, 'a non-negative integer amount in wei, as a string');
const Hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex string');

export const consensus_getEpochV1 = unary('consensus_getEpochV1', {
  summary:
    "The epoch agent: what it did, and its settlement of an epoch (default: the latest it settled) with every leaf's Merkle proof, so any neuron can claim.",
  params: z.object({ epoch: z.number().int().min(0).optional() }).strict(),
  result: z.object({
    agent: z.object({
      enabled: z.boolean(),
      lastEpoch: z.number().int().nullable().describe('The latest ended epoch it looked at'),
      lastStatus: z.string().nullable(),
      proposed: z.number().int().min(0),
      attested: z.number().int().min(0),
      mismatches: z
        .number()
        .int()
        .min(0)
        .describe("Proposals that differed from this validator's settlement"),
      claimed: z.number().int().min(0),
      recorded: z
        .number()
        .int()
        .min(0)
        .describe('Epochs it proposed whose results it recorded in the neuron registry (the pruning score)'),
      slashed: z
        .number()
        .int()
        .min(0)
        .describe('Validators it had slashed for proposing or attesting a root other than the final one'),
      lastError: z.string().nullable(),
    }),
    settlement: z
      .object({
        epoch: z.number().int(),
        root: Hex32,
        resultsHash: Hex32,
        total: Amount,
        validators: z.array(Uid),
        miners: z.array(Uid),
        leaves: z.array(z.object({ uid: Uid, account: z.string(), amount: Amount, proof: z.array(Hex32) })),
        results: z.array(
          z.object({
            uid: Uid,
            incentive: z.number().int().min(0).max(65_535),
            dividends: z.number().int().min(0).max(65_535),
            trust: z.number().int().min(0).max(65_535),
            consensus: z.number().int().min(0).max(65_535),
            amount: Amount,
          }),
        ),
      })
      .nullable()
      .describe('Null when the agent has not settled that epoch (it keeps the last 16)'),
  }),
});

export const consensusMethods = [
  consensus_getStatusV1,
  consensus_getRoutingV1,
  consensus_listVerificationsV1,
  consensus_getEpochV1,
] as const;
