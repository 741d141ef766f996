/**
 * `engine_*`: methods every Engine API server answers itself, whatever stacks it hosts — stream control
 * and a conformance pair (echo, echo stream) that clients in any language use to check their transport.
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';

export const engineErrors = defineErrors({});

export const engine_cancelStreamV1 = unary('engine_cancelStreamV1', {
  summary: 'Cancels an open stream by id; the stream ends with reason "cancelled".',
  params: z.object({ streamId: z.string().min(1).max(128) }).strict(),
  result: z.object({ cancelled: z.boolean() }).strict(),
});

export const engine_echoV1 = unary('engine_echoV1', {
  summary: 'Returns its payload unchanged: a liveness and transport conformance check.',
  params: z.object({ payload: z.string().max(1_048_576) }).strict(),
  result: z.object({ payload: z.string() }).strict(),
});

export const engine_echoStreamV1 = stream('engine_echoStreamV1', {
  summary:
    'Streams `count` events carrying `payload` and their index, `intervalMs` apart (0 = as fast as read).',
  params: z
    .object({
      payload: z.string().max(65_536).default(''),
      count: z.number().int().min(0).max(10_000_000),
      intervalMs: z.number().int().min(0).max(60_000).default(0),
    })
    .strict(),
  event: z.object({ seq: z.number().int().min(0), payload: z.string() }).strict(),
});

export const engineMethods = [engine_cancelStreamV1, engine_echoV1, engine_echoStreamV1] as const;
