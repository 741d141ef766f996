/**
 * Split mode, child side: the entry point of a stack's own process. It waits for the supervisor's
 * `start` message, builds the stack, serves its namespaces on a private Engine API port (JWT with the
 * node secret) and reports that port. It exits when told to stop or when the supervisor goes away, so no
 * orphan outlives its node.
 */

import type { Config } from '@subnet/config';
import {
  type Api,
  createEngineClient,
  createEngineMetrics,
  createEngineServer,
  createHttpTransport,
  createTokenSigner,
  createTokenVerifier,
  type EngineHttpServer,
  loadOrCreateJwtSecret,
  type StackInstance,
  startEngineHttpServer,
} from '@subnet/engine-api';
import { createLogger, errorMessage, type Logger } from '@subnet/utils';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type ToChild, ToChildSchema, type ToParent } from './ipc.js';
import { loadStack } from './loadStack.js';
import { combinedApi } from './stackApi.js';

const registry = new Registry();
let logger: Logger = createLogger({ level: 'info' });
let stopping = false;
let shutdown: () => Promise<void> = async () => {};

function send(msg: ToParent): void {
  if (process.connected) process.send?.(msg);
}

async function start(msg: Extract<ToChild, { type: 'start' }>): Promise<void> {
  const config = msg.config as unknown as Config;
  logger = createLogger({ level: config.log.level }).child({ stack: msg.name });
  registry.setDefaultLabels({ stack: msg.name });
  collectDefaultMetrics({ register: registry });
  const definitions = await Promise.all(config.node.stacks.map((s) => loadStack(s.module, msg.cwd)));
  const mine = definitions[config.node.stacks.findIndex((s) => s.name === msg.name)];
  if (mine === undefined) throw new Error(`stack ${msg.name} is not in node.stacks`);
  const secret = await loadOrCreateJwtSecret(config.engine.jwtSecretFile);
  const server = createEngineServer(
    {
      streamDeadlineMs: config.engine.streamDeadlineMs,
      maxStreams: config.engine.maxStreams,
      title: `stack ${msg.name}`,
    },
    { logger, metrics: createEngineMetrics(registry) },
  );
  const engine = createEngineClient<Api>(
    combinedApi(definitions),
    createHttpTransport({
      url: msg.nodeUrl,
      token: createTokenSigner(secret, { subject: msg.name, lifetimeS: config.engine.tokenTtlS }),
    }),
  );
  const ctl = new AbortController();
  const instance: StackInstance<Api> = await mine.create(mine.options(config), {
    logger,
    registry,
    engine,
    signal: ctl.signal,
  });
  server.register(mine.api, instance.handlers);
  await instance.start?.();
  const http: EngineHttpServer = await startEngineHttpServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: config.engine.maxBodyBytes },
    { server, verifier: createTokenVerifier(secret, { maxLifetimeS: config.engine.tokenTtlS }), logger },
  );
  shutdown = async () => {
    ctl.abort();
    await http.close();
    await instance.stop?.();
    await engine.close();
  };
  send({ type: 'ready', port: http.port });
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  shutdown()
    .catch((err: unknown) => logger.error({ err }, 'stack stop failed'))
    .finally(() => process.exit(code));
}

process.on('message', (raw) => {
  const parsed = ToChildSchema.safeParse(raw);
  if (!parsed.success) return;
  const msg = parsed.data;
  if (msg.type === 'start') {
    start(msg).catch((err: unknown) => {
      logger.error({ err }, 'stack failed to start');
      send({ type: 'fatal', message: errorMessage(err) });
      process.exit(1);
    });
  } else if (msg.type === 'stop') {
    stop(0);
  } else {
    registry
      .getMetricsAsJSON()
      .then((metrics) => send({ type: 'metrics', id: msg.id, metrics }))
      .catch(() => send({ type: 'metrics', id: msg.id, metrics: [] }));
  }
});
process.on('disconnect', () => stop(0));
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => {}); // the supervisor decides; Ctrl-C reaches the whole process group
