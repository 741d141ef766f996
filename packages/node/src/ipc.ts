/**
 * Messages between the supervisor and a split-mode stack process (Node's IPC channel). Defined once
 * here, validated on receipt on both sides.
 */
import { z } from 'zod';

export const ToChildSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    name: z.string(),
    module: z.string(),
    cwd: z.string(),
    nodeUrl: z.string(),
    config: z.record(z.string(), z.unknown()),
  }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('metrics'), id: z.number().int() }),
]);
export type ToChild = z.output<typeof ToChildSchema>;

export const ToParentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), port: z.number().int().min(1).max(65_535) }),
  z.object({ type: z.literal('metrics'), id: z.number().int(), metrics: z.array(z.unknown()) }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
]);
export type ToParent = z.output<typeof ToParentSchema>;
