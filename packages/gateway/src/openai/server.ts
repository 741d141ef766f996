/**
 * The OpenAI-compatible HTTP front door: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and
 * `/v1/models` on `node:http`, over the gateway's seams (Router, KeyAuthority, Limiter, UsageSink).
 * Authenticates before reading a byte of the body, refuses oversized bodies (by Content-Length without
 * reading, or as soon as a chunked body passes the limit), validates with zod, admits through the limiter,
 * relays to the router under one AbortSignal (client disconnect or the request deadline), and answers in
 * OpenAI's exact wire shapes, streamed as server-sent events when asked.
 *
 * It must never: answer a failure with a stream that looks complete (an error after the first byte is an
 * SSE `error` event and the stream ends without `[DONE]`), wait without a deadline, or buffer a stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '@subnet/config';
import { type Logger, randomHex, silentLogger } from '@subnet/utils';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import { GatewayError, GatewayErrorCode } from '../errors.js';
import { createLimiter } from '../limits.js';
import { type Meter, type Payments, RECEIPT_HEADER } from '../payments/service.js';
import type {
  GenerateEvent,
  GenerateParams,
  KeyAuthority,
  KeyRecord,
  Limiter,
  RouteContext,
  Router,
  UsageSink,
} from '../types.js';
import { COMPLETION_SLACK, promptBound } from '../usage.js';
import { X402_HEADERS } from '../x402.js';
import {
  fromZodError,
  invalidRequest,
  type OpenAiErrorBody,
  type OpenAiHttpError,
  rateLimitError,
  routeError,
  toOpenAiError,
} from './errors.js';
import { checkFields, type OpenAiRoute } from './fields.js';
import { ResponsesEncoder, responseToGenerate } from './responses.js';
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  EmbeddingRequestSchema,
  ResponseRequestSchema,
} from './schemas.js';
import {
  ChatEncoder,
  CompletionEncoder,
  candidateParams,
  chatToGenerate,
  completionToGenerate,
  type DoneEvent,
  embeddingResponse,
  embeddingToEmbed,
  type GenerationEncoder,
  type GenerationPlan,
  modelObject,
  sseError,
  type TokenEvent,
  type Usage,
} from './translate.js';

/** The slice of the `gateway` config the front door reads. */
export type OpenAiServerOpts = Pick<
  Config['gateway'],
  'host' | 'port' | 'maxBodyBytes' | 'requestTimeoutMs'
> & {
  /** `gateway.payments.keyBindsPerMinute` (default 10): account-bound keys one remote address may make a minute. */
  keyBindsPerMinute?: number;
};

export interface OpenAiServerModules {
  router: Router;
  keys: KeyAuthority;
  limiter: Limiter;
  usage: UsageSink;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** When given, `gateway_openai_requests_total{route,status}` is counted on it. */
  registry?: Registry;
  /**
   * The payment rail (issue 15): prices on `/v1/models`, `GET /v1/payments`, `POST /v1/payments/keys`,
   * metering with signed receipts for keys bound to a client's account, and x402 for requests with no
   * `Authorization` header (402 with `PAYMENT-REQUIRED`; served once `PAYMENT-SIGNATURE` pays). Without it
   * those routes answer 503, every key is free and a request without a key gets 401.
   */
  payments?: Payments;
  /**
   * Answers requests outside `/v1` (the dashboard): returns true when it took the request. Without it, or
   * when it declines, such requests get the OpenAI-style 404.
   */
  other?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** A listening front door. */
export interface OpenAiServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (clients use `${url}/v1`). */
  readonly url: string;
  readonly server: Server;
  /** Ends open requests (streams get an error event), stops listening and closes connections. Idempotent. */
  close(): Promise<void>;
}

type Method = 'GET' | 'POST';
type RouteName =
  | 'chat'
  | 'completions'
  | 'responses'
  | 'embeddings'
  | 'models'
  | 'model'
  | 'payments'
  | 'paymentKeys';

interface Route {
  name: RouteName;
  method: Method;
  /** The metric label and request-id prefix. */
  label: string;
  idPrefix: string;
}

