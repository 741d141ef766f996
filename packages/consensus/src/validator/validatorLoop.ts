/**
 * The validator loop: every `challengeIntervalMs` one synthetic challenge per model the subnet's miners
 * advertise (their heartbeats, `network_listPeersV1`), each sent to the `redundancy` least recently
 * challenged miners of that model; verdicts, availability and latency feed the scoreboard, organic outcomes
 * from a gateway stack too; receipts are fetched as miners sign them; weights are committed and revealed
 * once per epoch. It reads the chain only through the shared {@link ChainView}.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import { errorMessage, type Logger, sleep } from '@subnet/utils';
import type { ChainView, Metagraph } from '../chainView.js';
import type { Loop } from '../loop.js';
import { type ChallengeOpts, type ChallengeTarget, runChallenge } from './challenge.js';
import type { ValidatorMetrics } from './metrics.js';
import { followOutcomes } from './outcomes.js';
import { newSeed } from './prompt.js';
import { createVerificationLog, type Verification } from './records.js';
import { createScoreboard, type MinerScore } from './scores.js';
import { createWeightSetter, type WeightSetterStatus } from './weightSetter.js';

export interface ValidatorLoopOpts extends ChallengeOpts {
  netuid: number;
  challengeIntervalMs: number;
  redundancy: number;
  ewmaAlpha: number;
  latencyTargetMs: number;
  receiptTimeoutMs: number;
  maxVerifications: number;
  setWeights: boolean;
}

export interface ValidatorLoopModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
  chain: ChainView;
  metrics?: ValidatorMetrics | undefined;
}

export interface ChallengeCounters {
  rounds: number;
  sent: number;
  passed: number;
  failed: number;
  errors: number;
  audits: number;
  auditFailures: number;
}

export interface ValidatorLoop extends Loop {
  scores(): (MinerScore & { hotkey: string | null; weight: number | null })[];
  counters(): ChallengeCounters;
  weights(): WeightSetterStatus;
  verifications(opts: { uid?: number | undefined; limit: number }): Verification[];
}

const minerUids = (m: Metagraph | undefined): Set<number> =>
  new Set((m?.neurons ?? []).filter((n) => n.role === 'miner').map((n) => n.uid));

export function createValidatorLoop(opts: ValidatorLoopOpts, modules: ValidatorLoopModules): ValidatorLoop {
  const { engine, logger, chain, metrics } = modules;
  const abort = new AbortController();
  const signal = abort.signal;
  const board = createScoreboard({ alpha: opts.ewmaAlpha, latencyTargetMs: opts.latencyTargetMs });
  const log = createVerificationLog({ capacity: opts.maxVerifications });
  const counters: ChallengeCounters = {
    rounds: 0,
    sent: 0,
    passed: 0,
    failed: 0,
    errors: 0,
    audits: 0,
    auditFailures: 0,
  };
  const lastChallenged = new Map<number, number>();
  const weightSetter = createWeightSetter(
    { netuid: opts.netuid },
    {
      engine,
      logger,
      chain,
      metrics,
      signal,
      scores: () => new Map(board.list().map((s) => [s.uid, s.score])),
    },
  );
  const running: Promise<void>[] = [];
  const unsubscribe: (() => void)[] = [];

  /** The `redundancy` least recently challenged of `targets` (random among equals). */
  function pick(targets: ChallengeTarget[]): ChallengeTarget[] {
    return targets
      .map((t) => ({ t, last: lastChallenged.get(t.uid) ?? 0, r: Math.random() }))
      .sort((a, b) => a.last - b.last || a.r - b.r)
      .slice(0, opts.redundancy)
      .map((x) => x.t);
  }

  /** Asks for each answered miner's receipt until it comes in or `receiptTimeoutMs` passes. */
  async function collectReceipts(v: Verification): Promise<void> {
    const deadline = Date.now() + opts.receiptTimeoutMs;
    await Promise.all(
      v.miners.map(async (m) => {
        if (m.requestId === null) return;
        while (!signal.aborted && Date.now() < deadline) {
          try {
            m.receipt = await engine.call(
              'network_getReceiptV1',
              { requestId: m.requestId },
              { signal, timeoutMs: 5000 },
            );
            return;
          } catch (err) {
            if ((err as Partial<EngineError>).code !== 'RECEIPT_PENDING') {
              if (!signal.aborted) logger.debug({ uid: m.uid, err: errorMessage(err) }, 'no receipt');
              return;
            }
          }
          await sleep(250, { signal }).catch(() => {});
        }
      }),
    );
  }

  function record(v: Verification): void {
    for (const m of v.miners) {
      counters.sent += 1;
      board.recordResponse(m.uid, m.verdict === 'error' ? null : m.latencyMs);
      if (m.verdict === 'pass' || m.verdict === 'fail') board.recordVerdict(m.uid, m.verdict === 'pass');
      if (m.verdict === 'pass') counters.passed += 1;
      else if (m.verdict === 'fail') counters.failed += 1;
      else if (m.verdict === 'error') counters.errors += 1;
      metrics?.verdicts.inc({ verdict: m.verdict });
      if (m.audit !== null) {
        counters.audits += 1;
        if (!m.audit.passed) counters.auditFailures += 1;
        metrics?.audits.inc({ result: m.audit.passed ? 'pass' : 'fail' });
      }
      const s = board.get(m.uid);
      if (s !== undefined) metrics?.score.set({ uid: String(m.uid) }, s.score);
    }
  }

  async function round(): Promise<void> {
    const registered = minerUids(chain.metagraph());
    if (registered.size === 0) return;
    const [{ peers }, local] = await Promise.all([
      engine.call('network_listPeersV1', { connectedOnly: false }, { signal, timeoutMs: 10_000 }),
      engine
        .call('app_listModelsV1', {}, { signal, timeoutMs: 10_000 })
        .then((r) => new Set(r.models.map((m) => m.id)))
        .catch(() => new Set<string>()),
    ]);
    const byModel = new Map<string, ChallengeTarget[]>();
    for (const p of peers) {
      if (p.role !== 'miner' || p.uid === null || !registered.has(p.uid)) continue;
      for (const m of p.models) {
        if (!m.taskTypes.includes('completion')) continue;
        const list = byModel.get(m.id) ?? [];
        list.push({ uid: p.uid, peerId: p.peerId });
        byModel.set(m.id, list);
      }
    }
    counters.rounds += 1;
    await Promise.all(
      [...byModel].map(async ([model, targets]) => {
        const chosen = pick(targets);
        const now = Date.now();
        for (const t of chosen) lastChallenged.set(t.uid, now);
        const v = log.add(
          await runChallenge(
            opts,
            { engine, logger },
            { model, seed: newSeed(), targets: chosen, reference: local.has(model), signal },
          ),
        );
        record(v);
        logger.debug(
          {
            model,
            seed: v.seed,
            majority: v.majority !== null,
            verdicts: v.miners.map((m) => [m.uid, m.verdict]),
          },
          'challenge judged',
        );
        running.push(collectReceipts(v).catch(() => {}));
      }),
    );
  }

  async function challengeLoop(): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await round();
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ err: errorMessage(err) }, 'challenge round failed');
      }
      // Bounded bookkeeping: forget settled receipt fetches.
      if (running.length > 256) running.splice(2, running.length - 2);
      await sleep(Math.max(0, opts.challengeIntervalMs - (Date.now() - started)), { signal }).catch(() => {});
    }
  }

  return {
    name: 'validator',
    start() {
      if (running.length > 0) return;
      unsubscribe.push(chain.onMetagraph((m) => board.retain(minerUids(m))));
      if (opts.setWeights) unsubscribe.push(chain.onBlock((b) => weightSetter.onBlock(b)));
      running.push(
        challengeLoop(),
        followOutcomes({ absentRetryMs: 60_000 }, { engine, logger, signal }, (o) => {
          if (o.uid === null || !minerUids(chain.metagraph()).has(o.uid)) return;
          if (!o.ok && o.errorCode === 'CANCELLED') return; // the client gave up, not the miner
          board.recordResponse(o.uid, o.ok ? o.latencyMs : null, { organic: true });
        }),
      );
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      abort.abort();
      await Promise.allSettled([...running, weightSetter.idle()]);
    },
    scores() {
      const hotkeys = new Map((chain.metagraph()?.neurons ?? []).map((n) => [n.uid, n.hotkey]));
      const w = weightSetter.lastWeights();
      return board
        .list()
        .map((s) => ({ ...s, hotkey: hotkeys.get(s.uid) ?? null, weight: w.get(s.uid) ?? null }));
    },
    counters: () => ({ ...counters }),
    weights: () => weightSetter.status(),
    verifications: (o) => log.list(o),
  };
}
