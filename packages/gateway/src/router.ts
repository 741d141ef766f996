/**
 * The router: which miner serves a request, and what happens when it fails. Candidates are the connected
 * miners whose latest heartbeat lists the model (the network stack's peer table, fetched again once older
 * than `providerRefreshMs`; the DHT is asked when the table knows no miner for it). The validator's routing
 * advice (`consensus_getRoutingV1`, polled every `routingPollMs`) keeps miners failing verification out while
 * a routable one serves the model, and its verified score enters the cost; the policy itself (eligibility,
 * cost, power-of-two-choices pick, moving averages, failure classification) is `policy.ts`. A miner that
 * fails before the first event is replaced by another (up to `maxAttempts`); so is one that sends nothing
 * within `firstEventTimeoutMs` while another miner could still be tried (a stalled miner or a dead connection
 * must not hold a request until its deadline); one that fails after it ends the response with UPSTREAM_FAILED. What goes on the wire is `wire.ts` (seed fixed, logprobs always on);
 * usage is counted here (`usage.ts`), never taken from the miner. Every attempt's outcome goes to the
 * listeners (the validator's scoring), with the request and answer for the share they asked to audit.
 */
import {
  type consensus_getRoutingV1,
  type EngineApi,
  type EngineClient,
  EngineError,
  featureOf,
  type MinerStatsSchema,
  type NetworkPeerSchema,
  type OutcomeSchema,
  type SampledTokenSchema,
  type StructuredFeature,
  structuredAnswerProblem,
} from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import type { z } from 'zod';
import { GatewayError, GatewayErrorCode } from './errors.js';
import {
  type Advice,
  type Candidate,
  classify,
  costOf,
  eligible,
  type MinerAdvice,
  type MinerStat,
  pickOf,
  update,
} from './policy.js';
import type {
  EmbedParams,
  EmbedResult,
  GenerateEvent,
  GenerateParams,
  RouteContext,
  Router,
} from './types.js';
import { COMPLETION_SLACK, createUsageCounter, type GenerationUsage } from './usage.js';
import {
  embedWire,
  generateWire,
  MAX_SAMPLE_TOKENS,
  type OutcomeSample,
  promptTexts,
  type SynapseGenerateParams,
  secureRandom,
} from './wire.js';

type Peer = z.output<typeof NetworkPeerSchema>;
export type Outcome = z.output<typeof OutcomeSchema>;
export type MinerStats = z.output<typeof MinerStatsSchema>;
type Routing = z.output<typeof consensus_getRoutingV1.result>;
type OutcomeSampledToken = z.output<typeof SampledTokenSchema>;

export interface RouterOpts {
  /** Deadline of one attempt on a miner (the request's own signal still applies). */
  requestTimeoutMs: number;
  /** Miners tried before the first event. */
  maxAttempts: number;
  /**
   * An attempt that has sent no event this long is abandoned for another miner, while one is left to try and
   * attempts remain (the last attempt waits for `requestTimeoutMs`). 0: never.
   */
  firstEventTimeoutMs: number;
  /** How long the peer table is reused. */
  providerRefreshMs: number;
  /** How often the validator's routing advice is asked for. */
  routingPollMs: number;
}

export interface RouterModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
}

/** What a subscriber of outcomes asks for. */
export interface OutcomeSubscription {
  /** Share of successful attempts whose outcome carries `sample` (the request and answer), in [0, 1]. */
  sampleRate: number;
}

export interface GatewayRouter extends Router {
  /** Routing statistics per miner seen. */
  stats(): MinerStats[];
  /** Calls `listener` with each attempt's outcome; returns the unsubscriber. */
  onOutcome(listener: (o: Outcome) => void, sub?: OutcomeSubscription): () => void;
  /** Attempts routed so far. */
  readonly requests: number;
  /** Starts polling the routing advice. Idempotent. */
  start(): void;
  /** Stops polling. Idempotent. */
  stop(): void;
}

/** Advice older than this many polls is dropped when the consensus stack stops answering. */
const STALE_POLLS = 10;

/** The `consensus_getRoutingV1` call (typed by its definition until the method is in every node's API). */
type RoutingClient = EngineClient<{ consensus_getRoutingV1: typeof consensus_getRoutingV1 }>;

interface Subscriber {
  listener: (o: Outcome) => void;
  sampleRate: number;
}

/** What one attempt produced for its outcome record. */
interface AttemptRecord {
  usage: GenerationUsage;
  /** Whether some subscriber wants this attempt's sample (then the job builds it). */
  capture: boolean;
  sample: OutcomeSample | null;
  /** A lie the miner told in an answer that was otherwise served (its outcome's errorCode): USAGE_FORGED. */
  violation: string | null;
  /** Set by the attempt just before it yields its last event (the answer is whole and checked). */
  finished: boolean;
}

