/**
 * The organic mix: what the validator's gateway routes, reduced to the shape of each request (kind,
 * maxTokens, temperature, topP, stop, topLogprobs, prompt length in words, chat turns and their lengths;
 * never the content), kept in bounded reservoirs (Algorithm R) per model and over all models. Challenges
 * draw their shape from it and their content from the corpus, so nothing in their parameters sets them
 * apart from organic traffic. Until enough organic samples are seen, shapes come from {@link DEFAULT_PRIOR}.
 * Pure bookkeeping: no clock, no I/O; randomness comes from the caller.
 */
import { SynapseEmbedParamsSchema, SynapseGenerateParamsSchema } from '@subnet/engine-api';
import type { z } from 'zod';
import { assistantText, completionText, type Rng, systemText, userText, wordCount } from './corpus.js';

/** The canonical `generate` synapse params (what a miner sees). */
export type GenerateParams = z.output<typeof SynapseGenerateParamsSchema>;
/** The canonical `embed` synapse params. */
export type EmbedParams = z.output<typeof SynapseEmbedParamsSchema>;

type Role = 'system' | 'user' | 'assistant';

/** A generate request without its content. */
export interface GenerateShape {
  kind: 'chat' | 'completion';
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  topLogprobs: number;
  /** Completion: words of the prompt. Chat: one entry per message. */
  turns: { role: Role; words: number }[];
}

/** An embed request without its content: words per input. */
export interface EmbedShape {
  inputs: number[];
}

/** The shape of canonical generate params. */
export function generateShapeOf(p: GenerateParams): GenerateShape {
  return {
    kind: p.kind,
    maxTokens: p.maxTokens,
    temperature: p.temperature,
    topP: p.topP,
    stop: [...p.stop],
    topLogprobs: p.topLogprobs,
    turns:
      p.kind === 'chat'
        ? (p.messages ?? []).map((m) => ({ role: m.role, words: wordCount(m.content) }))
        : [{ role: 'user', words: wordCount(p.prompt ?? '') }],
  };
}

/** The shape of canonical embed params. */
export function embedShapeOf(p: EmbedParams): EmbedShape {
  return { inputs: p.input.map(wordCount) };
}

/**
 * Builds the canonical generate params of `shape` for `model` with content from the corpus (seeded by
 * `seed`): the seed is always set and logprobs always asked for, as the gateway does for organic requests.
 */
export function renderGenerate(shape: GenerateShape, model: string, seed: number, rnd: Rng): GenerateParams {
  const body =
    shape.kind === 'chat'
      ? {
          messages: shape.turns.map((t) => ({
            role: t.role,
            content:
              t.role === 'system'
                ? systemText(rnd, t.words)
                : t.role === 'assistant'
                  ? assistantText(rnd, t.words)
                  : userText(rnd, t.words),
          })),
        }
      : { prompt: completionText(rnd, shape.turns[0]?.words ?? 8) };
  return SynapseGenerateParamsSchema.parse({
    model,
    kind: shape.kind,
    ...body,
    maxTokens: shape.maxTokens,
    temperature: shape.temperature,
    topP: shape.topP,
    seed,
    stop: shape.stop,
    logprobs: true,
    topLogprobs: shape.topLogprobs,
  });
}

/** Builds the canonical embed params of `shape` for `model`, inputs from the corpus. */
export function renderEmbed(shape: EmbedShape, model: string, rnd: Rng): EmbedParams {
  return SynapseEmbedParamsSchema.parse({
    model,
    input: shape.inputs.map((w) => userText(rnd, Math.max(1, w))),
  });
}

const choose = <T>(rnd: Rng, table: readonly (readonly [T, number])[]): T => {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return (table[table.length - 1] as readonly [T, number])[0];
};

type Table<T> = readonly (readonly [T, number])[];

