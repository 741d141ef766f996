/**
 * The routing policy, apart from I/O: which candidates may get a request (the validator's routing advice),
 * what a miner costs, the power-of-two-choices pick, the moving averages an attempt updates, and what an
 * attempt's failure means (the client's fault, the miner's, or the request's deadline). Pure functions over
 * plain data, tested by a table (test/policy.test.ts); the router (`router.ts`) does the I/O around them.
 * It must never read a clock or the network.
 */
import { EngineError } from '@subnet/engine-api';
import { errorMessage } from '@subnet/utils';
import { GatewayError, GatewayErrorCode } from './errors.js';

/** What the router keeps per miner. */
export interface MinerStat {
  peerId: string;
  uid: number | null;
  models: string[];
  inFlight: number;
  requests: number;
  failures: number;
  ttftEwmaMs: number | null;
  successEwma: number;
}

/** The validator's verdict on one miner (`consensus_getRoutingV1`), keyed by uid and hotkey. */
export interface MinerAdvice {
  uid: number;
  /** Lower-case hotkey address: advice follows the neuron, not a recycled uid. */
  hotkey: string;
  /** Verified score in [0, 1]. */
  score: number;
  routable: boolean;
}

/** Advice by uid; `undefined` means the node gives none (no consensus stack): route on latency and load. */
export type Advice = ReadonlyMap<number, MinerAdvice> | undefined;

/** A candidate as the policy sees it. */
export interface Candidate {
  peerId: string;
  uid: number | null;
  hotkey: string | null;
  /** The miner's reported queue (running + queued), 0 when unknown. */
  load: number;
}

/** Smoothing of the moving averages (weight of the newest attempt). */
export const EWMA = 0.2;
/** Time to first event assumed for a miner not measured yet. */
export const DEFAULT_TTFT_MS = 50;
/** Success rate below which a miner costs no more (it keeps a small chance to show it recovered). */
export const MIN_SUCCESS = 0.05;
/**
 * Score assumed for a miner the advice does not know (new, or not yet verified): the middle, so an unverified
 * miner is tried but a well-verified one is preferred.
 */
export const UNKNOWN_SCORE = 0.5;
/** Added to the score before dividing by it, so a miner scored 0 still has a finite cost. */
export const SCORE_FLOOR = 0.05;

/** The advice for a candidate: only when its uid and hotkey both match (a new neuron on the uid is unknown). */
export function adviceOf(c: Pick<Candidate, 'uid' | 'hotkey'>, advice: Advice): MinerAdvice | undefined {
  if (advice === undefined || c.uid === null) return undefined;
  const a = advice.get(c.uid);
  if (a === undefined || c.hotkey === null || a.hotkey !== c.hotkey.toLowerCase()) return undefined;
  return a;
}

/**
 * The candidates that may get organic traffic: those not marked unroutable. When every candidate is
 * unroutable, all of them (the request is still served; the advice decides among miners, not whether the
 * model is served).
 */
export function eligible<C extends Candidate>(all: readonly C[], advice: Advice): C[] {
  if (advice === undefined) return [...all];
  const ok = all.filter((c) => adviceOf(c, advice)?.routable !== false);
  return ok.length > 0 ? ok : [...all];
}

/**
 * Expected cost of sending a request to a miner: time to first event (moving average) × (1 + requests in
 * flight here + its reported load) ÷ success rate ÷ (verified score + floor). Lower is better; without
 * advice the score term is the same for every miner.
 */
export function costOf(stat: MinerStat | undefined, c: Candidate, advice: Advice): number {
  const ttft = stat?.ttftEwmaMs ?? DEFAULT_TTFT_MS;
  const inFlight = stat?.inFlight ?? 0;
  const success = Math.max(stat?.successEwma ?? 1, MIN_SUCCESS);
  const score = advice === undefined ? 1 : (adviceOf(c, advice)?.score ?? UNKNOWN_SCORE);
  return (ttft * (1 + inFlight + Math.max(0, c.load))) / success / (score + SCORE_FLOOR);
}

