/**
 * What the gateway sends a miner, the same for every request so a challenge cannot be told from a client's
 * request by its fields: the synapse params canonicalised by their schema, the sampling seed always fixed
 * (the client's, else a random u32 from `crypto`, so any answer is reproducible by the reference model),
 * `logprobs: true` always (the front door drops them from the client's answer when not asked for), the
 * client's `topLogprobs` (0 when not asked) and never a `priority`. Also the audit sample of an answer.
 */
import { randomInt } from 'node:crypto';
import {
  type OutcomeSampleSchema,
  SynapseEmbedParamsSchema,
  SynapseGenerateParamsSchema,
} from '@subnet/engine-api';
import { randomUint32 } from '@subnet/utils';
import type { z } from 'zod';
import { GatewayError, GatewayErrorCode } from './errors.js';
import type { EmbedParams, GenerateParams } from './types.js';

export type SynapseGenerateParams = z.output<typeof SynapseGenerateParamsSchema>;
export type SynapseEmbedParams = z.output<typeof SynapseEmbedParamsSchema>;
export type OutcomeSample = z.output<typeof OutcomeSampleSchema>;

/** Most tokens an audit sample carries (the schema's bound); a longer answer is not sampled. */
export const MAX_SAMPLE_TOKENS = 32_768;

/** A uniformly random u32 from the OS's CSPRNG. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}

/** A number in [0, 1) from the OS's CSPRNG, through the pool (per-subscriber sampling decisions). */
export function secureRandom(): number {
  return randomUint32() / 2 ** 32;
}

/** The `generate` synapse params for a request; `seed()` is asked only when the client gave none. */
export function generateWire(p: GenerateParams, seed: () => number = randomSeed): SynapseGenerateParams {
  return canonical(SynapseGenerateParamsSchema, {
    model: p.model,
    kind: p.kind,
    ...(p.messages === undefined ? {} : { messages: p.messages }),
    ...(p.prompt === undefined ? {} : { prompt: p.prompt }),
    maxTokens: p.maxTokens,
    temperature: p.temperature,
    topP: p.topP,
    seed: p.seed ?? seed(),
    stop: p.stop,
    logprobs: true,
    topLogprobs: p.logprobs === true ? (p.topLogprobs ?? 0) : 0,
    // Plain text leaves the field out, so a plain request's frame is what it always was.
    ...(p.responseFormat === undefined || p.responseFormat.type === 'text'
      ? {}
      : { responseFormat: p.responseFormat }),
  });
}

/** The `embed` synapse params for a request. */
export function embedWire(p: EmbedParams): SynapseEmbedParams {
  return canonical(SynapseEmbedParamsSchema, { model: p.model, input: p.input });
}

/** Parses params with their synapse schema; a request no miner would accept is the client's error. */
function canonical<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const r = schema.safeParse(params);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new GatewayError(
    GatewayErrorCode.INVALID_REQUEST,
    `the request cannot be sent to a miner: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    issue?.path[0] === undefined ? {} : { meta: { param: String(issue.path[0]) } },
  );
}

/** The prompt texts of a generation (what the validator bills as prompt tokens). */
export function promptTexts(p: SynapseGenerateParams): string[] {
  return p.kind === 'completion' ? [p.prompt ?? ''] : (p.messages ?? []).map((m) => m.content);
}
