/**
 * Single mode: a stack running inside the node's process. Its API is registered once on the node's
 * Engine API server with handlers that delegate to the current instance, so a restart swaps the instance
 * without touching the server; while no instance runs, calls answer UNAVAILABLE.
 */
import {
  type AnyMethod,
  type Api,
  EngineError,
  type EngineServer,
  namespacesOf,
  type StackDefinition,
  type StackInstance,
  type StackModules,
} from '@subnet/engine-api';
import { errorMessage } from '@subnet/utils';
import type { StackHandle, StackInfo } from './stackHandle.js';

export interface InProcessStackOpts {
  name: string;
  definition: StackDefinition;
  config: unknown;
}

export interface InProcessStackModules {
  server: EngineServer;
  makeModules: (signal: AbortSignal) => StackModules;
  onChange: () => void;
}

type AnyHandler = (params: unknown, ctx: unknown) => unknown;

/** Registers the stack's API on `server` and returns its handle. */
export function createInProcessStack(opts: InProcessStackOpts, modules: InProcessStackModules): StackHandle {
  const { definition, name } = opts;
  let instance: StackInstance<Api> | undefined;
  let ctl: AbortController | undefined;
  const info: StackInfo = {
    name,
    namespaces: namespacesOf(definition.api),
    status: 'stopped',
    pid: process.pid,
    restarts: 0,
    startedAt: null,
    lastError: null,
  };
  const set = (patch: Partial<StackInfo>) => {
    Object.assign(info, patch);
    modules.onChange();
  };

  const delegating: Record<string, AnyHandler> = {};
  for (const m of Object.values(definition.api) as AnyMethod[]) {
    delegating[m.name] = (params, ctx) => {
      const h = (instance?.handlers as Record<string, AnyHandler> | undefined)?.[m.name];
      if (instance === undefined || h === undefined || info.status !== 'running') {
        throw EngineError.std('UNAVAILABLE', `stack ${name} is ${info.status}; retry shortly`);
      }
      return h(params, ctx);
    };
  }
  modules.server.register(definition.api, delegating as never);

  const handle: StackHandle = {
    name,
    info: () => ({ ...info, namespaces: [...info.namespaces] }),
    async start() {
      if (info.status === 'running' || info.status === 'starting') return;
      set({ status: 'starting' });
      ctl = new AbortController();
      try {
        const created = await definition.create(
          definition.options(opts.config),
          modules.makeModules(ctl.signal),
        );
        await created.start?.();
        instance = created;
        set({ status: 'running', startedAt: new Date().toISOString(), lastError: null });
      } catch (err) {
        set({ status: 'failed', lastError: errorMessage(err) });
        throw err;
      }
    },
    async stop() {
      if (instance === undefined) return;
      set({ status: 'stopping' });
      const current = instance;
      instance = undefined;
      ctl?.abort();
      try {
        await current.stop?.();
      } finally {
        set({ status: 'stopped' });
      }
    },
    async restart() {
      await handle.stop();
      set({ restarts: info.restarts + 1 });
      await handle.start();
    },
  };
  return handle;
}
