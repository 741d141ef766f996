/**
 * The composition root. Builds a node from its config: the Engine API server with the `node_*`
 * namespace, the HTTP endpoint (/rpc, /health, /ready, /metrics), and each configured stack either in
 * this process (single mode) or in a supervised child process (split mode). Starts stacks in config
 * order and stops them in reverse.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Config } from '@subnet/config';
import {
  type Api,
  createEngineClient,
  createEngineMetrics,
  createEngineServer,
  createInProcessTransport,
  createTokenVerifier,
  defineApi,
  ENGINE_API_VERSION,
  EngineError,
  type EngineHttpServer,
  type EngineServer,
  loadOrCreateJwtSecret,
  namespacesOf,
  nodeErrors,
  nodeMethods,
  type StackDefinition,
  startEngineHttpServer,
} from '@subnet/engine-api';
import { BoundedQueue, type Logger, SubnetError, VERSION } from '@subnet/utils';
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type ChildStackHandle, createChildStack } from './childStack.js';
import { createInProcessStack } from './inProcessStack.js';
import { loadStack, NodeErrorCode } from './loadStack.js';
import { combinedApi } from './stackApi.js';
import type { StackHandle, StackInfo } from './stackHandle.js';

export interface NodeModules {
  logger: Logger;
  /** Where relative stack module paths resolve. */
  cwd?: string;
}

export interface SubnetNode {
  /** Base URL of the Engine API / health / metrics endpoint. */
  readonly url: string;
  readonly server: EngineServer;
  stacks(): StackInfo[];
  stop(): Promise<void>;
}

const nodeApi = defineApi(nodeMethods);

