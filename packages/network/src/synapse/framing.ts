/**
 * Length-prefixed JSON frames over a libp2p stream: a decoder that turns arbitrary chunks into whole
 * frames (rejecting a declared length over its limit before buffering it), and a writer that coalesces
 * every frame written in one event-loop turn into one `stream.send` and honours backpressure. It knows
 * nothing of what the frames mean, and never parses JSON.
 */
import type { Stream, StreamMessageEvent } from '@libp2p/interface';
import { NetworkError, NetworkErrorCode } from '../errors.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './protocol.js';

/** What a stream's 'message' event carries (a Uint8Array or a Uint8ArrayList). */
export type StreamChunk = StreamMessageEvent['data'];

/** Thrown by {@link FrameDecoder.push} when a frame declares a length over the limit. */
export class OversizedFrameError extends NetworkError {
  override readonly name: string = 'OversizedFrameError';
  readonly declared: number;
  readonly limit: number;

  constructor(declared: number, limit: number) {
    super(NetworkErrorCode.REFUSED, `a frame declared ${declared} bytes; the limit is ${limit}`, {
      meta: { reason: 'oversized' },
    });
    this.declared = declared;
    this.limit = limit;
  }
}

export interface FrameDecoderOpts {
  /** Largest frame body accepted (capped at MAX_FRAME_BYTES). */
  maxFrameBytes: number;
}

/**
 * Accumulates chunks and hands out complete frame bodies (views into the received bytes, no copy when a
 * frame lies within one chunk). A frame declaring a length over the limit throws
 * {@link OversizedFrameError} before anything of it is buffered, and poisons the decoder: every later
 * push throws the same error (the stream is unusable, its frame boundaries being lost).
 */
export class FrameDecoder {
  readonly #limit: number;
  /** Bytes received but not yet part of a handed-out frame. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Total bytes (header included) of the frame being assembled; -1 while its header is incomplete. */
  #need = -1;
  #failed: OversizedFrameError | null = null;

