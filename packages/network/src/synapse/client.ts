/**
 * The validator's side of the synapse protocol: one long-lived stream per miner, opened on first use
 * (concurrent first requests share the dial) and reopened after it dies, carrying any number of requests
 * multiplexed by id. Each request is an async iterable of its events and a final `done` carrying the
 * hashes that the miner's receipt must match. Every request ends: with `done`, or with a NetworkError
 * (refused, remote error, timeout at its own deadline, peer gone, cancelled), even if the miner is silent.
 * Never trusts the miner: each event is validated against its kind's schema and bounded (text per token,
 * token events per answer, logprob entries, embedding vectors and dimensions, one event for one-event
 * kinds), the whole response is capped in bytes, frames for requests that are not open are counted per
 * stream without being parsed, and the bytes held for a miner (unconsumed events, an incomplete frame)
 * are capped. A miner over any bound fails the request with OVER_LIMIT, is cut off (stream reset,
 * connection closed) and is not asked again for `overLimitBanMs`. Params are canonicalised before
 * sending (parsed with the kind's strict schema), so every frame of a kind has the same shape.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { MAX_TOKEN_IDS } from '@subnet/engine-api';
import { type Logger, randomHex } from '@subnet/utils';
import type { Address, Hex } from 'viem';
import type { z } from 'zod';
import {
  LimitName,
  NetworkError,
  NetworkErrorCode,
  type NetworkErrorMeta,
  type RefusalReason,
} from '../errors.js';
import { addressOfPeerId } from '../identity.js';
import type { Membership } from '../membership.js';
import type { NetworkMetrics } from '../metrics.js';
import { FrameDecoder, FrameWriter } from './framing.js';
import { FrameHash, sha256Hex } from './merkle.js';
import {
  type ErrorFrame,
  ErrorFrameSchema,
  frameHead,
  ReceiptFrameSchema,
  SYNAPSE_KINDS,
  type SynapseEventData,
  type SynapseKind,
  type SynapseParams,
  type SynapseParamsInput,
  synapseProtocol,
} from './protocol.js';
import { createReceiptStore, type ReceiptStore } from './receipts.js';

/** The `network.synapse` limits the client uses, and the subnet. Unset limits take the config defaults. */
export interface SynapseClientOpts {
  netuid: number;
  maxResponseBytes: number;
  /** Largest UTF-8 text of one token event or top-logprob entry (default 1 KiB). */
  maxTokenTextBytes?: number;
  /** Token events an answer may hold beyond the request's maxTokens (default 8). */
  tokenSlack?: number;
  /** Most dimensions of one embedding vector (default 8192). */
  maxEmbeddingDims?: number;
  /** Bytes of frames for requests not open that one stream may carry (default 1 MiB). */
  maxStrayBytes?: number;
  /** Bytes held for one miner: unconsumed events of open requests and an incomplete frame (default 64 MiB). */
  maxBufferedBytes?: number;
  /** How long a miner that broke a bound is not asked again (default 60 s; 0: not at all). */
  overLimitBanMs?: number;
  /** How long opening a stream to a miner may take (default 10 s; each request's deadline still applies). */
  dialTimeoutMs?: number;
}

export interface SynapseClientModules {
  /**
   * `getConnections` (or else `hangUp`), when given, cuts the connections of a miner that broke a bound: they
   * are aborted, not closed gracefully, since a graceful close waits on the hostile peer's streams (seen in CI
   * under load: still open 20 s later).
   */
  libp2p: Pick<Libp2p, 'dialProtocol' | 'peerId'> & Partial<Pick<Libp2p, 'hangUp' | 'getConnections'>>;
  /** When given, requests to peers that are not registered fail fast with PEER_NOT_FOUND. */
  membership?: Membership | undefined;
  /** Where receipts go (one is created when absent). */
  receipts?: ReceiptStore | undefined;
  metrics?: NetworkMetrics | undefined;
  logger?: Logger | undefined;
}

/** One synapse to send. */
export interface SynapseRequest<K extends SynapseKind = SynapseKind> {
  kind: K;
  params: SynapseParamsInput<K>;
  /** The whole request (dial included) must end within this; the miner is told the same deadline. */
  deadlineMs: number;
}

/** The last item of every successful synapse: the `network_sendSynapseV1` done event. */
export interface SynapseDone {
  type: 'done';
  requestId: string;
  /** sha256 of the request frame's bytes. */
  requestHash: Hex;
  /** sha256 over the bytes of every event frame, in order. */
  responseHash: Hex;
  latencyMs: number;
  /** Time to the first event; null when there was none. */
  firstEventMs: number | null;
}

