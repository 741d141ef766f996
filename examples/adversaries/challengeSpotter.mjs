/**
 * An adversary app stack: the rational cheat of issue 13's "challenge spotting" (attack 2), for the devnet
 * (`SUBNET_DEVNET__DISHONEST_MINERS=1 npm start`) and docs/threat-model.md. Never production code.
 *
 * It wraps the real app stack (`@subnet/app/stack`) and loads, beside each advertised model `<id>`, a cheaper
 * one under `<id>-cheap` that it hides from its capabilities (so heartbeats advertise only `<id>`). Every
 * generation it guesses to be a validator's challenge gets the real model, everything else the cheap one:
 * a miner that is scored on challenges only keeps a full score while serving clients for less.
 *
 * The guess keys on what the miner sees in `app_generateV1`'s params, in order of strength:
 * - `priority: 'challenge'` (the old wire said it outright);
 * - a greedy completion: `kind: 'completion'` with temperature 0 (the shape of every challenge so far;
 *   clients talk to the gateway's chat API, with its temperature);
 * - a short prompt (≤ 11 words) asking for logprobs, as the audits need them.
 * Once challenges are drawn from the organic mix and carry the same fields, the guess is no better than
 * chance, and the organic audits catch the cheap answers.
 */
// biome-ignore lint/correctness/noUndeclaredDependencies: an example beside the workspaces, resolved from them
import appStack from '@subnet/app/stack';
// biome-ignore lint/correctness/noUndeclaredDependencies: an example beside the workspaces, resolved from them
import { defineStack } from '@subnet/engine-api';

/** Suffix of the hidden cheaper model served in place of the advertised one. */
export const CHEAP_SUFFIX = '-cheap';

/**
 * Whether a rational cheat would take these `app_generateV1` params for a validator's challenge.
 * @param {Record<string, unknown>} params
 * @returns {boolean}
 */
export function looksLikeChallenge(params) {
  if (params.priority === 'challenge') return true;
  const greedy = params.temperature === undefined || params.temperature === 0;
  if (params.kind === 'completion' && greedy) return true;
  const words = typeof params.prompt === 'string' ? params.prompt.trim().split(/\s+/).length : Infinity;
  return greedy && params.logprobs === true && words <= 11;
}

/** How many generations it served with each model (read by nothing: a cheat's own bookkeeping in its log). */
const served = { real: 0, cheap: 0 };

export default defineStack({
  api: appStack.api,
  options: appStack.options,
  create: async (opts, modules) => {
    const real = await appStack.create(opts, modules);
    const h = real.handlers;
    const hidden = (id) => id.endsWith(CHEAP_SUFFIX);
    const loaded = new Set(
      (await h.app_listModelsV1({}, { signal: modules.signal, caller: 'in-process' })).models.map(
        (m) => m.id,
      ),
    );
    modules.logger.warn({ cheapModels: [...loaded].filter(hidden) }, 'adversary: challenge spotter running');
    return {
      ...real,
      handlers: {
        ...h,
        app_getCapabilitiesV1: async (params, ctx) => {
          const caps = await h.app_getCapabilitiesV1(params, ctx);
          return { ...caps, models: caps.models.filter((m) => !hidden(m.id)) };
        },
        app_listModelsV1: async (params, ctx) => {
          const list = await h.app_listModelsV1(params, ctx);
          return { ...list, models: list.models.filter((m) => !hidden(m.id)) };
        },
        app_generateV1: (params, ctx) => {
          const cheap = `${params.model}${CHEAP_SUFFIX}`;
          if (looksLikeChallenge(params) || !loaded.has(cheap)) {
            served.real++;
            return h.app_generateV1(params, ctx);
          }
          served.cheap++;
          if ((served.real + served.cheap) % 20 === 0) modules.logger.info(served, 'adversary: served');
          return h.app_generateV1({ ...params, model: cheap }, ctx);
        },
      },
    };
  },
});
