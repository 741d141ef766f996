/**
 * The typed Engine API client, derived from method definitions: `call`, `notify`, `batch` and `stream`
 * are typed by wire name. It validates params before sending and results/events on receipt (the server
 * is another compartment and is not trusted blindly), and every call has a deadline. A stream served by a
 * handler in this very process (the in-process transport's `openLocal`) is the exception: the server
 * validates its params once and its values are handed over as they are, parsed again only when the
 * event schema would change them ({@link schemaIsPlain}).
 */
import type { z } from 'zod';
import type { AnyMethod, Api, EventOf, ParamsIn, ResultOf, StreamNames, UnaryNames } from './define.js';
import { EngineError, EngineErrorCode, type ErrorDef, engineErrorFromWire } from './errors.js';
import { engine_cancelStreamV1 } from './methods/engine.js';
import { asResponse, encodeRequest, type RpcResponse } from './protocol.js';
import { schemaIsPlain } from './schemaPlain.js';
import type { DirectEvent, SseEvent, StreamEnd, Transport, TransportReply } from './transport.js';

export interface CallOpts {
  signal?: AbortSignal;
  /** Overrides the client's default timeout for this call. */
  timeoutMs?: number;
}

export interface StreamOpts {
  signal?: AbortSignal;
  /** Asks the server to end the stream with reason "deadline" after this long. */
  deadlineMs?: number;
}

/** An open stream: iterate it once; `cancel()` asks the server to stop, breaking the loop disconnects. */
export interface EngineStream<E> extends AsyncIterable<E> {
  readonly id: string;
  cancel(opts?: CallOpts): Promise<boolean>;
}

export type Settled<T> = { ok: true; result: T } | { ok: false; error: EngineError };
export type BatchEntry<A extends Api> = { [K in UnaryNames<A>]: readonly [K, ParamsIn<A[K]>] }[UnaryNames<A>];