/** What a synapse yields: its events, then one done. */
export type SynapseResult<K extends SynapseKind = SynapseKind> =
  | { type: 'event'; data: SynapseEventData<K> }
  | SynapseDone;

export interface SynapseClient {
  /**
   * Sends a synapse to a miner and yields its events, then `done`. Fails with a NetworkError: REFUSED
   * (`meta.reason`), REMOTE_ERROR (`meta.remoteCode`), OVER_LIMIT (`meta.limit`), TIMEOUT, PEER_GONE,
   * CANCELLED, DIAL_FAILED, PEER_NOT_FOUND or INVALID_INPUT (params that do not match the kind's strict
   * schema, `priority` included). Breaking out of the loop cancels the request at the miner.
   */
  request<K extends SynapseKind>(
    peer: PeerId | string,
    req: SynapseRequest<K>,
    opts?: { signal?: AbortSignal | undefined },
  ): AsyncIterable<SynapseResult<K>>;
  /** The receipts of this client's requests. */
  readonly receipts: ReceiptStore;
  /** Open miner streams. */
  readonly sessions: number;
  /** Closes every stream; requests in flight fail with CANCELLED. Idempotent. */
  stop(): Promise<void>;
}

/** Frames larger than this are a protocol violation even when the response cap is higher. */
const RECEIPT_FRAME_ALLOWANCE = 32 * 1_048_576;
/** Receipt bytes a stream may carry before any request ended, and more per request ended. */
const RECEIPT_BYTES_INITIAL = 64 * 1024;
const RECEIPT_BYTES_PER_REQUEST = 4 * 1024;
/** An `err` frame is at most a few KiB (its message is capped at 4096 characters). */
const MAX_ERROR_FRAME_BYTES = 8 * 1024;
/** Most top-logprob entries per token (the request schema's own maximum). */
const MAX_TOP_LOGPROBS = 20;
/** Requests this client gave up on whose stragglers are still expected, per stream. */
const MAX_CLOSED_REMEMBERED = 4096;

const DEFAULTS = {
  maxTokenTextBytes: 1024,
  tokenSlack: 8,
  maxEmbeddingDims: 8192,
  maxStrayBytes: 1_048_576,
  maxBufferedBytes: 64 * 1_048_576,
  overLimitBanMs: 60_000,
} as const;

/** The resolved bounds on what a miner may send. */
type Bounds = { -readonly [K in keyof typeof DEFAULTS]: number } & { maxResponseBytes: number };

function overLimit(peer: string, limit: LimitName, message: string): NetworkError {
  return new NetworkError(NetworkErrorCode.OVER_LIMIT, `miner ${peer} broke a limit (${limit}): ${message}`, {
    meta: { peerId: peer, limit, reason: 'oversized' },
  });
}

/** First issue of a failed parse, short. */
function issueSummary(error: z.ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return 'invalid';
  const path = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return `${path}${first.message}`.slice(0, 512);
}

/** Random request ids: 16 hex characters, from the pool that keeps `randomBytes` off the hot path. */
const newRequestId = (): string => randomHex(8);

const peerIds = new Map<string, PeerId>();

/** A peer id from its string, cached: parsing a secp256k1 one decompresses its key (~0.1 ms). */
function parsePeerId(id: string): PeerId {
  const hit = peerIds.get(id);
  if (hit !== undefined) return hit;
  const peerId = peerIdFromString(id);
  if (peerIds.size >= 10_000) peerIds.clear();
  peerIds.set(id, peerId);
  return peerId;
}

function gone(peer: string, why: string): NetworkError {
  return new NetworkError(NetworkErrorCode.PEER_GONE, `the synapse stream to ${peer} closed: ${why}`, {
    meta: { peerId: peer },
  });
}

/** A miner's long-lived stream and the requests multiplexed on it. */
class Session {
  readonly stream: Stream;
  readonly writer: FrameWriter;
  readonly peer: string;
  readonly miner: Address | null;
  readonly calls = new Map<string, Call>();
  dead = false;
  /** Bytes of events received for open requests and not yet consumed. */
  buffered = 0;
  /** Bytes of frames for requests that were never open here or whose allowance ran out. */
  #stray = 0;
  /** Receipt bytes this stream may still carry (grows with every request that ends). */
  #receiptAllowance = RECEIPT_BYTES_INITIAL;
  /** Requests given up here (cancelled, timed out, failed): bytes their stragglers may still take. */
  readonly #closed = new Map<string, number>();
  readonly #decoder: FrameDecoder;
  readonly #client: ClientState;

