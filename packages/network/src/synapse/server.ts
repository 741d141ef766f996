/**
 * The miner's side of the synapse protocol: accepts validators' long-lived streams, admits each request
 * (registered, a validator with a permit, not replayed, within limits, well-formed), runs it through the
 * handler (the app stack), streams its events back, and signs receipt batches of what it answered.
 * Nothing a peer sends may throw out of here or crash the node: every bad input becomes an `err` frame
 * and a counted refusal. A stream from a peer that is not a registered validator with a permit is refused
 * when it opens, before anything it sends is buffered; a permitted validator's incomplete frames are
 * capped per connection (all its streams together). Every synapse is served alike: its params carry no
 * priority, so a challenge cannot be told from a client's request.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Logger } from '@subnet/utils';
import type { Address, Hex } from 'viem';
import type { z } from 'zod';
import { LimitName, type RefusalReason } from '../errors.js';
import { addressOfPeerId } from '../identity.js';
import type { Member, Membership } from '../membership.js';
import type { NetworkMetrics } from '../metrics.js';
import { FrameDecoder, FrameWriter } from './framing.js';
import { FrameHash, receiptLeaf, sha256Hex } from './merkle.js';
import {
  ClientFrameSchema,
  type RequestFrame,
  SYNAPSE_KINDS,
  type SynapseEventData,
  type SynapseKind,
  type SynapseParams,
  synapseProtocol,
} from './protocol.js';
import { ReceiptBatcher, type ReceiptSigner } from './receipts.js';

/** What the handler learns about a request besides its parameters. */
export interface SynapseContext {
  /** Aborts on cancel, deadline, or when the validator's stream closes. */
  signal: AbortSignal;
  /** The validator that asked (the noise-authenticated peer, as registered). */
  peer: Member;
  requestId: string;
}

/** Serves synapses: the app stack behind the miner. */
export interface SynapseHandler {
  /**
   * The response's events, in order. Throw to fail the request: the error's string `code` (or else its
   * `name`) reaches the validator as `remoteCode`, with its message.
   */
  serve<K extends SynapseKind>(
    kind: K,
    params: SynapseParams<K>,
    ctx: SynapseContext,
  ): AsyncIterable<SynapseEventData<K>>;
}

/** The `network.synapse` limits the server uses, and the subnet. */
export interface SynapseServerOpts {
  netuid: number;
  maxRequestBytes: number;
  maxInFlight: number;
  replayWindowMs: number;
  receiptIntervalMs: number;
  receiptBatchSize: number;
  /** Synapse streams one connection may hold open (default 8; a validator normally needs one). */
  maxStreamsPerConnection?: number;
  /**
   * Bytes of incomplete request frames held for one validator over all its streams (default 8 MiB); over
   * it the stream is refused as oversized and reset.
   */
  maxPendingRequestBytes?: number;
}

export interface SynapseServerModules {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>;
  membership: Membership;
  handler: SynapseHandler;
  /** Signs receipt roots: the miner's hotkey account. */
  signer: ReceiptSigner;
  metrics?: NetworkMetrics | undefined;
  logger?: Logger | undefined;
  /** Unix ms; for tests. */
  now?: (() => number) | undefined;
}

export interface SynapseServer {
  /** Registers the protocol handler. Idempotent. */
  start(): Promise<void>;
  /** Unregisters it and resets every open synapse stream (their handlers are aborted). Idempotent. */
  stop(): Promise<void>;
  /** Requests being served now, over all peers. */
  readonly inFlight: number;
}

/** Request ids a peer may have remembered at once; past it new requests are refused as busy. */
const MAX_REMEMBERED_IDS = 1_000_000;
const PRUNE_EVERY_MS = 1000;

/**
 * Remembers request ids per peer until their timestamp leaves the replay window (after that the
 * timestamp check alone refuses a replay).
 */
