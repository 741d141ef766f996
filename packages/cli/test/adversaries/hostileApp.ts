/**
 * Test fixture: builds hostile app stacks for the attack devnet (trustDevnet.test.ts). Each attacker is a
 * real miner process whose `app` stack module (`devnet.appStacks`) is one of the files beside this one: the
 * real app stack (`@subnet/app/stack`) with some handlers replaced. Hostile actors live here, in tests,
 * never in production code.
 */
import appStack from '@subnet/app/stack';
import { type AppGenerateEventSchema, defineStack, type Handlers } from '@subnet/engine-api';
import type { z } from 'zod';

type AppHandlers = Handlers<(typeof appStack)['api']>;
/** One `app_generateV1` event as a handler yields it. */
export type GenerateEvent = z.input<typeof AppGenerateEventSchema>;

/** The real app stack with the handlers `hostile(real)` returns in place of the real ones. */
export function hostileAppStack(hostile: (real: AppHandlers) => Partial<AppHandlers>) {
  return defineStack({
    api: appStack.api,
    options: appStack.options,
    create: async (opts, modules) => {
      const real = await appStack.create(opts, modules);
      modules.logger.warn('adversary: hostile app stack running (a test fixture)');
      return { ...real, handlers: { ...real.handlers, ...hostile(real.handlers) } };
    },
  });
}

/** A rough prompt size, for a forged or truncated answer's usage. */
export function promptWords(params: {
  prompt?: string | undefined;
  messages?: { content: string }[] | undefined;
}) {
  const text = params.prompt ?? (params.messages ?? []).map((m) => m.content).join(' ');
  return text.split(/\s+/).filter((w) => w !== '').length;
}
