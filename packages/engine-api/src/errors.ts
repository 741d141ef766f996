/**
 * Engine API errors: the JSON-RPC 2.0 standard codes, the transport-level codes every method can answer
 * with, and `defineErrors` for a namespace's own codes. A handler throws `EngineError`; the server turns it
 * into the wire `error` object and the client turns that back into an `EngineError` with the same code.
 */
import { SubnetError } from '@subnet/utils';

/** Codes any method can answer with (JSON-RPC 2.0 reserved range and -32000..-32099 server range). */
export const EngineErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  UNAUTHORIZED: -32001,
  PAYLOAD_TOO_LARGE: -32002,
  STREAM_NOT_FOUND: -32003,
  DEADLINE_EXCEEDED: -32004,
  CANCELLED: -32005,
  OVERLOADED: -32006,
  UNAVAILABLE: -32007,
  INVALID_RESPONSE: -32008,
} as const;
export type EngineErrorName = keyof typeof EngineErrorCode;

/** One-line meaning of each standard code (used by the generated docs and OpenRPC). */
export const engineErrorSummary: Record<EngineErrorName, string> = {
  PARSE_ERROR: 'The body is not valid JSON.',
  INVALID_REQUEST: 'The JSON is not a valid JSON-RPC 2.0 request (or a stream method was batched).',
  METHOD_NOT_FOUND: 'No such method; call rpc.discover for the list.',
  INVALID_PARAMS: 'Params fail the method schema; `error.data.issues` lists each problem.',
  INTERNAL_ERROR: 'The handler failed unexpectedly; the node logged the cause.',
  UNAUTHORIZED: 'Missing, expired or forged JWT (HS256, per-node secret).',
  PAYLOAD_TOO_LARGE: 'The request body exceeds the configured limit; it was not read.',
  STREAM_NOT_FOUND: 'No open stream has that id (it ended or never existed).',
  DEADLINE_EXCEEDED: 'The call or stream ran past its deadline and was stopped.',
  CANCELLED: 'The call was cancelled by the caller.',
  OVERLOADED: 'Too many open streams or requests; retry later.',
  UNAVAILABLE: 'The stack serving this namespace is not running (starting or restarting).',
  INVALID_RESPONSE: 'The server answered something that does not match the method schema (client side).',
};

/** A namespace-specific error: a code (>= 1000, unique in the namespace) and its meaning. */
export interface ErrorDef<N extends string = string> {
  readonly name: N;
  readonly code: number;
  readonly summary: string;
}

/** Declares a namespace's error table: `{ NAME: { code, summary } }` → `{ NAME: ErrorDef }`. */
export function defineErrors<const T extends Record<string, { code: number; summary: string }>>(
  table: T,
): { readonly [K in keyof T & string]: ErrorDef<K> } {
  const out: Record<string, ErrorDef> = {};
  const seen = new Set<number>();
  for (const [name, { code, summary }] of Object.entries(table)) {
    if (!Number.isInteger(code) || code < 1000)
      throw new RangeError(`error ${name}: code must be an integer >= 1000`);
    if (seen.has(code)) throw new RangeError(`error ${name}: code ${code} is used twice`);
    seen.add(code);
    out[name] = { name, code, summary };
  }
  return out as { readonly [K in keyof T & string]: ErrorDef<K> };
}

/** The wire shape of a JSON-RPC error. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/** An Engine API error; `code` is the JSON-RPC numeric code, `name` its symbolic name. */
export class EngineError extends SubnetError<string> {
  override readonly name = 'EngineError';
  readonly rpcCode: number;
  readonly data: unknown;

  constructor(
    name: string,
    rpcCode: number,
    message: string,
    opts: { data?: unknown; cause?: unknown } = {},
  ) {
    super(name, message, { cause: opts.cause });
    this.rpcCode = rpcCode;
    this.data = opts.data;
  }

  /** A standard error by name. */
  static std(name: EngineErrorName, message: string, data?: unknown): EngineError {
    return new EngineError(name, EngineErrorCode[name], message, { data });
  }

  /** A namespace error from its definition. */
  static of(def: ErrorDef, message: string = def.summary, data?: unknown): EngineError {
    return new EngineError(def.name, def.code, message, { data });
  }

  toWire(): WireError {
    return this.data === undefined
      ? { code: this.rpcCode, message: this.message }
      : { code: this.rpcCode, message: this.message, data: this.data };
  }
}

const stdByCode = new Map<number, string>(Object.entries(EngineErrorCode).map(([k, v]) => [v, k]));

/** Rebuilds an EngineError from a wire error, naming it from the standard table or `known` defs. */
export function engineErrorFromWire(err: WireError, known: readonly ErrorDef[] = []): EngineError {
  const name = stdByCode.get(err.code) ?? known.find((d) => d.code === err.code)?.name ?? `E${err.code}`;
  return new EngineError(name, err.code, err.message, { data: err.data });
}