const ROUTES = new Map<string, Route>([
  [
    '/v1/chat/completions',
    { name: 'chat', method: 'POST', label: '/v1/chat/completions', idPrefix: 'chatcmpl-' },
  ],
  ['/v1/completions', { name: 'completions', method: 'POST', label: '/v1/completions', idPrefix: 'cmpl-' }],
  ['/v1/responses', { name: 'responses', method: 'POST', label: '/v1/responses', idPrefix: 'resp_' }],
  ['/v1/embeddings', { name: 'embeddings', method: 'POST', label: '/v1/embeddings', idPrefix: 'embd-' }],
  ['/v1/models', { name: 'models', method: 'GET', label: '/v1/models', idPrefix: 'req-' }],
  ['/v1/payments', { name: 'payments', method: 'GET', label: '/v1/payments', idPrefix: 'req-' }],
  [
    '/v1/payments/keys',
    { name: 'paymentKeys', method: 'POST', label: '/v1/payments/keys', idPrefix: 'req-' },
  ],
]);
const MODEL_ROUTE: Route = { name: 'model', method: 'GET', label: '/v1/models/{id}', idPrefix: 'req-' };
const MODELS_PREFIX = '/v1/models/';

/** Coalesced stream output is written at once past this many characters. */
const FLUSH_CHARS = 16 * 1024;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** What every exchange shares: the metric and the logger. */
interface Front {
  requests: Counter<'route' | 'status'> | undefined;
  logger: Logger;
}

function ignore(): void {}

/** A metered request: its reservation and the miner serving it (told by the router). */
interface Metered {
  meter: Meter;
  miner: string | undefined;
}

/** How far each candidate generation got: its done event, or the tokens relayed before it failed. */
interface Outcome {
  dones: (DoneEvent | undefined)[];
  tokens: number[];
}

/** Whether every candidate finished. */
function finished(o: Outcome): o is { dones: DoneEvent[]; tokens: number[] } {
  return o.dones.every((d) => d !== undefined);
}

/** A response's usage as OpenAI reports it: the prompt once, the completions of all candidates summed. */
function reportedUsage(dones: readonly DoneEvent[]): Usage {
  let completionTokens = 0;
  for (const d of dones) completionTokens += d.usage.completionTokens;
  return { promptTokens: dones[0]?.usage.promptTokens ?? 0, completionTokens };
}

/**
 * What a request is charged and counted against its limits: every candidate's usage, its prompt included,
 * since each is a generation of its own on some miner. A candidate cut off after relaying tokens counts its
 * prompt's bound and the tokens relayed; one that relayed nothing counts nothing.
 */
function chargedUsage(o: Outcome, prompt: readonly string[]): Usage {
  const u: Usage = { promptTokens: 0, completionTokens: 0 };
  for (const [i, d] of o.dones.entries()) {
    const tokens = o.tokens[i] ?? 0;
    if (d !== undefined) {
      u.promptTokens += d.usage.promptTokens;
      u.completionTokens += d.usage.completionTokens;
    } else if (tokens > 0) {
      u.promptTokens += promptBound(prompt);
      u.completionTokens += tokens;
    }
  }
  return u;
}

/** Candidate indices by total logprob, best first (`best_of`); stable, so ties keep their order. */
function rankByLogprob(events: readonly (readonly TokenEvent[])[]): number[] {
  const score = events.map((evs) => evs.reduce((s, ev) => s + (ev.logprob ?? 0), 0));
  return score.map((_, i) => i).sort((a, b) => (score[b] as number) - (score[a] as number));
}

/** The prompt texts of a generation, as the usage counter sees them. */
function promptOf(p: GenerateParams): string[] {
  if (p.kind === 'completion') return [String(p.prompt ?? '')];
  return (p.messages ?? []).map((m) => String((m as { content?: unknown }).content ?? ''));
}

function utf8(texts: readonly string[]): number {
  let b = 0;
  for (const t of texts) b += Buffer.byteLength(t, 'utf8');
  return b;
}