  constructor(opts: FrameDecoderOpts) {
    this.#limit = Math.min(opts.maxFrameBytes, MAX_FRAME_BYTES);
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds a chunk; returns the frames it completed (often none, often several). */
  push(chunk: StreamChunk): Buffer[] {
    if (this.#failed !== null) throw this.#failed;
    const frames: Buffer[] = [];
    if (chunk instanceof Uint8Array) this.#pushOne(chunk, frames);
    else for (const part of chunk) this.#pushOne(part, frames);
    return frames;
  }

  #pushOne(chunk: Uint8Array, frames: Buffer[]): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#buffered > 0) {
      this.#chunks.push(buf);
      this.#buffered += buf.length;
      if (this.#need < 0 && this.#buffered >= FRAME_HEADER_BYTES) {
        const len = Buffer.concat(this.#chunks, FRAME_HEADER_BYTES).readUInt32BE(0);
        this.#checkLength(len);
        this.#need = FRAME_HEADER_BYTES + len;
      }
      if (this.#need < 0 || this.#buffered < this.#need) return;
      buf = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
      this.#need = -1;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= FRAME_HEADER_BYTES) {
      const len = buf.readUInt32BE(off);
      this.#checkLength(len);
      if (end - off - FRAME_HEADER_BYTES < len) {
        this.#need = FRAME_HEADER_BYTES + len;
        break;
      }
      const start = off + FRAME_HEADER_BYTES;
      off = start + len;
      frames.push(buf.subarray(start, off));
    }
    if (off < end) {
      // Keep the tail; copy it so the transport's chunk can be released.
      const tail = Buffer.from(buf.subarray(off));
      this.#chunks.push(tail);
      this.#buffered = tail.length;
    }
  }

  #checkLength(len: number): void {
    if (len <= this.#limit) return;
    this.#failed = new OversizedFrameError(len, this.#limit);
    this.#chunks = [];
    this.#buffered = 0;
    throw this.#failed;
  }
}

/** Options of {@link FrameWriter}. */
export interface FrameWriterOpts {
  /** Pending bytes above which {@link FrameWriter.writable} turns false (producers should wait). */
  highWaterBytes?: number;
  /** Pending bytes above which the stream is aborted (a producer that ignored backpressure). */
  maxPendingBytes?: number;
}

const DEFAULT_HIGH_WATER = 256 * 1024;
const DEFAULT_MAX_PENDING = 64 * 1_048_576;

/**
 * Queues frames (JSON text) and sends everything queued in one event-loop turn as one buffer from a
 * `setImmediate`. When `send` reports a full transport buffer, later flushes wait for 'drain'.
 */
export class FrameWriter {
  readonly #stream: Stream;
  readonly #highWater: number;
  readonly #maxPending: number;
  #frames: string[] = [];
  #lengths: number[] = [];
  #pending = 0;
  #scheduled = false;
  #draining = false;
  #closed = false;
  #waiters: (() => void)[] = [];

  constructor(stream: Stream, opts: FrameWriterOpts = {}) {
    this.#stream = stream;
    this.#highWater = opts.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.#maxPending = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING;
  }

  /** Bytes queued and not yet handed to the stream. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /** False while the queue is above the high-water mark or the transport asked to wait. */
  get writable(): boolean {
    return !this.#closed && !this.#draining && this.#pending < this.#highWater;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues one frame; returns its UTF-8 byte length. Dropped silently once the writer is closed (the
   * stream's close handler fails whatever was waiting on it).
   */
  write(json: string): number {
    const len = Buffer.byteLength(json);
    if (this.#closed) return len;
    this.#frames.push(json);
    this.#lengths.push(len);
    this.#pending += FRAME_HEADER_BYTES + len;
    if (this.#pending > this.#maxPending) {
      this.close();
      this.#stream.abort(new Error(`synapse write queue over ${this.#maxPending} bytes`));
      return len;
    }
    if (!this.#scheduled && !this.#draining) {
      this.#scheduled = true;
      setImmediate(this.#flushScheduled);
    }
    return len;
  }

  /** Resolves when the writer is writable again (or closed). */
  waitWritable(): Promise<void> {
    if (this.writable || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends whatever is queued now, without waiting for the end of the turn. */
  flush(): void {
    if (this.#closed || this.#draining || this.#pending === 0) return;
    const buf = Buffer.allocUnsafe(this.#pending);
    let off = 0;
    const frames = this.#frames;
    const lengths = this.#lengths;
    for (let i = 0; i < frames.length; i++) {
      const len = lengths[i] as number;
      buf.writeUInt32BE(len, off);
      buf.write(frames[i] as string, off + FRAME_HEADER_BYTES, len, 'utf8');
      off += FRAME_HEADER_BYTES + len;
    }
    this.#frames = [];
    this.#lengths = [];
    this.#pending = 0;
    let ok: boolean;
    try {
      ok = this.#stream.send(buf);
    } catch {
      // The stream closed under us; its 'close' event does the rest.
      this.close();
      return;
    }
    if (!ok) {
      this.#draining = true;
      this.#stream.onDrain().then(this.#onDrain, () => this.close());
      return;
    }
    this.#wake();
  }

  /** Stops accepting frames, drops the queue and releases anyone waiting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#frames = [];
    this.#lengths = [];
    this.#pending = 0;
    this.#wake();
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  readonly #onDrain = (): void => {
    this.#draining = false;
    this.flush();
    if (this.writable) this.#wake();
  };

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** Encodes one frame (header and JSON) into a fresh buffer: for tests and one-off writes. */
export function encodeFrame(json: string): Buffer {
  const len = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  buf.writeUInt32BE(len, 0);
  buf.write(json, FRAME_HEADER_BYTES, len, 'utf8');
  return buf;
}