  constructor(stream: Stream, peer: string, client: ClientState) {
    this.stream = stream;
    this.peer = peer;
    this.miner = addressOfPeerId(peer);
    this.#client = client;
    this.writer = new FrameWriter(stream);
    this.#decoder = new FrameDecoder({
      maxFrameBytes: Math.min(
        Math.max(client.bounds.maxResponseBytes + 65_536, RECEIPT_FRAME_ALLOWANCE),
        client.bounds.maxBufferedBytes,
      ),
    });
    stream.addEventListener('message', (evt) => {
      if (this.dead) return;
      let frames: Buffer[];
      try {
        frames = this.#decoder.push(evt.data);
      } catch (err) {
        this.overLimit(LimitName.BUFFERED_BYTES, (err as Error).message);
        return;
      }
      try {
        for (const body of frames) this.#onFrame(body);
      } catch (err) {
        client.logger?.error({ err }, 'synapse response handling failed');
        this.violation('response handling failed');
      }
      if (!this.dead) this.checkBuffered();
    });
    stream.addEventListener('close', (evt) => {
      this.kill(gone(peer, evt.error?.message ?? 'closed'));
    });
    stream.addEventListener('remoteCloseWrite', () => {
      this.kill(gone(peer, 'the miner closed it'));
      stream.close().catch(() => {});
    });
  }

  /** Fails every request on the stream and forgets the stream (a later request opens a new one). */
  kill(err: NetworkError): void {
    if (this.dead) return;
    this.dead = true;
    this.writer.close();
    this.#client.forget(this);
    for (const call of [...this.calls.values()]) call.fail(err, false);
  }

  /** Fails with OVER_LIMIT when the bytes held for this miner are over the bound. */
  checkBuffered(): void {
    const held = this.buffered + this.#decoder.buffered;
    const limit = this.#client.bounds.maxBufferedBytes;
    if (held > limit) this.overLimit(LimitName.BUFFERED_BYTES, `${held} bytes held; the limit is ${limit}`);
  }

  /**
   * The miner went over a bound: count it, fail every request on the stream with OVER_LIMIT, reset the
   * stream, close the connection and ban the miner for a while.
   */
  overLimit(limit: LimitName, message: string): void {
    if (this.dead) return;
    const client = this.#client;
    client.metrics?.overLimit.inc({ side: 'client', limit });
    client.metrics?.refused.inc({ layer: 'synapse_client', reason: 'oversized' });
    client.logger?.warn(
      { peerId: this.peer, limit, message },
      'a miner broke a synapse limit; cutting it off',
    );
    client.ban(this.peer);
    this.kill(overLimit(this.peer, limit, message));
    this.stream.abort(new Error(`synapse limit broken: ${limit}`));
    client.hangUp(this.peer);
  }

  /** Remembers a request given up here, so its stragglers are dropped unparsed up to `allowance` bytes. */
  closed(id: string, allowance: number): void {
    if (this.dead) return;
    if (this.#closed.size >= MAX_CLOSED_REMEMBERED) {
      const oldest = this.#closed.keys().next().value;
      if (oldest !== undefined) this.#closed.delete(oldest);
    }
    this.#closed.set(id, Math.max(0, allowance));
  }

  /** One request ended well: its receipt may come. */
  ended(): void {
    this.#receiptAllowance = Math.min(
      this.#receiptAllowance + RECEIPT_BYTES_PER_REQUEST,
      RECEIPT_FRAME_ALLOWANCE,
    );
  }

  /** A frame for a request that is not open: dropped unparsed, counted, and bounded per stream. */
  #strayFrame(id: string | null, bytes: number, last: boolean): void {
    const client = this.#client;
    client.metrics?.strayBytes.inc({ side: 'client' }, bytes);
    if (id !== null) {
      const left = this.#closed.get(id);
      if (left !== undefined && left >= bytes) {
        if (last) this.#closed.delete(id);
        else this.#closed.set(id, left - bytes);
        return;
      }
      this.#closed.delete(id);
    }
    this.#stray += bytes;
    const limit = client.bounds.maxStrayBytes;
    if (this.#stray > limit) {
      this.overLimit(
        LimitName.STRAY_BYTES,
        `${this.#stray} bytes of frames for requests that are not open; the limit is ${limit}`,
      );
    }
  }

  /** The miner broke the protocol: fail everything and reset the stream. */
  violation(why: string): void {
    this.#client.metrics?.refused.inc({ layer: 'synapse_client', reason: 'malformed' });
    this.kill(
      new NetworkError(NetworkErrorCode.REMOTE_ERROR, `malformed response from ${this.peer}: ${why}`, {
        meta: { peerId: this.peer, remoteCode: 'MALFORMED_RESPONSE' },
      }),
    );
    this.stream.abort(new Error(`synapse protocol violation: ${why}`));
  }

  readonly #onFrame = (body: Buffer): void => {
    if (this.dead) return;
    // Type and id from the canonical prefix: a frame of a request that is not open is never parsed.
    const head = frameHead(body);
    if (head === null) {
      this.violation('a frame does not start with its type and id');
      return;
    }
    const { t, id } = head;
    if (t === 'ev' || t === 'end') {
      const call = this.calls.get(id as string);
      if (call === undefined) this.#strayFrame(id, body.length, t === 'end');
      else if (t === 'ev') call.onEvent(body);
      else call.onEnd();
      return;
    }
    if (t === 'err') {
      if (id !== null && !this.calls.has(id)) {
        this.#strayFrame(id, body.length, true);
        return;
      }
      if (body.length > MAX_ERROR_FRAME_BYTES) {
        this.violation(`an err frame of ${body.length} bytes`);
        return;
      }
      const msg = parseJson(body);
      const parsed = ErrorFrameSchema.safeParse(msg);
      if (!parsed.success) {
        this.violation('an err frame does not match its schema');
        return;
      }
      const frame = parsed.data;
      if (frame.id === null) {
        // A stream-level refusal (a frame this client sent could not be read): nothing on it can succeed.
        this.kill(errorOfFrame(frame, this.peer));
        this.stream.close().catch(() => {});
        return;
      }
      this.calls.get(frame.id)?.fail(errorOfFrame(frame, this.peer), false);
      return;
    }
    // A receipt: parsed only within the allowance the requests that ended here earned.
    if (body.length > this.#receiptAllowance) {
      this.#strayFrame(null, body.length, true);
      return;
    }
    this.#receiptAllowance -= body.length;
    const parsed = ReceiptFrameSchema.safeParse(parseJson(body));
    if (!parsed.success || this.miner === null) {
      this.#client.metrics?.receipts.inc({ side: 'client', outcome: 'invalid' });
      return;
    }
    this.#client.receipts.accept(parsed.data, this.miner).catch((err: unknown) => {
      this.#client.logger?.warn({ err }, 'checking a receipt failed');
    });
  };
}

