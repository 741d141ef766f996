/**
 * The boundary table from {@link GatewayError} codes to OpenAI's error envelope and HTTP status, so every
 * failure reaches an OpenAI client the way OpenAI's own API reports it:
 * `{ "error": { "message", "type", "param", "code" } }`. Never leaks internals: errors that are not
 * GatewayErrors become a plain 500.
 */
import { hasCode } from '@subnet/utils';
import type { z } from 'zod';
import { GatewayError, GatewayErrorCode, type GatewayErrorMeta } from '../errors.js';

/** OpenAI's error envelope. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error as the HTTP layer sends it. */
export interface OpenAiHttpError {
  status: number;
  body: OpenAiErrorBody;
  /** Extra response headers (`retry-after`). */
  headers: Record<string, string> | undefined;
}

interface Mapping {
  status: number;
  type: string;
  code: string | null;
}

/** Status, OpenAI error type and code of each gateway error code. */
export const openAiErrorTable: Record<GatewayErrorCode, Mapping> = {
  [GatewayErrorCode.INVALID_REQUEST]: { status: 400, type: 'invalid_request_error', code: null },
  [GatewayErrorCode.UNAUTHORIZED]: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  [GatewayErrorCode.MODEL_NOT_FOUND]: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  [GatewayErrorCode.TOO_LARGE]: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  [GatewayErrorCode.RATE_LIMITED]: { status: 429, type: 'requests', code: 'rate_limit_exceeded' },
  [GatewayErrorCode.NO_MINER]: { status: 503, type: 'server_error', code: 'no_miner_available' },
  [GatewayErrorCode.UPSTREAM_FAILED]: { status: 502, type: 'server_error', code: 'upstream_failed' },
  [GatewayErrorCode.TIMEOUT]: { status: 504, type: 'server_error', code: 'timeout' },
  [GatewayErrorCode.CANCELLED]: { status: 503, type: 'server_error', code: 'cancelled' },
  // OpenAI's exact shape: type and code both `insufficient_quota`, param null.
  [GatewayErrorCode.INSUFFICIENT_QUOTA]: {
    status: 429,
    type: 'insufficient_quota',
    code: 'insufficient_quota',
  },
  [GatewayErrorCode.CONFLICT]: {
    status: 409,
    type: 'invalid_request_error',
    code: 'authorization_already_bound',
  },
  [GatewayErrorCode.PAYMENTS_UNAVAILABLE]: {
    status: 503,
    type: 'server_error',
    code: 'payments_unavailable',
  },
};

const INTERNAL: OpenAiHttpError = {
  status: 500,
  body: {
    error: {
      message: 'The gateway failed to handle the request; it logged the cause. Retry, or report it.',
      type: 'server_error',
      param: null,
      code: null,
    },
  },
  headers: undefined,
};

function isGatewayError(err: unknown): err is GatewayError {
  return hasCode(err) && (err as { name?: unknown }).name === 'GatewayError' && err.code in openAiErrorTable;
}

/** Maps any thrown value: a GatewayError by its code, anything else to a 500 without details. */
export function toOpenAiError(err: unknown): OpenAiHttpError {
  if (!isGatewayError(err)) return INTERNAL;
  const m = openAiErrorTable[err.code];
  const meta: GatewayErrorMeta = err.meta ?? {};
  const param = meta.param ?? (err.code === GatewayErrorCode.MODEL_NOT_FOUND ? 'model' : null);
  const code = err.code === GatewayErrorCode.INVALID_REQUEST && param !== null ? 'invalid_value' : m.code;
  let headers: Record<string, string> | undefined;
  if (meta.retryAfterS !== undefined)
    headers = { 'retry-after': String(Math.max(1, Math.ceil(meta.retryAfterS))) };
  return { status: m.status, body: { error: { message: err.message, type: m.type, param, code } }, headers };
}

/** The limiter's refusal, typed `requests` or `tokens` as OpenAI types its rate-limit errors. */
export function rateLimitError(
  keyName: string,
  reason: 'requests' | 'tokens',
  retryAfterS: number,
): OpenAiHttpError {
  const s = Math.max(1, Math.ceil(retryAfterS));
  return {
    status: 429,
    body: {
      error: {
        message: `Rate limit reached for key '${keyName}' on ${reason} per minute. Please try again in ${s}s.`,
        type: reason,
        param: null,
        code: 'rate_limit_exceeded',
      },
    },
    headers: { 'retry-after': String(s) },
  };
}

/** 404 for an unknown path, 405 for a known path with the wrong method (OpenAI's wording). */
export function routeError(status: 404 | 405, method: string, path: string): OpenAiHttpError {
  const what = status === 404 ? 'Invalid URL' : 'Invalid method for URL';
  return {
    status,
    body: {
      error: {
        message: `${what} (${method} ${path})`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    },
    headers: undefined,
  };
}

/** A 400 naming `param` (a dotted field path such as `messages.0.role`). */
export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError(
    GatewayErrorCode.INVALID_REQUEST,
    message,
    param === undefined ? {} : { meta: { param } },
  );
}

/** The first issue of a failed request validation as a 400 naming its field. */
export function fromZodError(error: z.ZodError): GatewayError {
  const issue = error.issues[0];
  if (issue === undefined) return invalidRequest('The request body is invalid.');
  if (issue.path.length === 0)
    return invalidRequest(`The request body must be a JSON object: ${issue.message}`);
  const base = issue.path.map(String).join('.');
  // An unknown key inside an object (a message's, a tool's) is named by its own path.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    const param = `${base}.${issue.keys[0]}`;
    return invalidRequest(`Unrecognized request argument supplied: ${param}`, param);
  }
  const param = base;
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined)
    return invalidRequest(`Missing required parameter: '${param}'.`, param);
  return invalidRequest(`Invalid value for '${param}': ${issue.message}`, param);
}
