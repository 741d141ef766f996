/**
 * Errors of the network package: one code table, one class. Synapse failures carry the code the remote
 * (or the local client) reported, so the stack can map them to `network_*` Engine API errors by name.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link NetworkError}. */
export const NetworkErrorCode = {
  /** A caller passed something malformed (a bad key, multiaddr or parameter). */
  INVALID_INPUT: 'NETWORK_INVALID_INPUT',
  /** The peer is not registered in the subnet, or no address is known for it. */
  PEER_NOT_FOUND: 'NETWORK_PEER_NOT_FOUND',
  /** The peer could not be reached or refused the connection. */
  DIAL_FAILED: 'NETWORK_DIAL_FAILED',
  /** The remote refused the synapse; `meta.reason` says why. */
  REFUSED: 'NETWORK_REFUSED',
  /** The remote's backend failed the request; `meta.remoteCode` carries its code. */
  REMOTE_ERROR: 'NETWORK_REMOTE_ERROR',
  /** The connection or stream closed before the response ended. */
  PEER_GONE: 'NETWORK_PEER_GONE',
  /** The request did not end within its deadline. */
  TIMEOUT: 'NETWORK_TIMEOUT',
  /** A local port could not be bound (in use, or not allowed): `meta` is empty, the message names the port. */
  LISTEN_FAILED: 'NETWORK_LISTEN_FAILED',
  /** The caller aborted the request. */
  CANCELLED: 'NETWORK_CANCELLED',
  /** The node has no metagraph yet, so it cannot admit or find anyone. */
  NOT_READY: 'NETWORK_NOT_READY',
  /** A receipt was asked for but is still being batched. */
  RECEIPT_PENDING: 'NETWORK_RECEIPT_PENDING',
  /** No receipt is held for that request. */
  RECEIPT_NOT_FOUND: 'NETWORK_RECEIPT_NOT_FOUND',
  /**
   * A peer sent more than a limit allows (`meta.limit` names it): the request failed, the peer was cut off
   * and, on the validator, is not asked again for `overLimitBanMs` (`meta.limit` is then `banned`). At the
   * Engine API boundary it is a REMOTE_ERROR with `remoteCode` OVER_LIMIT: the miner's fault.
   */
  OVER_LIMIT: 'NETWORK_OVER_LIMIT',
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** Why a synapse was refused (the `reason` of REFUSED, sent on the wire and counted in metrics). */
export type RefusalReason =
  | 'unregistered'
  | 'no_permit'
  | 'replayed'
  | 'malformed'
  | 'oversized'
  | 'busy'
  | 'unsupported'
  | 'unavailable';

/**
 * The bounds on what a peer may send (the `limit` of OVER_LIMIT and of `subnet_network_over_limit_total`).
 * Validator side: `token_text` (text of one token event or top-logprob entry), `token_count` (token events
 * per answer beyond maxTokens + slack), `logprobs` (top-logprob entries per token), `event_count` (events
 * of a one-event kind, or any after `done`), `embedding_count` (vectors ≠ inputs), `embedding_dims`,
 * `response_bytes` (one answer), `stray_bytes` (frames for requests not open), `buffered_bytes` (received,
 * not yet consumed), `banned` (a peer cut off a moment ago). Miner side: `buffered_bytes` (partial frames
 * per connection). Gossip: `models` (per heartbeat), `rate` (heartbeats per origin).
 */
export const LimitName = {
  TOKEN_TEXT: 'token_text',
  TOKEN_COUNT: 'token_count',
  LOGPROBS: 'logprobs',
  EVENT_COUNT: 'event_count',
  EMBEDDING_COUNT: 'embedding_count',
  EMBEDDING_DIMS: 'embedding_dims',
  RESPONSE_BYTES: 'response_bytes',
  STRAY_BYTES: 'stray_bytes',
  BUFFERED_BYTES: 'buffered_bytes',
  BANNED: 'banned',
  MODELS: 'models',
  RATE: 'rate',
} as const;
export type LimitName = (typeof LimitName)[keyof typeof LimitName];

export type NetworkErrorMeta = {
  reason?: RefusalReason;
  remoteCode?: string;
  peerId?: string;
  limit?: LimitName;
};

export class NetworkError extends SubnetError<NetworkErrorCode, NetworkErrorMeta> {
  override readonly name: string = 'NetworkError';
}