/** Builds and starts a node; on failure everything already started is stopped again. */
export async function startNode(config: Config, modules: NodeModules): Promise<SubnetNode> {
  const { logger } = modules;
  const cwd = modules.cwd ?? process.cwd();
  const startedAt = Date.now();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const stackUp = new Gauge({
    name: 'subnet_stack_up',
    help: '1 when the stack runs',
    labelNames: ['stack'] as const,
    registers: [registry],
  });
  const stackRestarts = new Gauge({
    name: 'subnet_stack_restarts',
    help: 'Restarts of the stack since the node started',
    labelNames: ['stack'] as const,
    registers: [registry],
  });
  const nodeInfo = new Counter({
    name: 'subnet_node_info',
    help: 'Node version and process mode',
    labelNames: ['version', 'mode'] as const,
    registers: [registry],
  });
  nodeInfo.inc({ version: VERSION, mode: config.node.processMode }, 0);

  const definitions: StackDefinition[] = [];
  const seen = new Map<string, string>();
  for (const entry of config.node.stacks) {
    const def = await loadStack(entry.module, cwd);
    for (const ns of namespacesOf(def.api)) {
      const other = seen.get(ns);
      if (other !== undefined || ns === 'node' || ns === 'engine') {
        throw new SubnetError(
          NodeErrorCode.NAMESPACE_CONFLICT,
          `namespace ${ns} of stack ${entry.name} is already served by ${other ?? 'the node'}`,
        );
      }
      seen.set(ns, entry.name);
    }
    definitions.push(def);
  }

  const secret = await loadOrCreateJwtSecret(config.engine.jwtSecretFile);
  const server = createEngineServer(
    {
      streamDeadlineMs: config.engine.streamDeadlineMs,
      maxStreams: config.engine.maxStreams,
      title: 'Subnet node Engine API',
      version: ENGINE_API_VERSION,
    },
    { logger, metrics: createEngineMetrics(registry) },
  );
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const handles: StackHandle[] = [];
  const onChange = () => {
    for (const h of handles) {
      const i = h.info();
      stackUp.set({ stack: i.name }, i.status === 'running' ? 1 : 0);
      stackRestarts.set({ stack: i.name }, i.restarts);
    }
    changes.emit('change');
  };
  const infos = () => handles.map((h) => h.info());

  server.register(nodeApi, {
    node_getHealthV1: () => {
      const stacks = Object.fromEntries(infos().map((i) => [i.name, i.status]));
      const ok = Object.values(stacks).every((s) => s === 'running');
      return {
        status: ok ? 'ok' : 'degraded',
        processMode: config.node.processMode,
        uptimeS: (Date.now() - startedAt) / 1000,
        stacks,
      };
    },
    node_getVersionV1: () => ({
      version: VERSION,
      runtime: process.version,
      engineApi: ENGINE_API_VERSION,
      platform: `${process.platform}-${process.arch}`,
    }),
    node_getStacksV1: () => ({ stacks: infos() }),
    node_restartStackV1: async ({ name }) => {
      const h = handles.find((x) => x.name === name);
      if (h === undefined)
        throw EngineError.of(
          nodeErrors.STACK_NOT_FOUND,
          `no stack named ${name}; configured: ${handles.map((x) => x.name).join(', ') || 'none'}`,
        );
      await h.restart();
      return { stack: h.info() };
    },
    node_watchStacksV1: (_params, ctx) => watchStacks(ctx.signal),
  });

  async function* watchStacks(signal: AbortSignal): AsyncGenerator<{ stacks: StackInfo[] }> {
    const queue = new BoundedQueue<StackInfo[]>({ capacity: 64 });
    const push = () => queue.tryPush(infos());
    changes.on('change', push);
    signal.addEventListener('abort', () => queue.close(), { once: true });
    try {
      yield { stacks: infos() };
      for await (const stacks of queue) yield { stacks };
    } finally {
      changes.off('change', push);
    }
  }

  const metricsRoute = (_req: unknown, res: ServerResponse) => {
    collectMetrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  };
  async function collectMetrics(): Promise<string> {
    const children = handles.filter((h): h is ChildStackHandle => 'metrics' in h);
    if (children.length === 0) return registry.metrics();
    const all = await Promise.all([registry.getMetricsAsJSON(), ...children.map((c) => c.metrics(1000))]);
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  }
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const http: EngineHttpServer = await startEngineHttpServer(
    {
      host: config.node.host,
      port: config.node.port,
      maxBodyBytes: config.engine.maxBodyBytes,
      routes: {
        '/health': (_req, res) => json(res, 200, { status: 'ok', uptimeS: (Date.now() - startedAt) / 1000 }),
        '/ready': (_req, res) => {
          const stacks = infos();
          const ready = stacks.every((s) => s.status === 'running');
          json(res, ready ? 200 : 503, {
            ready,
            stacks: Object.fromEntries(stacks.map((s) => [s.name, s.status])),
          });
        },
        '/metrics': metricsRoute,
      },
    },
    { server, verifier: createTokenVerifier(secret, { maxLifetimeS: config.engine.tokenTtlS }), logger },
  );

  const stackApi = combinedApi(definitions);
  config.node.stacks.forEach((entry, i) => {
    const definition = definitions[i] as StackDefinition;
    const stackLogger = logger.child({ stack: entry.name });
    handles.push(
      config.node.processMode === 'single'
        ? createInProcessStack(
            { name: entry.name, definition, config },
            {
              server,
              onChange,
              makeModules: (signal) => ({
                logger: stackLogger,
                registry,
                signal,
                engine: createEngineClient<Api>(
                  stackApi,
                  createInProcessTransport(server, { caller: entry.name }),
                ),
              }),
            },
          )
        : createChildStack(
            {
              name: entry.name,
              module: entry.module,
              cwd,
              definition,
              config: config as unknown as Record<string, unknown>,
              nodeUrl: http.url,
              restart: config.node.restart,
              tokenLifetimeS: config.engine.tokenTtlS,
            },
            { server, secret, logger: stackLogger, onChange },
          ),
    );
  });

  const node: SubnetNode = {
    url: http.url,
    server,
    stacks: infos,
    async stop() {
      for (const h of [...handles].reverse()) {
        await h.stop().catch((err: unknown) => logger.error({ err, stack: h.name }, 'stack stop failed'));
      }
      await http.close();
      changes.removeAllListeners();
    },
  };

  try {
    for (const h of handles) {
      await h.start();
      logger.info({ stack: h.name, mode: config.node.processMode }, 'stack started');
    }
  } catch (err) {
    await node.stop();
    throw err;
  }
  onChange();
  return node;
}