/** A frame's JSON, or undefined when it is not JSON (the schema check that follows then fails). */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function errorOfFrame(frame: ErrorFrame, peer: string): NetworkError {
  const meta: NetworkErrorMeta = { peerId: peer };
  if (frame.code === 'refused') {
    const reason: RefusalReason = frame.reason ?? 'unavailable';
    meta.reason = reason;
    return new NetworkError(
      NetworkErrorCode.REFUSED,
      `the miner refused the synapse (${reason}): ${frame.message}`,
      {
        meta,
      },
    );
  }
  if (frame.code === 'timeout') {
    return new NetworkError(NetworkErrorCode.TIMEOUT, `the miner timed the synapse out: ${frame.message}`, {
      meta,
    });
  }
  if (frame.remoteCode !== undefined) meta.remoteCode = frame.remoteCode;
  return new NetworkError(
    NetworkErrorCode.REMOTE_ERROR,
    `the miner failed the synapse (${frame.remoteCode ?? 'unknown'}): ${frame.message}`,
    { meta },
  );
}

/** What calls and sessions share with their client. */
interface ClientState {
  readonly bounds: Bounds;
  readonly receipts: ReceiptStore;
  readonly metrics: NetworkMetrics | undefined;
  readonly logger: Logger | undefined;
  readonly validator: Address | null;
  forget(session: Session): void;
  /** Bars a miner for `overLimitBanMs`. */
  ban(peer: string): void;
  /** Closes the connection to a miner (when the libp2p node allows it). */
  hangUp(peer: string): void;
  /** A live session to `peer`, or a promise of one (shared by concurrent callers). */
  session(peer: PeerId, key: string): Session | Promise<Session>;
}

type Waiter = {
  resolve: (r: IteratorResult<SynapseResult>) => void;
  reject: (err: unknown) => void;
};

const DONE: IteratorResult<SynapseResult> = { done: true, value: undefined };