/** The weighted tables of {@link DEFAULT_PRIOR}. */
export interface PriorTable {
  kinds: Table<'chat' | 'completion'>;
  maxTokensFactor: Table<number>;
  temperature: Table<number>;
  topP: Table<number>;
  stop: Table<readonly string[]>;
  topLogprobs: Table<number>;
  /** Prompt words: log-uniform in [min, max). */
  words: readonly [number, number];
  roles: Table<readonly Role[]>;
}

/**
 * The shapes drawn before any organic traffic is seen (documented in docs/threat-model.md): chat 80% /
 * completion 20%; maxTokens ½×, 1× or 2× the configured `consensus.maxTokens` (30/40/30%); temperature 0,
 * 0.2, 0.7 or 1 (30/10/35/25%); topP 1, 0.95 or 0.9 (80/10/10%); no stop (85%), `["\n\n"]` (10%) or
 * `["###"]` (5%); topLogprobs 0 (90%) or 5; prompt words log-uniform in [3, 64); chats of [user] (50%),
 * [system, user] (30%), [user, assistant, user] (10%), [system, user, assistant, user] (10%).
 */
export const DEFAULT_PRIOR: PriorTable = {
  kinds: [
    ['chat', 0.8],
    ['completion', 0.2],
  ],
  maxTokensFactor: [
    [0.5, 0.3],
    [1, 0.4],
    [2, 0.3],
  ],
  temperature: [
    [0, 0.3],
    [0.2, 0.1],
    [0.7, 0.35],
    [1, 0.25],
  ],
  topP: [
    [1, 0.8],
    [0.95, 0.1],
    [0.9, 0.1],
  ],
  stop: [
    [[], 0.85],
    [['\n\n'], 0.1],
    [['###'], 0.05],
  ],
  topLogprobs: [
    [0, 0.9],
    [5, 0.1],
  ],
  words: [3, 64],
  roles: [
    [['user'], 0.5],
    [['system', 'user'], 0.3],
    [['user', 'assistant', 'user'], 0.1],
    [['system', 'user', 'assistant', 'user'], 0.1],
  ],
};

/** One draw of {@link DEFAULT_PRIOR}, with maxTokens around `maxTokens`. */
export function priorShape(rnd: Rng, maxTokens: number): GenerateShape {
  const P = DEFAULT_PRIOR;
  const words = () => Math.floor(P.words[0] * (P.words[1] / P.words[0]) ** rnd());
  const kind = choose(rnd, P.kinds);
  const roles: readonly Role[] = kind === 'chat' ? choose(rnd, P.roles) : ['user'];
  return {
    kind,
    maxTokens: Math.max(1, Math.round(maxTokens * choose(rnd, P.maxTokensFactor))),
    temperature: choose(rnd, P.temperature),
    topP: choose(rnd, P.topP),
    stop: [...choose(rnd, P.stop)],
    topLogprobs: choose(rnd, P.topLogprobs),
    turns: roles.map((role) => ({ role, words: role === 'system' ? 4 + Math.floor(rnd() * 8) : words() })),
  };
}

