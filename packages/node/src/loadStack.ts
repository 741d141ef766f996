/**
 * Loads a stack definition from the module named in config (`node.stacks[].module`): a package
 * specifier, an absolute path, or a path relative to the working directory.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isStackDefinition, type StackDefinition } from '@subnet/engine-api';
import { SubnetError } from '@subnet/utils';

export const NodeErrorCode = {
  STACK_MODULE_INVALID: 'STACK_MODULE_INVALID',
  STACK_START_FAILED: 'STACK_START_FAILED',
  NAMESPACE_CONFLICT: 'NAMESPACE_CONFLICT',
} as const;

/** Imports `module` and checks that its default export is a stack definition. */
export async function loadStack(module: string, cwd: string = process.cwd()): Promise<StackDefinition> {
  const isPath = module.startsWith('.') || isAbsolute(module);
  const specifier = isPath ? pathToFileURL(resolve(cwd, module)).href : module;
  let mod: { default?: unknown };
  try {
    mod = (await import(specifier)) as { default?: unknown };
  } catch (err) {
    throw new SubnetError(
      NodeErrorCode.STACK_MODULE_INVALID,
      `cannot load stack module ${module}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!isStackDefinition(mod.default)) {
    throw new SubnetError(
      NodeErrorCode.STACK_MODULE_INVALID,
      `${module} has no stack definition as its default export (use defineStack from @subnet/engine-api)`,
    );
  }
  return mod.default;
}