/** One request: an async iterator fed by its session's frame reader. */
class Call implements AsyncIterableIterator<SynapseResult> {
  readonly #client: ClientState;
  readonly #peer: PeerId | string;
  readonly #req: SynapseRequest;
  readonly #signal: AbortSignal | undefined;
  readonly #schema: z.ZodType;
  readonly id = newRequestId();
  #session: Session | null = null;
  #started = false;
  /** No more frames are wanted (done, failed or cancelled). */
  #finished = false;
  /** The canonical params (parsed with the kind's schema), set when the request starts. */
  #params: unknown = null;
  /** Events received (token events, for generate). */
  #events = 0;
  /** Model token ids the token events carried (generate). */
  #ids = 0;
  #gotDone = false;
  #queue: SynapseResult[] = [];
  /** Frame bytes of each queued event (0 for done), counted in the session's `buffered` until consumed. */
  #sizes: number[] = [];
  /** Bytes of queued events still counted in the session's `buffered`. */
  #held = 0;
  #head = 0;
  #waiter: Waiter | null = null;
  #error: unknown = null;
  #bytes = 0;
  #hash: FrameHash | null = null;
  #requestHash: Hex = '0x';
  #t0 = 0;
  #firstAt: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    client: ClientState,
    peer: PeerId | string,
    req: SynapseRequest,
    signal: AbortSignal | undefined,
  ) {
    this.#client = client;
    this.#peer = peer;
    this.#req = req;
    this.#signal = signal;
    const spec = SYNAPSE_KINDS[req.kind] as { event: z.ZodType } | undefined;
    this.#schema = spec?.event ?? SYNAPSE_KINDS.capabilities.event;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SynapseResult> {
    return this;
  }

  next(): Promise<IteratorResult<SynapseResult>> {
    if (!this.#started) this.#start();
    if (this.#head < this.#queue.length) {
      const size = this.#sizes[this.#head] as number;
      const value = this.#queue[this.#head++] as SynapseResult;
      this.#release(size);
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#sizes = this.#sizes.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#error !== null) {
      const err = this.#error;
      this.#error = null;
      return Promise.reject(err);
    }
    if (this.#finished) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<SynapseResult>> {
    if (!this.#finished) {
      this.fail(new NetworkError(NetworkErrorCode.CANCELLED, 'the caller stopped reading the synapse'), true);
    }
    this.#queue = [];
    this.#sizes = [];
    this.#head = 0;
    this.#error = null;
    return Promise.resolve(DONE);
  }

  /** Takes `bytes` of consumed (or abandoned) events off the session's held bytes. */
  #release(bytes: number): void {
    if (bytes === 0 || this.#held === 0) return;
    const n = Math.min(bytes, this.#held);
    this.#held -= n;
    if (this.#session !== null) this.#session.buffered -= n;
  }

  #start(): void {
    this.#started = true;
    this.#t0 = performance.now();
    const { kind, deadlineMs } = this.#req;
    if (this.#signal?.aborted) {
      this.fail(
        new NetworkError(NetworkErrorCode.CANCELLED, 'the synapse was cancelled before it was sent'),
        false,
      );
      return;
    }
    if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > 600_000) {
      this.fail(
        new NetworkError(NetworkErrorCode.INVALID_INPUT, 'deadlineMs must be an integer in 1..600000'),
        false,
      );
      return;
    }
    if (!Object.hasOwn(SYNAPSE_KINDS, kind)) {
      this.fail(
        new NetworkError(NetworkErrorCode.INVALID_INPUT, `unknown synapse kind ${String(kind)}`),
        false,
      );
      return;
    }
    // Canonical params: defaults filled, keys in schema order, nothing else (no priority).
    const parsed = (SYNAPSE_KINDS[kind].params as z.ZodType).safeParse(this.#req.params);
    if (!parsed.success) {
      this.fail(
        new NetworkError(
          NetworkErrorCode.INVALID_INPUT,
          `invalid ${kind} params: ${issueSummary(parsed.error)}`,
        ),
        false,
      );
      return;
    }
    this.#params = parsed.data;
    let peerId: PeerId;
    try {
      peerId = typeof this.#peer === 'string' ? parsePeerId(this.#peer) : this.#peer;
    } catch (err) {
      this.fail(
        new NetworkError(NetworkErrorCode.INVALID_INPUT, `not a peer id: ${String(this.#peer)}`, {
          cause: err,
        }),
        false,
      );
      return;
    }
    const key = peerId.toString();
    this.#timer = setTimeout(() => {
      this.fail(
        new NetworkError(
          NetworkErrorCode.TIMEOUT,
          `the synapse to ${key} did not end within ${deadlineMs} ms`,
          {
            meta: { peerId: key },
          },
        ),
        true,
      );
    }, deadlineMs);
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    let session: Session | Promise<Session>;
    try {
      session = this.#client.session(peerId, key);
    } catch (err) {
      this.fail(err, false);
      return;
    }
    if (session instanceof Session) this.#send(session);
    else {
      session.then(
        (s) => this.#send(s),
        (err: unknown) => this.fail(err, false),
      );
    }
  }

  readonly #onAbort = (): void => {
    this.fail(new NetworkError(NetworkErrorCode.CANCELLED, 'the caller cancelled the synapse'), true);
  };

  #send(session: Session): void {
    if (this.#finished) return;
    if (session.dead) {
      this.fail(gone(session.peer, 'closed before the request was sent'), false);
      return;
    }
    const { kind, deadlineMs } = this.#req;
    const params = this.#params;
    let frame: string;
    try {
      frame = JSON.stringify({ t: 'req', id: this.id, kind, params, deadlineMs, ts: Date.now() });
    } catch (err) {
      this.fail(
        new NetworkError(NetworkErrorCode.INVALID_INPUT, 'synapse params are not serialisable as JSON', {
          cause: err,
        }),
        false,
      );
      return;
    }
    this.#session = session;
    session.calls.set(this.id, this);
    this.#requestHash = sha256Hex(frame);
    this.#hash = new FrameHash();
    session.writer.write(frame);
  }

  /** One `ev` frame of this request (body: its exact bytes). */
  onEvent(body: Buffer): void {
    if (this.#finished) return;
    const session = this.#session as Session;
    const bounds = this.#client.bounds;
    this.#bytes += body.length;
    if (this.#bytes > bounds.maxResponseBytes) {
      session.overLimit(
        LimitName.RESPONSE_BYTES,
        `the ${this.#req.kind} response passed ${bounds.maxResponseBytes} bytes`,
      );
      return;
    }
    const msg = parseJson(body) as { data?: unknown } | undefined;
    if (typeof msg !== 'object' || msg === null) {
      session.violation('an ev frame is not a JSON object');
      return;
    }
    const parsed = this.#schema.safeParse(msg.data);
    if (!parsed.success) {
      this.fail(
        new NetworkError(
          NetworkErrorCode.REMOTE_ERROR,
          `malformed response: an event does not match the ${this.#req.kind} event schema`,
          { meta: { reason: 'malformed', remoteCode: 'MALFORMED_RESPONSE' } },
        ),
        true,
        'malformed',
      );
      return;
    }
    const broken = this.#bound(parsed.data);
    if (broken !== null) {
      session.overLimit(broken[0], broken[1]);
      return;
    }
    (this.#hash as FrameHash).update(body);
    if (this.#firstAt === null) this.#firstAt = performance.now();
    this.#held += body.length;
    session.buffered += body.length;
    this.#push({ type: 'event', data: parsed.data as never }, body.length);
    session.checkBuffered();
  }

  /** The bound a (schema-valid) event breaks, with what it sent; null when within every bound. */
  #bound(data: unknown): [LimitName, string] | null {
    const bounds = this.#client.bounds;
    this.#events++;
    const kind = this.#req.kind;
    if (kind === 'generate') {
      const ev = data as SynapseEventData<'generate'>;
      const params = this.#params as SynapseParams<'generate'>;
      if (this.#gotDone) return [LimitName.EVENT_COUNT, 'an event after done'];
      if (ev.type === 'done') {
        this.#gotDone = true;
        return null;
      }
      const most = params.maxTokens + bounds.tokenSlack;
      if (this.#events > most) {
        return [LimitName.TOKEN_COUNT, `more than ${most} token events for maxTokens ${params.maxTokens}`];
      }
      if (textOver(ev.text, bounds.maxTokenTextBytes)) {
        return [LimitName.TOKEN_TEXT, `a token's text is over ${bounds.maxTokenTextBytes} bytes`];
      }
      // Token ids: a few per event at most, and no more in the whole answer than it may hold tokens.
      const ids = ev.ids?.length ?? 0;
      if (ids > MAX_TOKEN_IDS) {
        return [LimitName.TOKEN_COUNT, `${ids} token ids in one event; the most is ${MAX_TOKEN_IDS}`];
      }
      this.#ids += ids;
      if (this.#ids > most) {
        return [LimitName.TOKEN_COUNT, `more than ${most} token ids for maxTokens ${params.maxTokens}`];
      }
      const top = ev.topLogprobs;
      if (top !== undefined) {
        if (top.length > MAX_TOP_LOGPROBS) {
          return [
            LimitName.LOGPROBS,
            `${top.length} top logprobs for one token; the most is ${MAX_TOP_LOGPROBS}`,
          ];
        }
        for (const e of top) {
          if (textOver(e.token, bounds.maxTokenTextBytes)) {
            return [LimitName.TOKEN_TEXT, `a top-logprob token is over ${bounds.maxTokenTextBytes} bytes`];
          }
        }
      }
      return null;
    }
    if (this.#events > 1) return [LimitName.EVENT_COUNT, `a second ${kind} event`];
    if (kind === 'embed') {
      const { embeddings } = data as SynapseEventData<'embed'>;
      const inputs = (this.#params as SynapseParams<'embed'>).input.length;
      if (embeddings.length !== inputs) {
        return [LimitName.EMBEDDING_COUNT, `${embeddings.length} vectors for ${inputs} inputs`];
      }
      for (const v of embeddings) {
        if (v.length > bounds.maxEmbeddingDims) {
          return [
            LimitName.EMBEDDING_DIMS,
            `a vector of ${v.length} dimensions; the most is ${bounds.maxEmbeddingDims}`,
          ];
        }
      }
    }
    return null;
  }

  /** The `end` frame: the response is complete. */
  onEnd(): void {
    if (this.#finished) return;
    const responseHash = (this.#hash as FrameHash).digest();
    const session = this.#session as Session;
    const client = this.#client;
    if (session.miner !== null && client.validator !== null) {
      client.receipts.expect({
        requestId: this.id,
        miner: session.miner,
        validator: client.validator,
        requestHash: this.#requestHash,
        responseHash,
      });
    }
    const latencyMs = performance.now() - this.#t0;
    session.ended();
    this.#settle('ok');
    client.metrics?.synapseSeconds.observe({ kind: this.#req.kind }, latencyMs / 1000);
    this.#push({
      type: 'done',
      requestId: this.id,
      requestHash: this.#requestHash,
      responseHash,
      latencyMs,
      firstEventMs: this.#firstAt === null ? null : this.#firstAt - this.#t0,
    });
  }

  /** Ends the request with an error (delivered after any queued events); tells the miner if asked. */
  fail(err: unknown, cancelRemote: boolean, outcome?: string): void {
    if (this.#finished) return;
    const session = this.#session;
    if (session !== null && !session.dead) {
      // Its stragglers may still come: up to what the rest of its response could have held.
      session.closed(this.id, this.#client.bounds.maxResponseBytes - this.#bytes);
      if (cancelRemote) session.writer.write(`{"t":"cancel","id":"${this.id}"}`);
    }
    this.#settle(outcome ?? outcomeOf(err));
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.reject(err);
    } else this.#error = err;
  }

  #settle(outcome: string): void {
    this.#finished = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#session?.calls.delete(this.id);
    // What a finished request still holds is the caller's to read; it no longer counts against the miner.
    this.#release(this.#held);
    this.#client.metrics?.synapses.inc({ side: 'client', kind: this.#req.kind, outcome });
  }

  #push(value: SynapseResult, bytes = 0): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      this.#release(bytes);
      waiter.resolve({ done: false, value });
    } else {
      this.#queue.push(value);
      this.#sizes.push(bytes);
    }
  }
}

/** Whether a string's UTF-8 form is over `limit` bytes (without encoding it when it is clearly not). */
function textOver(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return false;
  if (text.length > limit) return true;
  return Buffer.byteLength(text, 'utf8') > limit;
}

function outcomeOf(err: unknown): string {
  switch ((err as { code?: unknown }).code) {
    case NetworkErrorCode.REFUSED:
      return 'refused';
    case NetworkErrorCode.REMOTE_ERROR:
      return 'remote';
    case NetworkErrorCode.TIMEOUT:
      return 'timeout';
    case NetworkErrorCode.PEER_GONE:
      return 'gone';
    case NetworkErrorCode.CANCELLED:
      return 'cancelled';
    case NetworkErrorCode.DIAL_FAILED:
    case NetworkErrorCode.PEER_NOT_FOUND:
      return 'unreachable';
    case NetworkErrorCode.OVER_LIMIT:
      return 'over_limit';
    default:
      return 'error';
  }
}

/** The validator's synapse client on `synapseProtocol(netuid)`. */
export function createSynapseClient(opts: SynapseClientOpts, modules: SynapseClientModules): SynapseClient {
  const { libp2p, membership, metrics, logger } = modules;
  const protocol = synapseProtocol(opts.netuid);
  const dialTimeoutMs = opts.dialTimeoutMs ?? 10_000;
  const receipts = modules.receipts ?? createReceiptStore({}, { metrics });
  const sessions = new Map<string, Session | Promise<Session>>();
  /** Miners cut off for breaking a bound, until when (performance.now() ms). */
  const bans = new Map<string, number>();
  const bounds: Bounds = {
    maxResponseBytes: opts.maxResponseBytes,
    maxTokenTextBytes: opts.maxTokenTextBytes ?? DEFAULTS.maxTokenTextBytes,
    tokenSlack: opts.tokenSlack ?? DEFAULTS.tokenSlack,
    maxEmbeddingDims: opts.maxEmbeddingDims ?? DEFAULTS.maxEmbeddingDims,
    maxStrayBytes: opts.maxStrayBytes ?? DEFAULTS.maxStrayBytes,
    maxBufferedBytes: opts.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    overLimitBanMs: opts.overLimitBanMs ?? DEFAULTS.overLimitBanMs,
  };
  let stopped = false;

  const state: ClientState = {
    bounds,
    receipts,
    metrics,
    logger,
    validator: addressOfPeerId(libp2p.peerId),
    forget(session) {
      if (sessions.get(session.peer) === session) sessions.delete(session.peer);
    },
    ban(peer) {
      if (bounds.overLimitBanMs <= 0) return;
      if (bans.size >= 10_000) bans.clear();
      bans.set(peer, performance.now() + bounds.overLimitBanMs);
    },
    hangUp(peer) {
      if (libp2p.getConnections !== undefined) {
        const cut = new Error('synapse limit broken: connection cut');
        for (const c of libp2p.getConnections(parsePeerId(peer))) c.abort(cut);
        return;
      }
      if (libp2p.hangUp === undefined) return;
      libp2p.hangUp(parsePeerId(peer)).catch((err: unknown) => {
        logger?.debug({ err, peerId: peer }, 'closing the connection of a miner over a limit failed');
      });
    },
    session(peerId, key) {
      const until = bans.get(key);
      if (until !== undefined) {
        const left = until - performance.now();
        if (left > 0) {
          metrics?.overLimit.inc({ side: 'client', limit: LimitName.BANNED });
          throw overLimit(key, LimitName.BANNED, `it is not asked again for ${Math.ceil(left)} ms`);
        }
        bans.delete(key);
      }
      const hit = sessions.get(key);
      if (hit !== undefined && !(hit instanceof Session && hit.dead)) return hit;
      if (stopped) throw new NetworkError(NetworkErrorCode.CANCELLED, 'the synapse client is stopped');
      if (membership !== undefined && membership.byPeer(peerId) === undefined) {
        throw new NetworkError(
          NetworkErrorCode.PEER_NOT_FOUND,
          `peer ${key} is not registered in this subnet`,
          {
            meta: { peerId: key },
          },
        );
      }
      const dial = (async () => {
        let stream: Stream;
        try {
          stream = await libp2p.dialProtocol(peerId, protocol, {
            signal: AbortSignal.timeout(dialTimeoutMs),
          });
        } catch (err) {
          throw new NetworkError(
            NetworkErrorCode.DIAL_FAILED,
            `could not open a synapse stream to ${key}: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err, meta: { peerId: key } },
          );
        }
        const session = new Session(stream, key, state);
        if (stopped) {
          session.kill(new NetworkError(NetworkErrorCode.CANCELLED, 'the synapse client is stopped'));
          stream.abort(new Error('synapse client stopped'));
        }
        return session;
      })();
      sessions.set(key, dial);
      dial.then(
        (s) => {
          if (sessions.get(key) === dial && !s.dead) sessions.set(key, s);
          else if (sessions.get(key) === dial) sessions.delete(key);
        },
        () => {
          if (sessions.get(key) === dial) sessions.delete(key);
        },
      );
      return dial;
    },
  };

  return {
    request(peer, req, reqOpts = {}) {
      return new Call(state, peer, req as SynapseRequest, reqOpts.signal) as unknown as AsyncIterable<
        SynapseResult<typeof req.kind>
      >;
    },
    receipts,
    get sessions() {
      let n = 0;
      for (const s of sessions.values()) if (s instanceof Session) n++;
      return n;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const live = [...sessions.values()];
      sessions.clear();
      for (const entry of live) {
        const s = entry instanceof Session ? entry : await entry.catch(() => null);
        if (s === null) continue;
        s.kill(new NetworkError(NetworkErrorCode.CANCELLED, 'the synapse client is stopped'));
        await s.stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => {
          s.stream.abort(new Error('synapse client stopped'));
        });
      }
    },
  };
}