function noPayments(): GatewayError {
  return new GatewayError(GatewayErrorCode.PAYMENTS_UNAVAILABLE, 'This gateway takes no payments.');
}

/** No key (`missing`) or an unknown one. */
function unauthorized(missing: boolean): GatewayError {
  return new GatewayError(
    GatewayErrorCode.UNAUTHORIZED,
    missing
      ? "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY), or pay for the request with x402 where this gateway takes payments."
      : 'Incorrect API key provided, or the key was revoked. Ask the validator operator for a valid key.',
  );
}

function missingDone(): GatewayError {
  return new GatewayError(
    GatewayErrorCode.UPSTREAM_FAILED,
    "The miner's answer ended without its final event; retry the request.",
  );
}

/**
 * One request and its response: the abort controller behind `RouteContext.signal`, the deadline timer,
 * and the coalescing buffer of a stream. Every write goes through it, so nothing is written after the
 * response ended (a deadline or a disconnect may end it while the router is still working).
 */
class Exchange {
  readonly controller = new AbortController();
  readonly ctx: RouteContext;
  /** Headers every response of this request carries (x402's `PAYMENT-RESPONSE`). */
  readonly extraHeaders: Record<string, string> = {};
  /** How an error is framed inside a stream that began (the Responses API's is an `error` event). */
  sseError: (body: OpenAiErrorBody) => string = sseError;
  private timer: NodeJS.Timeout | undefined;
  private pending = '';
  private scheduled = false;

  constructor(
    readonly front: Front,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: Route,
  ) {
    this.ctx = {
      signal: this.controller.signal,
      requestId: route.idPrefix + randomHex(12),
    };
  }

  get ended(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** Starts the deadline and aborts the signal when the client goes away first. */
  arm(timeoutMs: number): void {
    this.timer = setTimeout(onDeadline, timeoutMs, this, timeoutMs);
    this.res.once('close', () => {
      // Only a client that left before the answer was complete cancels it: an answer already ended here
      // (its last bytes possibly still in flight) is not (building the error per request cost CPU).
      if (!this.res.writableEnded)
        this.controller.abort(
          new GatewayError(GatewayErrorCode.CANCELLED, 'the client closed the connection'),
        );
    });
  }

  disarm(): void {
    clearTimeout(this.timer);
  }

  private count(status: number): void {
    this.front.requests?.inc({ route: this.route.label, status });
  }

  sendJson(status: number, body: string, headers?: Record<string, string>): void {
    if (this.ended) return;
    const head: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': this.ctx.requestId,
    };
    Object.assign(head, this.extraHeaders);
    if (headers !== undefined) Object.assign(head, headers);
    this.res.writeHead(status, head);
    this.res.end(body);
    this.count(status);
  }

  sendError(e: OpenAiHttpError): void {
    this.sendJson(e.status, JSON.stringify(e.body), e.headers);
  }

  /**
   * Answers a failure: as a JSON error with its status before the response began, as an SSE error event
   * ending the stream after. When the signal was aborted (deadline, disconnect, shutdown), its reason is
   * the failure, whatever the router threw on seeing it.
   */
  fail(err: unknown): void {
    if (this.ended) return;
    const signal = this.controller.signal;
    const e = toOpenAiError(signal.aborted ? signal.reason : err);
    if (e.status === 500)
      this.front.logger.error({ err, requestId: this.ctx.requestId }, 'openai request failed');
    // No miner, a miner's failure, or the deadline: the operator's to see (a client's own mistakes are not).
    else if (e.status > 500)
      this.front.logger.warn(
        { requestId: this.ctx.requestId, status: e.status, err: e.body.error.message },
        'openai request not served',
      );
    if (!this.res.headersSent) {
      this.sendError(e);
      return;
    }
    const out = this.pending + this.sseError(e.body);
    this.pending = '';
    this.res.end(out);
  }

  startStream(): void {
    if (this.ended) return;
    this.res.writeHead(200, { ...SSE_HEADERS, ...this.extraHeaders, 'x-request-id': this.ctx.requestId });
    this.count(200);
  }

