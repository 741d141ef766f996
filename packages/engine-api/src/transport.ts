/**
 * The transport seam. A transport carries one encoded JSON-RPC body to a server and brings back its
 * reply: JSON text, nothing (notifications only), or a stream of server-sent events. The in-process and
 * HTTP transports implement it; the client and the server's forwarding both use it.
 */

/** One server-sent event as the Engine API uses them: `start`, `data` or `end`, with JSON text. */
export interface SseEvent {
  event: 'start' | 'data' | 'end';
  data: string;
}

export type TransportReply =
  | { kind: 'json'; body: string }
  | { kind: 'none' }
  | { kind: 'stream'; streamId: string; events: AsyncIterable<SseEvent> };

export interface TransportRequestOpts {
  /** Aborting it abandons the request; for a stream it acts as a client disconnect. */
  signal?: AbortSignal | undefined;
  /** The deadline the server should apply to this call or stream. */
  deadlineMs?: number | undefined;
}

/** One item of a stream on the in-process path: a handler's value as it is, or the end. */
export type DirectEvent = { event: 'data'; value: unknown } | { event: 'end'; end: StreamEnd };

/** What the in-process path answers a stream call with: the open stream, or the error refusing it. */
export type DirectReply =
  | { kind: 'stream'; streamId: string; events: AsyncIterable<DirectEvent> }
  | { kind: 'error'; error: { code: number; message: string; data?: unknown } };

export interface Transport {
  request(body: string, opts: TransportRequestOpts): Promise<TransportReply>;
  /**
   * The trusted in-process path (in-process transports only): opens `method` as a stream served by a
   * handler in this very process, with no JSON in between; `undefined` when no handler here serves it
   * (routed to another process, or unknown): the caller then uses `request`.
   */
  openLocal?(method: string, params: unknown, opts: TransportRequestOpts): DirectReply | undefined;
  close(): Promise<void>;
}

/** The `end` event's payload. */
export interface StreamEnd {
  reason: 'complete' | 'cancelled' | 'deadline' | 'error' | 'shutdown';
  error?: { code: number; message: string; data?: unknown };
}
