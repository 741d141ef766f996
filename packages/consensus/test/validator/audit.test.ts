/**
 * The audit rules against a real (small) reference model: a word-level bigram language model built in the
 * test from a corpus, which scores answers by teacher forcing exactly as `app_scoreV1` does (logprob of each
 * token, top logprobs, the end-of-generation logprob after the answer) and generates them as a backend does
 * (greedy, or seeded sampling with temperature and top-p, reporting raw logprobs). A "cheap" miner runs a
 * bigram model of another corpus under the same id.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AuditedAnswer,
  type AuditedRequest,
  AuditFailure,
  auditEmbeddings,
  auditEnding,
  auditTokens,
  cosine,
  type GenerateAuditOpts,
  plausibleDraw,
  type ReferenceScore,
  temperedLogprob,
} from '../../src/validator/audit.js';
import { judge } from '../../src/validator/challenge.js';
import { mulberry32 } from '../../src/validator/prompt.js';
import type { MinerToken, ReferenceToken } from '../../src/validator/verify.js';

const EOS = '</s>';

/** A word-level bigram model with add-α smoothing; tokens are ' word'. */
function bigram(corpus: string, vocab: readonly string[]) {
  const counts = new Map<string, Map<string, number>>();
  for (const sentence of corpus.split('.')) {
    const words = sentence.trim().split(/\s+/).filter(Boolean);
    let prev = '<s>';
    for (const w of [...words, EOS]) {
      const m = counts.get(prev) ?? new Map<string, number>();
      m.set(w, (m.get(w) ?? 0) + 1);
      counts.set(prev, m);
      prev = w;
    }
  }
  const V = [...vocab, EOS];
  const alpha = 0.001;
  /** log P(· | prev), sorted most likely first. */
  const dist = (prev: string): [string, number][] => {
    const m = counts.get(prev) ?? new Map();
    const total = [...m.values()].reduce((s, c) => s + c, 0);
    return V.map((w): [string, number] => [
      w,
      Math.log(((m.get(w) ?? 0) + alpha) / (total + alpha * V.length)),
    ]).sort((a, b) => b[1] - a[1]);
  };
  return { dist };
}
type Model = ReturnType<typeof bigram>;

const REF_CORPUS =
  'the quick brown fox jumps over the lazy dog. the lazy dog. the dog sleeps. a fox runs over the hill. '.repeat(
    5,
  );
const CHEAP_CORPUS =
  'lorem ipsum dolor sit amet. the lazy fox sleeps under a brown hill. dog runs quick. '.repeat(5);
const VOCAB = [...new Set(`${REF_CORPUS} ${CHEAP_CORPUS}`.replace(/\./g, ' ').split(/\s+/).filter(Boolean))];
const reference = bigram(REF_CORPUS, VOCAB);
const cheap = bigram(CHEAP_CORPUS, VOCAB);

/** Teacher forcing: app_scoreV1 of `words` after `prev`, top-k logprobs, eos after the continuation. */
function score(model: Model, prev: string, words: readonly string[], k: number): ReferenceScore {
  const tokens: ReferenceToken[] = [];
  let p = prev;
  for (const w of words) {
    const d = model.dist(p);
    tokens.push({
      token: ` ${w}`,
      logprob: d.find(([x]) => x === w)?.[1] ?? Number.NEGATIVE_INFINITY,
      topLogprobs: d.slice(0, k).map(([x, l]) => ({ token: ` ${x}`, logprob: l })),
    });
    p = w;
  }
  const d = model.dist(p);
  return {
    tokens,
    eos: { logprob: d.find(([x]) => x === EOS)?.[1] as number, topLogprob: (d[0] as [string, number])[1] },
  };
}