/** Algorithm R over a fixed capacity. */
class Reservoir<T> {
  readonly #items: T[] = [];
  #seen = 0;
  constructor(readonly capacity: number) {}
  add(x: T, rnd: Rng): void {
    this.#seen += 1;
    if (this.#items.length < this.capacity) this.#items.push(x);
    else {
      const j = Math.floor(rnd() * this.#seen);
      if (j < this.capacity) this.#items[j] = x;
    }
  }
  draw(rnd: Rng): T | undefined {
    return this.#items[Math.floor(rnd() * this.#items.length)];
  }
  get size(): number {
    return this.#items.length;
  }
}

export interface OrganicMixOpts {
  /** Shapes kept per model and over all models. */
  capacity: number;
  /** Models with a reservoir of their own; the least recently observed is dropped past it. */
  maxModels: number;
  /** Samples a reservoir needs before draws come from it rather than the next fallback. */
  minSamples: number;
  /** The prior's middle maxTokens (`consensus.maxTokens`). */
  priorMaxTokens: number;
}

export interface OrganicMix {
  /** Records the shape of one organic request (its synapse params as sent); ignores what does not parse. */
  observe(kind: 'generate' | 'embed', params: unknown): void;
  /** A generate shape for `model`: its own mix, else the mix over all models, else the prior. */
  drawGenerate(model: string): { shape: GenerateShape; source: 'model' | 'all' | 'prior' };
  /** An embed shape for `model` (the prior: one input of 3 to 64 words). */
  drawEmbed(model: string): EmbedShape;
  /** Shapes held: generate and embed, over all models. */
  size(): { generate: number; embed: number };
}

/** Creates the bounded organic mix; `rnd` drives both reservoir replacement and draws. */
export function createOrganicMix(opts: OrganicMixOpts, modules: { random: Rng }): OrganicMix {
  const rnd = modules.random;
  const gen = new Map<string, Reservoir<GenerateShape>>();
  const emb = new Map<string, Reservoir<EmbedShape>>();
  const allGen = new Reservoir<GenerateShape>(opts.capacity);
  const allEmb = new Reservoir<EmbedShape>(opts.capacity);
  const touch = <T>(m: Map<string, Reservoir<T>>, model: string): Reservoir<T> => {
    let r = m.get(model);
    if (r !== undefined) m.delete(model);
    else r = new Reservoir<T>(opts.capacity);
    m.set(model, r); // re-insert: Map order is recency order
    while (m.size > opts.maxModels) m.delete(m.keys().next().value as string);
    return r;
  };
  const fromPool = <T>(own: Reservoir<T> | undefined, all: Reservoir<T>) =>
    own !== undefined && own.size >= opts.minSamples
      ? { x: own.draw(rnd), source: 'model' as const }
      : all.size >= opts.minSamples
        ? { x: all.draw(rnd), source: 'all' as const }
        : undefined;
  return {
    observe(kind, params) {
      if (kind === 'generate') {
        const p = SynapseGenerateParamsSchema.safeParse(params);
        if (!p.success) return;
        const s = generateShapeOf(p.data);
        touch(gen, p.data.model).add(s, rnd);
        allGen.add(s, rnd);
      } else {
        const p = SynapseEmbedParamsSchema.safeParse(params);
        if (!p.success) return;
        const s = embedShapeOf(p.data);
        touch(emb, p.data.model).add(s, rnd);
        allEmb.add(s, rnd);
      }
    },
    drawGenerate(model) {
      const got = fromPool(gen.get(model), allGen);
      if (got?.x !== undefined) {
        // Smooth the lengths (a log-normal kernel): challenges must not repeat the reservoir's exact values.
        const turns = got.x.turns.map((t) => ({ ...t, words: jitterWords(t.words, rnd) }));
        return { shape: { ...got.x, stop: [...got.x.stop], turns }, source: got.source };
      }
      return { shape: priorShape(rnd, opts.priorMaxTokens), source: 'prior' };
    },
    drawEmbed(model) {
      const got = fromPool(emb.get(model), allEmb);
      if (got?.x !== undefined) return { inputs: got.x.inputs.map((w) => jitterWords(w, rnd)) };
      return { inputs: [Math.floor(3 * (64 / 3) ** rnd())] };
    },
    size: () => ({ generate: allGen.size, embed: allEmb.size }),
  };
}

/** The log-normal smoothing of drawn lengths (σ of the log). */
export const LENGTH_KERNEL_SIGMA = 0.2;

/** `words` times a log-normal factor of σ {@link LENGTH_KERNEL_SIGMA}, rounded, at least 1. */
export function jitterWords(words: number, rnd: Rng): number {
  const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return Math.max(1, Math.round(words * Math.exp(LENGTH_KERNEL_SIGMA * g)));
}

/** An exponential delay of mean `meanMs` (the gaps of a Poisson process), capped at 10× the mean. */
export function exponentialDelay(meanMs: number, rnd: Rng): number {
  return Math.min(10 * meanMs, -Math.log(1 - rnd()) * meanMs);
}
