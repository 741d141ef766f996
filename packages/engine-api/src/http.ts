/**
 * The HTTP binding of an Engine API server: `POST /rpc` with a bearer JWT. Checks the token before
 * reading a byte of the body, refuses oversized bodies (by Content-Length without reading, or as soon as
 * a chunked body passes the limit), writes JSON replies and server-sent event streams, and turns a client
 * disconnect into a stream cancel. Events are batched per turn of the event loop and the writer waits for
 * `drain`, so a slow reader holds back the producer instead of filling memory.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@subnet/utils';
import type { TokenVerifier } from './auth.js';
import { EngineErrorCode, type WireError } from './errors.js';
import { encodeError } from './protocol.js';
import type { EngineServer } from './server.js';
import { renderSse } from './sse.js';

export interface EngineHttpOpts {
  maxBodyBytes: number;
}

export interface EngineHttpModules {
  server: EngineServer;
  /** Verifies the bearer token; `undefined` turns authentication off (only for tests of the binding). */
  verifier: TokenVerifier | undefined;
  logger: Logger;
}

const FLUSH_BYTES = 64 * 1024;

/** Returns a request listener for the `/rpc` route. */
export function createEngineHttpHandler(
  opts: EngineHttpOpts,
  modules: EngineHttpModules,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { server, verifier, logger } = modules;

  function sendError(
    res: ServerResponse,
    status: number,
    error: WireError,
    extra: Record<string, string> = {},
  ): void {
    const body = encodeError(null, error);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  }

  function tooLarge(res: ServerResponse, req: IncomingMessage): void {
    sendError(
      res,
      413,
      {
        code: EngineErrorCode.PAYLOAD_TOO_LARGE,
        message: `request body exceeds ${opts.maxBodyBytes} bytes; send less or raise engine.maxBodyBytes`,
      },
      { connection: 'close' },
    );
    req.resume();
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      sendError(
        res,
        405,
        { code: EngineErrorCode.INVALID_REQUEST, message: 'use POST /rpc' },
        { allow: 'POST' },
      );
      return;
    }
    let caller = 'anonymous';
    if (verifier !== undefined) {
      const auth = await verifier(req.headers.authorization);
      if (!auth.ok) {
        sendError(
          res,
          401,
          { code: EngineErrorCode.UNAUTHORIZED, message: auth.reason },
          { connection: 'close' },
        );
        req.resume();
        return;
      }
      caller = auth.subject;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > opts.maxBodyBytes) {
      tooLarge(res, req);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > opts.maxBodyBytes) {
        tooLarge(res, req);
        return;
      }
      chunks.push(chunk);
    }
    const body =
      chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');

    const disconnect = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) disconnect.abort();
    });
    const deadlineHeader = req.headers['x-deadline-ms'];
    const deadlineMs = typeof deadlineHeader === 'string' ? Number.parseInt(deadlineHeader, 10) : Number.NaN;
    const reply = await server.handle(body, {
      signal: disconnect.signal,
      caller,
      deadlineMs: Number.isFinite(deadlineMs) && deadlineMs > 0 ? deadlineMs : undefined,
    });
    if (reply.kind === 'none') {
      res.writeHead(204).end();
      return;
    }
    if (reply.kind === 'json') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(reply.body),
      });
      res.end(reply.body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-stream-id': reply.streamId,
    });
    res.flushHeaders();
    await writeEvents(res, reply.events, disconnect.signal);
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      logger.error({ err }, 'engine http handler failed');
      if (!res.headersSent)
        sendError(res, 500, { code: EngineErrorCode.INTERNAL_ERROR, message: 'internal error' });
      else res.destroy();
    });
  };
}

/** Writes events, coalescing those produced in one event-loop turn into one write. */
async function writeEvents(
  res: ServerResponse,
  events: AsyncIterable<{ event: 'start' | 'data' | 'end'; data: string }>,
  signal: AbortSignal,
): Promise<void> {
  const it = events[Symbol.asyncIterator]();
  let pending = '';
  let scheduled: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    const chunk = pending;
    pending = '';
    if (chunk === '' || res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  try {
    for (;;) {
      if (signal.aborted) break;
      const r = await it.next();
      if (r.done === true) break;
      pending += renderSse(r.value);
      if (pending.length >= FLUSH_BYTES) {
        await scheduled;
        scheduled = undefined;
        await flush();
      } else if (scheduled === undefined) {
        scheduled = new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
        // Don't wait: keep pulling events produced in this turn; the write happens once per turn.
        void scheduled.then(() => {
          scheduled = undefined;
        });
      }
    }
    await scheduled;
    await flush();
  } finally {
    await it.return?.();
    if (!res.destroyed) res.end();
  }
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A listening Engine API HTTP server. */
export interface EngineHttpServer {
  /** Base URL, e.g. http://127.0.0.1:8645 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `POST /rpc` (and any `routes`, e.g. /health, /metrics) on `host:port` (port 0 = any free port).
 * `close()` ends open streams and connections.
 */
export async function startEngineHttpServer(
  opts: EngineHttpOpts & { host: string; port: number; routes?: Record<string, RouteHandler> },
  modules: EngineHttpModules,
): Promise<EngineHttpServer> {
  const rpc = createEngineHttpHandler(opts, modules);
  const routes = opts.routes ?? {};
  const http = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (path === '/rpc') return rpc(req, res);
    const route = routes[path];
    if (route !== undefined) return route(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${path}\n`);
  });
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      await modules.server.close();
      http.closeIdleConnections();
      await new Promise<void>((resolve) => {
        // The streams just ended finish their responses shortly after; close each keep-alive
        // connection as soon as it goes idle instead of waiting for the force timeout.
        const sweep = setInterval(() => http.closeIdleConnections(), 20);
        const force = setTimeout(() => http.closeAllConnections(), 2000);
        http.close(() => {
          clearInterval(sweep);
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
