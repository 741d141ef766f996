/**
 * The validator's side of the synapse protocol: one long-lived stream per miner, opened on first use
 * (concurrent first requests share the dial) and reopened after it dies, carrying any number of requests
 * multiplexed by id. Each request is an async iterable of its events and a final `done` carrying the
 * hashes that the miner's receipt must match. Every request ends: with `done`, or with a NetworkError
 * (refused, remote error, timeout at its own deadline, peer gone, cancelled), even if the miner is silent.
 * Never trusts the miner's events: each is validated against its kind's schema and the whole response is
 * capped in bytes.
 */
import { randomBytes } from 'node:crypto';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '@subnet/utils';
import type { Address, Hex } from 'viem';
import type { z } from 'zod';
import { NetworkError, NetworkErrorCode, type NetworkErrorMeta, type RefusalReason } from '../errors.js';
import { addressOfPeerId } from '../identity.js';
import type { Membership } from '../membership.js';
import type { NetworkMetrics } from '../metrics.js';
import { FrameDecoder, FrameWriter } from './framing.js';
import { FrameHash, sha256Hex } from './merkle.js';
import {
  type ErrorFrame,
  ErrorFrameSchema,
  ReceiptFrameSchema,
  SYNAPSE_KINDS,
  type SynapseEventData,
  type SynapseKind,
  type SynapseParamsInput,
  synapseProtocol,
} from './protocol.js';
import { createReceiptStore, type ReceiptStore } from './receipts.js';

/** The `network.synapse` limits the client uses, and the subnet. */
export interface SynapseClientOpts {
  netuid: number;
  maxResponseBytes: number;
  /** How long opening a stream to a miner may take (default 10 s; each request's deadline still applies). */
  dialTimeoutMs?: number;
}

export interface SynapseClientModules {
  libp2p: Pick<Libp2p, 'dialProtocol' | 'peerId'>;
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
   * (`meta.reason`), REMOTE_ERROR (`meta.remoteCode`), TIMEOUT, PEER_GONE, CANCELLED, DIAL_FAILED,
   * PEER_NOT_FOUND or INVALID_INPUT. Breaking out of the loop cancels the request at the miner.
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

/** Random request ids: 16 hex characters, drawn from a pool to keep `randomBytes` off the hot path. */
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;
function newRequestId(): string {
  if (idPoolOffset + 8 > idPool.length) {
    idPool = randomBytes(8 * 1024);
    idPoolOffset = 0;
  }
  const id = idPool.toString('hex', idPoolOffset, idPoolOffset + 8);
  idPoolOffset += 8;
  return id;
}

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
  readonly #decoder: FrameDecoder;
  readonly #client: ClientState;

  constructor(stream: Stream, peer: string, client: ClientState) {
    this.stream = stream;
    this.peer = peer;
    this.miner = addressOfPeerId(peer);
    this.#client = client;
    this.writer = new FrameWriter(stream);
    this.#decoder = new FrameDecoder({
      maxFrameBytes: Math.max(client.maxResponseBytes + 65_536, RECEIPT_FRAME_ALLOWANCE),
    });
    stream.addEventListener('message', (evt) => {
      let frames: Buffer[];
      try {
        frames = this.#decoder.push(evt.data);
      } catch (err) {
        this.violation((err as Error).message);
        return;
      }
      try {
        for (const body of frames) this.#onFrame(body);
      } catch (err) {
        client.logger?.error({ err }, 'synapse response handling failed');
        this.violation('response handling failed');
      }
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
    let msg: { t?: unknown; id?: unknown; data?: unknown };
    try {
      msg = JSON.parse(body.toString('utf8'));
    } catch {
      this.violation('a frame is not valid JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.violation('a frame is not an object');
      return;
    }
    const { t, id } = msg;
    if (t === 'ev' || t === 'end') {
      if (typeof id !== 'string') {
        this.violation(`a ${t} frame has no id`);
        return;
      }
      // Frames of requests already failed or cancelled here are expected stragglers.
      const call = this.calls.get(id);
      if (call === undefined) return;
      if (t === 'ev') call.onEvent(body, msg.data);
      else call.onEnd();
      return;
    }
    if (t === 'err') {
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
    if (t === 'rcpt') {
      const parsed = ReceiptFrameSchema.safeParse(msg);
      if (!parsed.success || this.miner === null) {
        this.#client.metrics?.receipts.inc({ side: 'client', outcome: 'invalid' });
        return;
      }
      this.#client.receipts.accept(parsed.data, this.miner).catch((err: unknown) => {
        this.#client.logger?.warn({ err }, 'checking a receipt failed');
      });
      return;
    }
    this.violation(`unknown frame type ${JSON.stringify(t)}`);
  };
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
  readonly maxResponseBytes: number;
  readonly receipts: ReceiptStore;
  readonly metrics: NetworkMetrics | undefined;
  readonly logger: Logger | undefined;
  readonly validator: Address | null;
  forget(session: Session): void;
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
  #queue: SynapseResult[] = [];
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
      const value = this.#queue[this.#head++] as SynapseResult;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
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
    this.#head = 0;
    this.#error = null;
    return Promise.resolve(DONE);
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
    if (!(kind in SYNAPSE_KINDS)) {
      this.fail(
        new NetworkError(NetworkErrorCode.INVALID_INPUT, `unknown synapse kind ${String(kind)}`),
        false,
      );
      return;
    }
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
    const { kind, params, deadlineMs } = this.#req;
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
  onEvent(body: Buffer, data: unknown): void {
    if (this.#finished) return;
    this.#bytes += body.length;
    if (this.#bytes > this.#client.maxResponseBytes) {
      this.fail(
        new NetworkError(
          NetworkErrorCode.REMOTE_ERROR,
          `the response exceeded maxResponseBytes (${this.#client.maxResponseBytes})`,
          { meta: { reason: 'oversized', remoteCode: 'RESPONSE_TOO_LARGE' } },
        ),
        true,
        'oversized',
      );
      return;
    }
    const parsed = this.#schema.safeParse(data);
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
    (this.#hash as FrameHash).update(body);
    if (this.#firstAt === null) this.#firstAt = performance.now();
    this.#push({ type: 'event', data: parsed.data as never });
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
    if (cancelRemote && session !== null && !session.dead) {
      session.writer.write(`{"t":"cancel","id":"${this.id}"}`);
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
    this.#client.metrics?.synapses.inc({ side: 'client', kind: this.#req.kind, outcome });
  }

  #push(value: SynapseResult): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ done: false, value });
    } else this.#queue.push(value);
  }
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
  let stopped = false;

  const state: ClientState = {
    maxResponseBytes: opts.maxResponseBytes,
    receipts,
    metrics,
    logger,
    validator: addressOfPeerId(libp2p.peerId),
    forget(session) {
      if (sessions.get(session.peer) === session) sessions.delete(session.peer);
    },
    session(peerId, key) {
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
