/**
 * The contract between the node (composition root) and a stack. A stack serves one or more Engine API
 * namespaces; it reaches other stacks only through `modules.engine`, an Engine API client, and never
 * imports them. The same definition runs inside the node's process (single mode) or in a child process
 * of its own (split mode).
 */
import type { Logger } from '@subnet/utils';
import type { Registry } from 'prom-client';
import type { EngineClient } from './client.js';
import type { Api, Handlers } from './define.js';

/** What the node hands a stack. */
export interface StackModules {
  logger: Logger;
  /** Prometheus registry of the process the stack runs in. */
  registry: Registry;
  /** Client of the node's Engine API: the only way to reach other stacks. */
  engine: EngineClient<Api>;
  /** Aborts when the stack is being stopped. */
  signal: AbortSignal;
}

/** A running stack: handlers for its API and optional lifecycle hooks (idempotent). */
export interface StackInstance<A extends Api> {
  handlers: Handlers<A>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** A stack definition: the methods it serves and a factory taking `(opts, modules)`. */
export interface StackDefinition<A extends Api = Api, O = unknown> {
  readonly kind: 'subnet-stack';
  readonly api: A;
  /** Reads this stack's options out of the node config (the whole validated config object). */
  readonly options: (config: unknown) => O;
  readonly create: (opts: O, modules: StackModules) => StackInstance<A> | Promise<StackInstance<A>>;
}

/** Declares a stack; export the result as the module's default export. */
export function defineStack<A extends Api, O = unknown>(def: {
  api: A;
  options?: (config: unknown) => O;
  create: (opts: O, modules: StackModules) => StackInstance<A> | Promise<StackInstance<A>>;
}): StackDefinition<A, O> {
  return { kind: 'subnet-stack', options: def.options ?? (() => undefined as O), ...def };
}

/** The namespaces a stack's API covers. */
export function namespacesOf(api: Api): string[] {
  return [...new Set(Object.values(api).map((m) => m.namespace))].sort();
}

/** Checks that a dynamically imported module's default export is a stack definition. */
export function isStackDefinition(v: unknown): v is StackDefinition {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'subnet-stack';
}
