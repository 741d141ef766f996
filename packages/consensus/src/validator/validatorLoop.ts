/**
 * The validator loop: synthetic challenges of the models the subnet's miners advertise (their heartbeats,
 * `network_listPeersV1`) start at random (Poisson) times, `challengeIntervalMs` apart on average per model,
 * each shaped like the organic mix this node's gateway routes (`mix.ts`) and sent to the `redundancy` least
 * recently challenged miners of that model, each at its own random time; a share of organic requests is
 * audited after the fact by the same code (`organicAuditRate`). Verdicts, availability and latency feed the
 * scoreboard, organic outcomes too; receipts are fetched as miners sign them; weights are committed and
 * revealed once per epoch. It reads the chain only through the shared {@link ChainView}.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import { errorMessage, type Logger, sleep } from '@subnet/utils';
import type { ChainView, Metagraph } from '../chainView.js';
import type { Loop } from '../loop.js';
import {
  auditAnswerOf,
  type ChallengeOpts,
  type ChallengeRequest,
  type ChallengeTarget,
  judge,
  promptOf,
  referenceOpts,
  runChallenge,
  VIOLATIONS,
} from './challenge.js';
import type { ValidatorMetrics } from './metrics.js';
import {
  createOrganicMix,
  exponentialDelay,
  type GenerateParams,
  renderEmbed,
  renderGenerate,
} from './mix.js';
import { followOutcomes, type Outcome, requestOfSample } from './outcomes.js';
import { mulberry32, newSeed } from './prompt.js';
import type { Verification } from './records.js';
import { type MinerScore, type NeuronRef, weightScore } from './scores.js';
import { createValidatorState, type ValidatorState, type ValidatorStateOpts } from './state.js';
import { createWeightSetter, type WeightSetterStatus } from './weightSetter.js';

export interface ValidatorLoopOpts extends ChallengeOpts, ValidatorStateOpts {
  netuid: number;
  challengeIntervalMs: number;
  redundancy: number;
  receiptTimeoutMs: number;
  setWeights: boolean;
  /** The default prior's middle maxTokens (see `mix.ts`). */
  maxTokens: number;
  organicSampleRate: number;
  organicAuditRate: number;
  mixCapacity: number;
}

export interface ValidatorLoopModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
  chain: ChainView;
  metrics?: ValidatorMetrics | undefined;
  /** Scoreboard and verification log (the stack's, backed by its store); in memory only when absent. */
  state?: ValidatorState | undefined;
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
  scores(): (MinerScore & { weight: number | null })[];
  counters(): ChallengeCounters;
  weights(): WeightSetterStatus;
  verifications(opts: { uid?: number | undefined; limit: number }): Verification[];
}

const minerUids = (m: Metagraph | undefined): Set<number> =>
  new Set((m?.neurons ?? []).filter((n) => n.role === 'miner').map((n) => n.uid));

/** The registered miners as the scoreboard keys them (hotkey and registration block). */
const minerNeurons = (m: Metagraph | undefined): NeuronRef[] =>
  (m?.neurons ?? []).filter((n) => n.role === 'miner');

