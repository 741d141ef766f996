/**
 * JSON-RPC 2.0 envelopes: parsing a request body into calls (single or batch) with the spec's error for
 * each malformed part, and encoding responses. Pure: no I/O, no method knowledge.
 */
import { EngineErrorCode, type WireError } from './errors.js';

export type RpcId = string | number | null;

/** One well-formed call; `id === undefined` marks a notification (no response). */
export interface RpcCall {
  id: RpcId | undefined;
  method: string;
  params: unknown;
}

export type ParsedItem = { ok: true; call: RpcCall } | { ok: false; id: RpcId; error: WireError };
export type ParsedBody =
  | { kind: 'single'; item: ParsedItem }
  | { kind: 'batch'; items: ParsedItem[] }
  | { kind: 'invalid'; error: WireError };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validId(v: unknown): v is RpcId {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** Checks one request object against the JSON-RPC 2.0 request rules. */
export function parseItem(v: unknown): ParsedItem {
  const invalid = (message: string, id: RpcId = null): ParsedItem => ({
    ok: false,
    id,
    error: { code: EngineErrorCode.INVALID_REQUEST, message },
  });
  if (!isRecord(v)) return invalid('a request must be a JSON object');
  const id = 'id' in v ? v.id : undefined;
  if (id !== undefined && !validId(id)) return invalid('"id" must be a string, a number or null');
  const safeId = id ?? null;
  if (v.jsonrpc !== '2.0') return invalid('"jsonrpc" must be exactly "2.0"', safeId);
  if (typeof v.method !== 'string' || v.method.length === 0)
    return invalid('"method" must be a non-empty string', safeId);
  if ('params' in v && !isRecord(v.params) && !Array.isArray(v.params)) {
    return invalid('"params" must be an object or an array', safeId);
  }
  return { ok: true, call: { id, method: v.method, params: v.params } };
}

/** Parses a request body: a single request, a batch, or the spec's parse / invalid-request error. */
export function parseBody(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      kind: 'invalid',
      error: { code: EngineErrorCode.PARSE_ERROR, message: `parse error: ${(err as Error).message}` },
    };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return { kind: 'invalid', error: { code: EngineErrorCode.INVALID_REQUEST, message: 'empty batch' } };
    }
    return { kind: 'batch', items: value.map(parseItem) };
  }
  return { kind: 'single', item: parseItem(value) };
}

/** Encodes a success response. */
export function encodeResult(id: RpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: result ?? null });
}

/** Encodes an error response. */
export function encodeError(id: RpcId, error: WireError): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** Encodes a request (`id` undefined → notification). */
export function encodeRequest(id: RpcId | undefined, method: string, params: unknown): string {
  return JSON.stringify(
    id === undefined ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params },
  );
}

/** The response shape a client accepts (validated loosely here, strictly per method by the client). */
export interface RpcResponse {
  id: RpcId;
  result?: unknown;
  error?: WireError;
}

/** Checks that a decoded value is a JSON-RPC response object. */
export function asResponse(v: unknown): RpcResponse | undefined {
  if (!isRecord(v) || v.jsonrpc !== '2.0' || !validId(v.id ?? null)) return undefined;
  if ('error' in v) {
    const e = v.error;
    if (!isRecord(e) || typeof e.code !== 'number' || typeof e.message !== 'string') return undefined;
    return { id: (v.id ?? null) as RpcId, error: { code: e.code, message: e.message, data: e.data } };
  }
  if (!('result' in v)) return undefined;
  return { id: (v.id ?? null) as RpcId, result: v.result };
}
