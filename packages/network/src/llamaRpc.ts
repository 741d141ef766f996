/**
 * llama.cpp's RPC protocol carried over libp2p (`/subnet/llama-rpc/1.0.0`) so that a pipeline group's
 * members never expose `ggml-rpc-server` on a public port. A member serves the protocol: a stream from an
 * allowed, registered hotkey is piped to its `ggml-rpc-server` on 127.0.0.1. The lead opens one loopback
 * listener per member: each TCP connection its `llama-server --rpc` makes there is piped over a stream to
 * that member. Bytes are relayed as they come, never parsed, with backpressure both ways (a paused reader
 * pauses the writer across the tunnel); when either end closes or fails, the other is closed too.
 * This module must never listen anywhere but loopback, nor connect a stream to anything but the configured
 * local port.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Libp2p, PeerId, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { errorMessage, type Logger } from '@subnet/utils';
import { NetworkError, NetworkErrorCode } from './errors.js';
import type { Membership } from './membership.js';
import type { NetworkMetrics } from './metrics.js';

/** The protocol id of the tunnel. */
export const LLAMA_RPC_PROTOCOL = '/subnet/llama-rpc/1.0.0';

/** The only address either end binds or connects to. */
const LOOPBACK = '127.0.0.1';

/** Why a member turned a tunnel stream away (the `reason` of `refused{layer="llama_rpc"}`). */
export type LlamaRpcRefusal = 'unregistered' | 'not_allowed' | 'busy' | 'unavailable';

/**
 * Bytes a paused stream may hold unread. Yamux stops granting window while a stream is paused, so the
 * remote can send at most one window (16 MiB at most) more: this is above it, and libp2p's default (4 MiB)
 * is not, which would reset a stream whose reader is slow.
 */
const MAX_READ_BUFFER_BYTES = 20 * 1_048_576;
/**
 * After this end delivered everything the remote sent to its socket and ended it, how long the socket's
 * peer may go on sending before both are torn down. llama.cpp's RPC never half-closes: this only bounds a
 * local peer that never ends.
 */
const LINGER_MS = 5000;
/**
 * After the socket closed and everything it sent was handed to the stream, how long the remote may take to
 * end its side (it may still be delivering our last bytes to a slow reader) before the stream is reset.
 */
const REMOTE_END_MS = 60_000;

const HOTKEY_PATTERN = /^0x[0-9a-fA-F]{40}$/;

/** What the tunnels need of a node. */
export interface LlamaRpcModules {
  membership: Membership;
  metrics?: NetworkMetrics | undefined;
  logger?: Logger | undefined;
}

/** The member side's options (`network.llamaRpc.serve`). */
export interface LlamaRpcServeOpts {
  /** Port of the local `ggml-rpc-server` on 127.0.0.1. */
  port: number;
  /** Hotkeys (0x addresses) that may open tunnel streams: the group's lead. */
  allow: readonly string[];
  /** Tunnel streams open at once over all peers (default 16); more are refused as busy. */
  maxStreams?: number;
  /** Deadline of the connection to the local server (default 5 s). */
  connectTimeoutMs?: number;
}

/** A member's tunnel endpoint. */
export interface LlamaRpcServer {
  /** Tunnel streams open now, and bytes held in their buffers at this end. */
  stats(): { streams: number; queuedBytes: number };
  /** Unregisters the protocol and closes every open tunnel. Idempotent. */
  close(): Promise<void>;
}

/** The lead side's options (one entry of `network.llamaRpc.tunnels`). */
export interface LlamaRpcTunnelOpts {
  /** The member's hotkey (0x address). */
  hotkey: string;
  /** Loopback port to listen on (0 or absent: a free one). */
  port?: number;
  /** Deadline of opening a stream to the member (default 5 s). */
  dialTimeoutMs?: number;
}

/** A lead's loopback listener for one member. */
export interface LlamaRpcTunnel {
  /** The loopback port `llama-server --rpc 127.0.0.1:<port>` dials. */
  readonly port: number;
  /** The member's hotkey (lowercase). */
  readonly hotkey: string;
  /** TCP connections tunnelled now, and bytes held in the tunnel's buffers at this end. */
  stats(): { connections: number; queuedBytes: number };
  /** Stops listening and destroys every live connection and its stream. Idempotent. */
  close(): Promise<void>;
}

type Side = 'lead' | 'member';

/** One TCP connection spliced to one stream. */
interface Splice {
  socket: Socket;
  stream: Stream;
  /** Tears both down at once. */
  destroy(err?: Error): void;
}

function chunksOf(data: StreamMessageEvent['data']): Iterable<Uint8Array> {
  return data instanceof Uint8Array ? [data] : data;
}

