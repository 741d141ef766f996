/**
 * Errors of the dashboard: one code table, one class, and the HTTP status and `{ error: { code, message } }`
 * body each code maps to at the `/api/` boundary. Engine API failures of the stacks behind the dashboard
 * are mapped here too, so a handler only throws.
 */
import { hasCode, SubnetError } from '@subnet/utils';
import type { ApiErrorBody } from './api.js';

/** Codes of {@link DashboardError}; each maps to one HTTP status. */
export const DashboardErrorCode = {
  /** The request is malformed; the message names the field. 400. */
  BAD_REQUEST: 'DASHBOARD_BAD_REQUEST',
  /** No or a wrong admin token. 401. */
  UNAUTHORIZED: 'DASHBOARD_UNAUTHORIZED',
  /** No such route, neuron, key, node or model. 404. */
  NOT_FOUND: 'DASHBOARD_NOT_FOUND',
  /** The route exists but not with this method; `meta.allow` lists those it takes. 405. */
  METHOD_NOT_ALLOWED: 'DASHBOARD_METHOD_NOT_ALLOWED',
  /** The body is over the limit. 413. */
  TOO_LARGE: 'DASHBOARD_TOO_LARGE',
  /** A stack or a managed node behind the dashboard failed or cannot be reached. 502. */
  UPSTREAM_FAILED: 'DASHBOARD_UPSTREAM_FAILED',
  /** The data is not there yet (the chain was not read yet). 503. */
  NOT_READY: 'DASHBOARD_NOT_READY',
} as const;
export type DashboardErrorCode = (typeof DashboardErrorCode)[keyof typeof DashboardErrorCode];

export type DashboardErrorMeta = { allow?: string[] };

export class DashboardError extends SubnetError<DashboardErrorCode, DashboardErrorMeta> {
  override readonly name: string = 'DashboardError';
}

const STATUS: Record<DashboardErrorCode, number> = {
  DASHBOARD_BAD_REQUEST: 400,
  DASHBOARD_UNAUTHORIZED: 401,
  DASHBOARD_NOT_FOUND: 404,
  DASHBOARD_METHOD_NOT_ALLOWED: 405,
  DASHBOARD_TOO_LARGE: 413,
  DASHBOARD_UPSTREAM_FAILED: 502,
  DASHBOARD_NOT_READY: 503,
};

/** The wire code of each dashboard code (what the web app sees in `error.code`). */
const WIRE: Record<DashboardErrorCode, string> = {
  DASHBOARD_BAD_REQUEST: 'bad_request',
  DASHBOARD_UNAUTHORIZED: 'unauthorized',
  DASHBOARD_NOT_FOUND: 'not_found',
  DASHBOARD_METHOD_NOT_ALLOWED: 'method_not_allowed',
  DASHBOARD_TOO_LARGE: 'too_large',
  DASHBOARD_UPSTREAM_FAILED: 'upstream_failed',
  DASHBOARD_NOT_READY: 'not_ready',
};

/** An HTTP answer to a failure: status, headers and the JSON error body. */
export interface HttpFailure {
  status: number;
  headers: Record<string, string>;
  body: ApiErrorBody;
}

/**
 * Maps anything thrown behind an `/api/` route to its HTTP answer. Engine API errors (which carry a
 * symbolic `code` such as `INVALID_PARAMS`) map by code; anything unknown is a 502 from the stack behind.
 */
export function toHttpFailure(err: unknown): HttpFailure {
  if (err instanceof DashboardError) {
    const headers: Record<string, string> = {};
    if (err.meta?.allow !== undefined) headers.allow = err.meta.allow.join(', ');
    return {
      status: STATUS[err.code],
      headers,
      body: { error: { code: WIRE[err.code], message: err.message } },
    };
  }
  const code = hasCode(err) ? err.code : '';
  const message = hasCode(err) ? err.message : String(err);
  const mapped = ENGINE_CODES[code];
  if (mapped !== undefined) return toHttpFailure(new DashboardError(mapped, message));
  return toHttpFailure(new DashboardError(DashboardErrorCode.UPSTREAM_FAILED, message));
}

/** Engine API error names (standard and namespace codes) with a meaning of their own at this boundary. */
const ENGINE_CODES: Record<string, DashboardErrorCode> = {
  INVALID_PARAMS: DashboardErrorCode.BAD_REQUEST,
  KEY_NOT_FOUND: DashboardErrorCode.NOT_FOUND,
  UNKNOWN_MODEL: DashboardErrorCode.NOT_FOUND,
  // A model the node refuses to load (no such file, a bad server URL) is the request's fault.
  MODEL_REFUSED: DashboardErrorCode.BAD_REQUEST,
  NOT_READY: DashboardErrorCode.NOT_READY,
  UNAVAILABLE: DashboardErrorCode.UPSTREAM_FAILED,
};