class ReplayGuard {
  readonly #windowMs: number;
  readonly #byPeer = new Map<string, Map<string, number>>();
  #lastPrune = 0;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  check(peer: string, id: string, ts: number, now: number): 'ok' | 'stale' | 'replayed' | 'full' {
    if (Math.abs(now - ts) > this.#windowMs) return 'stale';
    if (now - this.#lastPrune > PRUNE_EVERY_MS) this.#prune(now);
    let ids = this.#byPeer.get(peer);
    if (ids === undefined) {
      ids = new Map();
      this.#byPeer.set(peer, ids);
    }
    if (ids.has(id)) return 'replayed';
    if (ids.size >= MAX_REMEMBERED_IDS) return 'full';
    ids.set(id, ts + this.#windowMs);
    return 'ok';
  }

  #prune(now: number): void {
    this.#lastPrune = now;
    for (const [peer, ids] of this.#byPeer) {
      // Insertion order is nearly expiry order; stop at the first live id (stragglers go next time).
      for (const [id, expires] of ids) {
        if (expires >= now) break;
        ids.delete(id);
      }
      if (ids.size === 0) this.#byPeer.delete(peer);
    }
  }
}

interface OpenRequest {
  id: string;
  kind: SynapseKind;
  ac: AbortController;
  timer: NodeJS.Timeout | undefined;
  finished: boolean;
}

/** The `remoteCode` of a thrown value: its string `code`, else its `name`, at most 64 characters. */
function remoteCodeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code.length > 0) return code.slice(0, 64);
    if (typeof name === 'string' && name.length > 0) return name.slice(0, 64);
  }
  return 'Error';
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.length > 4096 ? m.slice(0, 4096) : m;
}

/** The id of a frame that failed validation, when it has a usable one. */
function idOf(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const id = (msg as { id?: unknown }).id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}

function issueSummary(error: z.ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return 'invalid';
  const path = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return `${path}${first.message}`.slice(0, 512);
}

