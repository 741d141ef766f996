/**
 * The validator's state as one unit: the scoreboard and the verification log, loaded from the consensus
 * store when there is one and written back through it (every `stateFlushIntervalMs`, and on stop), or kept
 * in memory only when there is none (tests, a read-only node).
 */
import type { Logger } from '@subnet/utils';
import { type ConsensusStore, persistValidatorState } from '../store.js';
import { createVerificationLog, type VerificationLog } from './records.js';
import { createScoreboard, type Scoreboard } from './scores.js';

/** The config keys (`consensus.*`) the state reads. */
export interface ValidatorStateOpts {
  ewmaAlpha: number;
  latencyTargetMs: number;
  routingRecoveryPasses: number;
  routingMinCorrectness: number;
  maxVerifications: number;
  maxVerificationTextBytes: number;
  stateFlushIntervalMs: number;
}

export interface ValidatorState {
  board: Scoreboard;
  log: VerificationLog;
  /** Starts writing changes through to the store (nothing without one). Idempotent. */
  start(): void;
  /** Writes what is left. Idempotent. */
  stop(): void;
}

/** The scoreboard and log, from `modules.store` when given. */
export function createValidatorState(
  opts: ValidatorStateOpts,
  modules: { store?: ConsensusStore | undefined; logger?: Logger | undefined } = {},
): ValidatorState {
  const { store } = modules;
  const board = createScoreboard(
    {
      alpha: opts.ewmaAlpha,
      latencyTargetMs: opts.latencyTargetMs,
      recoveryPasses: opts.routingRecoveryPasses,
      minCorrectness: opts.routingMinCorrectness,
    },
    store === undefined ? {} : { initial: store.loadScores() },
  );
  const log = createVerificationLog(
    { capacity: opts.maxVerifications, maxTextBytes: opts.maxVerificationTextBytes },
    store === undefined ? {} : { initial: store.loadVerifications(opts.maxVerifications) },
  );
  // What was loaded is on disk already.
  board.takeChanges();
  log.takeChanges();
  const persister =
    store === undefined
      ? undefined
      : persistValidatorState(
          { flushIntervalMs: opts.stateFlushIntervalMs },
          { store, board, log, logger: modules.logger },
        );
  return {
    board,
    log,
    start: () => persister?.start(),
    stop: () => persister?.stop(),
  };
}
