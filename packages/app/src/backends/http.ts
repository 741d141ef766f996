/**
 * What the HTTP backends (Ollama, OpenAI-compatible) share: line framing of streamed bodies, the mapping
 * of transport failures (undici, sockets, aborts) to AppError codes, the health probe and capabilities.
 */
import { cpus, totalmem } from 'node:os';
import {
  AppError,
  AppErrorCode,
  type Capabilities,
  type InferenceModule,
  type ModelInfo,
} from '../module.js';

/** Health of a server: a GET of `path` that answers (its body is discarded). */
export async function probeHealth(
  get: (signal: AbortSignal) => Promise<{ body: { dump(): Promise<void> } }>,
  signal: AbortSignal,
): ReturnType<InferenceModule['health']> {
  try {
    await (await get(signal)).body.dump();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Capabilities of a remote backend: its models (copied) and this machine's CPUs and memory. */
export function remoteCapabilities(
  backend: Capabilities['backend'],
  models: readonly ModelInfo[],
): Capabilities {
  return {
    backend,
    models: models.map((m) => ({ ...m, taskTypes: [...m.taskTypes] })),
    hardware: { cpus: cpus().length, memoryBytes: totalmem(), gpu: null },
  };
}

/** Splits a byte stream into non-empty, trimmed lines (NDJSON framing; SSE reuses it). */
export async function* ndjsonLines(body: AsyncIterable<Buffer>, signal: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of body) {
      buf += decoder.decode(chunk, { stream: true });
      let nl = buf.indexOf('\n');
      while (nl !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') yield line;
        nl = buf.indexOf('\n');
      }
    }
  } catch (err) {
    throw toAppError(err, signal);
  }
  const rest = (buf + decoder.decode()).trim();
  if (rest !== '') yield rest;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
]);

/** Maps a transport failure (undici, socket, abort) to an AppError. */
export function toAppError(err: unknown, signal: AbortSignal, model?: string): AppError {
  if (err instanceof AppError) return err;
  const meta = model === undefined ? {} : { meta: { model } };
  if (signal.aborted) {
    const timedOut = signal.reason instanceof Error && signal.reason.name === 'TimeoutError';
    return timedOut
      ? new AppError(AppErrorCode.DEADLINE_EXCEEDED, 'the request ran past its deadline', {
          cause: err,
          ...meta,
        })
      : new AppError(AppErrorCode.CANCELLED, 'the request was cancelled', { cause: err, ...meta });
  }
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && UNREACHABLE.has(code))
    return new AppError(
      AppErrorCode.BACKEND_UNAVAILABLE,
      `the backend server is unreachable (${code}): ${message}`,
      {
        cause: err,
        ...meta,
      },
    );
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return new AppError(AppErrorCode.DEADLINE_EXCEEDED, `the backend server went silent: ${message}`, {
      cause: err,
      ...meta,
    });
  return new AppError(AppErrorCode.BACKEND_FAILED, `the backend request failed: ${message}`, {
    cause: err,
    ...meta,
  });
}