export function createValidatorLoop(opts: ValidatorLoopOpts, modules: ValidatorLoopModules): ValidatorLoop {
  const { engine, logger, chain, metrics } = modules;
  const abort = new AbortController();
  const signal = abort.signal;
  const state = modules.state ?? createValidatorState(opts);
  const { board, log } = state;
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
      scores: () => new Map(board.list().map((s) => [s.uid, scoreForWeight(s)])),
    },
  );
  /** The models each miner advertised in the latest challenge view that this node can judge (uid → ids). */
  let advertised = new Map<number, Set<string>>();

  /** The score a miner's weight is made of ({@link weightScore}), by what this node advertises and judged. */
  const scoreForWeight = (s: MinerScore): number =>
    weightScore(s, {
      judged: board.judgedModels(s.uid),
      advertised: advertised.get(s.uid) ?? [],
      minCorrectness: opts.routingMinCorrectness,
    });

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
      if (m.verdict === 'pass' || m.verdict === 'fail') {
        board.recordVerdict(m.uid, m.verdict === 'pass', { reason: m.reason, model: v.model });
      }
      if (m.verdict === 'error' && m.reason !== 'CANCELLED') board.recordMiss(m.uid, v.model);
      if (m.verdict === 'pass') counters.passed += 1;
      else if (m.verdict === 'fail') counters.failed += 1;
      else if (m.verdict === 'error') counters.errors += 1;
      metrics?.verdicts.inc({ verdict: m.verdict });
      if (m.audit !== null) {
        counters.audits += 1;
        if (!m.audit.passed) counters.auditFailures += 1;
        metrics?.audits.inc({ result: m.audit.passed ? 'pass' : 'fail' });
      }
    }
    if (metrics !== undefined) {
      const routable = board.list().filter((s) => s.routable).length;
      metrics.miners.set({ routable: 'true' }, routable);
      metrics.miners.set({ routable: 'false' }, board.list().length - routable);
    }
  }

  /** Challengeable miners per model and task kind, refreshed from the heartbeats. */
  interface TargetView {
    models: Map<
      string,
      {
        chat: ChallengeTarget[];
        completion: ChallengeTarget[];
        embed: ChallengeTarget[];
        /** The least context length its miners advertise (tokens). */
        contextLength: number;
      }
    >;
  }
  /** Models this node's app stack serves: the ones it can audit. */
  let localModels = new Set<string>();
  const mix = createOrganicMix(
    { capacity: opts.mixCapacity, maxModels: 64, minSamples: 16, priorMaxTokens: opts.maxTokens },
    { random: Math.random },
  );
  let inFlight = 0;
  const MAX_IN_FLIGHT = 64;

  async function targetView(): Promise<TargetView> {
    const registered = minerUids(chain.metagraph());
    const [{ peers }, local] = await Promise.all([
      engine.call('network_listPeersV1', { connectedOnly: false }, { signal, timeoutMs: 10_000 }),
      engine
        .call('app_listModelsV1', {}, { signal, timeoutMs: 10_000 })
        .then((r) => new Set(r.models.map((m) => m.id)))
        .catch(() => new Set<string>()),
    ]);
    localModels = local;
    const models: TargetView['models'] = new Map();
    const byMiner = new Map<number, Set<string>>();
    for (const p of peers) {
      if (p.role !== 'miner' || p.uid === null || !registered.has(p.uid)) continue;
      for (const m of p.models) {
        const e = models.get(m.id) ?? {
          chat: [],
          completion: [],
          embed: [],
          contextLength: Number.POSITIVE_INFINITY,
        };
        if (m.contextLength > 0) e.contextLength = Math.min(e.contextLength, m.contextLength);
        const t = { uid: p.uid, peerId: p.peerId };
        if (m.taskTypes.includes('chat')) e.chat.push(t);
        if (m.taskTypes.includes('completion')) e.completion.push(t);
        if (m.taskTypes.includes('embedding')) e.embed.push(t);
        models.set(m.id, e);
        // Only models this node can audit (its own app stack serves them) and a challenge covers get
        // verdicts here; the others cannot hold back weight.
        const covered = m.taskTypes.some((x) => x === 'chat' || x === 'completion' || x === 'embedding');
        if (covered && local.has(m.id)) byMiner.set(p.uid, (byMiner.get(p.uid) ?? new Set()).add(m.id));
      }
    }
    advertised = byMiner;
    return { models };
  }

  /**
   * Whether a generate request surely fits a model of `contextLength` tokens: its prompt's UTF-8 bytes (a
   * token is at least one byte) plus a chat template's allowance per message plus maxTokens.
   */
  function fitsContext(params: GenerateParams, contextLength: number): boolean {
    const prompt =
      params.kind === 'chat'
        ? (params.messages ?? []).reduce((n, m) => n + Buffer.byteLength(m.content, 'utf8') + 32, 32)
        : Buffer.byteLength(params.prompt ?? '', 'utf8') + 8;
    return prompt + params.maxTokens <= contextLength;
  }

  /** One challenge of `model`: shaped by the organic mix, sent to the least recently challenged miners. */
  async function challenge(model: string, view: TargetView): Promise<void> {
    const entry = view.models.get(model);
    if (entry === undefined) return;
    const seed = newSeed();
    const rnd = mulberry32(seed);
    let req: ChallengeRequest | undefined;
    let targets: ChallengeTarget[] = [];
    if (entry.chat.length + entry.completion.length > 0) {
      for (let i = 0; i < 8 && req === undefined; i++) {
        const { shape } = mix.drawGenerate(model);
        if (entry[shape.kind].length === 0) continue;
        const params = renderGenerate(shape, model, seed, rnd);
        // A draw the model cannot hold would fail for any miner (CONTEXT_OVERFLOW, or an answer capped by
        // the context): draw again. Bytes bound tokens from above, so this never refuses a fitting request.
        if (!fitsContext(params, entry.contextLength)) continue;
        req = { kind: 'generate', params };
        targets = entry[shape.kind];
      }
    } else if (entry.embed.length > 0) {
      req = { kind: 'embed', params: renderEmbed(mix.drawEmbed(model), model, rnd) };
      targets = entry.embed;
    }
    if (req === undefined) return;
    const chosen = pick(targets);
    const now = Date.now();
    for (const t of chosen) lastChallenged.set(t.uid, now);
    counters.rounds += 1;
    const v = log.add(
      await runChallenge(
        opts,
        { engine, logger },
        {
          ...req,
          seed,
          targets: chosen,
          reference: localModels.has(model),
          delaysMs: chosen.map(() => exponentialDelay(opts.challengeIntervalMs, Math.random)),
          signal,
        },
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
    running.push(
      collectReceipts(v)
        .catch(() => {})
        .then(() => log.touch(v.id)),
    );
  }

  /** Starts challenges at exponential gaps (a Poisson process of rate models / challengeIntervalMs). */
  async function challengeLoop(): Promise<void> {
    let view: TargetView = { models: new Map() };
    let refreshedAt = 0;
    while (!signal.aborted) {
      try {
        if (Date.now() - refreshedAt >= Math.min(opts.challengeIntervalMs, 5000)) {
          view = await targetView();
          refreshedAt = Date.now();
        }
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ err: errorMessage(err) }, 'listing challenge targets failed');
      }
      const models = [...view.models.keys()];
      const gap = exponentialDelay(opts.challengeIntervalMs / Math.max(1, models.length), Math.random);
      await sleep(gap, { signal }).catch(() => {});
      if (signal.aborted || models.length === 0 || inFlight >= MAX_IN_FLIGHT) continue;
      const model = models[Math.floor(Math.random() * models.length)] as string;
      inFlight += 1;
      running.push(
        challenge(model, view)
          .catch((err: unknown) => {
            if (!signal.aborted) logger.warn({ model, err: errorMessage(err) }, 'challenge failed');
          })
          .finally(() => {
            inFlight -= 1;
          }),
      );
      // Bounded bookkeeping: forget settled challenges and receipt fetches.
      if (running.length > 512) running.splice(2, running.length - 2);
    }
  }

  let organicAudits = 0;
  /** Audits one sampled organic answer after the fact; its verdict counts like a challenge's. */
  async function auditOrganic(o: Outcome & { uid: number }): Promise<void> {
    const req = requestOfSample(o);
    if (req === null) return;
    const audit = await auditAnswerOf(engine, req.request, req.answer, {
      ...referenceOpts(opts),
      signal,
      logger,
    });
    if (audit === null) return;
    const text = req.request.kind === 'generate' ? req.answer.tokens.map((t) => t.text).join('') : null;
    const verdict = judge({ text, errorCode: null }, null, audit);
    const v = log.add({
      at: o.at,
      model: o.model,
      seed: req.request.kind === 'generate' ? (req.request.params.seed ?? 0) : 0,
      prompt: promptOf(req.request),
      maxTokens: req.request.kind === 'generate' ? req.request.params.maxTokens : 0,
      majority: null,
      miners: [
        {
          uid: o.uid,
          peerId: o.peerId,
          verdict: verdict.verdict,
          reason: `organic ${verdict.reason}`,
          text,
          tokens:
            req.request.kind === 'generate' ? req.answer.tokens.length : (req.answer.embeddings?.length ?? 0),
          latencyMs: o.latencyMs,
          requestId: o.requestId,
          audit: audit.stats,
          receipt: null,
        },
      ],
    });
    board.recordVerdict(o.uid, audit.failure === null, { reason: verdict.reason, model: o.model });
    counters.audits += 1;
    if (audit.failure !== null) counters.auditFailures += 1;
    metrics?.verdicts.inc({ verdict: verdict.verdict });
    metrics?.audits.inc({ result: audit.failure === null ? 'pass' : 'fail' });
    logger.debug({ model: o.model, uid: o.uid, verdict: verdict.reason }, 'organic answer audited');
    running.push(
      collectReceipts(v)
        .catch(() => {})
        .then(() => log.touch(v.id)),
    );
  }

  /** An organic outcome's sample: its shape joins the mix; a share is audited. */
  function onSample(o: Outcome & { uid: number }): void {
    if (o.sample === null) return;
    mix.observe(o.sample.kind, o.sample.params);
    const share =
      opts.organicSampleRate > 0 ? Math.min(1, opts.organicAuditRate / opts.organicSampleRate) : 0;
    if (!localModels.has(o.model) || organicAudits >= 16 || Math.random() >= share) return;
    organicAudits += 1;
    running.push(
      auditOrganic(o)
        .catch((err: unknown) => {
          if (!signal.aborted) logger.warn({ uid: o.uid, err: errorMessage(err) }, 'organic audit failed');
        })
        .finally(() => {
          organicAudits -= 1;
        }),
    );
  }

  return {
    name: 'validator',
    start() {
      if (running.length > 0) return;
      const current = chain.metagraph();
      if (current !== undefined) board.retain(minerNeurons(current));
      unsubscribe.push(chain.onMetagraph((m) => board.retain(minerNeurons(m))));
      if (opts.setWeights) unsubscribe.push(chain.onBlock((b) => weightSetter.onBlock(b)));
      running.push(
        challengeLoop(),
        followOutcomes(
          { absentRetryMs: 60_000, sampleRate: Math.max(opts.organicSampleRate, opts.organicAuditRate) },
          { engine, logger, signal },
          (o) => {
            if (o.uid === null || !minerUids(chain.metagraph()).has(o.uid)) return;
            if (!o.ok && o.errorCode === 'CANCELLED') return; // the client gave up, not the miner
            board.recordResponse(o.uid, o.ok ? o.latencyMs : null, { organic: true });
            if (!o.ok) board.recordMiss(o.uid, o.model);
            if (o.errorCode !== null && VIOLATIONS.has(o.errorCode)) {
              board.recordVerdict(o.uid, false, {
                reason: `organic violation ${o.errorCode}`,
                model: o.model,
              });
              counters.failed += 1;
            }
            if (o.sample !== null) onSample({ ...o, uid: o.uid });
          },
        ),
      );
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      abort.abort();
      await Promise.allSettled([...running, weightSetter.idle()]);
    },
    scores() {
      const w = weightSetter.lastWeights();
      return board.list().map((s) => ({ ...s, weight: w.get(s.uid) ?? null }));
    },
    counters: () => ({ ...counters }),
    weights: () => weightSetter.status(),
    verifications: (o) => log.list(o),
  };
}