/**
 * A signal that follows `parent` and also aborts `ms` from now, unless cleared first (at an attempt's first
 * event): its reason then says the miner stalled.
 */
function stallWatch(
  parent: AbortSignal,
  ms: number,
): { signal: AbortSignal; clear(): void; fired(): boolean } {
  const ac = new AbortController();
  let fired = false;
  const onParent = () => ac.abort(parent.reason);
  if (parent.aborted) ac.abort(parent.reason);
  else parent.addEventListener('abort', onParent, { once: true });
  const timer = setTimeout(() => {
    fired = true;
    ac.abort(
      new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, `the miner sent nothing within ${ms} ms`, {
        meta: { upstreamCode: 'STALLED' },
      }),
    );
  }, ms);
  return {
    signal: ac.signal,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
    fired: () => fired,
  };
}

const candidateOf = (p: Peer): Candidate => ({
  peerId: p.peerId,
  uid: p.uid,
  hotkey: p.hotkey,
  load: p.load === null ? 0 : p.load.running + p.load.queued,
});

export function createRouter(opts: RouterOpts, modules: RouterModules): GatewayRouter {
  const { engine, logger } = modules;
  const counter = createUsageCounter({ engine, logger });
  const stats = new Map<string, MinerStat>();
  const subscribers = new Set<Subscriber>();
  let requests = 0;
  let table: { at: number; peers: Peer[] } | undefined;
  let refreshing: Promise<Peer[]> | undefined;
  let advice: Advice;
  let adviceAt = 0;
  let poller: { controller: AbortController; timer: NodeJS.Timeout | undefined } | undefined;

  /** Asks the node's consensus stack for routing advice; METHOD_NOT_FOUND (none here) means no advice. */
  const pollAdvice = async (signal: AbortSignal): Promise<void> => {
    try {
      const r: Routing = await (engine as unknown as RoutingClient).call(
        'consensus_getRoutingV1',
        {},
        { signal, timeoutMs: Math.max(1000, opts.routingPollMs) },
      );
      const next = new Map<number, MinerAdvice>();
      for (const m of r.miners)
        next.set(m.uid, {
          uid: m.uid,
          hotkey: m.hotkey.toLowerCase(),
          score: m.score,
          routable: m.routable,
        });
      advice = next;
      adviceAt = Date.now();
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof EngineError && err.code === 'METHOD_NOT_FOUND') advice = undefined;
      else if (Date.now() - adviceAt > STALE_POLLS * opts.routingPollMs) advice = undefined;
      logger.debug({ err: errorMessage(err) }, 'no routing advice now');
    }
  };

  const refresh = (): Promise<Peer[]> => {
    refreshing ??= engine
      .call('network_listPeersV1', { connectedOnly: false }, { timeoutMs: 5000 })
      .then(({ peers }) => {
        table = { at: Date.now(), peers };
        return peers;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };

  /** The peer table, reused for `providerRefreshMs`; an old one only when the network stack cannot answer. */
  const peers = async (): Promise<Peer[]> => {
    if (table !== undefined && Date.now() - table.at <= opts.providerRefreshMs) return table.peers;
    try {
      return await refresh();
    } catch (err) {
      if (table === undefined) throw err;
      logger.warn({ err: errorMessage(err) }, 'peer table refresh failed; using the last one');
      return table.peers;
    }
  };

  const servesModel = (p: Peer, model: string) =>
    p.role === 'miner' && p.connected && p.models.some((m) => m.id === model);

  const candidates = async (model: string, signal: AbortSignal): Promise<Peer[]> => {
    let found = (await peers()).filter((p) => servesModel(p, model));
    if (found.length === 0) {
      // Not in the heartbeats we hold: ask the DHT (and get fresh heartbeat rows) once.
      const r = await engine
        .call('network_findProvidersV1', { model, timeoutMs: 1000 }, { signal, timeoutMs: 5000 })
        .catch(() => ({ providers: [] as Peer[] }));
      found = r.providers.filter((p) => p.connected);
      if (found.length > 0) void refresh().catch(() => {});
    }
    return found;
  };

  const statOf = (p: Peer): MinerStat => {
    let s = stats.get(p.peerId);
    if (s === undefined) {
      s = {
        peerId: p.peerId,
        uid: p.uid,
        models: [],
        inFlight: 0,
        requests: 0,
        failures: 0,
        ttftEwmaMs: null,
        successEwma: 1,
      };
      stats.set(p.peerId, s);
    }
    s.uid = p.uid;
    s.models = p.models.map((m) => m.id);
    return s;
  };

  /**
   * Power of two choices among the untried candidates the advice allows; `others`: how many of those were
   * not chosen (whether a stalled attempt can be replaced).
   */
  const pick = async (
    model: string,
    tried: Set<string>,
    signal: AbortSignal,
    needs: StructuredFeature | null,
  ): Promise<{ peer: Peer; others: number }> => {
    const found = await candidates(model, signal).catch((err: unknown) => {
      throw new GatewayError(
        GatewayErrorCode.NO_MINER,
        `the validator's network stack cannot be asked for miners now (${errorMessage(err)}); retry shortly`,
      );
    });
    // A structured request goes only to miners whose heartbeat says the model enforces its format.
    const all =
      needs === null
        ? found
        : found.filter((p) => p.models.some((m) => m.id === model && m.features.includes(needs)));
    if (all.length === 0 && found.length > 0)
      throw new GatewayError(
        GatewayErrorCode.INVALID_REQUEST,
        `no miner serving ${model} enforces response_format ${needs} now`,
        { meta: { param: 'response_format' } },
      );
    if (all.length === 0) {
      const known = (await peers()).some((p) => p.models.some((m) => m.id === model));
      throw known
        ? new GatewayError(
            GatewayErrorCode.NO_MINER,
            `no miner serving ${model} is reachable now; retry shortly`,
          )
        : new GatewayError(GatewayErrorCode.MODEL_NOT_FOUND, `the model \`${model}\` does not exist`, {
            meta: { param: 'model' },
          });
    }
    const open = all.filter((p) => !tried.has(p.peerId)).map((p) => ({ peer: p, c: candidateOf(p) }));
    const allowed = eligible(
      open.map((o) => ({ ...o.c, o })),
      advice,
    );
    const chosen = pickOf(allowed, (x) => costOf(stats.get(x.peerId), x, advice), Math.random);
    if (chosen === undefined) {
      throw new GatewayError(
        GatewayErrorCode.NO_MINER,
        `every miner serving ${model} failed this request (${tried.size} tried); retry shortly`,
      );
    }
    return { peer: chosen.o.peer, others: allowed.length - 1 };
  };

  /** The subscribers that get this attempt's sample (decided per subscriber with crypto randomness). */
  const drawSamples = (): Set<Subscriber> => {
    const wants = new Set<Subscriber>();
    for (const sub of subscribers)
      if (sub.sampleRate > 0 && (sub.sampleRate >= 1 || secureRandom() < sub.sampleRate)) wants.add(sub);
    return wants;
  };

  const finish = (
    s: MinerStat,
    o: Omit<Outcome, 'uid' | 'peerId' | 'at' | 'sample'>,
    sample: OutcomeSample | null,
    wants: Set<Subscriber>,
  ): void => {
    update(s, o.ok, o.firstEventMs);
    if (subscribers.size === 0) return;
    const outcome: Outcome = { ...o, uid: s.uid, peerId: s.peerId, at: Date.now(), sample: null };
    const sampled: Outcome | undefined = sample === null ? undefined : { ...outcome, sample };
    for (const sub of subscribers) sub.listener(sampled !== undefined && wants.has(sub) ? sampled : outcome);
  };

  /** Runs attempts until one succeeds, failing over only while nothing has reached the client. */
  async function* attempts<E>(
    model: string,
    kind: Outcome['kind'],
    ctx: RouteContext,
    run: (peer: Peer, signal: AbortSignal, rec: AttemptRecord) => AsyncIterable<E>,
    buffered = false,
    needs: StructuredFeature | null = null,
  ): AsyncGenerator<E> {
    const tried = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const { peer, others } = await pick(model, tried, ctx.signal, needs);
      tried.add(peer.peerId);
      // A stall watch only where another miner can take over: the last candidate gets the whole deadline.
      const stall =
        opts.firstEventTimeoutMs > 0 && others > 0 && attempt < opts.maxAttempts
          ? stallWatch(ctx.signal, opts.firstEventTimeoutMs)
          : undefined;
      const s = statOf(peer);
      s.inFlight += 1;
      requests += 1;
      const started = performance.now();
      let firstEventMs: number | null = null;
      const wants = drawSamples();
      const rec: AttemptRecord = {
        usage: { promptTokens: 0, completionTokens: 0 },
        capture: wants.size > 0,
        sample: null,
        violation: null,
        finished: false,
      };
      const held: E[] = [];
      try {
        const succeeded = (): void =>
          finish(
            s,
            {
              requestId: ctx.requestId,
              model,
              kind,
              ok: true,
              errorCode: rec.violation,
              latencyMs: performance.now() - started,
              firstEventMs,
              ...rec.usage,
            },
            rec.sample,
            wants,
          );
        for await (const e of run(peer, stall?.signal ?? ctx.signal, rec)) {
          if (firstEventMs === null) {
            firstEventMs = performance.now() - started;
            stall?.clear();
            ctx.served?.(peer.hotkey ?? '');
          }
          if (buffered) held.push(e);
          else if (rec.finished) {
            // The last event: the outcome is recorded before it goes out, since a consumer that has what it
            // needs may close the iteration there and never resume it.
            succeeded();
            yield e;
            return;
          } else yield e;
        }
        succeeded();
        yield* held;
        return;
      } catch (caught) {
        // The stall watch fired (not the request's own signal): the miner's failure, another is tried.
        const err = stall?.fired() === true && !ctx.signal.aborted ? stall.signal.reason : caught;
        const delivered = firstEventMs !== null && !buffered;
        const why = classify(err, {
          aborted: ctx.signal.aborted,
          reason: ctx.signal.reason,
          model,
          delivered,
        });
        finish(
          s,
          {
            requestId: ctx.requestId,
            model,
            kind,
            // A cancelled request, or one the miner rightly refused, says nothing about the miner.
            ok: why.blameless,
            errorCode: why.error.meta?.upstreamCode ?? why.error.code,
            latencyMs: performance.now() - started,
            firstEventMs,
            ...rec.usage,
          },
          null,
          wants,
        );
        if (!why.retry) throw why.error;
        logger.debug(
          { peerId: peer.peerId, attempt, err: why.error.message },
          'miner failed before the first event',
        );
        if (attempt >= opts.maxAttempts) {
          throw new GatewayError(
            GatewayErrorCode.NO_MINER,
            `${attempt} miner(s) serving ${model} failed this request; last: ${why.error.message}`,
          );
        }
      } finally {
        stall?.clear();
      }
    }
  }

  const synapse = (peer: Peer, kind: 'generate' | 'embed', params: unknown, signal: AbortSignal) =>
    (async function* () {
      const stream = await engine.stream(
        'network_sendSynapseV1',
        { peerId: peer.peerId, kind, params, timeoutMs: opts.requestTimeoutMs },
        { signal },
      );
      for await (const ev of stream) if (ev.type === 'event') yield ev.data;
    })();

  /**
   * One attempt of a generation: relays the miner's tokens, ends at its done event with the usage counted
   * here (the miner's own is dropped), and records the sample when asked.
   */
  const generation = (wire: SynapseGenerateParams, buffered: boolean) =>
    async function* (peer: Peer, signal: AbortSignal, rec: AttemptRecord): AsyncGenerator<GenerateEvent> {
      const texts: string[] = [];
      /** Token ids relayed, while every event carried them (null once one did not). */
      let idCount: number | null = 0;
      let sampled: OutcomeSampledToken[] | undefined = rec.capture ? [] : undefined;
      const limit = wire.maxTokens + COMPLETION_SLACK;
      for await (const e of synapse(peer, 'generate', wire, signal) as AsyncIterable<GenerateEvent>) {
        if (e.type === 'token') {
          if (texts.length >= limit)
            throw new GatewayError(
              GatewayErrorCode.UPSTREAM_FAILED,
              `the miner sent more than ${limit} tokens for maxTokens ${wire.maxTokens}`,
              { meta: { upstreamCode: 'TOO_MANY_TOKENS' } },
            );
          texts.push(e.text);
          rec.usage = { promptTokens: 0, completionTokens: texts.length };
          // The token ids go to the audit sample only: the client gets text and logprobs.
          const { ids, ...relayed } = e;
          idCount = ids === undefined || idCount === null ? null : idCount + ids.length;
          if (sampled !== undefined) {
            if (sampled.length < MAX_SAMPLE_TOKENS)
              sampled.push({
                text: e.text,
                logprob: e.logprob ?? null,
                ...(ids === undefined ? {} : { ids }),
              });
            else sampled = undefined;
          }
          yield relayed;
          continue;
        }
        const usage = await counter.generation(
          wire.model,
          { prompt: promptTexts(wire), tokens: texts, maxTokens: wire.maxTokens },
          signal,
        );
        rec.usage = usage;
        // A structured answer must meet its format (one cut by maxTokens: be the start of one). Before anything
        // reached the client it is another miner's turn; after, the lie is reported like a forged count.
        if (wire.responseFormat !== undefined) {
          const problem = structuredAnswerProblem(
            wire.responseFormat,
            texts.join(''),
            e.finishReason === 'stop',
          );
          if (problem !== null) {
            if (buffered)
              throw new GatewayError(
                GatewayErrorCode.UPSTREAM_FAILED,
                `the miner's answer breaks its format: ${problem}`,
                {
                  meta: { upstreamCode: 'FORMAT_VIOLATED' },
                },
              );
            rec.violation = 'FORMAT_VIOLATED';
          }
        }
        // The miner's own count is never billed, but a wrong one is a lie the validator can prove when the
        // answer came with its token ids: it is reported, and the consensus stack counts it as a failed verdict.
        if (idCount !== null && e.usage.completionTokens !== idCount) rec.violation = 'USAGE_FORGED';
        if (sampled !== undefined)
          rec.sample = { kind: 'generate', params: wire, tokens: sampled, finishReason: e.finishReason };
        rec.finished = true;
        yield { type: 'done', finishReason: e.finishReason, usage };
        return;
      }
    };

  return {
    get requests() {
      return requests;
    },
    generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent> {
      const wire = generateWire(params);
      return attempts<GenerateEvent>(
        params.model,
        params.kind,
        ctx,
        generation(wire, false),
        false,
        featureOf(wire.responseFormat),
      );
    },
    async complete(params: GenerateParams, ctx: RouteContext): Promise<GenerateEvent[]> {
      const wire = generateWire(params);
      const events: GenerateEvent[] = [];
      for await (const e of attempts<GenerateEvent>(
        params.model,
        params.kind,
        ctx,
        generation(wire, true),
        true,
        featureOf(wire.responseFormat),
      ))
        events.push(e);
      return events;
    },
    async embed(params: EmbedParams, ctx: RouteContext): Promise<EmbedResult> {
      const wire = embedWire(params);
      const run = async function* (
        peer: Peer,
        signal: AbortSignal,
        rec: AttemptRecord,
      ): AsyncGenerator<EmbedResult> {
        for await (const r of synapse(peer, 'embed', wire, signal) as AsyncIterable<EmbedResult>) {
          if (r.embeddings.length !== wire.input.length)
            throw new GatewayError(
              GatewayErrorCode.UPSTREAM_FAILED,
              `the miner answered ${r.embeddings.length} embeddings for ${wire.input.length} inputs`,
              { meta: { upstreamCode: 'MALFORMED' } },
            );
          const promptTokens = await counter.embedding(wire.model, wire.input, signal);
          rec.usage = { promptTokens, completionTokens: 0 };
          if (rec.capture) rec.sample = { kind: 'embed', params: wire, embeddings: r.embeddings };
          rec.finished = true;
          yield { embeddings: r.embeddings, usage: { promptTokens } };
          return;
        }
      };
      for await (const r of attempts<EmbedResult>(params.model, 'embedding', ctx, run, true)) return r;
      throw new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, 'the miner answered no embeddings');
    },
    async models() {
      const counts = new Map<string, number>();
      const known = await peers().catch((err: unknown) => {
        logger.warn({ err: errorMessage(err) }, 'no peer table: the network stack does not answer');
        return [] as Peer[];
      });
      for (const p of known) {
        if (p.role !== 'miner' || !p.connected) continue;
        for (const m of p.models) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      }
      return [...counts].map(([id, miners]) => ({ id, miners })).sort((a, b) => a.id.localeCompare(b.id));
    },
    stats: () =>
      [...stats.values()].map((s) => ({
        uid: s.uid,
        peerId: s.peerId,
        models: s.models,
        inFlight: s.inFlight,
        requests: s.requests,
        failures: s.failures,
        latencyEwmaMs: s.ttftEwmaMs,
        successEwma: s.successEwma,
      })),
    onOutcome(listener, sub) {
      const entry: Subscriber = { listener, sampleRate: Math.min(1, Math.max(0, sub?.sampleRate ?? 0)) };
      subscribers.add(entry);
      return () => subscribers.delete(entry);
    },
    start() {
      if (poller !== undefined) return;
      const controller = new AbortController();
      const p: { controller: AbortController; timer: NodeJS.Timeout | undefined } = {
        controller,
        timer: undefined,
      };
      poller = p;
      const loop = (): void => {
        void pollAdvice(controller.signal).finally(() => {
          if (controller.signal.aborted) return;
          p.timer = setTimeout(loop, opts.routingPollMs);
          p.timer.unref();
        });
      };
      loop();
    },
    stop() {
      if (poller === undefined) return;
      poller.controller.abort();
      clearTimeout(poller.timer);
      poller = undefined;
    },
  };
}
