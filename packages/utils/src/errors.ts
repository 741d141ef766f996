/**
 * The one error base of the project: a typed `code`, structured `meta`, an optional `cause`.
 * Each package keeps its own code table (an `as const` object) and each boundary maps codes to its wire
 * (JSON-RPC codes, HTTP statuses). Compare errors by `code` and `name`, never by `instanceof` across packages.
 */

/** Options accepted by {@link SubnetError}. */
export interface SubnetErrorOptions<M extends Record<string, unknown>> {
  meta?: M;
  cause?: unknown;
}

/** Base error with a machine-readable code; messages should say what to do. */
export class SubnetError<
  C extends string = string,
  M extends Record<string, unknown> = Record<string, unknown>,
> extends Error {
  override readonly name: string = 'SubnetError';
  readonly code: C;
  readonly meta: M | undefined;

  constructor(code: C, message: string, opts: SubnetErrorOptions<M> = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.meta = opts.meta;
  }
}

/** True when `err` carries a string `code` (any SubnetError, or a Node system error). */
export function hasCode(err: unknown): err is { code: string; message: string } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}

/** A short human-readable description of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
