/**
 * The one place a method's shape is declared: wire name, kind (unary or stream), zod params and
 * result (or stream event), errors, and a one-line summary. Client typing, server dispatch, OpenRPC and the
 * markdown reference all derive from these objects; nothing else may restate a method's shape.
 */
import type { z } from 'zod';
import type { ErrorDef } from './errors.js';

/** Wire names are `namespace_verbNounV1`: lower-case namespace, camelCase verb+noun, version suffix. */
export const METHOD_NAME = /^([a-z][a-z0-9]*)_([a-z][a-zA-Z0-9]*V[0-9]+)$/;

/** A request/response method. */
export interface UnaryMethod<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  readonly kind: 'unary';
  readonly name: N;
  readonly namespace: string;
  readonly summary: string;
  readonly params: P;
  readonly result: R;
  readonly errors: readonly ErrorDef[];
}

/** A method answered with a server-sent event stream of `event` values. */
export interface StreamMethod<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  E extends z.ZodType = z.ZodType,
> {
  readonly kind: 'stream';
  readonly name: N;
  readonly namespace: string;
  readonly summary: string;
  readonly params: P;
  readonly event: E;
  readonly errors: readonly ErrorDef[];
}

export type AnyMethod = UnaryMethod | StreamMethod;

function namespaceOf(name: string): string {
  const m = METHOD_NAME.exec(name);
  if (m === null) throw new TypeError(`method name "${name}" must look like namespace_verbNounV1`);
  return m[1] as string;
}

/** Declares a unary method. */
export function unary<const N extends string, P extends z.ZodType, R extends z.ZodType>(
  name: N,
  def: { summary: string; params: P; result: R; errors?: readonly ErrorDef[] },
): UnaryMethod<N, P, R> {
  return { kind: 'unary', name, namespace: namespaceOf(name), errors: [], ...def };
}

/** Declares a streaming method. */
export function stream<const N extends string, P extends z.ZodType, E extends z.ZodType>(
  name: N,
  def: { summary: string; params: P; event: E; errors?: readonly ErrorDef[] },
): StreamMethod<N, P, E> {
  return { kind: 'stream', name, namespace: namespaceOf(name), errors: [], ...def };
}

/** A set of methods keyed by wire name. */
export type Api = Readonly<Record<string, AnyMethod>>;

/** Builds an API (methods keyed by wire name) from a list of definitions; names must be unique. */
export function defineApi<const M extends readonly AnyMethod[]>(
  methods: M,
): { readonly [D in M[number] as D['name']]: D } {
  const out: Record<string, AnyMethod> = {};
  for (const m of methods) {
    if (out[m.name] !== undefined) throw new TypeError(`method ${m.name} is defined twice`);
    out[m.name] = m;
  }
  return out as { readonly [D in M[number] as D['name']]: D };
}

/** Names of the unary methods of `A`. */
export type UnaryNames<A extends Api> = {
  [K in keyof A & string]: A[K] extends StreamMethod ? never : K;
}[keyof A & string];
/** Names of the stream methods of `A`. */
export type StreamNames<A extends Api> = {
  [K in keyof A & string]: A[K] extends UnaryMethod ? never : K;
}[keyof A & string];

/** What a caller passes (zod input) and what a handler receives (zod output). */
export type ParamsIn<M extends AnyMethod> = z.input<M['params']>;
export type ParamsOut<M extends AnyMethod> = z.output<M['params']>;
export type ResultOf<M extends AnyMethod> =
  M extends UnaryMethod<string, z.ZodType, infer R> ? z.output<R> : never;
export type EventOf<M extends AnyMethod> =
  M extends StreamMethod<string, z.ZodType, infer E> ? z.output<E> : never;

/** What every handler receives besides its params. */
export interface CallContext {
  /** Aborts on cancel, client disconnect, deadline or server shutdown. */
  readonly signal: AbortSignal;
  /** Who called: the JWT subject, or "in-process". */
  readonly caller: string;
}

/** The implementation of one method. */
export type Handler<M extends AnyMethod> = M extends UnaryMethod
  ? (params: ParamsOut<M>, ctx: CallContext) => Promise<z.input<M['result']>> | z.input<M['result']>
  : M extends StreamMethod
    ? (params: ParamsOut<M>, ctx: CallContext) => AsyncIterable<z.input<M['event']>>
    : never;

/** Implementations for every method of `A`. */
export type Handlers<A extends Api> = { [K in keyof A]: Handler<A[K]> };
