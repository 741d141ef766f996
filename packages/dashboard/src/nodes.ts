/**
 * The nodes the dashboard manages: each configured node's Engine API (`{ name, url }`), reached over HTTP
 * with tokens signed by the shared JWT secret, to list, load and unload its models (`app_listModelsV1`,
 * `app_loadModelV1`, `app_unloadModelV1`) and to learn its uid (`network_getStatusV1`). A node that does
 * not answer is shown as unreachable, never waited on past a deadline.
 */
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineApi,
  type EngineClient,
  engineApi,
  type ResultOf,
} from '@subnet/engine-api';
import type { LoadedModel, LoadModelBody, Nodes, UnloadedModel } from './api.js';
import { DashboardError, DashboardErrorCode } from './errors.js';

/** One managed node: a name shown in the dashboard and the base URL of its Engine API. */
export interface ManagedNode {
  name: string;
  url: string;
}

const LIST_TIMEOUT_MS = 3000;
/** Loading a model may read gigabytes from disk. */
const LOAD_TIMEOUT_MS = 300_000;

export interface NodeManager {
  list(signal: AbortSignal): Promise<Nodes>;
  load(name: string, body: LoadModelBody, signal: AbortSignal): Promise<LoadedModel>;
  unload(name: string, id: string, signal: AbortSignal): Promise<UnloadedModel>;
  close(): Promise<void>;
}

/**
 * Creates the clients of the managed nodes. `secret` is the JWT secret the nodes share with this one
 * (`engine.jwtSecretFile`); without it (no nodes) nothing is signed.
 */
export function createNodeManager(
  nodes: readonly ManagedNode[],
  secret: Uint8Array | undefined,
  uidOf: (hotkey: string) => number | undefined,
): NodeManager {
  const token =
    secret === undefined ? undefined : createTokenSigner(secret, { subject: 'dashboard', lifetimeS: 60 });
  const clients = new Map<string, EngineClient<EngineApi>>();
  for (const n of nodes) {
    const transport = createHttpTransport(
      token === undefined ? { url: n.url, connections: 4 } : { url: n.url, token, connections: 4 },
    );
    clients.set(n.name, createEngineClient(engineApi, transport, { timeoutMs: LIST_TIMEOUT_MS }));
  }

  function client(name: string): EngineClient<EngineApi> {
    const c = clients.get(name);
    if (c === undefined)
      throw new DashboardError(
        DashboardErrorCode.NOT_FOUND,
        `No managed node named '${name}'; GET /api/nodes lists them (gateway.dashboard.nodes).`,
      );
    return c;
  }

  function modelsOf(r: ResultOf<EngineApi['app_listModelsV1']>): { id: string; backend: string }[] {
    return r.models.map((m) => ({ id: m.id, backend: m.backend }));
  }

  return {
    async list(signal) {
      const out = await Promise.all(
        nodes.map(async (n) => {
          const c = client(n.name);
          const opts = { signal, timeoutMs: LIST_TIMEOUT_MS };
          const [models, status] = await Promise.allSettled([
            c.call('app_listModelsV1', {}, opts),
            c.call('network_getStatusV1', {}, opts),
          ]);
          const uid =
            status.status === 'fulfilled' ? (status.value.uid ?? uidOf(status.value.hotkey) ?? null) : null;
          return models.status === 'fulfilled'
            ? { name: n.name, uid, reachable: true, models: modelsOf(models.value) }
            : { name: n.name, uid, reachable: false, models: [] };
        }),
      );
      return { nodes: out };
    },

    async load(name, body, signal) {
      const c = client(name);
      const r = await c.call(
        'app_loadModelV1',
        {
          id: body.id,
          backend: body.backend,
          ...(body.path === undefined ? {} : { path: body.path }),
          ...(body.baseUrl === undefined ? {} : { baseUrl: body.baseUrl }),
          ...(body.model === undefined ? {} : { model: body.model }),
        },
        { signal, timeoutMs: LOAD_TIMEOUT_MS },
      );
      return { node: name, model: { id: r.model.id, backend: r.model.backend }, replaced: r.replaced };
    },

    async unload(name, id, signal) {
      const c = client(name);
      const r = await c.call('app_unloadModelV1', { id }, { signal, timeoutMs: LOAD_TIMEOUT_MS });
      return { node: name, id, unloaded: r.unloaded };
    },

    async close() {
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
    },
  };
}
