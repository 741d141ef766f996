/**
 * Errors of the gateway: one code table, one class. Each code maps to one OpenAI error shape and HTTP
 * status (`openai/errors.ts`), so a failure anywhere behind the front door reaches the client the way
 * OpenAI's own API would report it.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link GatewayError}. */
export const GatewayErrorCode = {
  /** The request is malformed; `meta.param` names the field. 400. */
  INVALID_REQUEST: 'GATEWAY_INVALID_REQUEST',
  /** No or an unknown or revoked API key. 401. */
  UNAUTHORIZED: 'GATEWAY_UNAUTHORIZED',
  /** No miner advertises the model. 404. */
  MODEL_NOT_FOUND: 'GATEWAY_MODEL_NOT_FOUND',
  /** The body is larger than `gateway.maxBodyBytes`. 413. */
  TOO_LARGE: 'GATEWAY_TOO_LARGE',
  /** The key is over its request or token rate; `meta.retryAfterS` says when to retry. 429. */
  RATE_LIMITED: 'GATEWAY_RATE_LIMITED',
  /** The model is known but every miner failed or none is reachable now. 503. */
  NO_MINER: 'GATEWAY_NO_MINER',
  /** The miner failed after the response began, or answered something invalid. 502. */
  UPSTREAM_FAILED: 'GATEWAY_UPSTREAM_FAILED',
  /** The request did not finish within its deadline. 504. */
  TIMEOUT: 'GATEWAY_TIMEOUT',
  /** The client went away. */
  CANCELLED: 'GATEWAY_CANCELLED',
  /** A metered key's authorization or account cannot pay for the request's upper bound. 429. */
  INSUFFICIENT_QUOTA: 'GATEWAY_INSUFFICIENT_QUOTA',
  /** A key was already made for this spending authorization. 409. */
  CONFLICT: 'GATEWAY_CONFLICT',
  /** This gateway takes no payments (no payment contracts, or the chain stack does not answer). 503. */
  PAYMENTS_UNAVAILABLE: 'GATEWAY_PAYMENTS_UNAVAILABLE',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

export type GatewayErrorMeta = { param?: string; retryAfterS?: number; upstreamCode?: string };

export class GatewayError extends SubnetError<GatewayErrorCode, GatewayErrorMeta> {
  override readonly name: string = 'GatewayError';
}
