/**
 * Pipeline groups on llama.cpp's RPC backend (docs/architecture.md, "Distributed inference").
 *
 * - The lead's backend: an `InferenceModule` that runs `llama-server` (built by `llamaTools.ts`) on a GGUF
 *   file with the group's members as RPC devices (`--rpc`, layers split by `--tensor-split`), bound to
 *   loopback, and serves it through the OpenAI-compatible backend (streaming, cancel, logprobs). The RPC
 *   endpoints are loopback ports: the members' own `ggml-rpc-server`s reached through the network stack's
 *   libp2p tunnels, never a public port. When `llama-server` exits (a member died, and llama.cpp aborts on a
 *   lost RPC connection), the in-flight requests fail with BACKEND_FAILED, `ready()` turns false so the
 *   model is no longer advertised or routed, and the server is restarted with doubling waits until the
 *   group is whole again.
 * - A member's side: `startRpcServer` runs `ggml-rpc-server` on 127.0.0.1 and restarts it if it exits.
 *
 * It must never let a child process outlive `close()`, never bind anything but 127.0.0.1, and never let a
 * non-`AppError` escape.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { errorMessage, freePortRange, type Logger, sleep } from '@subnet/utils';
import { ensureLlamaTools, type LlamaTools, type LlamaToolsOpts } from '../llamaTools.js';
import {
  AppError,
  AppErrorCode,
  type CallOpts,
  type Capabilities,
  type EmbedRequest,
  type GenerateRequest,
  type GenerationEvent,
  type InferenceModule,
} from '../module.js';
import { createOpenAiModule } from './openai.js';

/** Config of {@link createLlamaServerModule}. */
export interface LlamaServerOpts {
  /** The id the model is served under. */
  id: string;
  /** GGUF file. */
  path: string;
  /** Context size in tokens (default 4096). */
  contextLength?: number;
  /** RPC devices, `host:port` on loopback (the group's members, in order); empty: this node alone. */
  rpc: string[];
  /** Share of the layers per RPC device (llama-server's `--tensor-split`); default: by their free memory. */
  tensorSplit?: number[];
  /** Requests served at once (llama-server's slots; default 1). */
  parallel?: number;
  /** CPU threads of the lead (default: all). */
  threads?: number;
  /** Limit on a silent stream and on each start (default 120 s). */
  timeoutMs?: number;
  /** Where and how the tools are built (cache directory). */
  tools?: LlamaToolsOpts;
}

/** Collaborators of {@link createLlamaServerModule}. */
export interface LlamaServerModules {
  logger: Logger;
  /** The built tools; default: {@link ensureLlamaTools}. */
  tools?: (signal: AbortSignal) => Promise<LlamaTools>;
}

/** Most stderr kept from a child for error messages. */
const STDERR_TAIL = 4096;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** A child process with its stderr's tail kept, and a promise of its exit. */
interface Child {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail(): string;
}