export interface EngineClient<A extends Api> {
  call<K extends UnaryNames<A>>(method: K, params: ParamsIn<A[K]>, opts?: CallOpts): Promise<ResultOf<A[K]>>;
  notify<K extends UnaryNames<A>>(method: K, params: ParamsIn<A[K]>, opts?: CallOpts): Promise<void>;
  batch<const T extends readonly BatchEntry<A>[]>(
    calls: T,
    opts?: CallOpts,
  ): Promise<{ [I in keyof T]: Settled<ResultOf<A[T[I][0]]>> }>;
  stream<K extends StreamNames<A>>(
    method: K,
    params: ParamsIn<A[K]>,
    opts?: StreamOpts,
  ): Promise<EngineStream<EventOf<A[K]>>>;
  /** The server's OpenRPC document. */
  discover(opts?: CallOpts): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface EngineClientOpts {
  /** Default deadline of unary calls. */
  timeoutMs?: number;
}

/** Creates a client for `api` over `transport`. */
export function createEngineClient<A extends Api>(
  api: A,
  transport: Transport,
  opts: EngineClientOpts = {},
): EngineClient<A> {
  const defaultTimeout = opts.timeoutMs ?? 30_000;
  let nextId = 1;

  function def(method: string): AnyMethod {
    const d = api[method];
    if (d === undefined) throw EngineError.std('METHOD_NOT_FOUND', `${method} is not in this client's API`);
    return d;
  }

  function checkParams(d: AnyMethod, params: unknown): void {
    const r = d.params.safeParse(params);
    if (!r.success) {
      throw EngineError.std(
        'INVALID_PARAMS',
        `invalid params for ${d.name}: ${r.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`,
        {
          issues: r.error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })),
        },
      );
    }
  }

  function decodeResult(d: AnyMethod & { kind: 'unary' }, res: RpcResponse): unknown {
    if (res.error !== undefined) throw engineErrorFromWire(res.error, d.errors);
    const r = d.result.safeParse(res.result);
    if (!r.success) {
      throw EngineError.std(
        'INVALID_RESPONSE',
        `${d.name} answered a result that fails its schema: ${r.error.message}`,
      );
    }
    return r.data;
  }

  function parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw EngineError.std('INVALID_RESPONSE', 'the server answered something that is not JSON');
    }
  }

  async function send(body: string, o: CallOpts | undefined): Promise<TransportReply> {
    const timeoutMs = o?.timeoutMs ?? defaultTimeout;
    // A controller and a timer cleared on return: AbortSignal.timeout would keep a timer per call alive.
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const onAbort = () => ctl.abort();
    o?.signal?.addEventListener('abort', onAbort, { once: true });
    if (o?.signal?.aborted) ctl.abort();
    try {
      return await transport.request(body, { signal: ctl.signal, deadlineMs: timeoutMs });
    } catch (err) {
      if (ctl.signal.aborted && o?.signal?.aborted !== true) {
        const message = `no answer within ${timeoutMs} ms`;
        throw new EngineError('DEADLINE_EXCEEDED', EngineErrorCode.DEADLINE_EXCEEDED, message, {
          cause: err,
        });
      }
      throw transportFailure(err, o?.signal, 'call cancelled');
    } finally {
      clearTimeout(timer);
      o?.signal?.removeEventListener('abort', onAbort);
    }
  }

  function expectSingle(reply: TransportReply): RpcResponse {
    if (reply.kind !== 'json')
      throw EngineError.std('INVALID_RESPONSE', `expected a JSON reply, got ${reply.kind}`);
    const res = asResponse(parseJson(reply.body));
    if (res === undefined) throw EngineError.std('INVALID_RESPONSE', 'the reply is not a JSON-RPC response');
    return res;
  }

  async function callMethod(d: AnyMethod, params: unknown, o: CallOpts | undefined): Promise<unknown> {
    if (d.kind !== 'unary')
      throw EngineError.std('INVALID_REQUEST', `${d.name} is a stream method; use stream()`);
    checkParams(d, params);
    const id = nextId++;
    const res = expectSingle(await send(encodeRequest(id, d.name, params), o));
    if (res.error === undefined && res.id !== id)
      throw EngineError.std('INVALID_RESPONSE', 'response id mismatch');
    return decodeResult(d, res);
  }

  /** Opens a stream over the transport's socket path; throws when it is refused. */
  async function openStream(
    d: AnyMethod & { kind: 'stream' },
    params: unknown,
    signal: AbortSignal,
    o: StreamOpts | undefined,
  ): Promise<TransportReply & { kind: 'stream' }> {
    checkParams(d, params);
    let reply: TransportReply;
    try {
      reply = await transport.request(encodeRequest(nextId++, d.name, params), {
        signal,
        deadlineMs: o?.deadlineMs,
      });
    } catch (err) {
      throw transportFailure(err, o?.signal);
    }
    if (reply.kind === 'none')
      throw EngineError.std('INVALID_RESPONSE', 'the server sent no reply to a stream call');
    if (reply.kind === 'json') {
      const res = expectSingle(reply);
      throw res.error === undefined
        ? EngineError.std('INVALID_RESPONSE', 'expected a stream, got a result')
        : engineErrorFromWire(res.error, d.errors);
    }
    return reply;
  }

  const client: EngineClient<A> = {
    async call(method, params, o) {
      return (await callMethod(def(method), params, o)) as ResultOf<A[typeof method]>;
    },

    async notify(method, params, o) {
      checkParams(def(method), params);
      await send(encodeRequest(undefined, method, params), o);
    },

    async batch(calls, o) {
      const ids = calls.map(() => nextId++);
      const defs = calls.map(([m, p]) => {
        const d = def(m);
        if (d.kind !== 'unary')
          throw EngineError.std('INVALID_REQUEST', `${m} is a stream method and cannot be batched`);
        checkParams(d, p);
        return d;
      });
      const body = `[${calls.map(([m, p], i) => encodeRequest(ids[i], m, p)).join(',')}]`;
      const reply = await send(body, o);
      if (reply.kind !== 'json') throw EngineError.std('INVALID_RESPONSE', 'expected a JSON batch reply');
      const raw = parseJson(reply.body);
      if (!Array.isArray(raw)) {
        const single = asResponse(raw);
        if (single?.error !== undefined) throw engineErrorFromWire(single.error);
        throw EngineError.std('INVALID_RESPONSE', 'a batch must be answered with an array');
      }
      const byId = new Map<unknown, RpcResponse>();
      for (const r of raw) {
        const res = asResponse(r);
        if (res !== undefined) byId.set(res.id, res);
      }
      return calls.map((_, i) => {
        const res = byId.get(ids[i]);
        if (res === undefined) {
          return {
            ok: false,
            error: EngineError.std('INVALID_RESPONSE', 'no response for this batch entry'),
          };
        }
        try {
          return { ok: true, result: decodeResult(defs[i] as AnyMethod & { kind: 'unary' }, res) };
        } catch (error) {
          return { ok: false, error: error as EngineError };
        }
      }) as never;
    },

    async stream(method, params, o) {
      const d = def(method);
      if (d.kind !== 'stream')
        throw EngineError.std('INVALID_REQUEST', `${method} is a unary method; use call()`);
      // One controller for the stream, following the caller's signal until the stream is over (cheaper than
      // AbortSignal.any per stream on the hot path).
      const ctl = new AbortController();
      const signal = ctl.signal;
      const callerSignal = o?.signal;
      const follow = () => ctl.abort(callerSignal?.reason);
      if (callerSignal?.aborted) follow();
      else callerSignal?.addEventListener('abort', follow, { once: true });
      const unfollow = () => callerSignal?.removeEventListener('abort', follow);
      ctl.signal.addEventListener('abort', unfollow, { once: true });
      /** The stream is over: ended by the server (nothing to abort), or left early (abort it). */
      const settle = (ended: boolean) => {
        // A constant reason: abort() would build a DOMException with a stack for every stream left early.
        if (ended) unfollow();
        else ctl.abort(STREAM_LEFT);
      };
      const cancel = (streamId: string, co?: CallOpts) =>
        callMethod(engine_cancelStreamV1, { streamId }, co).then(
          (r) => (r as { cancelled: boolean }).cancelled,
        );
      const direct = transport.openLocal?.(method, params, { signal, deadlineMs: o?.deadlineMs });
      if (direct !== undefined) {
        if (direct.kind === 'error') {
          ctl.abort(STREAM_LEFT);
          throw engineErrorFromWire(direct.error, d.errors);
        }
        const decode = schemaIsPlain(d.event) ? undefined : d.event;
        return makeStream(
          decode,
          d.errors,
          direct.streamId,
          direct.events,
          settle,
          o?.signal,
          cancel,
        ) as EngineStream<EventOf<A[typeof method]>>;
      }
      let reply: TransportReply & { kind: 'stream' };
      try {
        reply = await openStream(d, params, signal, o);
      } catch (err) {
        ctl.abort(STREAM_LEFT);
        throw err;
      }
      // Every server answers engine_cancelStreamV1, whether or not this client's API lists it.
      return makeStream(
        d.event,
        d.errors,
        reply.streamId,
        reply.events,
        settle,
        o?.signal,
        cancel,
      ) as EngineStream<EventOf<A[typeof method]>>;
    },

    async discover(o) {
      const res = expectSingle(await send(encodeRequest(nextId++, 'rpc.discover', {}), o));
      if (res.error !== undefined) throw engineErrorFromWire(res.error);
      return res.result as Record<string, unknown>;
    },

    close: () => transport.close(),
  };
  return client;
}

