/**
 * Split mode, supervisor side: one stack in a child process. The supervisor forks the process, waits for
 * it to report its Engine API port, routes the stack's namespaces there, and when the process dies marks
 * them unavailable and restarts it with exponential backoff. Other stacks are never touched.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type AnyMethod,
  createHttpTransport,
  createTokenSigner,
  type EngineServer,
  namespacesOf,
  type StackDefinition,
  type Transport,
} from '@subnet/engine-api';
import { type Logger, SubnetError } from '@subnet/utils';
import { type ToChild, type ToParent, ToParentSchema } from './ipc.js';
import { NodeErrorCode } from './loadStack.js';
import { restartDelay, type StackHandle, type StackInfo } from './stackHandle.js';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

export interface ChildStackOpts {
  name: string;
  module: string;
  cwd: string;
  definition: StackDefinition;
  config: Record<string, unknown>;
  nodeUrl: string;
  restart: { initialDelayMs: number; maxDelayMs: number; resetAfterMs: number };
  readyTimeoutMs?: number;
  tokenLifetimeS: number;
}

export interface ChildStackModules {
  server: EngineServer;
  secret: Uint8Array;
  logger: Logger;
  onChange: () => void;
}

/** A split-mode stack handle that also exposes its process' metrics. */
export interface ChildStackHandle extends StackHandle {
  /** The child's prom-client metrics as JSON (empty when not running). */
  metrics(timeoutMs: number): Promise<unknown[]>;
}

export function createChildStack(opts: ChildStackOpts, modules: ChildStackModules): ChildStackHandle {
  const { name, definition } = opts;
  const { server, logger } = modules;
  const methods = Object.values(definition.api) as AnyMethod[];
  const namespaces = namespacesOf(definition.api);
  const token = createTokenSigner(modules.secret, { subject: 'node', lifetimeS: opts.tokenLifetimeS });
  const info: StackInfo = {
    name,
    namespaces,
    status: 'stopped',
    pid: null,
    restarts: 0,
    startedAt: null,
    lastError: null,
  };
  let child: ChildProcess | undefined;
  let transport: Transport | undefined;
  let wanted = false;
  let consecutiveFailures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let metricsSeq = 0;
  const metricsWaiters = new Map<number, (m: unknown[]) => void>();

  const set = (patch: Partial<StackInfo>) => {
    Object.assign(info, patch);
    modules.onChange();
  };
  const routeTo = (t: Transport | undefined) => {
    for (const ns of namespaces)
      server.route(ns, { methods: methods.filter((m) => m.namespace === ns), transport: t });
  };
  routeTo(undefined);

  /** Forks one incarnation; resolves when it is ready, rejects if it dies first. */
  function spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const proc = fork(CHILD_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
      child = proc;
      let ready = false;
      let startedAt = 0;
      set({ status: info.status === 'restarting' ? 'restarting' : 'starting', pid: proc.pid ?? null });
      const readyTimer = setTimeout(() => {
        logger.error({ stack: name }, 'stack did not report ready in time; killing it');
        proc.kill('SIGKILL');
      }, opts.readyTimeoutMs ?? 30_000);

      proc.on('message', (raw) => {
        const parsed = ToParentSchema.safeParse(raw);
        if (!parsed.success) {
          logger.warn({ stack: name }, 'ignoring a malformed message from a stack process');
          return;
        }
        const msg: ToParent = parsed.data;
        if (msg.type === 'ready') {
          clearTimeout(readyTimer);
          ready = true;
          startedAt = Date.now();
          transport = createHttpTransport({ url: `http://127.0.0.1:${msg.port}`, token, connections: 64 });
          routeTo(transport);
          set({ status: 'running', startedAt: new Date().toISOString(), lastError: null });
          logger.info({ stack: name, pid: proc.pid, port: msg.port }, 'stack running');
          resolve();
        } else if (msg.type === 'metrics') {
          metricsWaiters.get(msg.id)?.(msg.metrics);
          metricsWaiters.delete(msg.id);
        } else {
          set({ lastError: msg.message });
        }
      });

      proc.on('exit', (code, signal) => {
        clearTimeout(readyTimer);
        if (child === proc) child = undefined;
        routeTo(undefined);
        const old = transport;
        transport = undefined;
        void old?.close().catch(() => {});
        const why = signal === null ? `exited with code ${code}` : `killed by ${signal}`;
        if (!ready)
          reject(
            new SubnetError(
              NodeErrorCode.STACK_START_FAILED,
              `stack ${name} ${why} before it was ready${info.lastError === null ? '' : `: ${info.lastError}`}`,
            ),
          );
        if (!wanted) {
          set({ status: 'stopped', pid: null });
          return;
        }
        if (ready && Date.now() - startedAt >= opts.restart.resetAfterMs) consecutiveFailures = 0;
        const delay = restartDelay(consecutiveFailures++, opts.restart);
        logger.warn({ stack: name, why, delayMs: delay }, 'stack process ended; restarting');
        set({ status: 'restarting', pid: null, lastError: info.lastError ?? why });
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (!wanted) return;
          set({ restarts: info.restarts + 1 });
          spawn().catch((err: unknown) => logger.warn({ stack: name, err }, 'stack restart failed'));
        }, delay);
      });

      const start: ToChild = {
        type: 'start',
        name,
        module: opts.module,
        cwd: opts.cwd,
        nodeUrl: opts.nodeUrl,
        config: opts.config,
      };
      proc.send(start);
    });
  }

  const handle: ChildStackHandle = {
    name,
    info: () => ({ ...info, namespaces: [...namespaces] }),
    async start() {
      if (wanted) return;
      wanted = true;
      consecutiveFailures = 0;
      try {
        await spawn();
      } catch (err) {
        wanted = false;
        set({ status: 'failed', lastError: (err as Error).message });
        throw err;
      }
    },
    async stop() {
      wanted = false;
      clearTimeout(restartTimer);
      const proc = child;
      if (proc === undefined || proc.exitCode !== null) {
        set({ status: 'stopped', pid: null });
        return;
      }
      set({ status: 'stopping' });
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      if (proc.connected) proc.send({ type: 'stop' } satisfies ToChild);
      else proc.kill('SIGTERM');
      const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
    async restart() {
      await handle.stop();
      set({ restarts: info.restarts + 1 });
      await handle.start();
    },
    metrics(timeoutMs) {
      const proc = child;
      if (proc === undefined || !proc.connected || info.status !== 'running') return Promise.resolve([]);
      const id = ++metricsSeq;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          metricsWaiters.delete(id);
          resolve([]);
        }, timeoutMs);
        metricsWaiters.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        proc.send({ type: 'metrics', id } satisfies ToChild);
      });
    },
  };
  return handle;
}