function launch(cmd: string, args: string[]): Child {
  // No gdb backtrace on llama.cpp's abort (a lost RPC member): it takes a second and says nothing we log.
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GGML_NO_BACKTRACE: '1' },
  });
  let buf = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    buf = (buf + d).slice(-STDERR_TAIL);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: -1, signal: null }));
  });
  return { proc, exited, tail: () => buf.trim().split('\n').slice(-5).join(' | ') };
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (child === undefined || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const killed = await Promise.race([child.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!killed) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/** Checks an RPC endpoint is `127.0.0.1:port` / `localhost:port` / `[::1]:port`. */
export function loopbackEndpoint(endpoint: string): string {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(endpoint);
  const port = Number(m?.[2]);
  if (m === null || !(port >= 1 && port <= 65_535)) {
    throw new AppError(
      AppErrorCode.INVALID_REQUEST,
      `RPC endpoint "${endpoint}" must be a loopback host:port (llama.cpp's RPC protocol is unauthenticated; members are reached through the network stack's tunnels)`,
    );
  }
  return endpoint;
}

/**
 * Creates the lead's backend of a pipeline group (`backend: 'llama.cpp'` with `rpc`). `init` builds or finds
 * the tools, starts `llama-server` and waits until it has loaded the model over its RPC devices.
 */
export function createLlamaServerModule(opts: LlamaServerOpts, modules: LlamaServerModules): InferenceModule {
  const { logger } = modules;
  const rpc = opts.rpc.map(loopbackEndpoint);
  if (opts.tensorSplit !== undefined) {
    const ok =
      opts.tensorSplit.length === rpc.length &&
      opts.tensorSplit.every((x) => Number.isFinite(x) && x >= 0) &&
      opts.tensorSplit.some((x) => x > 0);
    if (!ok) {
      throw new AppError(
        AppErrorCode.INVALID_REQUEST,
        `tensorSplit needs one non-negative share per RPC device (${rpc.length}), not all zero`,
      );
    }
  }
  const contextLength = opts.contextLength ?? 4096;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const tools = modules.tools ?? ((signal) => ensureLlamaTools(opts.tools ?? {}, { logger }, signal));
  const life = new AbortController();
  let child: Child | undefined;
  let inner: InferenceModule | undefined;
  let ready = false;
  let lastExit = '';
  let supervisor: Promise<void> | undefined;

  function args(port: number): string[] {
    return [
      '-m',
      opts.path,
      '--alias',
      opts.id,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '-c',
      String(contextLength),
      '-np',
      String(opts.parallel ?? 1),
      '-t',
      String(opts.threads ?? cpus().length),
      '--fit',
      'off',
      '--cache-ram',
      '0',
      '--no-webui',
      ...(rpc.length === 0 ? [] : ['--rpc', rpc.join(','), '-ngl', '999']),
      ...(opts.tensorSplit === undefined ? [] : ['--tensor-split', opts.tensorSplit.join(',')]),
    ];
  }

  /** Starts llama-server and waits for its model; the OpenAI module over it on success. */
  async function start(bin: LlamaTools, signal: AbortSignal): Promise<void> {
    // Below the ephemeral range, so no outgoing connection takes it between the probe and llama-server's bind.
    const port = await freePortRange(1);
    const c = launch(bin.server, args(port));
    child = c;
    const module = createOpenAiModule(
      { baseUrl: `http://127.0.0.1:${port}`, models: [opts.id], timeoutMs },
      { logger },
    );
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void c.exited.then(() => {
      exited = true;
    });
    for (;;) {
      if (signal.aborted) {
        await module.close();
        await stopChild(c);
        throw new AppError(AppErrorCode.CANCELLED, 'stopped while llama-server was starting');
      }
      if (exited) {
        await module.close();
        const e = await c.exited;
        throw new AppError(
          AppErrorCode.BACKEND_UNAVAILABLE,
          `llama-server exited (${e.code ?? e.signal}) while loading ${opts.id} over ${rpc.length} RPC device(s): ${c.tail()}`,
        );
      }
      try {
        await module.init({ signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
        break;
      } catch {
        // Loading (503) or not listening yet.
      }
      if (Date.now() > deadline) {
        await module.close();
        await stopChild(c);
        throw new AppError(
          AppErrorCode.BACKEND_UNAVAILABLE,
          `llama-server did not load ${opts.id} within ${timeoutMs} ms: ${c.tail()}`,
        );
      }
      await sleep(100, { signal }).catch(() => {});
    }
    inner = module;
    ready = true;
    logger.info({ model: opts.id, port, rpc }, 'llama-server ready');
  }

  /** Watches the running server; on exit, marks the model unavailable and restarts it with doubling waits. */
  async function supervise(bin: LlamaTools): Promise<void> {
    let wait = 500;
    for (;;) {
      const running = child;
      if (running !== undefined) {
        const e = await running.exited;
        if (life.signal.aborted) return;
        ready = false;
        lastExit = `llama-server exited (${e.code ?? e.signal}): ${running.tail()}`;
        logger.warn({ model: opts.id, detail: lastExit }, 'the pipeline group lost its server; restarting');
        const old = inner;
        inner = undefined;
        await old?.close().catch(() => {});
      }
      child = undefined;
      try {
        await sleep(wait, { signal: life.signal });
        await start(bin, life.signal);
        wait = 500;
      } catch (err) {
        if (life.signal.aborted) return;
        lastExit = errorMessage(err);
        logger.warn({ model: opts.id, err: lastExit, retryInMs: wait * 2 }, 'llama-server did not start');
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  function current(): InferenceModule {
    if (!ready || inner === undefined) {
      throw new AppError(
        AppErrorCode.BACKEND_UNAVAILABLE,
        `model ${opts.id} is not available: its pipeline group is not whole (${lastExit || 'starting'})`,
        { meta: { model: opts.id } },
      );
    }
    return inner;
  }

  return {
    backend: 'llama.cpp',

    async init({ signal }) {
      let bin: LlamaTools;
      try {
        bin = await tools(AbortSignal.any([signal, life.signal]));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, errorMessage(err), { cause: err });
      }
      try {
        await start(bin, AbortSignal.any([signal, life.signal]));
      } catch (err) {
        if (signal.aborted || life.signal.aborted) throw err;
        // A member not up yet is not a reason to drop the model: it stays unavailable (not advertised, not
        // routed) while the supervisor retries.
        lastExit = errorMessage(err);
        logger.warn({ model: opts.id, err: lastExit }, 'the pipeline group is not whole yet; retrying');
      }
      supervisor = supervise(bin);
    },

    ready: () => ready,

    async health() {
      if (!ready) return { ok: false, detail: lastExit || 'starting' };
      return current().health({ signal: AbortSignal.timeout(5000) });
    },

    capabilities(): Capabilities {
      const caps = inner?.capabilities();
      // Before the group is whole the model is still declared (the stack does not advertise it until ready).
      const models = caps?.models ?? [
        { id: opts.id, taskTypes: ['chat', 'completion'], contextLength, modelType: 'llm' },
      ];
      return {
        backend: 'llama.cpp',
        hardware: caps?.hardware ?? { cpus: cpus().length, memoryBytes: totalmem(), gpu: null },
        models: models.map((m) => ({ ...m, contextLength })),
      };
    },

    generate(req: GenerateRequest, callOpts: CallOpts): AsyncIterable<GenerationEvent> {
      const server = current();
      // llama-server reads a completion's `logprobs: 0` as "none" (OpenAI: the chosen token's only): ask for one
      // alternative and drop it, so the caller gets what it asked for.
      if (req.kind === 'completion' && req.logprobs === true && (req.topLogprobs ?? 0) === 0) {
        return withoutAlternatives(server.generate({ ...req, topLogprobs: 1 }, callOpts));
      }
      return server.generate(req, callOpts);
    },

    embed(req: EmbedRequest, callOpts: CallOpts) {
      return current().embed(req, callOpts);
    },

    async close() {
      life.abort();
      ready = false;
      await inner?.close().catch(() => {});
      inner = undefined;
      await stopChild(child);
      await supervisor;
    },
  };
}

async function* withoutAlternatives(events: AsyncIterable<GenerationEvent>): AsyncIterable<GenerationEvent> {
  for await (const ev of events) {
    if (ev.type !== 'token' || ev.topLogprobs === undefined) yield ev;
    else {
      const { topLogprobs: _, ...rest } = ev;
      yield rest;
    }
  }
}

/** Config of {@link startRpcServer}. */
export interface RpcServerOpts {
  /** Loopback port to listen on. */
  port: number;
  /** CPU threads (default: all). */
  threads?: number;
  tools?: LlamaToolsOpts;
}

/** A running `ggml-rpc-server` (restarted when it exits until `close`). */
export interface RpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Runs `ggml-rpc-server` on 127.0.0.1:`port` for the group's lead (reached through the network stack's
 * tunnel) and keeps it running: an exit is logged and followed by a restart with doubling waits.
 */
export async function startRpcServer(
  opts: RpcServerOpts,
  modules: LlamaServerModules,
  signal: AbortSignal,
): Promise<RpcServer> {
  const { logger } = modules;
  const bin = await (modules.tools ?? ((s) => ensureLlamaTools(opts.tools ?? {}, { logger }, s)))(signal);
  const life = new AbortController();
  const args = ['-H', '127.0.0.1', '-p', String(opts.port), '-t', String(opts.threads ?? cpus().length)];
  let child = launch(bin.rpcServer, args);
  let startedAt = Date.now();
  // Listening before this returns: a port taken by another process fails here, not at the lead's first use.
  const deadline = Date.now() + 10_000;
  while (!(await accepts(opts.port))) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null || Date.now() > deadline) {
      await stopChild(child);
      throw new AppError(
        AppErrorCode.BACKEND_UNAVAILABLE,
        `ggml-rpc-server did not listen on 127.0.0.1:${opts.port}: ${child.tail() || 'no output'}`,
      );
    }
    await sleep(50);
  }
  logger.info({ port: opts.port }, 'ggml-rpc-server started');
  const loop = (async () => {
    let wait = 500;
    for (;;) {
      const e = await child.exited;
      if (Date.now() - startedAt > 60_000) wait = 500;
      if (life.signal.aborted) return;
      logger.warn(
        { port: opts.port, code: e.code, signal: e.signal, detail: child.tail() },
        'ggml-rpc-server exited',
      );
      try {
        await sleep(wait, { signal: life.signal });
      } catch {
        return;
      }
      wait = Math.min(wait * 2, 30_000);
      child = launch(bin.rpcServer, args);
      startedAt = Date.now();
    }
  })();
  return {
    port: opts.port,
    async close() {
      life.abort();
      await stopChild(child);
      await loop;
    },
  };
}
