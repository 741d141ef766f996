/**
 * The API a stack's `modules.engine` client knows: the Engine API catalogue plus every configured
 * stack's methods, so a stack can call any other stack by wire name, typed and validated.
 */
import { type AnyMethod, type Api, engineApi, type StackDefinition } from '@subnet/engine-api';

export function combinedApi(definitions: readonly StackDefinition[]): Api {
  const out: Record<string, AnyMethod> = { ...engineApi };
  for (const d of definitions) Object.assign(out, d.api);
  return out;
}
