/**
 * The baselines the Engine API is measured against: a bare `node:http` server (a JSON echo on `/echo`,
 * an SSE event writer on `/sse`) and bare undici `Pool` clients. No JSON-RPC, no auth, no validation:
 * only what any HTTP/JSON service on this runtime pays. It must never import the Engine API.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/** Same coalescing threshold as the Engine API HTTP binding. */
const FLUSH_BYTES = 64 * 1024;

/** A listening baseline server. */
export interface RawServer {
  readonly origin: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/**
 * Writes `count` data events of `{seq, payload}` between a start and an end event, coalescing the events
 * of one event-loop turn (up to 64 KiB) into one write and waiting for `drain` like the Engine API does.
 */
function writeSse(res: ServerResponse, count: number, payload: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let seq = 0;
  let chunk = 'event: start\ndata: {"streamId":"raw"}\n\n';
  const turn = (): void => {
    while (seq < count && chunk.length < FLUSH_BYTES) {
      chunk += `event: data\ndata: ${JSON.stringify({ seq, payload })}\n\n`;
      seq++;
    }
    if (seq >= count) {
      res.end(`${chunk}event: end\ndata: {"reason":"complete"}\n\n`);
      return;
    }
    const ok = res.write(chunk);
    chunk = '';
    if (ok) setImmediate(turn);
    else res.once('drain', turn);
  };
  setImmediate(turn);
}

/** Starts the baseline server on 127.0.0.1 (any free port). */
export async function startRawServer(): Promise<RawServer> {
  const server: Server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    readBody(req).then(
      (body) => {
        if (req.url === '/sse') {
          const { count, payload } = JSON.parse(body.toString('utf8')) as { count: number; payload: string };
          writeSse(res, count, payload);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A keep-alive undici client of the baseline server. */
export interface RawClient {
  /** POSTs `body` to `/echo`, reads the reply as text and parses it. */
  echo(body: string): Promise<unknown>;
  /** Asks `/sse` for `count` events and reads them, splitting lines and parsing each data line; returns data events seen. */
  sse(count: number, payload: string): Promise<number>;
  close(): Promise<void>;
}

/** Creates a baseline client with `connections` keep-alive connections. */
export function createRawClient(origin: string, connections: number): RawClient {
  const pool = new Pool(origin, { connections, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const headers = { 'content-type': 'application/json' };
  return {
    async echo(body) {
      const res = await pool.request({ path: '/echo', method: 'POST', headers, body });
      return JSON.parse(await res.body.text());
    },
    async sse(count, payload) {
      const res = await pool.request({
        path: '/sse',
        method: 'POST',
        headers,
        body: JSON.stringify({ count, payload }),
      });
      const decoder = new TextDecoder();
      let buf = '';
      let event = '';
      let seen = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        buf += decoder.decode(chunk, { stream: true });
        let from = 0;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(from, nl);
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ') && event === 'data') {
            JSON.parse(line.slice(6));
            seen++;
          }
          from = nl + 1;
          nl = buf.indexOf('\n', from);
        }
        buf = buf.slice(from);
      }
      return seen;
    },
    close: () => pool.close(),
  };
}
