/**
 * Engine API fixtures for the bench: a server behind `startEngineHttpServer` with JWT auth on, typed
 * clients over the in-process and HTTP transports, and a relay (server A forwarding the `bench`
 * namespace to server B over HTTP). Everything listens on 127.0.0.1 with a throwaway secret; it must never
 * touch a node's real secret file.
 */
import { randomBytes } from 'node:crypto';
import {
  type Api,
  createEngineClient,
  createEngineServer,
  createHttpTransport,
  createInProcessTransport,
  createTokenSigner,
  createTokenVerifier,
  defineApi,
  type EngineClient,
  type EngineHttpServer,
  type EngineServer,
  engine_echoStreamV1,
  engineApi,
  startEngineHttpServer,
  stream,
} from '../../packages/engine-api/dist/src/index.js';
import { silentLogger } from '../../packages/utils/dist/src/index.js';

/** A stream method served by B and routed through A; same params and event as `engine_echoStreamV1`. */
export const bench_streamV1 = stream('bench_streamV1', {
  summary: 'Bench: streams `count` events carrying `payload` and their index, as fast as they are read.',
  params: engine_echoStreamV1.params,
  event: engine_echoStreamV1.event,
});
export const benchApi = defineApi([bench_streamV1]);

const serverOpts = { streamDeadlineMs: 120_000, maxStreams: 64 };

/** One Engine API node: dispatcher + HTTP binding, and how to sign tokens for it. */
export interface EngineNode {
  readonly server: EngineServer;
  readonly http: EngineHttpServer;
  readonly token: () => Promise<string>;
  close(): Promise<void>;
}

/** Starts a dispatcher behind `startEngineHttpServer` on 127.0.0.1:0 with JWT auth on. */
export async function startEngineNode(setup: (server: EngineServer) => void = () => {}): Promise<EngineNode> {
  const secret = new Uint8Array(randomBytes(32));
  const logger = silentLogger();
  const server = createEngineServer(serverOpts, { logger });
  setup(server);
  const http = await startEngineHttpServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 + 4096 },
    { server, verifier: createTokenVerifier(secret, { maxLifetimeS: 3600 }), logger },
  );
  return {
    server,
    http,
    token: createTokenSigner(secret, { subject: 'bench', lifetimeS: 3600 }),
    close: () => http.close(),
  };
}

/** A typed client of `node` over HTTP with `connections` keep-alive connections. */
export function httpClient<A extends Api>(api: A, node: EngineNode, connections: number): EngineClient<A> {
  return createEngineClient(api, createHttpTransport({ url: node.http.url, token: node.token, connections }));
}

/** A typed client of `server` through the in-process transport. */
export function inProcessClient(server: EngineServer): EngineClient<typeof engineApi> {
  return createEngineClient(engineApi, createInProcessTransport(server, { caller: 'bench' }));
}

async function* countTo(p: {
  count: number;
  payload: string;
}): AsyncGenerator<{ seq: number; payload: string }> {
  for (let seq = 0; seq < p.count; seq++) yield { seq, payload: p.payload };
}

/** B serves `bench_streamV1`; A routes the `bench` namespace to B over HTTP. */
export async function startRelay(): Promise<{ a: EngineNode; b: EngineNode; close(): Promise<void> }> {
  const b = await startEngineNode((server) =>
    server.register(benchApi, { bench_streamV1: (p) => countTo(p) }),
  );
  const upstream = createHttpTransport({ url: b.http.url, token: b.token, connections: 4 });
  const a = await startEngineNode((server) =>
    server.route('bench', { methods: [bench_streamV1], transport: upstream }),
  );
  return {
    a,
    b,
    async close() {
      await a.close();
      await upstream.close();
      await b.close();
    },
  };
}

/** Consumes a stream to its end; throws unless exactly `expected` events came. */
export async function countEvents(events: AsyncIterable<unknown>, expected: number): Promise<number> {
  let n = 0;
  for await (const _ of events) n++;
  if (n !== expected) throw new Error(`expected ${expected} stream events, got ${n}`);
  return n;
}