/** A backend's generation: greedy or seeded sampling (temperature, then top-p), raw logprobs reported. */
function generate(
  model: Model,
  prev: string,
  req: AuditedRequest & { seed: number },
): { words: string[]; answer: AuditedAnswer } {
  const rnd = mulberry32(req.seed);
  const words: string[] = [];
  const tokens: MinerToken[] = [];
  let p = prev;
  let finishReason: 'stop' | 'length' = 'length';
  while (words.length < req.maxTokens) {
    const d = model.dist(p);
    let pick: [string, number];
    if (req.temperature <= 0) pick = d[0] as [string, number];
    else {
      const t = d.map(([w, l]): [string, number, number] => [w, l, Math.exp(l / req.temperature)]);
      const z = t.reduce((s, x) => s + x[2], 0);
      const nucleus: [string, number, number][] = [];
      let mass = 0;
      for (const x of t) {
        nucleus.push(x);
        mass += x[2] / z;
        if (mass >= req.topP) break;
      }
      const zn = nucleus.reduce((s, x) => s + x[2], 0);
      let r = rnd() * zn;
      let chosen = nucleus[nucleus.length - 1] as [string, number, number];
      for (const x of nucleus) {
        r -= x[2];
        if (r < 0) {
          chosen = x;
          break;
        }
      }
      pick = [chosen[0], chosen[1]];
    }
    if (pick[0] === EOS) {
      finishReason = 'stop';
      break;
    }
    words.push(pick[0]);
    tokens.push({ text: ` ${pick[0]}`, logprob: pick[1] });
    p = pick[0];
  }
  return { words, answer: { tokens, finishReason } };
}

const opts: GenerateAuditOpts = { tolerance: 0.1, minMatch: 0.9, plausibleRatio: 1e-4 };
const greedy: AuditedRequest = { maxTokens: 12, temperature: 0, topP: 1, stop: [] };
const sampled: AuditedRequest = { maxTokens: 12, temperature: 0.8, topP: 0.95, stop: [] };

/** The whole generate audit as `reference.ts` runs it (ending included; stop sequences scored on demand). */
function audit(req: AuditedRequest, prev: string, answer: AuditedAnswer) {
  const words = answer.tokens
    .map((t) => t.text)
    .join('')
    .split(/\s+/)
    .filter(Boolean);
  const ref = score(reference, prev, words, req.temperature <= 0 ? 1 : 20);
  const tokens = auditTokens(req, answer, ref, opts);
  const stopScores = req.stop.map((s) => score(reference, prev, [...words, s.trim()], 20).tokens);
  return auditEnding(tokens, req, answer, ref, stopScores, opts);
}

