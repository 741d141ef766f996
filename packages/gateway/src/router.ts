/**
 * The router: which miner serves a request, and what happens when it fails. Candidates are the connected
 * miners whose latest heartbeat lists the model (the network stack's peer table, fetched again once older
 * than `providerRefreshMs`; the DHT is asked when the table knows no miner for it). Among them the router picks
 * by power of two choices on an expected cost: time to first event (moving average) × (1 + requests in
 * flight here + the miner's reported load) ÷ success rate (moving average). A miner that fails before the
 * first event is replaced by another (up to `maxAttempts`); one that fails after it ends the response with
 * UPSTREAM_FAILED. Every attempt's outcome goes to the listeners (the validator's scoring).
 */
import {
  type EngineApi,
  type EngineClient,
  EngineError,
  type MinerStatsSchema,
  type NetworkPeerSchema,
  type OutcomeSchema,
} from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import type { z } from 'zod';
import { GatewayError, GatewayErrorCode } from './errors.js';
import type {
  EmbedParams,
  EmbedResult,
  GenerateEvent,
  GenerateParams,
  RouteContext,
  Router,
} from './types.js';

type Peer = z.output<typeof NetworkPeerSchema>;
export type Outcome = z.output<typeof OutcomeSchema>;
export type MinerStats = z.output<typeof MinerStatsSchema>;

export interface RouterOpts {
  /** Deadline of one attempt on a miner (the request's own signal still applies). */
  requestTimeoutMs: number;
  /** Miners tried before the first event. */
  maxAttempts: number;
  /** How long the peer table is reused. */
  providerRefreshMs: number;
}

export interface RouterModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
}

export interface GatewayRouter extends Router {
  /** Routing statistics per miner seen. */
  stats(): MinerStats[];
  /** Calls `listener` with each attempt's outcome; returns the unsubscriber. */
  onOutcome(listener: (o: Outcome) => void): () => void;
  /** Attempts routed so far. */
  readonly requests: number;
}

interface Stat {
  peerId: string;
  uid: number | null;
  models: string[];
  inFlight: number;
  requests: number;
  failures: number;
  ttftEwmaMs: number | null;
  successEwma: number;
}

const EWMA = 0.2;
const DEFAULT_TTFT_MS = 50;
/** Miner-side errors that are the request's fault: no other miner would do better. */
const CLIENT_ERRORS = new Set(['CONTEXT_OVERFLOW', 'INVALID_PARAMS', 'UNSUPPORTED_TASK']);

/** The miner's error code carried by a network error, if any. */
function remoteCode(err: unknown): string | undefined {
  if (!(err instanceof EngineError)) return undefined;
  const data = err.data as { remoteCode?: string; reason?: string } | undefined;
  if (err.code === 'REMOTE_ERROR') return data?.remoteCode;
  if (err.code === 'REFUSED' && data?.reason === 'malformed') return 'INVALID_PARAMS';
  return undefined;
}