/**
 * Pipes `socket` and `stream` both ways until both close. Backpressure: a full socket pauses the stream
 * (yamux then stops granting the remote window), a full stream pauses the socket. An end (FIN) is passed
 * on as an end; a failure or reset on either side destroys the other. `onClose` runs once, when both are
 * done.
 */
function splice(
  socket: Socket,
  stream: Stream,
  ctx: {
    side: Side;
    metrics?: NetworkMetrics | undefined;
    logger?: Logger | undefined;
    onClose: () => void;
  },
): Splice {
  const { side, metrics, logger } = ctx;
  const sent = metrics?.llamaRpcBytes.labels({ side, direction: 'to_peer' });
  const received = metrics?.llamaRpcBytes.labels({ side, direction: 'from_peer' });
  const life = new AbortController();
  let linger: NodeJS.Timeout | undefined;
  let finished = false;
  stream.maxReadBufferLength = MAX_READ_BUFFER_BYTES;
  metrics?.llamaRpcStreams.inc({ side });

  /**
   * Closes the socket with a TCP reset where it may: libuv forbids a reset after a shutdown (an `end()`,
   * also the automatic one after the peer's end), and a socket so treated never finishes closing.
   */
  const reset = (): void => {
    if (socket.writableEnded || socket.destroyed) socket.destroy();
    else socket.resetAndDestroy();
  };
  const destroy = (err?: Error): void => {
    if (stream.status === 'open') stream.abort(err ?? new Error('llama-rpc tunnel closed'));
    if (err === undefined) socket.destroy();
    else reset();
  };
  /** Tears both down in `ms` unless they finish first (an earlier deadline wins). */
  let lingerUntil = Number.POSITIVE_INFINITY;
  const startLinger = (ms: number): void => {
    if (finished || Date.now() + ms >= lingerUntil) return;
    lingerUntil = Date.now() + ms;
    clearTimeout(linger);
    linger = setTimeout(() => destroy(), ms);
    linger.unref();
  };
  const maybeFinish = (): void => {
    if (finished || !socket.destroyed || stream.status === 'open' || stream.status === 'closing') return;
    finished = true;
    clearTimeout(linger);
    life.abort();
    metrics?.llamaRpcStreams.dec({ side });
    ctx.onClose();
  };

  // stream → socket
  stream.addEventListener('message', (evt) => {
    if (socket.destroyed || !socket.writable) return;
    let ok = true;
    for (const chunk of chunksOf(evt.data)) {
      received?.inc(chunk.byteLength);
      ok = socket.write(chunk);
    }
    if (!ok) pauseReading();
  });
  // `resume()` hands the read buffer to the listener above and only then tells yamux to grant window
  // again: a pause made during that hand-over would leave yamux granting while the stream buffers, until
  // the buffer limit resets the stream. So a pause asked for while resuming is made after it.
  let resuming = false;
  let pauseAfterResume = false;
  const pauseReading = (): void => {
    if (resuming) pauseAfterResume = true;
    else if (stream.readStatus === 'readable') stream.pause();
  };
  socket.on('drain', () => {
    if (stream.readStatus !== 'paused') return;
    resuming = true;
    pauseAfterResume = false;
    try {
      stream.resume();
    } finally {
      resuming = false;
    }
    if (pauseAfterResume) pauseReading();
  });
  // Everything the remote sent is delivered ('end' waits for a paused read buffer to empty, unlike
  // 'remoteCloseWrite'): end the socket once it is flushed; its peer then has LINGER_MS to end too.
  stream.addEventListener('end', () => {
    if (!socket.destroyed) socket.end(() => startLinger(LINGER_MS));
  });

  // socket → stream
  socket.on('data', (chunk: Buffer) => {
    let ok: boolean;
    try {
      ok = stream.send(chunk);
    } catch (err) {
      destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    sent?.inc(chunk.byteLength);
    // Read no more until the stream's queue is empty ('idle'): its 'drain' also fires on a window update
    // or connection drain while the queue is still full, so waiting for it let the queue grow unbounded.
    // A send can report full with its queue already emptied (and 'idle' passed): the next one pauses.
    if (!ok && stream.writeBufferLength > 0 && !socket.isPaused()) {
      socket.pause();
      stream.addEventListener('idle', () => socket.resume(), { once: true, signal: life.signal });
    }
  });
  /** Closes the stream's writable end once what was sent is flushed (a slow remote reader is waited for). */
  let streamClosed: Promise<void> | undefined;
  const closeStream = (): Promise<void> => {
    streamClosed ??=
      stream.writeStatus === 'writable'
        ? stream.close({ signal: life.signal }).catch((err: unknown) => {
            destroy(err instanceof Error ? err : new Error(String(err)));
          })
        : Promise.resolve();
    return streamClosed;
  };
  socket.on('end', () => void closeStream());
  socket.on('error', () => {
    // 'close' follows with hadError; the stream is reset there.
  });
  socket.on('close', (hadError) => {
    if (hadError) {
      logger?.debug({ side }, 'llama-rpc tunnel socket failed');
      if (stream.status === 'open') stream.abort(new Error('the TCP side of the llama-rpc tunnel failed'));
    } else {
      void closeStream().then(() => startLinger(REMOTE_END_MS));
    }
    maybeFinish();
  });
  stream.addEventListener('close', (evt: StreamCloseEvent) => {
    if (evt.error !== undefined) {
      logger?.debug({ side, err: errorMessage(evt.error) }, 'llama-rpc tunnel stream failed');
      reset();
    } else if (!socket.destroyed) socket.end(() => startLinger(LINGER_MS));
    maybeFinish();
  });
  return { socket, stream, destroy };
}

/** Bytes held at this end of some tunnels: unread from their streams, unsent to them, unsent to sockets. */
function queuedBytes(splices: Iterable<Splice>): number {
  let n = 0;
  for (const s of splices)
    n += s.socket.writableLength + s.stream.readBufferLength + s.stream.writeBufferLength;
  return n;
}

/** Waits for a TCP connection to the local server, failing after `timeoutMs`. */
function connectLocal(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: LOOPBACK, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection to ${LOOPBACK}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.pause();
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/**
 * Serves the tunnel on a member: a stream is admitted when its peer's hotkey is a registered neuron and in
 * `opts.allow`, and while fewer than `maxStreams` are open; it is then piped to `127.0.0.1:<opts.port>`.
 * A refused stream is reset before anything it sends is read, counted in `refused{layer="llama_rpc"}`
 * and logged; so is a stream whose local server cannot be reached (`unavailable`).
 */
export async function serveLlamaRpc(
  opts: LlamaRpcServeOpts,
  modules: LlamaRpcModules & { libp2p: Pick<Libp2p, 'handle' | 'unhandle'> },
): Promise<LlamaRpcServer> {
  const { libp2p, membership, metrics, logger } = modules;
  const allow = new Set(opts.allow.map((h) => h.toLowerCase()));
  for (const h of allow) {
    if (!HOTKEY_PATTERN.test(h)) {
      throw new NetworkError(NetworkErrorCode.INVALID_INPUT, `llama-rpc allow-list: ${h} is not a hotkey`);
    }
  }
  const maxStreams = opts.maxStreams ?? 16;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const open = new Set<Splice>();
  let pending = 0;
  let closed = false;

  const refuse = (stream: Stream, peerId: PeerId, reason: LlamaRpcRefusal, message: string): void => {
    metrics?.refused.inc({ layer: 'llama_rpc', reason });
    const log = { peerId: peerId.toString(), reason };
    if (reason === 'unavailable') logger?.warn(log, message);
    else logger?.debug(log, message);
    stream.abort(new Error(`llama-rpc stream refused: ${reason}`));
  };

  const onStream = (stream: Stream, peerId: PeerId): void => {
    stream.pause();
    const member = membership.byPeer(peerId);
    if (member === undefined) {
      refuse(stream, peerId, 'unregistered', 'refused a llama-rpc stream from an unregistered peer');
      return;
    }
    if (!allow.has(member.hotkey)) {
      refuse(stream, peerId, 'not_allowed', 'refused a llama-rpc stream from a hotkey not in the allow-list');
      return;
    }
    if (closed || open.size + pending >= maxStreams) {
      refuse(stream, peerId, 'busy', `refused a llama-rpc stream: ${maxStreams} already open`);
      return;
    }
    pending++;
    connectLocal(opts.port, connectTimeoutMs).then(
      (socket) => {
        pending--;
        if (closed || stream.status !== 'open') {
          socket.destroy();
          if (stream.status === 'open') stream.abort(new Error('llama-rpc server closed'));
          return;
        }
        const s = splice(socket, stream, { side: 'member', metrics, logger, onClose: () => open.delete(s) });
        open.add(s);
        socket.resume();
        stream.resume();
        logger?.debug({ peerId: peerId.toString(), hotkey: member.hotkey }, 'llama-rpc tunnel opened');
      },
      (err: unknown) => {
        pending--;
        refuse(
          stream,
          peerId,
          'unavailable',
          `the local llama.cpp RPC server (${LOOPBACK}:${opts.port}) is not reachable: ${errorMessage(err)}`,
        );
      },
    );
  };

  await libp2p.handle(LLAMA_RPC_PROTOCOL, (stream, connection) => onStream(stream, connection.remotePeer), {
    maxInboundStreams: maxStreams,
    maxOutboundStreams: 1,
  });
  return {
    stats: () => ({ streams: open.size, queuedBytes: queuedBytes(open) }),
    async close() {
      if (closed) return;
      closed = true;
      await libp2p.unhandle(LLAMA_RPC_PROTOCOL);
      for (const s of [...open]) s.destroy();
    },
  };
}

/**
 * Opens a lead's tunnel to one member: listens on 127.0.0.1 (`opts.port`, or a free port), and pipes each
 * accepted connection over a new stream to the member's peer (its registered peer id and addresses). When
 * the member is not registered, has no peer id, or cannot be reached, the connection is closed at once
 * (llama-server then reports the RPC device unreachable) and a warning is logged. Throws NetworkError
 * INVALID_INPUT for a malformed hotkey and LISTEN_FAILED when the port cannot be bound.
 */
export async function openLlamaRpcTunnel(
  opts: LlamaRpcTunnelOpts,
  modules: LlamaRpcModules & { libp2p: Pick<Libp2p, 'dialProtocol' | 'peerStore'> },
  io: { signal?: AbortSignal | undefined } = {},
): Promise<LlamaRpcTunnel> {
  const { libp2p, membership, metrics, logger } = modules;
  if (!HOTKEY_PATTERN.test(opts.hotkey)) {
    throw new NetworkError(
      NetworkErrorCode.INVALID_INPUT,
      `llama-rpc tunnel: ${opts.hotkey} is not a hotkey`,
    );
  }
  const hotkey = opts.hotkey.toLowerCase();
  const dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
  const open = new Set<Splice>();
  const accepted = new Set<Socket>();
  const life = new AbortController();

  const dial = async (): Promise<Stream> => {
    const member = membership.byHotkey(hotkey);
    if (member === undefined || member.peerId === '') {
      throw new NetworkError(
        NetworkErrorCode.PEER_NOT_FOUND,
        member === undefined
          ? `${hotkey} is not a registered neuron of this subnet`
          : `${hotkey} has registered no peer id`,
      );
    }
    const peerId = peerIdFromString(member.peerId);
    const signal = AbortSignal.any([life.signal, AbortSignal.timeout(dialTimeoutMs)]);
    try {
      if (member.multiaddrs.length > 0) {
        await libp2p.peerStore.merge(peerId, { multiaddrs: member.multiaddrs.map((a) => multiaddr(a)) });
      }
      return await libp2p.dialProtocol(peerId, LLAMA_RPC_PROTOCOL, { signal });
    } catch (err) {
      throw new NetworkError(
        NetworkErrorCode.DIAL_FAILED,
        `could not open a llama-rpc stream to ${hotkey}: ${errorMessage(err)}`,
        { cause: err, meta: { peerId: member.peerId } },
      );
    }
  };

  const onConnection = (socket: Socket): void => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    dial().then(
      (stream) => {
        if (life.signal.aborted || socket.destroyed) {
          stream.abort(new Error('llama-rpc tunnel closed'));
          socket.destroy();
          return;
        }
        const s = splice(socket, stream, { side: 'lead', metrics, logger, onClose: () => open.delete(s) });
        open.add(s);
        socket.resume();
      },
      (err: unknown) => {
        logger?.warn(
          { hotkey, err: errorMessage(err) },
          'llama-rpc tunnel: the member cannot be reached; closing the connection',
        );
        socket.destroy();
      },
    );
  };

  const server: Server = createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      io.signal?.removeEventListener('abort', onAbort);
      reject(
        new NetworkError(
          NetworkErrorCode.LISTEN_FAILED,
          `llama-rpc tunnel to ${hotkey}: cannot listen on ${LOOPBACK}:${opts.port ?? 0}: ${err.message}`,
          { cause: err },
        ),
      );
    };
    const onAbort = (): void => {
      server.off('error', onError);
      server.close();
      reject(new NetworkError(NetworkErrorCode.CANCELLED, 'llama-rpc tunnel: opening was aborted'));
    };
    if (io.signal?.aborted === true) {
      onAbort();
      return;
    }
    io.signal?.addEventListener('abort', onAbort, { once: true });
    server.once('error', onError);
    server.listen({ host: LOOPBACK, port: opts.port ?? 0 }, () => {
      server.off('error', onError);
      io.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  logger?.info({ hotkey, port }, 'llama-rpc tunnel listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    hotkey,
    stats: () => ({ connections: open.size, queuedBytes: queuedBytes(open) }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        life.abort();
        server.close(() => resolve());
        for (const s of [...open]) s.destroy();
        for (const socket of [...accepted]) socket.destroy();
      });
      return closing;
    },
  };
}