/** The miner's synapse server on `synapseProtocol(netuid)`. Call `start()` to register it. */
export function createSynapseServer(opts: SynapseServerOpts, modules: SynapseServerModules): SynapseServer {
  const { libp2p, membership, handler, signer, metrics, logger } = modules;
  const now = modules.now ?? Date.now;
  const protocol = synapseProtocol(opts.netuid);
  const replay = new ReplayGuard(opts.replayWindowMs);
  const inFlightByPeer = new Map<string, number>();
  /** Bytes of incomplete frames held per peer, over its streams. */
  const pendingByPeer = new Map<string, number>();
  const maxPending = opts.maxPendingRequestBytes ?? 8 * 1_048_576;
  const streams = new Set<Stream>();
  let inFlight = 0;
  let started = false;

  const countRefusal = (reason: RefusalReason) => metrics?.refused.inc({ layer: 'synapse', reason });

  function onStream(stream: Stream, connection: Connection): void {
    try {
      serveStream(stream, connection.remotePeer);
    } catch (err) {
      logger?.warn({ err }, 'synapse stream setup failed');
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Why a peer may not open a synapse stream at all, or null when it may. */
  function inadmissible(peerId: PeerId): { reason: RefusalReason; message: string } | null {
    const member = membership.byPeer(peerId);
    if (member === undefined) {
      return { reason: 'unregistered', message: 'your hotkey is not registered in this subnet' };
    }
    if (member.role !== 'validator' || !member.validatorPermit) {
      return { reason: 'no_permit', message: 'only validators with a validator permit may send synapses' };
    }
    return null;
  }

  /**
   * Refuses a whole stream: nothing it sends is decoded or kept. At its first bytes (or after a second of
   * silence; the dialler may still be negotiating the protocol until it writes) it gets one `err` frame
   * with no id, and the stream is closed.
   */
  function refuseStream(stream: Stream, writer: FrameWriter, reason: RefusalReason, message: string): void {
    countRefusal(reason);
    let done = false;
    const refuse = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      writer.write(JSON.stringify({ t: 'err', id: null, code: 'refused', reason, message }));
      writer.flush();
      writer.close();
      stream
        .close({ signal: AbortSignal.timeout(1000) })
        .catch(() => {})
        .finally(() => stream.abort(new Error(`synapse stream refused: ${reason}`)));
    };
    const timer = setTimeout(refuse, 1000);
    timer.unref();
    stream.addEventListener('message', refuse);
    stream.addEventListener('close', () => {
      done = true;
      clearTimeout(timer);
    });
  }

  function serveStream(stream: Stream, peerId: PeerId): void {
    const peerKey = peerId.toString();
    const validator: Address | null = addressOfPeerId(peerId);
    const writer = new FrameWriter(stream);
    const refusal = inadmissible(peerId);
    if (refusal !== null) {
      refuseStream(stream, writer, refusal.reason, refusal.message);
      return;
    }
    const decoder = new FrameDecoder({ maxFrameBytes: opts.maxRequestBytes });
    const open = new Map<string, OpenRequest>();
    const batcher =
      validator === null
        ? null
        : new ReceiptBatcher(
            { receiptBatchSize: opts.receiptBatchSize, receiptIntervalMs: opts.receiptIntervalMs },
            {
              signer,
              send: (json) => writer.write(json),
              metrics,
              onError: (err) => logger?.warn({ err }, 'signing a receipt batch failed'),
            },
          );
    let closed = false;
    /** This stream's share of `pendingByPeer`. */
    let pending = 0;
    const setPending = (bytes: number): number => {
      const total = (pendingByPeer.get(peerKey) ?? 0) - pending + bytes;
      pending = bytes;
      if (total <= 0) pendingByPeer.delete(peerKey);
      else pendingByPeer.set(peerKey, total);
      return total;
    };
    streams.add(stream);

    const refuse = (id: string | null, reason: RefusalReason, message: string): void => {
      countRefusal(reason);
      writer.write(JSON.stringify({ t: 'err', id, code: 'refused', reason, message }));
    };

    const finish = (o: OpenRequest, outcome: string): void => {
      o.finished = true;
      if (o.timer !== undefined) clearTimeout(o.timer);
      open.delete(o.id);
      inFlight--;
      const n = (inFlightByPeer.get(peerKey) ?? 1) - 1;
      if (n <= 0) inFlightByPeer.delete(peerKey);
      else inFlightByPeer.set(peerKey, n);
      metrics?.synapses.inc({ side: 'server', kind: o.kind, outcome });
    };

    const run = async (o: OpenRequest, params: unknown, member: Member, requestHash: Hex): Promise<void> => {
      const { id } = o;
      const hash = new FrameHash();
      try {
        const events = handler.serve(o.kind, params as never, {
          signal: o.ac.signal,
          peer: member,
          requestId: id,
        });
        for await (const ev of events) {
          if (o.finished) break;
          const frame = `{"t":"ev","id":"${id}","data":${JSON.stringify(ev) ?? 'null'}}`;
          hash.update(frame);
          writer.write(frame);
          if (!writer.writable) await writer.waitWritable();
        }
        if (o.finished) return;
        finish(o, 'ok');
        writer.write(`{"t":"end","id":"${id}"}`);
        if (batcher !== null && validator !== null) {
          batcher.add(id, receiptLeaf(id, requestHash, hash.digest(), validator));
        }
      } catch (err) {
        if (o.finished) return;
        finish(o, 'remote');
        writer.write(
          JSON.stringify({
            t: 'err',
            id,
            code: 'remote',
            remoteCode: remoteCodeOf(err),
            message: messageOf(err),
          }),
        );
      }
    };

    const onRequest = (frame: RequestFrame, body: Buffer): void => {
      const { id } = frame;
      const member = membership.byPeer(peerId);
      if (member === undefined) {
        refuse(id, 'unregistered', 'your hotkey is not registered in this subnet');
        return;
      }
      if (member.role !== 'validator' || !member.validatorPermit) {
        refuse(id, 'no_permit', 'only validators with a validator permit may send synapses');
        return;
      }
      const verdict = replay.check(peerKey, id, frame.ts, now());
      if (verdict === 'stale') {
        refuse(
          id,
          'replayed',
          `request timestamp is more than ${opts.replayWindowMs} ms from this miner's clock`,
        );
        return;
      }
      if (verdict === 'replayed') {
        refuse(id, 'replayed', 'request id already used; every request needs a fresh id');
        return;
      }
      if (verdict === 'full' || (inFlightByPeer.get(peerKey) ?? 0) >= opts.maxInFlight) {
        refuse(id, 'busy', `more than ${opts.maxInFlight} synapses in flight from you; retry later`);
        return;
      }
      const parsed = SYNAPSE_KINDS[frame.kind].params.safeParse(frame.params);
      if (!parsed.success) {
        refuse(id, 'malformed', `invalid ${frame.kind} params: ${issueSummary(parsed.error)}`);
        return;
      }
      const o: OpenRequest = {
        id,
        kind: frame.kind,
        ac: new AbortController(),
        timer: undefined,
        finished: false,
      };
      open.set(id, o);
      inFlight++;
      inFlightByPeer.set(peerKey, (inFlightByPeer.get(peerKey) ?? 0) + 1);
      o.timer = setTimeout(() => {
        if (o.finished) return;
        finish(o, 'timeout');
        writer.write(
          JSON.stringify({
            t: 'err',
            id,
            code: 'timeout',
            message: `deadline of ${frame.deadlineMs} ms passed`,
          }),
        );
        o.ac.abort(new Error('synapse deadline passed'));
      }, frame.deadlineMs);
      const requestHash = sha256Hex(body);
      void run(o, parsed.data, member, requestHash);
    };

    const onFrame = (body: Buffer): void => {
      if (closed) return;
      let msg: unknown;
      try {
        msg = JSON.parse(body.toString('utf8'));
      } catch {
        refuse(null, 'malformed', 'a frame is not valid JSON');
        return;
      }
      const parsed = ClientFrameSchema.safeParse(msg);
      if (!parsed.success) {
        refuse(idOf(msg), 'malformed', `invalid frame: ${issueSummary(parsed.error)}`);
        return;
      }
      const frame = parsed.data;
      if (frame.t === 'cancel') {
        const o = open.get(frame.id);
        if (o !== undefined && !o.finished) {
          finish(o, 'cancelled');
          o.ac.abort(new Error('synapse cancelled by the validator'));
        }
        return;
      }
      onRequest(frame, body);
    };

    const shutdown = (): void => {
      if (closed) return;
      closed = true;
      setPending(0);
      streams.delete(stream);
      batcher?.close();
      writer.close();
      for (const o of [...open.values()]) {
        if (o.finished) continue;
        finish(o, 'gone');
        o.ac.abort(new Error('the validator closed the synapse stream'));
      }
    };

    const oversized = (message: string): void => {
      refuse(null, 'oversized', message);
      writer.flush();
      shutdown();
      stream
        .close({ signal: AbortSignal.timeout(1000) })
        .catch(() => {})
        .finally(() => stream.abort(new Error('oversized synapse frame')));
    };

    stream.addEventListener('message', (evt) => {
      if (closed) return;
      let frames: Buffer[];
      try {
        frames = decoder.push(evt.data);
      } catch (err) {
        oversized((err as Error).message);
        return;
      }
      const held = setPending(decoder.buffered);
      if (held > maxPending) {
        metrics?.overLimit.inc({ side: 'server', limit: LimitName.BUFFERED_BYTES });
        oversized(`${held} bytes of incomplete frames from you; the limit is ${maxPending}`);
        return;
      }
      try {
        for (const body of frames) onFrame(body);
      } catch (err) {
        // A bug, not an input: never let it reach libp2p's event dispatch.
        logger?.error({ err }, 'synapse frame handling failed');
      }
    });
    stream.addEventListener('close', shutdown);
    stream.addEventListener('remoteCloseWrite', () => {
      // The validator is done sending; finish what is open, then close our side.
      const closeWhenIdle = (): void => {
        if (closed) return;
        if (open.size > 0) {
          setTimeout(closeWhenIdle, 50).unref();
          return;
        }
        void (batcher?.flush() ?? Promise.resolve()).then(() => {
          writer.flush();
          if (!closed) stream.close().catch(() => stream.abort(new Error('synapse stream close failed')));
        });
      };
      closeWhenIdle();
    });
  }

  return {
    get inFlight() {
      return inFlight;
    },
    async start() {
      if (started) return;
      started = true;
      const limit = opts.maxStreamsPerConnection ?? 8;
      await libp2p.handle(protocol, onStream, { maxInboundStreams: limit, maxOutboundStreams: limit });
    },
    async stop() {
      if (!started) return;
      started = false;
      await libp2p.unhandle(protocol);
      for (const s of [...streams]) s.abort(new Error('synapse server stopped'));
    },
  };
}
