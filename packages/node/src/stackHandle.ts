/**
 * What the node knows of each stack, whichever process it runs in: its status, pid and restarts, and
 * how to start, stop and restart it. Implemented by `inProcessStack` (single mode) and `childStack`
 * (split mode).
 */

import type { StackInfoSchema } from '@subnet/engine-api';
import type { z } from 'zod';

export type StackInfo = z.output<typeof StackInfoSchema>;

export interface StackHandle {
  readonly name: string;
  info(): StackInfo;
  /** Resolves once the stack serves requests. */
  start(): Promise<void>;
  /** Stops the stack for good (no restart). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts it again. */
  restart(): Promise<void>;
}

/** Backoff before the n-th consecutive restart (n from 0). */
export function restartDelay(n: number, opts: { initialDelayMs: number; maxDelayMs: number }): number {
  return Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** Math.min(n, 30));
}
