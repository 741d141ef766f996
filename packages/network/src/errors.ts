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
  /** The caller aborted the request. */
  CANCELLED: 'NETWORK_CANCELLED',
  /** The node has no metagraph yet, so it cannot admit or find anyone. */
  NOT_READY: 'NETWORK_NOT_READY',
  /** A receipt was asked for but is still being batched. */
  RECEIPT_PENDING: 'NETWORK_RECEIPT_PENDING',
  /** No receipt is held for that request. */
  RECEIPT_NOT_FOUND: 'NETWORK_RECEIPT_NOT_FOUND',
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

export type NetworkErrorMeta = { reason?: RefusalReason; remoteCode?: string; peerId?: string };

export class NetworkError extends SubnetError<NetworkErrorCode, NetworkErrorMeta> {
  override readonly name: string = 'NetworkError';
}