export function createRouter(opts: RouterOpts, modules: RouterModules): GatewayRouter {
  const { engine, logger } = modules;
  const stats = new Map<string, Stat>();
  const listeners = new Set<(o: Outcome) => void>();
  let requests = 0;
  let table: { at: number; peers: Peer[] } | undefined;
  let refreshing: Promise<Peer[]> | undefined;

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

  const statOf = (p: Peer): Stat => {
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

  const cost = (p: Peer): number => {
    const s = statOf(p);
    const load = p.load === null ? 0 : p.load.running + p.load.queued;
    return ((s.ttftEwmaMs ?? DEFAULT_TTFT_MS) * (1 + s.inFlight + load)) / Math.max(s.successEwma, 0.05);
  };

  /** Power of two choices among the untried candidates. */
  const pick = async (model: string, tried: Set<string>, signal: AbortSignal): Promise<Peer> => {
    const all = await candidates(model, signal).catch((err: unknown) => {
      throw new GatewayError(
        GatewayErrorCode.NO_MINER,
        `the validator's network stack cannot be asked for miners now (${errorMessage(err)}); retry shortly`,
      );
    });
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
    const open = all.filter((p) => !tried.has(p.peerId));
    if (open.length === 0) {
      throw new GatewayError(
        GatewayErrorCode.NO_MINER,
        `every miner serving ${model} failed this request (${tried.size} tried); retry shortly`,
      );
    }
    const a = open[Math.floor(Math.random() * open.length)] as Peer;
    const b = open[Math.floor(Math.random() * open.length)] as Peer;
    return cost(a) <= cost(b) ? a : b;
  };

  const finish = (
    s: Stat,
    o: Omit<Outcome, 'uid' | 'peerId' | 'at' | 'requestId'> & { requestId: string },
  ): void => {
    s.inFlight -= 1;
    s.requests += 1;
    if (!o.ok) s.failures += 1;
    s.successEwma = s.successEwma * (1 - EWMA) + (o.ok ? EWMA : 0);
    if (o.firstEventMs !== null) {
      s.ttftEwmaMs =
        s.ttftEwmaMs === null ? o.firstEventMs : s.ttftEwmaMs * (1 - EWMA) + o.firstEventMs * EWMA;
    }
    if (listeners.size === 0) return;
    const outcome: Outcome = { ...o, uid: s.uid, peerId: s.peerId, at: Date.now() };
    for (const l of listeners) l(outcome);
  };

  /** Why an attempt failed, for the outcome record and the client. */
  const failure = (err: unknown, ctx: RouteContext, model: string): GatewayError => {
    if (err instanceof GatewayError) return err;
    if (ctx.signal.aborted) {
      // The front door aborts with the reason itself (TIMEOUT at the deadline, CANCELLED when the client left).
      const reason: unknown = ctx.signal.reason;
      return reason instanceof GatewayError
        ? reason
        : new GatewayError(GatewayErrorCode.CANCELLED, `the request for ${model} was abandoned`);
    }
    const code = remoteCode(err);
    if (code !== undefined && CLIENT_ERRORS.has(code)) {
      return new GatewayError(GatewayErrorCode.INVALID_REQUEST, errorMessage(err), {
        meta: { upstreamCode: code },
      });
    }
    const upstream = err instanceof EngineError ? (code ?? err.code) : 'INTERNAL';
    return new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, errorMessage(err), {
      meta: { upstreamCode: upstream },
    });
  };

  /** Runs attempts until one succeeds, failing over only while nothing has reached the client. */
  async function* attempts<E>(
    model: string,
    kind: Outcome['kind'],
    ctx: RouteContext,
    run: (peer: Peer, signal: AbortSignal) => AsyncIterable<E>,
    usageOf: (e: E) => { promptTokens: number; completionTokens: number } | undefined,
    buffered = false,
  ): AsyncGenerator<E> {
    const tried = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const peer = await pick(model, tried, ctx.signal);
      tried.add(peer.peerId);
      const s = statOf(peer);
      s.inFlight += 1;
      requests += 1;
      const started = performance.now();
      let firstEventMs: number | null = null;
      let usage = { promptTokens: 0, completionTokens: 0 };
      const held: E[] = [];
      try {
        for await (const e of run(peer, ctx.signal)) {
          if (firstEventMs === null) firstEventMs = performance.now() - started;
          usage = usageOf(e) ?? usage;
          if (buffered) held.push(e);
          else yield e;
        }
        yield* held;
        finish(s, {
          requestId: ctx.requestId,
          model,
          kind,
          ok: true,
          errorCode: null,
          latencyMs: performance.now() - started,
          firstEventMs,
          ...usage,
        });
        return;
      } catch (err) {
        const why = failure(err, ctx, model);
        // A cancelled request says nothing about the miner.
        const blameless =
          why.code === GatewayErrorCode.CANCELLED || why.code === GatewayErrorCode.INVALID_REQUEST;
        finish(s, {
          requestId: ctx.requestId,
          model,
          kind,
          ok: blameless,
          errorCode: why.meta?.upstreamCode ?? why.code,
          latencyMs: performance.now() - started,
          firstEventMs,
          ...usage,
        });
        const delivered = firstEventMs !== null && !buffered;
        if (delivered || blameless || why.code === GatewayErrorCode.TIMEOUT) {
          throw delivered && why.code === GatewayErrorCode.UPSTREAM_FAILED
            ? new GatewayError(
                GatewayErrorCode.UPSTREAM_FAILED,
                `the miner failed mid-response: ${why.message}`,
                {
                  meta: why.meta ?? {},
                },
              )
            : why;
        }
        logger.debug(
          { peerId: peer.peerId, attempt, err: why.message },
          'miner failed before the first event',
        );
        if (attempt >= opts.maxAttempts) {
          throw new GatewayError(
            GatewayErrorCode.NO_MINER,
            `${attempt} miner(s) serving ${model} failed this request; last: ${why.message}`,
          );
        }
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

  return {
    get requests() {
      return requests;
    },
    generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent> {
      return attempts<GenerateEvent>(
        params.model,
        params.kind,
        ctx,
        (peer, signal) => synapse(peer, 'generate', params, signal) as AsyncIterable<GenerateEvent>,
        (e) => (e.type === 'done' ? e.usage : undefined),
      );
    },
    async complete(params: GenerateParams, ctx: RouteContext): Promise<GenerateEvent[]> {
      const events: GenerateEvent[] = [];
      for await (const e of attempts<GenerateEvent>(
        params.model,
        params.kind,
        ctx,
        (peer, signal) => synapse(peer, 'generate', params, signal) as AsyncIterable<GenerateEvent>,
        (e) => (e.type === 'done' ? e.usage : undefined),
        true,
      )) {
        events.push(e);
      }
      return events;
    },
    async embed(params: EmbedParams, ctx: RouteContext): Promise<EmbedResult> {
      for await (const r of attempts<EmbedResult>(
        params.model,
        'embedding',
        ctx,
        (peer, signal) => synapse(peer, 'embed', params, signal) as AsyncIterable<EmbedResult>,
        (r) => ({ promptTokens: r.usage.promptTokens, completionTokens: 0 }),
        true,
      )) {
        return r;
      }
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
    onOutcome(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
