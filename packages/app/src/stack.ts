/**
 * The app stack: serves `app_*` over the Engine API. Each configured model gets its own inference module
 * (llama.cpp file, Ollama or OpenAI-compatible server, or the Universal Sentence Encoder shipped on npm);
 * every call is routed by model id through the per-model scheduler, and app failures are mapped to the namespace's error codes. Models can be loaded
 * and unloaded at runtime: a swap or unload only waits for (or, past the deadline, cancels) the jobs of
 * that model. It must never let one model's load, unload or backlog delay another model's requests.
 */
import { cpus, freemem, totalmem } from 'node:os';
import type { Config } from '@subnet/config';
import {
  appErrors,
  appMethods,
  defineApi,
  defineStack,
  EngineError,
  featureOf,
  type GpuInfo,
  type Handlers,
  type StructuredFeature,
} from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createLlamaCppModule } from './backends/llamaCpp.js';
import { createLlamaServerModule, type RpcServer, startRpcServer } from './backends/llamaServer.js';
import { createOllamaModule } from './backends/ollama.js';
import { createOpenAiModule } from './backends/openai.js';
import { createUseModule } from './backends/use.js';
import { nvidiaGpus } from './hardware.js';
import {
  AppError,
  AppErrorCode,
  type GenerateRequest,
  type InferenceModule,
  type TaskType,
} from './module.js';
import { createModelTypeRegistry, type ModelTypeRuleInput } from './namespaces.js';
import { createScheduler, type Scheduler } from './scheduler.js';

export const appApi = defineApi(appMethods);

/** What the app stack reads from the node config. */
export type AppStackOpts = Config['app'];
/** One model entry of the config (or of `app_loadModelV1`). */
export type AppModelConfig = AppStackOpts['models'][number];

/** Collaborators of {@link createAppHandlers}. */
export interface AppModules {
  logger: Logger;
  registry: Registry;
  /** Builds the module of one model; default: the backend named by the entry. */
  createModule?: (model: AppModelConfig, logger: Logger) => InferenceModule;
  /** GPU name; default: the first of {@link AppModules.detectGpus} (null without one). */
  detectGpu?: () => Promise<string | null>;
  /**
   * GPUs with their free memory; default: asked of `nvidia-smi`, at most once per
   * {@link GPU_REFRESH_MS} (free memory changes; heartbeats ask every few seconds).
   */
  detectGpus?: () => Promise<GpuInfo[]>;
}

/** The app stack's handlers plus the lifecycle of the models behind them. */
export interface AppService {
  handlers: Handlers<typeof appApi>;
  /** Loads the configured models (a model that fails to load is logged and skipped). */
  start(signal: AbortSignal): Promise<void>;
  /** Cancels every job and closes every module. Idempotent. */
  close(): Promise<void>;
}

interface ModelInfo {
  id: string;
  backend: AppModelConfig['backend'];
  taskTypes: TaskType[];
  contextLength: number;
  modelType: string;
  features: StructuredFeature[];
}

interface Served {
  config: AppModelConfig;
  module: InferenceModule;
  info: ModelInfo;
  /** Name of the model on its backend (the id for llama.cpp). */
  remote: string;
  /** Requests admitted for this model and not yet settled (queued or running). */
  inflight: number;
  onIdle: Set<() => void>;
  /** Aborts this model's requests (unload past its grace). */
  controller: AbortController;
}

const BACKEND_TIMEOUT_MS = 30_000;
const PRIORITIES = ['challenge', 'organic'] as const;

