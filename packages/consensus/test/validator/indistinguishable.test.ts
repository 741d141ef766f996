/**
 * Challenges cannot be told from organic traffic by what a miner sees. An observer on the miner sees the
 * canonical `generate` synapse params (the synapse client parses them with `SynapseGenerateParamsSchema`
 * before they leave, so both sources go through the same canonicalisation here). Organic requests come
 * from a realistic client mix defined below (its own texts, not the validator's corpus); challenges come
 * from the validator's mix (default capacity, 1024 shapes) after it has observed a separate batch of that organic traffic, as it does
 * through `gateway_watchOutcomesV1` samples.
 *
 * Statistic: accuracy of a classifier trained on one half (balanced) and tested on the other, n = 2000
 * test samples. If the two sources had identical distributions, any classifier fixed before the test
 * half is seen has expected accuracy 0.5, and by Hoeffding P(|acc − 0.5| ≥ ε) ≤ 2·exp(−2nε²); with
 * ε = 0.06 that is ≤ 1.1e-6 per classifier. The test asserts |acc − 0.5| < 0.06 for each classifier (a
 * categorical naive Bayes over all features, and the best single-feature histogram classifier).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynapseGenerateParamsSchema } from '@subnet/engine-api';
import { wordCount } from '../../src/validator/corpus.js';
import { createOrganicMix, type GenerateParams, renderGenerate } from '../../src/validator/mix.js';
import { mulberry32 } from '../../src/validator/prompt.js';

const N_OBSERVED = 2000;
const N_PER_CLASS = 2000;
const EPSILON = 0.06;
const MODEL = 'llama-3-8b-instruct';

const rnd = mulberry32(20240613);
const choose = <T>(table: readonly (readonly [T, number])[]): T => {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return (table[table.length - 1] as readonly [T, number])[0];
};
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());

// The clients' own texts (not the validator's corpus).
const CLIENT_WORDS =
  'please help me understand why my kubernetes pod keeps restarting after the deployment finished and what logs I should check first before escalating to the platform team today thanks summarise this customer email into three bullet points for the weekly report draft a reply that is friendly but firm about the refund policy'.split(
    ' ',
  );
const clientText = (words: number) =>
  Array.from(
    { length: Math.max(1, words) },
    () => CLIENT_WORDS[Math.floor(rnd() * CLIENT_WORDS.length)],
  ).join(' ');

/** One organic request as the gateway relays it: seed fixed (random u32), logprobs asked for, no priority. */
function organic(): GenerateParams {
  const kind = choose([
    ['chat', 0.72],
    ['completion', 0.28],
  ] as const);
  const words = () => Math.max(1, Math.round(Math.exp(3.2 + 1.1 * gauss())));
  const roles = choose([
    [['user'], 0.45],
    [['system', 'user'], 0.35],
    [['system', 'user', 'assistant', 'user'], 0.12],
    [['user', 'assistant', 'user', 'assistant', 'user'], 0.08],
  ] as const);
  const raw = {
    model: MODEL,
    kind,
    ...(kind === 'chat'
      ? {
          messages: roles.map((role) => ({
            role,
            content: clientText(role === 'system' ? 3 + Math.floor(rnd() * 20) : words()),
          })),
        }
      : { prompt: clientText(words()) }),
    maxTokens: choose([
      [16, 0.05],
      [64, 0.15],
      [128, 0.25],
      [256, 0.25],
      [512, 0.15],
      [1000, 0.1],
      [2048, 0.05],
    ] as const),
    temperature: choose([
      [0, 0.25],
      [0.2, 0.1],
      [0.5, 0.1],
      [0.7, 0.3],
      [1, 0.2],
      [1.3, 0.05],
    ] as const),
    topP: choose([
      [1, 0.7],
      [0.9, 0.15],
      [0.95, 0.15],
    ] as const),
    stop: choose([
      [[], 0.8],
      [['\n'], 0.08],
      [['</s>', '###'], 0.07],
      [['User:'], 0.05],
    ] as const),
    seed: Math.floor(rnd() * 2 ** 32),
    logprobs: true,
    topLogprobs: choose([
      [0, 0.85],
      [1, 0.05],
      [5, 0.1],
    ] as const),
  };
  return SynapseGenerateParamsSchema.parse(raw);
}

const log2Bin = (x: number) => (x <= 0 ? '0' : String(Math.round(2 * Math.log2(x))));

/** Everything the miner sees except the content's words themselves. */
function features(p: GenerateParams): Record<string, string> {
  const turns = p.kind === 'chat' ? (p.messages ?? []) : [{ role: 'user', content: p.prompt ?? '' }];
  const total = turns.reduce((s, m) => s + wordCount(m.content), 0);
  return {
    keys: Object.keys(p).join(','),
    kind: p.kind,
    maxTokens: String(p.maxTokens),
    temperature: String(p.temperature),
    topP: String(p.topP),
    stopCount: String(p.stop.length),
    stop: JSON.stringify(p.stop),
    logprobs: String(p.logprobs),
    topLogprobs: String(p.topLogprobs),
    seed: p.seed === undefined ? 'none' : 'set',
    seedBits: String(p.seed === undefined ? -1 : Math.floor(Math.log2(p.seed + 1))),
    roles: turns.map((m) => m.role).join('>'),
    turns: String(turns.length),
    words: String(total),
    wordsBin: log2Bin(total),
    lastWordsBin: log2Bin(wordCount(turns[turns.length - 1]?.content ?? '')),
    chars: log2Bin(turns.reduce((s, m) => s + m.content.length, 0)),
  };
}

