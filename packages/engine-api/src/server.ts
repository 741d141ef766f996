/**
 * The Engine API dispatcher, independent of any socket: `handle(body, ctx)` takes a request body and
 * answers with JSON text, nothing, or an event stream. Local methods run their handlers; namespaces routed
 * to another process are forwarded through a transport (streams are relayed event by event). It owns the
 * registry of open streams, their deadlines and cancellation, and must never throw on any input.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage, type Logger, silentLogger, sleep } from '@subnet/utils';
import type { z } from 'zod';
import { type AnyMethod, type Api, type CallContext, defineApi, type Handlers } from './define.js';
import { EngineError, EngineErrorCode, type WireError } from './errors.js';
import { engineMethods } from './methods/engine.js';
import type { EngineMetrics } from './metrics.js';
import { openRpcDocument } from './openrpc.js';
import {
  encodeError,
  encodeRequest,
  encodeResult,
  type ParsedItem,
  parseBody,
  type RpcCall,
} from './protocol.js';
import type {
  DirectEvent,
  DirectReply,
  SseEvent,
  StreamEnd,
  Transport,
  TransportReply,
} from './transport.js';

/** Validated, defaulted server options. */
export interface EngineServerOpts {
  /** Longest a stream may stay open. */
  streamDeadlineMs: number;
  /** Most streams open at once; more are refused with OVERLOADED. */
  maxStreams: number;
  /** Title used in the OpenRPC document. */
  title?: string;
  /** Version used in the OpenRPC document. */
  version?: string;
}

export interface EngineServerModules {
  logger?: Logger;
  metrics?: EngineMetrics;
}

/** Per-request context supplied by the transport binding. */
export interface RequestContext {
  /** Aborts when the caller goes away. */
  signal: AbortSignal;
  /** Authenticated caller. */
  caller: string;
  /** Deadline asked for by the caller. */
  deadlineMs?: number | undefined;
}

interface LocalMethod {
  def: AnyMethod;
  // biome-ignore lint/suspicious/noExplicitAny: handlers are typed at registration, erased here.
  handler: (params: any, ctx: CallContext) => any;
}

interface Route {
  methods: readonly AnyMethod[];
  transport: Transport | undefined;
}

export interface EngineServer {
  /** Serves `api` with `handlers` in this process. */
  register<A extends Api>(api: A, handlers: Handlers<A>): void;
  /** Forwards a namespace to another process; `transport: undefined` marks it as temporarily unavailable. */
  route(namespace: string, route: Route): void;
  /** Removes a route (the namespace is no longer served at all). */
  unroute(namespace: string): void;
  /** Answers one request body. Never throws. */
  handle(body: string, ctx: RequestContext): Promise<TransportReply>;
  /**
   * The trusted in-process path: opens `method` when a handler in this process serves it as a stream, and
   * hands its values over as they are (no JSON; the params are validated here, once). The stream is tracked,
   * bounded, timed and cancelled exactly as one opened through `handle`. `undefined` when no local stream
   * handler serves `method` (routed, unary or unknown): use `handle`.
   */
  openLocal(method: string, params: unknown, ctx: RequestContext): DirectReply | undefined;
  /** Cancels an open stream; false when none has that id. */
  cancelStream(streamId: string): boolean;
  /** Number of streams open now. */
  readonly openStreams: number;
  /** Every method this server answers (local and routed). */
  methods(): AnyMethod[];
  /** Ends every open stream with reason "shutdown". */
  close(): Promise<void>;
}

const noop = () => {};
const ABORTED = Symbol('aborted');

function wireOf(err: unknown, logger: Logger, method: string): WireError {
  if (err instanceof EngineError) return err.toWire();
  logger.error({ err, method }, 'handler failed');
  return {
    code: EngineErrorCode.INTERNAL_ERROR,
    message: `internal error in ${method}: ${errorMessage(err)}`,
  };
}