/** Maps an app failure to the Engine API's app error codes. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (!(err instanceof AppError)) return EngineError.std('INTERNAL_ERROR', errorMessage(err));
  switch (err.code) {
    case AppErrorCode.UNKNOWN_MODEL:
      return EngineError.of(appErrors.UNKNOWN_MODEL, err.message);
    case AppErrorCode.OVERLOADED:
      return EngineError.of(appErrors.OVERLOADED, err.message, {
        retryAfterMs: err.meta?.retryAfterMs ?? 1000,
      });
    case AppErrorCode.CONTEXT_OVERFLOW:
      return EngineError.of(appErrors.CONTEXT_OVERFLOW, err.message);
    case AppErrorCode.UNSUPPORTED_TASK:
      return EngineError.of(appErrors.UNSUPPORTED_TASK, err.message);
    case AppErrorCode.MODEL_REFUSED:
      return EngineError.of(appErrors.MODEL_REFUSED, err.message);
    case AppErrorCode.BACKEND_UNAVAILABLE:
      return EngineError.of(appErrors.BACKEND_UNAVAILABLE, err.message);
    case AppErrorCode.BACKEND_FAILED:
      return EngineError.of(appErrors.BACKEND_FAILED, err.message);
    case AppErrorCode.INVALID_REQUEST:
      return EngineError.std('INVALID_PARAMS', err.message);
    case AppErrorCode.DEADLINE_EXCEEDED:
      return EngineError.std('DEADLINE_EXCEEDED', err.message);
    case AppErrorCode.CANCELLED:
      return EngineError.std('CANCELLED', err.message);
    default:
      return EngineError.std('INTERNAL_ERROR', err.message);
  }
}

/** The default module factory: one backend instance serving exactly one model. */
function defaultModule(m: AppModelConfig, logger: Logger, toolsCacheDir?: string): InferenceModule {
  switch (m.backend) {
    case 'llama.cpp':
      if (m.rpc !== undefined) {
        return createLlamaServerModule(
          {
            id: m.id,
            path: m.path ?? '',
            rpc: m.rpc.servers,
            ...(m.rpc.tensorSplit === undefined ? {} : { tensorSplit: m.rpc.tensorSplit }),
            ...(m.contextLength === undefined ? {} : { contextLength: m.contextLength }),
            ...(toolsCacheDir === undefined ? {} : { tools: { cacheDir: toolsCacheDir } }),
          },
          { logger },
        );
      }
      return createLlamaCppModule(
        {
          models: [
            {
              id: m.id,
              path: m.path ?? '',
              ...(m.contextLength === undefined ? {} : { contextLength: m.contextLength }),
            },
          ],
        },
        { logger },
      );
    case 'ollama':
      return createOllamaModule(
        { baseUrl: m.baseUrl ?? '', models: [m.model ?? m.id], timeoutMs: BACKEND_TIMEOUT_MS },
        { logger },
      );
    case 'openai':
      return createOpenAiModule(
        { baseUrl: m.baseUrl ?? '', models: [m.model ?? m.id], timeoutMs: BACKEND_TIMEOUT_MS },
        { logger },
      );
    case 'use':
      return createUseModule({ modelId: m.id }, { logger });
  }
}

/** How long a GPU reading (free memory included) is reused before `nvidia-smi` is asked again. */
export const GPU_REFRESH_MS = 10_000;

function metric<T>(registry: Registry, name: string, make: () => T): T {
  registry.removeSingleMetric(name);
  return make();
}