/** Why a client's stream controller aborts once the stream is over or left (one object, made once). */
const STREAM_LEFT = new DOMException('the caller left the stream', 'AbortError');

/**
 * An open stream over either path: JSON text events from a socket (parsed and validated against `schema`),
 * or values from a handler in this process (`schema` undefined: handed over as they are).
 */
function makeStream(
  schema: z.ZodType | undefined,
  errors: readonly ErrorDef[],
  id: string,
  events: AsyncIterable<SseEvent | DirectEvent>,
  settle: (ended: boolean) => void,
  callerSignal: AbortSignal | undefined,
  cancel: (streamId: string, o?: CallOpts) => Promise<boolean>,
): EngineStream<unknown> {
  let used = false;
  const decode = (raw: unknown): unknown => {
    if (schema === undefined) return raw;
    const r = schema.safeParse(raw);
    if (!r.success)
      throw EngineError.std('INVALID_RESPONSE', `stream event fails its schema: ${r.error.message}`);
    return r.data;
  };
  return {
    id,
    cancel: (o) => cancel(id, o),
    async *[Symbol.asyncIterator]() {
      if (used) throw new TypeError('a stream can be iterated only once');
      used = true;
      let ended = false;
      try {
        for await (const ev of events) {
          if (ev.event === 'data') {
            yield 'value' in ev ? decode(ev.value) : decode(JSON.parse(ev.data));
          } else if (ev.event === 'end') {
            ended = true;
            const end = 'end' in ev ? ev.end : (JSON.parse(ev.data) as StreamEnd);
            if (end.error !== undefined) throw engineErrorFromWire(end.error, errors);
            if (callerSignal?.aborted) throw transportFailure(callerSignal.reason, callerSignal);
            return;
          }
        }
        throw EngineError.std('UNAVAILABLE', 'the stream closed without an end event');
      } catch (err) {
        // Same outcome over every transport: the caller's abort is CANCELLED, a lost link UNAVAILABLE.
        throw transportFailure(err, callerSignal);
      } finally {
        settle(ended);
      }
    },
  };
}

/** Maps a failure below the protocol (abort, socket error) to an EngineError; EngineErrors pass through. */
function transportFailure(
  err: unknown,
  callerSignal: AbortSignal | undefined,
  cancelled = 'stream cancelled by the caller',
): EngineError {
  if (err instanceof EngineError) return err;
  if (callerSignal?.aborted)
    return new EngineError('CANCELLED', EngineErrorCode.CANCELLED, cancelled, { cause: err });
  const message = `Engine API unreachable: ${(err as Error).message}`;
  return new EngineError('UNAVAILABLE', EngineErrorCode.UNAVAILABLE, message, { cause: err });
}