  /** Queues stream text; what is queued in one turn of the event loop goes out in one write. */
  write(s: string): void {
    this.pending += s;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(flushLater, this);
    }
  }

  flush(): void {
    this.scheduled = false;
    const s = this.pending;
    this.pending = '';
    if (s !== '' && !this.ended) this.res.write(s);
  }

  /** Resolves once the client took the written data (or went away). */
  drained(): Promise<void> {
    const res = this.res;
    if (!res.writableNeedDrain || this.ended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  end(s: string): void {
    if (this.ended) return;
    const out = this.pending + s;
    this.pending = '';
    this.res.end(out);
  }
}

function flushLater(x: Exchange): void {
  x.flush();
}

function onDeadline(x: Exchange, timeoutMs: number): void {
  const err = new GatewayError(
    GatewayErrorCode.TIMEOUT,
    `The request did not finish within ${timeoutMs} ms (gateway.requestTimeoutMs); retry, or ask for fewer tokens.`,
  );
  x.controller.abort(err);
  // Answer now, even if the router ignores the signal.
  x.fail(err);
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const secret = header.slice(7).trim();
  return secret === '' ? undefined : secret;
}

function tooLarge(maxBodyBytes: number): GatewayError {
  return new GatewayError(
    GatewayErrorCode.TOO_LARGE,
    `The request body exceeds ${maxBodyBytes} bytes (gateway.maxBodyBytes); send less.`,
  );
}

/** Reads the body, refusing it as soon as it passes `max` bytes; rejects if the client goes away. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size < 0) return; // refused: the rest is drained and dropped
      size += chunk.length;
      if (size > max) {
        size = -1;
        chunks.length = 0;
        reject(tooLarge(max));
      } else chunks.push(chunk);
    });
    req.once('end', () => {
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      );
    });
    req.once('error', reject);
    // A request closes once its response is done too: only a body cut short is the client leaving (the
    // error is built only then; one per request cost CPU on the hot path).
    req.once('close', () => {
      if (!req.complete)
        reject(new GatewayError(GatewayErrorCode.CANCELLED, 'the client closed the connection'));
    });
  });
}

function parseJson<S extends z.ZodType>(body: string, schema: S, route?: OpenAiRoute): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw invalidRequest(
      'We could not parse the JSON body of your request. The API expects a JSON object; check that the body is valid JSON.',
    );
  }
  if (route !== undefined) checkFields(route, json);
  const parsed = schema.safeParse(json, { reportInput: true });
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/**
 * Starts the front door on `opts.host:opts.port` (port 0 = any free port) and resolves once it listens.
 */
export async function createOpenAiServer(
  opts: OpenAiServerOpts,
  modules: OpenAiServerModules,
): Promise<OpenAiServer> {
  const { router, keys, limiter, usage, payments } = modules;
  const bindLimiter = createLimiter();
  const logger = modules.logger ?? silentLogger();
  const front: Front = { requests: requestCounter(modules.registry), logger };
  const inflight = new Set<Exchange>();
  const created = Math.floor(Date.now() / 1000);
  let closing: Promise<void> | undefined;

  async function serve(x: Exchange): Promise<void> {
    const { req, route } = x;
    if (route.name === 'payments') {
      if (payments === undefined) throw noPayments();
      x.sendJson(200, JSON.stringify(await payments.info()));
      return;
    }
    if (route.name === 'paymentKeys') {
      if (payments === undefined) throw noPayments();
      // Each binding costs a chain read and a key: a bucket per remote address bounds how fast anyone mints.
      const bind = bindLimiter.admit(
        {
          id: req.socket.remoteAddress ?? 'unknown',
          name: 'key binding',
          requestsPerMinute: opts.keyBindsPerMinute ?? 10,
          tokensPerMinute: 1,
        },
        0,
      );
      if (!bind.ok) {
        x.sendError(rateLimitError('key binding', bind.reason, bind.retryAfterS));
        return;
      }
      const body = await readBody(req, opts.maxBodyBytes);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw invalidRequest('We could not parse the JSON body of your request.');
      }
      x.sendJson(200, JSON.stringify(await payments.bindKey(json)));
      return;
    }
    const auth = req.headers.authorization;
    const secret = bearer(auth);
    const key = secret === undefined ? undefined : keys.authenticate(secret);
    // No Authorization header on an inference route: the request may pay for itself with x402 (decided once
    // its body says what it may cost; see meterOf). A wrong key is a 401 either way.
    const mayPay = secret === undefined && payments !== undefined;
    if (key === undefined && (!mayPay || route.name === 'models' || route.name === 'model')) {
      throw unauthorized(secret === undefined);
    }
    if (route.name === 'models' || route.name === 'model') return serveModels(x);
    const declared = Number(req.headers['content-length']);
    if (declared > opts.maxBodyBytes) throw tooLarge(opts.maxBodyBytes);
    const body = await readBody(req, opts.maxBodyBytes);
    if (route.name === 'embeddings') return serveEmbeddings(x, key, body);
    let plan: GenerationPlan;
    let encoder: GenerationEncoder;
    const meta = { id: x.ctx.requestId, created: Math.floor(Date.now() / 1000), model: '' };
    if (route.name === 'chat') {
      const r = parseJson(body, ChatCompletionRequestSchema, 'chat');
      plan = chatToGenerate(r);
      meta.model = r.model;
      encoder = new ChatEncoder(
        meta,
        plan.logprobs !== undefined,
        plan.includeUsage,
        plan.choices,
        plan.toolMode,
      );
    } else if (route.name === 'responses') {
      const r = parseJson(body, ResponseRequestSchema, 'responses');
      plan = responseToGenerate(r);
      meta.model = r.model;
      const responses = new ResponsesEncoder(meta, r, plan.toolMode);
      encoder = responses;
      x.sseError = (b) => responses.error(b);
    } else {
      const r = parseJson(body, CompletionRequestSchema, 'completions');
      plan = completionToGenerate(r);
      meta.model = r.model;
      encoder = new CompletionEncoder(
        meta,
        plan.logprobs !== undefined,
        plan.includeUsage,
        plan.promptChars,
        plan.candidates,
      );
    }
    return serveGeneration(x, key, plan, encoder);
  }

  function admit(x: Exchange, key: KeyRecord, estimate: number): boolean {
    const decision = limiter.admit(key, estimate);
    if (decision.ok) {
      inflight.add(x);
      x.arm(opts.requestTimeoutMs);
      return true;
    }
    usage.rejected(key.id);
    x.sendError(rateLimitError(key.name, decision.reason, decision.retryAfterS));
    return false;
  }

  async function serveGeneration(
    x: Exchange,
    keyOrPayer: KeyRecord | undefined,
    plan: GenerationPlan,
    encoder: GenerationEncoder,
  ): Promise<void> {
    const prompt = promptOf(plan.params);
    // Every candidate is a generation of its own: the reservation covers all of them.
    const metering = await meterOf(x, keyOrPayer, plan.params.model, {
      promptTokens: plan.candidates * utf8(prompt),
      completionTokens: plan.candidates * ((plan.params.maxTokens ?? 0) + COMPLETION_SLACK),
    });
    if (metering === undefined) return;
    const { key, meter } = metering;
    if (!admit(x, key, plan.estimate)) {
      await meter?.finish(
        { promptTokens: 0, completionTokens: 0 },
        { miner: undefined, requestId: '', sign: false },
      );
      return;
    }
    const outcome: Outcome = {
      dones: Array.from({ length: plan.candidates }, () => undefined),
      tokens: Array.from({ length: plan.candidates }, () => 0),
    };
    const metered: Metered | undefined = meter === undefined ? undefined : { meter, miner: undefined };
    if (metered !== undefined)
      x.ctx.served = (hotkey) => {
        metered.miner = hotkey;
      };
    try {
      if (plan.stream) await stream(x, plan, encoder, outcome, metered);
      else await collect(x, plan, encoder, outcome, metered);
    } catch (err) {
      x.fail(err);
      // The other candidates of a failed request stop too.
      if (!x.controller.signal.aborted) x.controller.abort(err);
    } finally {
      x.disarm();
      inflight.delete(x);
      // A request that failed or was cut off after tokens were relayed is charged what was relayed: the
      // prompt's bound and the relayed tokens (no receipt: the response is gone or ended in an error).
      // A finished one was charged by receiptOf already (finish charges once).
      const charged = chargedUsage(outcome, prompt);
      metered?.meter
        .finish(charged, { miner: metered.miner, requestId: x.ctx.requestId, sign: false })
        .catch(ignore);
      const ok = finished(outcome);
      limiter.settle(key, plan.estimate, charged.promptTokens + charged.completionTokens);
      usage.record(key.id, {
        promptTokens: ok ? charged.promptTokens : 0,
        completionTokens: charged.completionTokens,
        ok,
      });
    }
  }

  /**
   * A whole answer: the candidates run at once (each picks its miner), and the router may fail over at any
   * point of each, since nothing reached the client yet. With `best_of`, the `n` candidates of the highest
   * total logprob are returned (every candidate is charged, as OpenAI bills them).
   */
  async function collect(
    x: Exchange,
    plan: GenerationPlan,
    encoder: GenerationEncoder,
    out: Outcome,
    metered: Metered | undefined,
  ): Promise<void> {
    const all = await Promise.all(out.dones.map((_, i) => router.complete(candidateParams(plan, i), x.ctx)));
    const tokens: TokenEvent[][] = [];
    const dones: DoneEvent[] = [];
    for (const events of all) {
      const own: TokenEvent[] = [];
      let done: DoneEvent | undefined;
      for (const ev of events) {
        if (ev.type === 'done') {
          done = ev;
          break;
        }
        own.push(ev);
      }
      if (done === undefined) throw missingDone();
      tokens.push(own);
      dones.push(done);
    }
    // Only a whole answer is counted: a request whose candidates did not all finish sent nothing.
    for (const [i, own] of tokens.entries()) {
      out.dones[i] = dones[i];
      out.tokens[i] = own.length;
      for (const ev of own) encoder.add(i, ev);
    }
    const order =
      plan.candidates > plan.choices ? rankByLogprob(tokens).slice(0, plan.choices) : [...dones.keys()];
    const receipt = await receiptOf(x, metered, chargedUsage(out, []));
    x.sendJson(
      200,
      encoder.body(order, dones, reportedUsage(dones)),
      receipt === undefined ? undefined : { [RECEIPT_HEADER]: receipt },
    );
  }

  /**
   * The key a request is served under and its meter: a bound key's reservation, no meter for a free key, and
   * for a request with no key (`undefined`) its x402 payment. Undefined when the 402 was answered.
   */
  async function meterOf(
    x: Exchange,
    key: KeyRecord | undefined,
    model: string,
    bounds: { promptTokens: number; completionTokens: number },
  ): Promise<{ key: KeyRecord; meter: Meter | undefined } | undefined> {
    if (key === undefined) {
      const paid = await payments?.x402({
        header: x.req.headers['payment-signature'],
        model,
        bounds,
        resource: x.route.label,
      });
      if (paid === undefined) throw unauthorized(true);
      if (!paid.paid) {
        x.sendJson(paid.answer.status, JSON.stringify(paid.answer.body), paid.answer.headers);
        return undefined;
      }
      x.extraHeaders[X402_HEADERS.PAYMENT_RESPONSE] = paid.responseHeader;
      return { key: paid.key, meter: paid.meter };
    }
    if (key.account === undefined) return { key, meter: undefined };
    if (payments === undefined) throw noPayments();
    const meter = await payments.begin(
      key as KeyRecord & { account: { client: string; digest: string } },
      model,
      bounds,
    );
    return { key, meter };
  }

  /** Charges a metered request that was answered, and returns its signed receipt (header value). */
  async function receiptOf(
    x: Exchange,
    metered: Metered | undefined,
    u: { promptTokens: number; completionTokens: number },
  ): Promise<string | undefined> {
    if (metered === undefined) return undefined;
    return metered.meter.finish(u, { miner: metered.miner, requestId: x.ctx.requestId, sign: true });
  }

  /**
   * A streamed answer, the candidates' chunks interleaved as they come (each with its choice index). Headers
   * wait for every candidate's first event, so a failure before them gets its own status.
   */
  async function stream(
    x: Exchange,
    plan: GenerationPlan,
    encoder: GenerationEncoder,
    out: Outcome,
    metered: Metered | undefined,
  ): Promise<void> {
    const its = out.dones.map((_, i) =>
      router.generate(candidateParams(plan, i), x.ctx)[Symbol.asyncIterator](),
    );
    type Step = { i: number; r: IteratorResult<GenerateEvent> };
    const step = (i: number): Promise<Step> => {
      const p = (its[i] as AsyncIterator<GenerateEvent>).next().then((r) => ({ i, r }));
      p.catch(ignore); // a candidate failing while another is awaited is seen when its turn comes
      return p;
    };
    try {
      const first = await Promise.all(its.map((_, i) => step(i)));
      if (first.every((s) => s.r.done === true)) throw missingDone();
      x.startStream();
      const open = encoder.open();
      if (open !== '') x.write(open);
      const pending = new Map<number, Promise<Step>>();
      const take = async ({ i, r }: Step): Promise<void> => {
        if (r.done === true) throw missingDone();
        const ev = r.value;
        if (ev.type === 'done') {
          out.dones[i] = ev;
          x.write(encoder.finish(i, ev));
          return;
        }
        out.tokens[i] = (out.tokens[i] ?? 0) + 1;
        x.write(encoder.chunk(i, ev));
        if (x.res.writableNeedDrain) await x.drained();
        pending.set(i, step(i));
      };
      for (const s of first) await take(s);
      while (pending.size > 0 && !x.ended) {
        const s = await Promise.race(pending.values());
        pending.delete(s.i);
        await take(s);
      }
      if (x.ended) return;
      if (!finished(out)) throw missingDone();
      // A stream's receipt cannot go in a header (sent before the cost is known): it is an SSE comment line
      // before the closing chunks, which every SSE parser (the `openai` client's included) skips.
      const receipt = await receiptOf(x, metered, chargedUsage(out, []));
      if (receipt !== undefined) x.write(`: ${RECEIPT_HEADER} ${receipt}\n\n`);
      x.end(encoder.close(reportedUsage(out.dones), out.dones));
    } finally {
      // Closes the router's iterations (a no-op when they finished); never waits on them.
      for (const it of its) it.return?.().then(ignore, ignore);
    }
  }

  async function serveEmbeddings(
    x: Exchange,
    keyOrPayer: KeyRecord | undefined,
    body: string,
  ): Promise<void> {
    const r = parseJson(body, EmbeddingRequestSchema, 'embeddings');
    const { params, estimate } = embeddingToEmbed(r);
    const input = typeof params.input === 'string' ? [params.input] : [...(params.input as string[])];
    const metering = await meterOf(x, keyOrPayer, params.model, {
      promptTokens: utf8(input),
      completionTokens: 0,
    });
    if (metering === undefined) return;
    const { key, meter } = metering;
    if (!admit(x, key, estimate)) {
      await meter?.finish(
        { promptTokens: 0, completionTokens: 0 },
        { miner: undefined, requestId: '', sign: false },
      );
      return;
    }
    const metered: Metered | undefined = meter === undefined ? undefined : { meter, miner: undefined };
    if (metered !== undefined)
      x.ctx.served = (hotkey) => {
        metered.miner = hotkey;
      };
    let promptTokens = -1;
    try {
      const result = await router.embed(params, x.ctx);
      promptTokens = result.usage.promptTokens;
      const receipt = await receiptOf(x, metered, { promptTokens, completionTokens: 0 });
      x.sendJson(
        200,
        embeddingResponse(r, result),
        receipt === undefined ? undefined : { [RECEIPT_HEADER]: receipt },
      );
    } catch (err) {
      x.fail(err);
    } finally {
      x.disarm();
      inflight.delete(x);
      // An embedding is all or nothing: one that failed is not charged (finish is a no-op once charged).
      metered?.meter
        .finish({ promptTokens: 0, completionTokens: 0 }, { miner: undefined, requestId: '', sign: false })
        .catch(ignore);
      const ok = promptTokens >= 0;
      limiter.settle(key, estimate, ok ? promptTokens : 0);
      usage.record(key.id, { promptTokens: ok ? promptTokens : 0, completionTokens: 0, ok });
    }
  }

  async function serveModels(x: Exchange): Promise<void> {
    const models = await router.models({ signal: AbortSignal.timeout(opts.requestTimeoutMs) });
    if (payments !== undefined) await payments.terms().catch(ignore);
    const withPrice = (id: string) => {
      const pricing = payments?.pricingOf(id);
      return pricing === undefined ? modelObject(id, created) : { ...modelObject(id, created), pricing };
    };
    if (x.route.name === 'models') {
      const data = models.map((m) => withPrice(m.id));
      x.sendJson(200, JSON.stringify({ object: 'list', data }));
      return;
    }
    const raw = (x.req.url ?? '').split('?', 1)[0]?.slice(MODELS_PREFIX.length) ?? '';
    let id: string;
    try {
      id = decodeURIComponent(raw);
    } catch {
      throw invalidRequest('The model id in the URL is not valid percent-encoding.', 'model');
    }
    if (!models.some((m) => m.id === id))
      throw new GatewayError(
        GatewayErrorCode.MODEL_NOT_FOUND,
        `The model '${id}' does not exist or no miner serves it now; GET /v1/models lists those served.`,
      );
    x.sendJson(200, JSON.stringify(withPrice(id)));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (modules.other !== undefined && path !== '/v1' && !path.startsWith('/v1/') && modules.other(req, res))
      return;
    const route = ROUTES.get(path) ?? (path.startsWith(MODELS_PREFIX) ? MODEL_ROUTE : undefined);
    if (route === undefined || req.method !== route.method) {
      const e = routeError(route === undefined ? 404 : 405, req.method ?? '', path);
      if (route !== undefined) e.headers = { allow: route.method };
      const body = JSON.stringify(e.body);
      res.writeHead(e.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...e.headers,
      });
      res.end(body);
      front.requests?.inc({ route: route?.label ?? 'unknown', status: e.status });
      return;
    }
    const x = new Exchange(front, req, res, route);
    if (closing !== undefined) {
      x.fail(new GatewayError(GatewayErrorCode.CANCELLED, 'The gateway is shutting down; retry on another.'));
      return;
    }
    serve(x).catch((err: unknown) => {
      if (hasCodeOf(err, GatewayErrorCode.TOO_LARGE)) res.shouldKeepAlive = false;
      x.fail(err);
    });
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  async function shutdown(): Promise<void> {
    const err = new GatewayError(
      GatewayErrorCode.CANCELLED,
      'The gateway is shutting down; retry on another.',
    );
    for (const x of inflight) {
      x.controller.abort(err);
      x.fail(err);
    }
    inflight.clear();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => {
      const sweep = setInterval(() => server.closeIdleConnections(), 20);
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(force);
        resolve();
      });
    });
  }

  return {
    url: `http://${host}:${address.port}`,
    server,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

function hasCodeOf(err: unknown, code: GatewayErrorCode): boolean {
  return (err as { code?: unknown } | null)?.code === code;
}

function requestCounter(registry: Registry | undefined): Counter<'route' | 'status'> | undefined {
  if (registry === undefined) return undefined;
  const name = 'gateway_openai_requests_total';
  registry.removeSingleMetric(name);
  return new Counter({
    name,
    help: 'Requests to the OpenAI-compatible API, by route and HTTP status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
}
