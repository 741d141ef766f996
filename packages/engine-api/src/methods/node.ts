/**
 * `node_*`: the node's own namespace, answered by the composition root in both process modes —
 * health, version, and the status of each stack.
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';

export const nodeErrors = defineErrors({
  STACK_NOT_FOUND: { code: 1001, summary: 'No stack by that name is configured on this node.' },
});

export const StackStatusSchema = z.enum([
  'starting',
  'running',
  'restarting',
  'stopping',
  'stopped',
  'failed',
]);

export const StackInfoSchema = z
  .object({
    name: z.string(),
    namespaces: z.array(z.string()),
    status: StackStatusSchema,
    pid: z.number().int().nullable().describe('Process id; the node own pid in single mode'),
    restarts: z.number().int().min(0),
    startedAt: z.string().nullable().describe('ISO time the stack last became running'),
    lastError: z.string().nullable(),
  })
  .strict();

export const node_getHealthV1 = unary('node_getHealthV1', {
  summary: 'Overall health: ok when every stack runs, degraded otherwise.',
  params: z.object({}).strict(),
  result: z
    .object({
      status: z.enum(['ok', 'degraded']),
      processMode: z.enum(['single', 'split']),
      uptimeS: z.number().min(0),
      stacks: z.record(z.string(), StackStatusSchema),
    })
    .strict(),
});

export const node_getVersionV1 = unary('node_getVersionV1', {
  summary: 'Framework, runtime and Engine API versions of this node.',
  params: z.object({}).strict(),
  result: z
    .object({ version: z.string(), runtime: z.string(), engineApi: z.string(), platform: z.string() })
    .strict(),
});

export const node_getStacksV1 = unary('node_getStacksV1', {
  summary: 'Every configured stack with its status, pid and restart count.',
  params: z.object({}).strict(),
  result: z.object({ stacks: z.array(StackInfoSchema) }).strict(),
});

export const node_restartStackV1 = unary('node_restartStackV1', {
  summary: 'Restarts one stack (split mode: its process) while the others keep running.',
  params: z.object({ name: z.string().min(1) }).strict(),
  result: z.object({ stack: StackInfoSchema }).strict(),
  errors: [nodeErrors.STACK_NOT_FOUND],
});

export const node_watchStacksV1 = stream('node_watchStacksV1', {
  summary: 'Streams the stack list now and again on every status change.',
  params: z.object({}).strict(),
  event: z.object({ stacks: z.array(StackInfoSchema) }).strict(),
});

export const nodeMethods = [
  node_getHealthV1,
  node_getVersionV1,
  node_getStacksV1,
  node_restartStackV1,
  node_watchStacksV1,
] as const;