function paramsError(method: AnyMethod, issues: z.core.$ZodIssue[]): WireError {
  return {
    code: EngineErrorCode.INVALID_PARAMS,
    message: `invalid params for ${method.name}: ${issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(params)'}: ${i.message}`)
      .join('; ')}`,
    data: { issues: issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })) },
  };
}

/** Creates a dispatcher. Register handlers and routes, then hand it to a binding (HTTP or in-process). */
export function createEngineServer(opts: EngineServerOpts, modules: EngineServerModules = {}): EngineServer {
  const logger = modules.logger ?? silentLogger();
  const metrics = modules.metrics;
  const local = new Map<string, LocalMethod>();
  const routes = new Map<string, Route>();
  const streams = new Map<string, AbortController>();

  const server: EngineServer = {
    register(api, handlers) {
      for (const [name, def] of Object.entries(api)) {
        if (local.has(name)) throw new TypeError(`method ${name} is already registered`);
        const handler = (handlers as Record<string, LocalMethod['handler']>)[name];
        if (typeof handler !== 'function') throw new TypeError(`no handler for ${name}`);
        local.set(name, { def, handler });
      }
    },
    route(namespace, route) {
      routes.set(namespace, route);
    },
    unroute(namespace) {
      routes.delete(namespace);
    },
    get openStreams() {
      return streams.size;
    },
    openLocal(method, params, ctx) {
      const m = local.get(method);
      if (m === undefined || m.def.kind !== 'stream') return undefined;
      const opened = openLocalStream(m, params, ctx);
      if ('error' in opened) return { kind: 'error', error: opened.error };
      const { streamId, ctl, source } = opened;
      return {
        kind: 'stream',
        streamId,
        events: pump(streamId, ctl, source, method, { isEnd: never, wrap: directValue, finish: directEnd }),
      };
    },
    cancelStream(streamId) {
      const ctl = streams.get(streamId);
      if (ctl === undefined) return false;
      ctl.abort('cancelled');
      return true;
    },
    methods() {
      const out = [...local.values()].map((m) => m.def);
      for (const r of routes.values()) out.push(...r.methods);
      return out;
    },
    async close() {
      for (const ctl of streams.values()) ctl.abort('shutdown');
    },
    async handle(body, ctx) {
      try {
        return await handleBody(body, ctx);
      } catch (err) {
        logger.error({ err }, 'engine server failed on a request');
        return { kind: 'json', body: encodeError(null, wireOf(err, logger, 'request')) };
      }
    },
  };

  // Methods outside the namespace scheme that every server answers (OpenRPC service discovery).
  const builtins: Record<string, (params: unknown) => unknown> = {
    'rpc.discover': () =>
      openRpcDocument(server.methods(), {
        title: opts.title ?? 'Engine API',
        version: opts.version ?? '1.0.0',
      }),
  };

  async function handleBody(body: string, ctx: RequestContext): Promise<TransportReply> {
    const parsed = parseBody(body);
    if (parsed.kind === 'invalid') return { kind: 'json', body: encodeError(null, parsed.error) };
    if (parsed.kind === 'single') {
      const item = parsed.item;
      if (item.ok && isStream(item.call.method)) return openStream(item.call, ctx);
      const out = await answer(item, ctx);
      return out === undefined ? { kind: 'none' } : { kind: 'json', body: out };
    }
    const outs = await Promise.all(parsed.items.map((item) => answer(item, ctx, true)));
    const present = outs.filter((o): o is string => o !== undefined);
    return present.length === 0 ? { kind: 'none' } : { kind: 'json', body: `[${present.join(',')}]` };
  }

  function isStream(method: string): boolean {
    const m = local.get(method);
    if (m !== undefined) return m.def.kind === 'stream';
    const r = routes.get(namespaceOf(method));
    return r?.methods.find((d) => d.name === method)?.kind === 'stream';
  }

  /** Answers one unary item; `undefined` for notifications. */
  async function answer(item: ParsedItem, ctx: RequestContext, inBatch = false): Promise<string | undefined> {
    if (!item.ok) return encodeError(item.id, item.error);
    const { call } = item;
    const started = performance.now();
    const out = await answerCall(call, ctx, inBatch);
    // Unknown names are not used as labels: a caller must not be able to grow the metric set.
    const label = out.outcome === 'not_found' ? '(unknown)' : call.method;
    metrics?.observeCall(label, out.outcome, (performance.now() - started) / 1000);
    if (call.id === undefined) return undefined;
    return (
      out.text ??
      (out.error === undefined ? encodeResult(call.id, out.result) : encodeError(call.id, out.error))
    );
  }

  type Outcome = { outcome: string; result?: unknown; error?: WireError; text?: string };

  async function answerCall(call: RpcCall, ctx: RequestContext, inBatch: boolean): Promise<Outcome> {
    const builtin = builtins[call.method];
    if (builtin !== undefined) return { outcome: 'ok', result: builtin(call.params) };
    const m = local.get(call.method);
    if (m === undefined) {
      const route = routes.get(namespaceOf(call.method));
      const def = route?.methods.find((d) => d.name === call.method);
      if (route === undefined || def === undefined) {
        return {
          outcome: 'not_found',
          error: {
            code: EngineErrorCode.METHOD_NOT_FOUND,
            message: `unknown method "${call.method}"; call rpc.discover for the list of methods`,
          },
        };
      }
      if (def.kind === 'stream') return streamInBatch(call, inBatch);
      if (route.transport === undefined) return unavailable(call.method);
      try {
        const reply = await route.transport.request(encodeRequest(call.id, call.method, call.params), {
          signal: ctx.signal,
          deadlineMs: ctx.deadlineMs,
        });
        if (reply.kind === 'json') return { outcome: 'forwarded', text: reply.body };
        return { outcome: 'forwarded' };
      } catch (err) {
        logger.warn({ err, method: call.method }, 'forwarding failed');
        return unavailable(call.method);
      }
    }
    if (m.def.kind === 'stream') return streamInBatch(call, inBatch);
    if (Array.isArray(call.params)) return byNameOnly(m.def);
    const parsed = m.def.params.safeParse(call.params ?? {});
    if (!parsed.success) return { outcome: 'invalid_params', error: paramsError(m.def, parsed.error.issues) };
    const scope = callScope(ctx);
    try {
      const result = await m.handler(parsed.data, scope.ctx);
      return { outcome: 'ok', result };
    } catch (err) {
      if (scope.timedOut() && !(err instanceof EngineError)) {
        return {
          outcome: 'deadline',
          error: EngineError.std(
            'DEADLINE_EXCEEDED',
            `${call.method} ran past its ${ctx.deadlineMs} ms deadline`,
          ).toWire(),
        };
      }
      const error = wireOf(err, logger, call.method);
      return { outcome: `error_${error.code}`, error };
    } finally {
      scope.dispose();
    }
  }

  function byNameOnly(def: AnyMethod): Outcome {
    return {
      outcome: 'invalid_params',
      error: {
        code: EngineErrorCode.INVALID_PARAMS,
        message: `${def.name} takes params by name (a JSON object), not an array`,
      },
    };
  }

  function streamInBatch(call: RpcCall, inBatch: boolean): Outcome {
    return {
      outcome: 'invalid_request',
      error: {
        code: EngineErrorCode.INVALID_REQUEST,
        message: inBatch
          ? `${call.method} is a stream method and cannot be part of a batch`
          : `${call.method} is a stream method and needs an id (it cannot be a notification)`,
      },
    };
  }

  function unavailable(method: string): Outcome {
    return {
      outcome: 'unavailable',
      error: EngineError.std(
        'UNAVAILABLE',
        `the stack serving ${namespaceOf(method)}_* is not running; retry shortly`,
      ).toWire(),
    };
  }

  function jsonError(id: RpcCall['id'], error: WireError): TransportReply {
    return id === undefined ? { kind: 'none' } : { kind: 'json', body: encodeError(id, error) };
  }

  async function openStream(call: RpcCall, ctx: RequestContext): Promise<TransportReply> {
    if (call.id === undefined) return { kind: 'none' };
    const m = local.get(call.method);
    if (m !== undefined) {
      const opened = openLocalStream(m, call.params, ctx);
      if ('error' in opened) return jsonError(call.id, opened.error);
      const { streamId, ctl, source } = opened;
      return {
        kind: 'stream',
        streamId,
        events: pump(streamId, ctl, source, call.method, sseOfValues(streamId)),
      };
    }
    if (streams.size >= opts.maxStreams) return jsonError(call.id, overloaded());
    const deadlineMs = Math.min(opts.streamDeadlineMs, ctx.deadlineMs ?? Number.POSITIVE_INFINITY);
    const route = routes.get(namespaceOf(call.method));
    if (route?.transport === undefined)
      return jsonError(call.id, unavailable(call.method).error as WireError);
    // Relay: the upstream stream keeps its id; cancelling here aborts the upstream request.
    const upstreamCtl = new AbortController();
    let reply: TransportReply;
    try {
      reply = await route.transport.request(encodeRequest(call.id, call.method, call.params), {
        signal: AbortSignal.any([ctx.signal, upstreamCtl.signal]),
        deadlineMs,
      });
    } catch (err) {
      logger.warn({ err, method: call.method }, 'stream forwarding failed');
      return jsonError(call.id, unavailable(call.method).error as WireError);
    }
    if (reply.kind !== 'stream') return reply;
    const ctl = track(reply.streamId, ctx, deadlineMs);
    ctl.signal.addEventListener('abort', () => upstreamCtl.abort(ctl.signal.reason), { once: true });
    return {
      kind: 'stream',
      streamId: reply.streamId,
      events: pump(reply.streamId, ctl, relayEvents(reply.events), call.method, sseOfRelay(reply.streamId)),
    };
  }

  const overloaded = (): WireError =>
    EngineError.std('OVERLOADED', `too many open streams (${opts.maxStreams}); retry later`).toWire();

  /** Checks the limit and the params, tracks the stream and starts its handler; or the refusal. */
  function openLocalStream(
    m: LocalMethod,
    params: unknown,
    ctx: RequestContext,
  ): { streamId: string; ctl: AbortController; source: AsyncIterable<unknown> } | { error: WireError } {
    if (streams.size >= opts.maxStreams) return { error: overloaded() };
    if (Array.isArray(params)) return { error: byNameOnly(m.def).error as WireError };
    const parsed = m.def.params.safeParse(params ?? {});
    if (!parsed.success) return { error: paramsError(m.def, parsed.error.issues) };
    const deadlineMs = Math.min(opts.streamDeadlineMs, ctx.deadlineMs ?? Number.POSITIVE_INFINITY);
    const streamId = randomUUID();
    const ctl = track(streamId, ctx, deadlineMs);
    try {
      const source = m.handler(parsed.data, {
        signal: ctl.signal,
        caller: ctx.caller,
      }) as AsyncIterable<unknown>;
      return { streamId, ctl, source };
    } catch (err) {
      untrack(streamId);
      return { error: wireOf(err, logger, m.def.name) };
    }
  }

  function track(streamId: string, ctx: RequestContext, deadlineMs: number): AbortController {
    const ctl = new AbortController();
    streams.set(streamId, ctl);
    metrics?.setOpenStreams(streams.size);
    const onDisconnect = () => ctl.abort('disconnect');
    // A stream whose events are never pulled (the caller left before the reply reached it, or never read
    // it) has no pump to clean up after it: forget it as soon as it is aborted.
    ctl.signal.addEventListener(
      'abort',
      () => {
        if (!pumping.has(streamId)) untrack(streamId);
      },
      { once: true },
    );
    const timer = Number.isFinite(deadlineMs)
      ? setTimeout(() => ctl.abort('deadline'), deadlineMs)
      : undefined;
    cleanups.set(streamId, () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onDisconnect);
    });
    if (ctx.signal.aborted) ctl.abort('disconnect');
    else ctx.signal.addEventListener('abort', onDisconnect, { once: true });
    return ctl;
  }

  const cleanups = new Map<string, () => void>();
  /** Streams whose pump has started (and will untrack them when it ends). */
  const pumping = new Set<string>();

  function untrack(streamId: string): void {
    cleanups.get(streamId)?.();
    cleanups.delete(streamId);
    streams.delete(streamId);
    metrics?.setOpenStreams(streams.size);
  }

  /** The socket transports' shape of a local stream: each value as JSON text. */
  const sseOfValues = (streamId: string) => ({
    start: sseStart(streamId),
    isEnd: never,
    wrap: (value: unknown): SseEvent => ({ event: 'data', data: JSON.stringify(value) }),
    finish: sseEnd,
  });

  /** The socket transports' shape of a relayed stream: upstream events as they came. */
  const sseOfRelay = (streamId: string) => ({
    start: sseStart(streamId),
    isEnd: isStreamEnd,
    wrap: (ev: SseEvent): SseEvent => ev,
    finish: sseEnd,
  });

  async function* relayEvents(source: AsyncIterable<SseEvent>): AsyncGenerator<SseEvent | StreamEnd> {
    try {
      yield* relayUntilEnd(source);
    } catch (err) {
      logger.warn({ err }, 'upstream stream failed');
      yield {
        reason: 'error',
        error: EngineError.std('UNAVAILABLE', 'the upstream stack went away mid-stream').toWire(),
      };
    }
  }

  async function* relayUntilEnd(source: AsyncIterable<SseEvent>): AsyncGenerator<SseEvent | StreamEnd> {
    for await (const ev of source) {
      if (ev.event === 'data') yield ev;
      else if (ev.event === 'end') {
        try {
          yield JSON.parse(ev.data) as StreamEnd;
        } catch {
          yield {
            reason: 'error',
            error: { code: EngineErrorCode.INTERNAL_ERROR, message: 'upstream sent a malformed end event' },
          };
        }
        return;
      }
    }
    yield {
      reason: 'error',
      error: EngineError.std('UNAVAILABLE', 'the upstream stack went away mid-stream').toWire(),
    };
  }

  /**
   * Drives one stream: `start` (when given), then each item as the consumer pulls (so a slow reader slows the
   * producer), then the end with its reason. Consumer `return()` counts as a disconnect. `isEnd` picks an
   * upstream end out of a relayed source; `wrap` and `finish` shape the items and the end for the transport
   * (JSON text for a socket, values for the in-process path).
   */
  async function* pump<T, U>(
    streamId: string,
    ctl: AbortController,
    source: AsyncIterable<T | StreamEnd>,
    method: string,
    shape: {
      start?: U;
      isEnd: (item: T | StreamEnd) => item is StreamEnd;
      wrap: (item: T) => U;
      finish: (end: StreamEnd) => U;
    },
  ): AsyncGenerator<U> {
    pumping.add(streamId);
    const it = source[Symbol.asyncIterator]();
    // One pending "next" at a time; an abort resolves it early. (A Promise.race against one long-lived
    // abort promise would pile up a reaction per event until the stream ends.)
    let wake: ((v: typeof ABORTED) => void) | undefined;
    const onAbort = () => wake?.(ABORTED);
    ctl.signal.addEventListener('abort', onAbort, { once: true });
    const next = (): Promise<IteratorResult<T | StreamEnd> | typeof ABORTED> =>
      ctl.signal.aborted
        ? Promise.resolve(ABORTED)
        : new Promise((resolve, reject) => {
            wake = resolve;
            it.next().then(resolve, reject);
          });
    let end: StreamEnd = { reason: 'complete' };
    let finished = false;
    let events = 0;
    try {
      if (shape.start !== undefined) yield shape.start;
      for (;;) {
        const r = await next();
        if (r === ABORTED) {
          const why = ctl.signal.reason;
          end =
            why === 'deadline'
              ? {
                  reason: 'deadline',
                  error: EngineError.std('DEADLINE_EXCEEDED', `${method} ran past its deadline`).toWire(),
                }
              : why === 'shutdown'
                ? { reason: 'shutdown' }
                : { reason: 'cancelled' };
          break;
        }
        if (r.done === true) break;
        const ev = r.value;
        if (shape.isEnd(ev)) {
          end = ev;
          break;
        }
        events++;
        yield shape.wrap(ev);
      }
      finished = true;
    } catch (err) {
      end = { reason: 'error', error: wireOf(err, logger, method) };
      finished = true;
    } finally {
      wake = undefined;
      ctl.signal.removeEventListener('abort', onAbort);
      pumping.delete(streamId);
      untrack(streamId);
      metrics?.countStreamEvents(events);
      if (!ctl.signal.aborted) ctl.abort(finished ? 'finished' : 'disconnect');
      it.return?.().catch(noop);
    }
    yield shape.finish(end);
  }

  server.register(engineApiBuiltins, {
    engine_cancelStreamV1: ({ streamId }) => ({ cancelled: server.cancelStream(streamId) }),
    engine_echoV1: ({ payload }) => ({ payload }),
    engine_echoStreamV1: (params, ctx) => echoStream(params, ctx.signal),
  });
  return server;
}

const engineApiBuiltins = defineApi(engineMethods);

async function* echoStream(
  p: { payload: string; count: number; intervalMs: number },
  signal: AbortSignal,
): AsyncGenerator<{ seq: number; payload: string }> {
  for (let seq = 0; seq < p.count; seq++) {
    if (p.intervalMs > 0 && seq > 0) await sleep(p.intervalMs, { signal });
    yield { seq, payload: p.payload };
  }
}

const never = (_: unknown): _ is StreamEnd => false;
const isStreamEnd = (ev: SseEvent | StreamEnd): ev is StreamEnd => 'reason' in ev;
const sseStart = (streamId: string): SseEvent => ({ event: 'start', data: JSON.stringify({ streamId }) });
const sseEnd = (end: StreamEnd): SseEvent => ({ event: 'end', data: JSON.stringify(end) });
const directValue = (value: unknown): DirectEvent => ({ event: 'data', value });
const directEnd = (end: StreamEnd): DirectEvent => ({ event: 'end', end });

function namespaceOf(method: string): string {
  const i = method.indexOf('_');
  return i < 0 ? method : method.slice(0, i);
}

/**
 * The context of one unary call. The deadline's controller is made only if the handler reads `signal`,
 * and its timer is always cleared when the call ends, so a call leaves nothing behind.
 */
function callScope(ctx: RequestContext): { ctx: CallContext; timedOut(): boolean; dispose(): void } {
  const { deadlineMs } = ctx;
  if (deadlineMs === undefined) {
    return { ctx: { signal: ctx.signal, caller: ctx.caller }, timedOut: () => false, dispose: noop };
  }
  const started = performance.now();
  let ctl: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const onAbort = () => ctl?.abort(ctx.signal.reason);
  return {
    ctx: {
      caller: ctx.caller,
      get signal() {
        if (ctl === undefined) {
          ctl = new AbortController();
          const c = ctl;
          const left = deadlineMs - (performance.now() - started);
          timer = setTimeout(
            () => {
              expired = true;
              c.abort('deadline');
            },
            Math.max(0, left),
          );
          if (ctx.signal.aborted) c.abort(ctx.signal.reason);
          else ctx.signal.addEventListener('abort', onAbort, { once: true });
        }
        return ctl.signal;
      },
    },
    timedOut: () => expired || (performance.now() - started >= deadlineMs && !ctx.signal.aborted),
    dispose() {
      clearTimeout(timer);
      if (ctl !== undefined) ctx.signal.removeEventListener('abort', onAbort);
    },
  };
}
