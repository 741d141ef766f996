/**
 * The web app's HTTP client for the dashboard API (`/api/`, see `../../src/api.ts`). Types only come from
 * the contract; nothing here validates with zod, so no schema code enters the bundle. Never holds state.
 */
import type { ApiErrorBody } from '../../src/api';

/** A failed API call: the HTTP status and the server's `{ error: { code, message } }`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  /** The admin token, sent as `Authorization: Bearer <token>`. */
  token?: string | null;
  signal?: AbortSignal;
}

/** Calls `path` (absolute, e.g. `/api/snapshot`) and returns its JSON; throws `ApiError` on a non-2xx answer. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const init: RequestInit = { method: opts.method ?? 'GET', headers };
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (opts.signal) init.signal = opts.signal;
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the node: check that it is running and try again.');
  }
  const text = await res.text();
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const error = (json as Partial<ApiErrorBody> | null)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? `HTTP_${res.status}`,
      error?.message ?? `The node answered ${res.status} ${res.statusText}.`,
    );
  }
  return json as T;
}

/** A readable message for anything thrown by `request`. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.status === 401 ? `Not authorised: ${err.message}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