describe('audit rules on a real bigram reference', () => {
  it('an honest greedy answer passes, ending at the reference end of generation', () => {
    const { answer } = generate(reference, 'lazy', { ...greedy, seed: 1 });
    assert.equal(answer.finishReason, 'stop');
    const a = audit(greedy, 'lazy', answer);
    assert.equal(a.failure, null, a.detail);
    assert.equal(a.stats.argmaxMatched, a.stats.tokens);
    assert.equal(a.stats.logprobsMatched, a.stats.tokens);
  });

  it('honest sampled answers (temperature 0.8, top-p 0.95, seeded) pass', () => {
    let stops = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { answer } = generate(reference, 'a', { ...sampled, seed });
      if (answer.finishReason === 'stop') stops += 1;
      if (answer.tokens.length === 0) continue;
      const a = audit(sampled, 'a', answer);
      assert.equal(a.failure, null, `seed ${seed}: ${a.detail}`);
    }
    assert.ok(stops > 0, 'some sampled answers end on their own');
  });

  it('a backend that reports tempered (post-sampling) logprobs passes too', () => {
    const { words, answer } = generate(reference, 'a', { ...sampled, seed: 3 });
    const ref = score(reference, 'a', words, 20);
    const tempered = answer.tokens.map((t, i) => ({
      ...t,
      logprob:
        temperedLogprob(ref.tokens[i] as ReferenceToken, sampled.temperature, sampled.topP) ?? Number.NaN,
    }));
    assert.equal(audit(sampled, 'a', { ...answer, tokens: tempered }).failure, null);
  });

  it('a cheap-model answer fails: greedy not the argmax, sampled implausible or off in logprobs', () => {
    const g = generate(cheap, 'the', { ...greedy, seed: 1 });
    const ga = audit(greedy, 'the', g.answer);
    assert.equal(ga.failure, AuditFailure.NOT_ARGMAX, ga.detail);
    let failed = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const s = generate(cheap, 'the', { ...sampled, seed });
      if (s.answer.tokens.length < 2) continue;
      const a = audit(sampled, 'the', s.answer);
      assert.ok(
        a.failure === AuditFailure.IMPLAUSIBLE || a.failure === AuditFailure.LOGPROB_MISMATCH,
        `seed ${seed}: ${a.failure} ${a.detail}`,
      );
      failed += 1;
    }
    assert.ok(failed >= 10);
  });

  it('a cheap model reporting the reference logprobs still fails on content', () => {
    const { words, answer } = generate(cheap, 'the', { ...greedy, seed: 1 });
    const ref = score(reference, 'the', words, 1);
    const forged = answer.tokens.map((t, i) => ({ ...t, logprob: ref.tokens[i]?.logprob }));
    assert.equal(audit(greedy, 'the', { ...answer, tokens: forged }).failure, AuditFailure.NOT_ARGMAX);
  });

  it('a truncated answer fails: TRUNCATED with finishReason length, EARLY_STOP with stop', () => {
    const req = { ...greedy, maxTokens: 8 };
    const { answer } = generate(reference, 'over', { ...req, seed: 1, maxTokens: 30 });
    assert.ok(answer.tokens.length >= 3, 'the reference goes on for a while');
    const one = { tokens: answer.tokens.slice(0, 1), finishReason: 'length' as const };
    const t = audit(req, 'over', one);
    assert.equal(t.failure, AuditFailure.TRUNCATED);
    assert.match(t.detail, /after 1 of 8 tokens/);
    const e = audit(req, 'over', { tokens: answer.tokens.slice(0, 1), finishReason: 'stop' });
    assert.equal(e.failure, AuditFailure.EARLY_STOP, e.detail);
    // The full answer at maxTokens passes.
    const full = generate(reference, 'over', { ...req, seed: 1 });
    if (full.answer.finishReason === 'length') assert.equal(audit(req, 'over', full.answer).failure, null);
  });

  it('a stop sequence the reference would write next explains an early stop', () => {
    const { words, answer } = generate(reference, 'over', { ...greedy, seed: 1, maxTokens: 30 });
    const cut = answer.tokens.slice(0, 1);
    const next = words[1] as string;
    const req = { ...greedy, stop: [` ${next}`] };
    assert.equal(audit(req, 'over', { tokens: cut, finishReason: 'stop' }).failure, null);
    const wrong = { ...greedy, stop: [' ipsum'] };
    assert.equal(
      audit(wrong, 'over', { tokens: cut, finishReason: 'stop' }).failure,
      AuditFailure.EARLY_STOP,
    );
  });

  it('missing logprobs fail (only a final flush may lack one)', () => {
    const { answer } = generate(reference, 'over', { ...greedy, seed: 1 });
    assert.ok(answer.tokens.length >= 3);
    const none = answer.tokens.map((t) => ({ text: t.text }));
    const a = audit(greedy, 'over', { ...answer, tokens: none });
    assert.equal(a.failure, AuditFailure.MISSING_LOGPROBS);
    assert.match(a.detail, /without a logprob/);
    const holed = answer.tokens.map((t, i) => (i === 1 ? { text: t.text } : t));
    assert.equal(audit(greedy, 'over', { ...answer, tokens: holed }).failure, AuditFailure.MISSING_LOGPROBS);
    const flushed = answer.tokens.map((t, i) => (i === answer.tokens.length - 1 ? { text: t.text } : t));
    assert.equal(audit(greedy, 'over', { ...answer, tokens: flushed }).failure, null);
  });

  it('logprobs off the reference fail; oddly split tokens cannot dodge the comparison', () => {
    const { answer } = generate(reference, 'the', { ...sampled, seed: 5 });
    const off = answer.tokens.map((t) => ({ ...t, logprob: -0.001 }));
    assert.equal(audit(sampled, 'the', { ...answer, tokens: off }).failure, AuditFailure.LOGPROB_MISMATCH);
    const text = answer.tokens.map((t) => t.text).join('');
    const chars = [...text].map((c) => ({ text: c, logprob: -0.001 }));
    assert.equal(audit(sampled, 'the', { ...answer, tokens: chars }).failure, AuditFailure.UNALIGNED);
  });

  it('an answer longer than maxTokens fails', () => {
    const { answer } = generate(reference, 'the', { ...sampled, seed: 2, maxTokens: 30 });
    const req = { ...sampled, maxTokens: 2 };
    if (answer.tokens.length > 3) assert.equal(audit(req, 'the', answer).failure, AuditFailure.TOO_LONG);
  });

  it('plausibility follows temperature and top-p', () => {
    const t: ReferenceToken = {
      token: 'b',
      logprob: Math.log(0.05),
      topLogprobs: [
        { token: 'a', logprob: Math.log(0.9) },
        { token: 'b', logprob: Math.log(0.05) },
      ],
    };
    assert.equal(plausibleDraw(t, { temperature: 1, topP: 1 }, 1e-4), true);
    assert.equal(plausibleDraw(t, { temperature: 0.1, topP: 1 }, 1e-4), false);
    assert.equal(plausibleDraw(t, { temperature: 1, topP: 0.8 }, 1e-4), false);
  });
});