type Sample = { f: Record<string, string>; y: 0 | 1 };

/** Categorical naive Bayes with add-one smoothing. */
function naiveBayes(train: Sample[]): (f: Record<string, string>) => 0 | 1 {
  const counts = [new Map<string, number>(), new Map<string, number>()];
  const values = new Map<string, Set<string>>();
  const n = [0, 0];
  for (const s of train) {
    n[s.y] = (n[s.y] as number) + 1;
    for (const [k, v] of Object.entries(s.f)) {
      const key = `${k}=${v}`;
      counts[s.y]?.set(key, (counts[s.y]?.get(key) ?? 0) + 1);
      const vs = values.get(k) ?? new Set();
      vs.add(v);
      values.set(k, vs);
    }
  }
  return (f) => {
    const score = [0, 1].map((y) => {
      let l = Math.log((n[y] as number) / train.length);
      for (const [k, v] of Object.entries(f)) {
        const c = counts[y]?.get(`${k}=${v}`) ?? 0;
        l += Math.log((c + 1) / ((n[y] as number) + (values.get(k)?.size ?? 0) + 1));
      }
      return l;
    });
    return (score[1] as number) > (score[0] as number) ? 1 : 0;
  };
}

/** The best single-feature histogram classifier (majority class per value, chosen on the training half). */
function bestHistogram(train: Sample[]): { feature: string; classify: (f: Record<string, string>) => 0 | 1 } {
  let best = { feature: '', acc: -1, table: new Map<string, 0 | 1>() };
  for (const k of Object.keys(train[0]?.f ?? {})) {
    const c = new Map<string, [number, number]>();
    for (const s of train) {
      const x = c.get(s.f[k] as string) ?? [0, 0];
      x[s.y] += 1;
      c.set(s.f[k] as string, x);
    }
    const table = new Map<string, 0 | 1>([...c].map(([v, [a, b]]) => [v, b > a ? 1 : 0]));
    const acc = train.filter((s) => (table.get(s.f[k] as string) ?? 0) === s.y).length / train.length;
    if (acc > best.acc) best = { feature: k, acc, table };
  }
  return { feature: best.feature, classify: (f) => best.table.get(f[best.feature] as string) ?? 0 };
}

describe('challenges are indistinguishable from organic requests', () => {
  it(`no classifier tells them apart better than 0.5 ± ${EPSILON} (Hoeffding, n = ${N_PER_CLASS})`, () => {
    const mix = createOrganicMix(
      { capacity: 1024, maxModels: 8, minSamples: 16, priorMaxTokens: 32 },
      { random: mulberry32(7) },
    );
    for (let i = 0; i < N_OBSERVED; i++) mix.observe('generate', organic());
    const samples: Sample[] = [];
    for (let i = 0; i < N_PER_CLASS; i++) {
      samples.push({ f: features(organic()), y: 0 });
      const seed = Math.floor(rnd() * 2 ** 32);
      const { shape, source } = mix.drawGenerate(MODEL);
      assert.equal(source, 'model');
      const challenge = renderGenerate(shape, MODEL, seed, mulberry32(seed));
      // What the synapse client sends: the same canonical parse as organic params.
      assert.deepEqual(SynapseGenerateParamsSchema.parse(challenge), challenge);
      assert.equal('priority' in challenge, false);
      samples.push({ f: features(challenge), y: 1 });
    }
    // Shuffle, then split each class in half.
    for (let i = samples.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [samples[i], samples[j]] = [samples[j] as Sample, samples[i] as Sample];
    }
    const train: Sample[] = [];
    const test: Sample[] = [];
    const seen = [0, 0];
    for (const s of samples) {
      (seen[s.y] as number) < N_PER_CLASS / 2 ? train.push(s) : test.push(s);
      seen[s.y] = (seen[s.y] as number) + 1;
    }
    const accuracy = (c: (f: Record<string, string>) => 0 | 1) =>
      test.filter((s) => c(s.f) === s.y).length / test.length;
    const nb = accuracy(naiveBayes(train));
    const hist = bestHistogram(train);
    const h = accuracy(hist.classify);
    const bound = 2 * Math.exp(-2 * test.length * EPSILON ** 2);
    assert.ok(bound < 2e-6, `Hoeffding bound ${bound}`);
    assert.ok(Math.abs(nb - 0.5) < EPSILON, `naive Bayes accuracy ${nb}`);
    assert.ok(Math.abs(h - 0.5) < EPSILON, `histogram on ${hist.feature}: accuracy ${h}`);
    console.log(
      JSON.stringify({
        test: test.length,
        naiveBayes: nb,
        histogram: { feature: hist.feature, accuracy: h },
      }),
    );
  });

  it('the same classifier does tell the old challenges apart (the test has power)', () => {
    // Old challenges: completion, temperature 0, maxTokens 32, 4 to 11 words, no topLogprobs.
    const old = () =>
      SynapseGenerateParamsSchema.parse({
        model: MODEL,
        kind: 'completion',
        prompt: clientText(4 + Math.floor(rnd() * 8)),
        maxTokens: 32,
        temperature: 0,
        seed: Math.floor(rnd() * 2 ** 32),
        logprobs: true,
      });
    const train: Sample[] = [];
    const test: Sample[] = [];
    for (let i = 0; i < 400; i++) {
      (i < 200 ? train : test).push({ f: features(organic()), y: 0 }, { f: features(old()), y: 1 });
    }
    const c = naiveBayes(train);
    const acc = test.filter((s) => c(s.f) === s.y).length / test.length;
    assert.ok(acc > 0.95, `accuracy ${acc}`);
  });
});
