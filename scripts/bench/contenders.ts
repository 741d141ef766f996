/**
 * The contenders of the bench and the workload they share: each sets up its servers and client and exposes
 * one unary call (the 1 KiB echo) and one stream (count events of a 64-byte payload). Each runs in its own
 * process (see worker.ts), so one contender's garbage and timers never slow another down.
 */

import { engineApi } from '../../packages/engine-api/dist/src/index.js';
import { benchApi, countEvents, httpClient, inProcessClient, startEngineNode, startRelay } from './engine.ts';
import { createRawClient, startRawServer } from './raw.ts';

export const CONTENDERS = ['baseline', 'engineInProcess', 'engineHttp', 'relay'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** Keep-alive connections of every HTTP client (baseline and engine alike). */
export const CONNECTIONS = 16;
export const UNARY_PAYLOAD = 'x'.repeat(1024);
export const STREAM_PAYLOAD = 'x'.repeat(64);

/** One contender, set up and ready. */
export interface Contender {
  /** One unary request; absent for stream-only contenders. */
  unary?: () => Promise<unknown>;
  /** Streams `count` events to their end; resolves to the events consumed. */
  stream(count: number): Promise<number>;
  close(): Promise<void>;
}

/** Sets up `name`: servers on 127.0.0.1, clients with `CONNECTIONS` keep-alive connections. */
export async function startContender(name: ContenderName): Promise<Contender> {
  const payload = STREAM_PAYLOAD;
  switch (name) {
    case 'baseline': {
      const raw = await startRawServer();
      const client = createRawClient(raw.origin, CONNECTIONS);
      // The very bytes the engine client sends, so both servers parse the same request.
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'engine_echoV1',
        params: { payload: UNARY_PAYLOAD },
      });
      return {
        unary: () => client.echo(body),
        stream: (count) => client.sse(count, payload),
        close: async () => {
          await client.close();
          await raw.close();
        },
      };
    }
    case 'engineInProcess':
    case 'engineHttp': {
      const node = await startEngineNode();
      const client =
        name === 'engineHttp' ? httpClient(engineApi, node, CONNECTIONS) : inProcessClient(node.server);
      return {
        unary: () => client.call('engine_echoV1', { payload: UNARY_PAYLOAD }),
        stream: async (count) =>
          countEvents(await client.stream('engine_echoStreamV1', { count, payload }), count),
        close: async () => {
          await client.close();
          await node.close();
        },
      };
    }
    case 'relay': {
      const relay = await startRelay();
      const client = httpClient(benchApi, relay.a, CONNECTIONS);
      return {
        stream: async (count) =>
          countEvents(await client.stream('bench_streamV1', { count, payload }), count),
        close: async () => {
          await client.close();
          await relay.close();
        },
      };
    }
  }
}