describe('embedding audit', () => {
  const ref = [
    [0.1, 0.2, 0.3, 0.4],
    [0.5, -0.1, 0.0, 0.2],
  ];
  it('passes vectors on the reference (tiny numeric drift) and fails ones off it', () => {
    const close = ref.map((v) => v.map((x) => x * 1.01 + 1e-4));
    assert.equal(auditEmbeddings(close, ref, 0.99).failure, null);
    const off = [ref[0] as number[], [0.1, 0.5, -0.3, 0.0]];
    const a = auditEmbeddings(off, ref, 0.99);
    assert.equal(a.failure, AuditFailure.EMBEDDING_OFF);
    assert.equal(a.stats.argmaxMatched, 1);
    assert.equal(auditEmbeddings([ref[0] as number[]], ref, 0.99).failure, AuditFailure.EMBEDDING_SHAPE);
    assert.equal(
      auditEmbeddings(
        ref.map((v) => v.slice(1)),
        ref,
        0.99,
      ).failure,
      AuditFailure.EMBEDDING_SHAPE,
    );
  });
  it('cosine is 1 for parallel vectors and 0 against zeros', () => {
    assert.ok(Math.abs(cosine([1, 2], [2, 4]) - 1) < 1e-12);
    assert.equal(cosine([0, 0], [1, 2]), 0);
  });
});

describe('Sybil rule: only an audit decides', () => {
  const answer = (text: string) => ({ text, errorCode: null });
  it('two colluders in a set of three win nothing without a reference', () => {
    const texts = ['garbage', 'garbage', 'honest'];
    for (const t of texts) {
      const v = judge(answer(t), 'garbage', null);
      assert.equal(v.verdict, 'unverified');
    }
    assert.match(judge(answer('honest'), 'garbage', null).reason, /minority, not audited/);
  });
  it('with a reference the audit decides, whatever the majority', () => {
    const pass = {
      stats: {
        tokens: 3,
        argmaxMatched: 3,
        logprobsCompared: 3,
        logprobsMatched: 3,
        maxLogprobDiff: 0,
        passed: true,
      },
      failure: null,
      detail: 'passed',
    };
    const fail = {
      ...pass,
      stats: { ...pass.stats, passed: false },
      failure: AuditFailure.NOT_ARGMAX,
      detail: '0 of 3',
    };
    assert.equal(judge(answer('honest'), 'garbage', pass).verdict, 'pass');
    const f = judge(answer('garbage'), 'garbage', fail);
    assert.equal(f.verdict, 'fail');
    assert.match(f.reason, /audit NOT_ARGMAX.*majority/);
    assert.equal(judge({ text: null, errorCode: 'TIMEOUT' }, null, null).verdict, 'error');
  });
});