/**
 * Power of two choices: two candidates drawn at random (`random()` in [0, 1)), the cheaper one wins (the
 * first on a tie). Undefined when there is none.
 */
export function pickOf<C>(open: readonly C[], cost: (c: C) => number, random: () => number): C | undefined {
  if (open.length === 0) return undefined;
  const a = open[Math.floor(random() * open.length)] as C;
  const b = open[Math.floor(random() * open.length)] as C;
  return cost(a) <= cost(b) ? a : b;
}

/** Updates a miner's counters and moving averages with one finished attempt. */
export function update(s: MinerStat, ok: boolean, firstEventMs: number | null): void {
  s.inFlight = Math.max(0, s.inFlight - 1);
  s.requests += 1;
  if (!ok) s.failures += 1;
  s.successEwma = s.successEwma * (1 - EWMA) + (ok ? EWMA : 0);
  if (firstEventMs !== null)
    s.ttftEwmaMs = s.ttftEwmaMs === null ? firstEventMs : s.ttftEwmaMs * (1 - EWMA) + firstEventMs * EWMA;
}

/** Miner-side errors that are the request's fault: no other miner would do better. */
const CLIENT_ERRORS = new Set(['CONTEXT_OVERFLOW', 'INVALID_PARAMS', 'UNSUPPORTED_TASK']);

/** The miner's error code carried by a network error, if any. */
export function remoteCode(err: unknown): string | undefined {
  if (!(err instanceof EngineError)) return undefined;
  const data = err.data as { remoteCode?: string; reason?: string } | undefined;
  if (err.code === 'REMOTE_ERROR') return data?.remoteCode;
  if (err.code === 'REFUSED' && data?.reason === 'malformed') return 'INVALID_PARAMS';
  return undefined;
}

/** What one failed attempt means. */
export interface Failure {
  /** The error for the outcome record and the client. */
  error: GatewayError;
  /** Not the miner's fault (cancelled, or the request itself is bad): the miner is not blamed. */
  blameless: boolean;
  /** Another miner may be tried (nothing reached the client, and the failure is the miner's). */
  retry: boolean;
}

/**
 * Classifies a failed attempt. `aborted` / `reason`: the request's signal (the front door aborts with the
 * GatewayError itself: TIMEOUT at the deadline, CANCELLED when the client left). `delivered`: an event
 * already reached the client, so the answer cannot be replaced.
 */
export function classify(
  err: unknown,
  ctx: { aborted: boolean; reason: unknown; model: string; delivered: boolean },
): Failure {
  let error: GatewayError;
  if (err instanceof GatewayError) error = err;
  else if (ctx.aborted)
    error =
      ctx.reason instanceof GatewayError
        ? ctx.reason
        : new GatewayError(GatewayErrorCode.CANCELLED, `the request for ${ctx.model} was abandoned`);
  else {
    const code = remoteCode(err);
    if (code !== undefined && CLIENT_ERRORS.has(code))
      error = new GatewayError(GatewayErrorCode.INVALID_REQUEST, errorMessage(err), {
        meta: { upstreamCode: code },
      });
    else
      error = new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, errorMessage(err), {
        meta: { upstreamCode: err instanceof EngineError ? (code ?? err.code) : 'INTERNAL' },
      });
  }
  const blameless =
    error.code === GatewayErrorCode.CANCELLED || error.code === GatewayErrorCode.INVALID_REQUEST;
  if (ctx.delivered && error.code === GatewayErrorCode.UPSTREAM_FAILED)
    error = new GatewayError(
      GatewayErrorCode.UPSTREAM_FAILED,
      `the miner failed mid-response: ${error.message}`,
      {
        meta: error.meta ?? {},
      },
    );
  const retry = !ctx.delivered && !blameless && error.code !== GatewayErrorCode.TIMEOUT;
  return { error, blameless, retry };
}
