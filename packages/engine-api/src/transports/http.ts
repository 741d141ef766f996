/**
 * HTTP transport (undici, keep-alive pool): POST /rpc with a bearer JWT from `token()`. JSON replies come
 * back as text; `text/event-stream` replies are parsed into events as they arrive. Aborting the signal
 * closes the request, which the server treats as a disconnect.
 */
import { Pool } from 'undici';
import { parseSse } from '../sse.js';
import type { Transport, TransportReply } from '../transport.js';

export interface HttpTransportOpts {
  /** Base URL of the node, e.g. http://127.0.0.1:8645 (the path /rpc is added). */
  url: string;
  /** Returns the bearer token to send (see `createTokenSigner`). */
  token?: () => Promise<string> | string;
  /** Keep-alive connections in the pool. */
  connections?: number;
}

/** Creates an HTTP transport to an Engine API endpoint. */
export function createHttpTransport(opts: HttpTransportOpts): Transport {
  const url = new URL(opts.url);
  const pool = new Pool(url.origin, {
    connections: opts.connections ?? 32,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const path = `${url.pathname.replace(/\/$/, '')}/rpc`;
  return {
    async request(body, { signal, deadlineMs }): Promise<TransportReply> {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts.token !== undefined) headers.authorization = `Bearer ${await opts.token()}`;
      if (deadlineMs !== undefined) headers['x-deadline-ms'] = String(deadlineMs);
      const res = await pool.request({ path, method: 'POST', headers, body, signal: signal ?? null });
      if (res.statusCode === 204) {
        await res.body.dump();
        return { kind: 'none' };
      }
      const type = String(res.headers['content-type'] ?? '');
      if (type.startsWith('text/event-stream')) {
        const streamId = String(res.headers['x-stream-id'] ?? '');
        return { kind: 'stream', streamId, events: parseSse(res.body) };
      }
      return { kind: 'json', body: await res.body.text() };
    },
    close: () => pool.close(),
  };
}