/** Creates the app stack's handlers over its models (exported for tests). */
export function createAppHandlers(opts: AppStackOpts, modules: AppModules): AppService {
  const { logger, registry } = modules;
  const createModule =
    modules.createModule ?? ((m: AppModelConfig, l: Logger) => defaultModule(m, l, opts.toolsCacheDir));
  let rpcServer: RpcServer | undefined;
  const types = createModelTypeRegistry({ extra: opts.modelTypes as ModelTypeRuleInput[] });
  const scheduler: Scheduler = createScheduler({
    perModel: { concurrency: opts.scheduler.concurrency, queueCapacity: opts.scheduler.queueCapacity },
    defaultDeadlineMs: opts.scheduler.deadlineMs,
  });
  const served = new Map<string, Served>();
  const retiring = new Set<Promise<void>>();
  let gpu: Promise<string | null> | undefined;
  let gpus: { at: number; value: Promise<GpuInfo[]> } | undefined;
  let closed = false;

  const registers = [registry];
  const tokens = metric(
    registry,
    'app_tokens_total',
    () =>
      new Counter({
        name: 'app_tokens_total',
        help: 'Tokens generated, by model',
        labelNames: ['model'] as const,
        registers,
      }),
  );
  const ttft = metric(
    registry,
    'app_time_to_first_token_seconds',
    () =>
      new Histogram({
        name: 'app_time_to_first_token_seconds',
        help: 'Time from request to first generated token, queue wait included',
        labelNames: ['model'] as const,
        buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
  );
  const latency = metric(
    registry,
    'app_request_seconds',
    () =>
      new Histogram({
        name: 'app_request_seconds',
        help: 'App request latency by method and model, queue wait included',
        labelNames: ['method', 'model'] as const,
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
        registers,
      }),
  );
  metric(
    registry,
    'app_queue_depth',
    () =>
      new Gauge({
        name: 'app_queue_depth',
        help: 'Requests waiting for a slot, by model',
        labelNames: ['model'] as const,
        registers,
        collect() {
          this.reset();
          for (const [model, s] of Object.entries(scheduler.allStats())) this.set({ model }, s.queued);
        },
      }),
  );
  const errors = metric(
    registry,
    'app_errors_total',
    () =>
      new Counter({
        name: 'app_errors_total',
        help: 'App request failures by error name',
        labelNames: ['code'] as const,
        registers,
      }),
  );

  function detectGpus(): Promise<GpuInfo[]> {
    const now = performance.now();
    if (gpus === undefined || now - gpus.at >= GPU_REFRESH_MS)
      gpus = { at: now, value: (modules.detectGpus ?? nvidiaGpus)().catch(() => []) };
    return gpus.value;
  }

  function detectGpu(): Promise<string | null> {
    if (gpu === undefined)
      gpu =
        modules.detectGpu?.() ??
        // The name never changes: read once, from the first GPU listed.
        detectGpus().then((list) => list[0]?.name ?? null);
    return gpu;
  }

  function fail(err: unknown): EngineError {
    const e = toEngineError(err);
    errors.inc({ code: e.code });
    return e;
  }

  function route(id: string): Served {
    const s = served.get(id);
    if (s === undefined)
      throw new AppError(
        AppErrorCode.UNKNOWN_MODEL,
        `model "${id}" is not loaded; loaded: ${[...served.keys()].join(', ') || 'none'} (app_loadModelV1 loads one)`,
        { meta: { model: id } },
      );
    if (s.module.ready?.() === false)
      throw new AppError(
        AppErrorCode.BACKEND_UNAVAILABLE,
        `model "${id}" is not available now (its backend is down)`,
        {
          meta: { model: id },
        },
      );
    return s;
  }

  function enter(s: Served): void {
    s.inflight++;
  }
  function leave(s: Served): void {
    s.inflight--;
    if (s.inflight === 0) for (const f of [...s.onIdle]) f();
  }

  /** Waits until `s` has no request left, or `ms` passed; true when idle. */
  function idle(s: Served, ms: number): Promise<boolean> {
    if (s.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        s.onIdle.delete(onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      s.onIdle.add(onIdle);
    });
  }

  /** Takes a model out of service: lets its requests finish (cancels them past the deadline), then closes it. */
  function retire(s: Served): Promise<void> {
    const p = (async () => {
      if (!(await idle(s, opts.scheduler.deadlineMs))) {
        s.controller.abort(new AppError(AppErrorCode.CANCELLED, `model ${s.info.id} was unloaded`));
        await idle(s, 5000);
      }
      await s.module
        .close()
        .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'closing a model failed'));
    })();
    retiring.add(p);
    void p.finally(() => retiring.delete(p));
    return p;
  }

  async function load(
    config: AppModelConfig,
    signal: AbortSignal,
  ): Promise<{ model: ModelInfo; replaced: boolean }> {
    if (closed) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the app stack is stopping');
    const module = createModule(config, logger);
    const remote =
      config.backend === 'llama.cpp' || config.backend === 'use' ? config.id : (config.model ?? config.id);
    try {
      await module.init({ signal });
    } catch (err) {
      await module.close().catch(() => {});
      throw err;
    }
    const caps = module.capabilities().models;
    const found = caps.find((m) => m.id === remote) ?? caps[0];
    if (found === undefined) {
      await module.close().catch(() => {});
      throw new AppError(
        AppErrorCode.MODEL_REFUSED,
        `backend ${config.backend} does not serve model "${remote}"`,
      );
    }
    let modelType = types.detect(config.id).type as string;
    if (modelType === 'unknown') modelType = types.detect(config.path ?? remote).type;
    if (modelType === 'unknown') modelType = found.modelType;
    const s: Served = {
      config,
      module,
      remote,
      info: {
        id: config.id,
        backend: config.backend,
        taskTypes: found.taskTypes,
        contextLength: found.contextLength,
        modelType,
        features: found.features ?? [],
      },
      inflight: 0,
      onIdle: new Set(),
      controller: new AbortController(),
    };
    const old = served.get(config.id);
    served.set(config.id, s);
    if (old !== undefined) void retire(old);
    logger.info({ model: config.id, backend: config.backend, replaced: old !== undefined }, 'model loaded');
    return { model: s.info, replaced: old !== undefined };
  }

  /** Runs a unary request of `model` through the scheduler. */
  async function unaryJob<T>(
    method: string,
    model: string,
    priority: (typeof PRIORITIES)[number],
    callerSignal: AbortSignal,
    job: (s: Served, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const end = latency.startTimer({ method, model });
    try {
      const s = route(model);
      enter(s);
      try {
        const signal = AbortSignal.any([callerSignal, s.controller.signal]);
        return await scheduler.run(model, (jobSignal) => job(s, jobSignal), { priority, signal });
      } finally {
        leave(s);
      }
    } catch (err) {
      throw fail(err);
    } finally {
      end();
    }
  }

  const handlers: Handlers<typeof appApi> = {
    app_getCapabilitiesV1: async () => ({
      // A model whose backend is down (a pipeline group missing a member) is not advertised until it is back.
      models: [...served.values()].filter((s) => s.module.ready?.() !== false).map((s) => s.info),
      hardware: {
        cpus: cpus().length,
        memoryBytes: totalmem(),
        // libuv reads MemAvailable on Linux: memory new work can get without swapping.
        freeMemoryBytes: freemem(),
        gpu: await detectGpu(),
        gpus: await detectGpus(),
      },
    }),

    async *app_generateV1(params, ctx) {
      const { priority, ...fields } = params;
      const started = performance.now();
      const end = latency.startTimer({ method: 'app_generateV1', model: params.model });
      let s: Served;
      try {
        s = route(params.model);
      } catch (err) {
        end();
        throw fail(err);
      }
      const needs = featureOf(params.responseFormat);
      if (needs !== null && !s.info.features.includes(needs)) {
        end();
        throw fail(
          new AppError(
            AppErrorCode.UNSUPPORTED_TASK,
            `model "${params.model}" does not enforce responseFormat ${needs} on this node (its backend: ${s.info.backend})`,
            { meta: { model: params.model } },
          ),
        );
      }
      enter(s);
      const req: GenerateRequest = { ...fields, model: s.remote };
      let first = true;
      try {
        const signal = AbortSignal.any([ctx.signal, s.controller.signal]);
        const events = scheduler.runStream(
          params.model,
          (jobSignal) => s.module.generate(req, { signal: jobSignal }),
          {
            priority,
            signal,
          },
        );
        for await (const ev of events) {
          if (ev.type === 'token') {
            if (first) ttft.observe({ model: params.model }, (performance.now() - started) / 1000);
            first = false;
            tokens.inc({ model: params.model });
          }
          yield ev;
        }
      } catch (err) {
        throw fail(err);
      } finally {
        leave(s);
        end();
      }
    },

    app_embedV1: ({ model, input, priority }, ctx) =>
      unaryJob('app_embedV1', model, priority, ctx.signal, (s, signal) =>
        s.module.embed({ model: s.remote, input }, { signal }),
      ),

    app_scoreV1: (
      { model, prompt, messages, continuation, continuationIds, topLogprobs, eos, priority },
      ctx,
    ) =>
      unaryJob('app_scoreV1', model, priority, ctx.signal, async (s, signal) => {
        if (s.module.score === undefined)
          throw new AppError(
            AppErrorCode.UNSUPPORTED_TASK,
            `model ${model} (${s.info.backend}) cannot score: teacher forcing needs local weights (llama.cpp)`,
          );
        // The schema lets exactly one of them through: a chat goes through the model's template.
        const input = messages === undefined ? { prompt: prompt ?? '' } : { messages };
        const scored =
          continuationIds === undefined ? { continuation: continuation ?? '' } : { continuationIds };
        const r = await s.module.score(
          {
            model: s.remote,
            ...input,
            ...scored,
            eos,
            ...(topLogprobs === undefined ? {} : { topLogprobs }),
          },
          { signal },
        );
        // A backend that cannot score the end answers null, never leaves the caller without an answer.
        const { eos: end, ...rest } = r;
        return eos ? { ...rest, eos: end ?? null } : rest;
      }),

    // Counting is cheap and never runs the model, so it does not queue behind generations.
    app_tokenizeV1: async ({ model, texts }, ctx) => {
      try {
        const s = route(model);
        if (s.module.tokenize === undefined)
          throw new AppError(
            AppErrorCode.UNSUPPORTED_TASK,
            `model ${model} (${s.info.backend}) cannot count tokens: its tokenizer lives on the remote server`,
          );
        enter(s);
        try {
          return await s.module.tokenize(
            { model: s.remote, texts },
            { signal: AbortSignal.any([ctx.signal, s.controller.signal]) },
          );
        } finally {
          leave(s);
        }
      } catch (err) {
        throw fail(err);
      }
    },

    app_listModelsV1: () => ({ models: [...served.values()].map((s) => s.info) }),

    app_loadModelV1: async (params, ctx) => {
      try {
        const config: AppModelConfig = { ...params };
        return await load(config, ctx.signal);
      } catch (err) {
        throw fail(err);
      }
    },

    app_unloadModelV1: async ({ id }) => {
      let s: Served;
      try {
        s = route(id);
      } catch (err) {
        throw fail(err);
      }
      served.delete(id);
      await retire(s);
      logger.info({ model: id }, 'model unloaded');
      return { unloaded: true };
    },

    app_getStatsV1: () => {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      return {
        models: scheduler.allStats(),
        process: {
          cpuUserUs: cpu.user,
          cpuSystemUs: cpu.system,
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
        },
      };
    },
  };

  return {
    handlers,
    async start(signal) {
      void detectGpu();
      if (opts.rpcServer !== undefined) {
        rpcServer = await startRpcServer(
          {
            port: opts.rpcServer.port,
            ...(opts.rpcServer.threads === undefined ? {} : { threads: opts.rpcServer.threads }),
            ...(opts.toolsCacheDir === undefined ? {} : { tools: { cacheDir: opts.toolsCacheDir } }),
          },
          { logger },
          signal,
        );
      }
      for (const m of opts.models) {
        try {
          await load(m, signal);
        } catch (err) {
          logger.error({ model: m.id, err: errorMessage(err) }, 'model failed to load; it is not served');
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      scheduler.close();
      const all = [...served.values()];
      served.clear();
      for (const s of all)
        s.controller.abort(new AppError(AppErrorCode.CANCELLED, 'the app stack is stopping'));
      await Promise.all([
        ...all.map((s) => s.module.close().catch(() => {})),
        ...retiring,
        rpcServer?.close(),
      ]);
    },
  };
}

export default defineStack({
  api: appApi,
  options: (config): AppStackOpts => (config as Config).app,
  create: async (opts: AppStackOpts, modules) => {
    const app = createAppHandlers(opts, { logger: modules.logger, registry: modules.registry });
    await app.start(modules.signal);
    modules.logger.info({ models: opts.models.map((m) => m.id) }, 'app stack ready');
    return { handlers: app.handlers, stop: () => app.close() };
  },
});
