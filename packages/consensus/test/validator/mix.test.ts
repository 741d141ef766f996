import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynapseGenerateParamsSchema } from '@subnet/engine-api';
import { completionText, userText, wordCount } from '../../src/validator/corpus.js';
import {
  createOrganicMix,
  exponentialDelay,
  generateShapeOf,
  priorShape,
  renderEmbed,
  renderGenerate,
} from '../../src/validator/mix.js';
import { mulberry32 } from '../../src/validator/prompt.js';

const organic = (i: number) =>
  SynapseGenerateParamsSchema.parse({
    model: i % 2 === 0 ? 'a' : 'b',
    kind: 'chat',
    messages: [{ role: 'user', content: 'word '.repeat(1 + (i % 50)) }],
    maxTokens: 100 + i,
    temperature: 0.7,
    seed: i,
    logprobs: true,
  });

describe('organic mix', () => {
  it('keeps at most `capacity` shapes per model and `maxModels` models', () => {
    const mix = createOrganicMix(
      { capacity: 16, maxModels: 2, minSamples: 4, priorMaxTokens: 32 },
      { random: mulberry32(1) },
    );
    for (let i = 0; i < 1000; i++) mix.observe('generate', organic(i));
    mix.observe('generate', { ...organic(1), model: 'c' }); // a third model: the least recent ('a') goes
    assert.deepEqual(mix.size(), { generate: 16, embed: 0 });
    assert.equal(mix.drawGenerate('b').source, 'model');
    assert.equal(mix.drawGenerate('a').source, 'all');
    assert.equal(mix.drawGenerate('c').source, 'all');
    const { shape } = mix.drawGenerate('b');
    assert.ok(shape.maxTokens >= 100 && shape.maxTokens < 1100);
    assert.equal(shape.kind, 'chat');
  });

  it('draws from the prior until enough organic traffic is seen, and ignores params that do not parse', () => {
    const mix = createOrganicMix(
      { capacity: 16, maxModels: 4, minSamples: 4, priorMaxTokens: 32 },
      { random: mulberry32(2) },
    );
    mix.observe('generate', { model: 'a', kind: 'chat', priority: 'challenge' });
    assert.equal(mix.size().generate, 0);
    assert.equal(mix.drawGenerate('a').source, 'prior');
    const counts = { chat: 0, completion: 0 };
    const r = mulberry32(3);
    for (let i = 0; i < 1000; i++) {
      const s = priorShape(r, 32);
      counts[s.kind] += 1;
      assert.ok([16, 32, 64].includes(s.maxTokens));
    }
    assert.ok(counts.chat > 700 && counts.chat < 900, JSON.stringify(counts));
  });

  it('renders canonical params of the shape: seed set, logprobs on, no priority, lengths kept', () => {
    const shape = generateShapeOf(organic(7));
    const p = renderGenerate(shape, 'a', 42, mulberry32(42));
    assert.deepEqual(SynapseGenerateParamsSchema.parse(p), p);
    assert.equal(p.seed, 42);
    assert.equal(p.logprobs, true);
    assert.equal('priority' in p, false);
    assert.equal(wordCount(p.messages?.[0]?.content ?? ''), 8);
    assert.deepEqual(p, renderGenerate(shape, 'a', 42, mulberry32(42)), 'a seed rebuilds its prompt');
    const e = renderEmbed({ inputs: [5, 12] }, 'emb', mulberry32(1));
    assert.equal(e.input.length, 2);
  });

  it('corpus texts hit the wanted word count', () => {
    const r = mulberry32(9);
    for (let w = 1; w < 200; w++) {
      assert.equal(wordCount(userText(r, w)), w);
      assert.equal(wordCount(completionText(r, w)), w);
    }
  });

  it('exponential delays have the wanted mean and a cap', () => {
    const r = mulberry32(5);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const d = exponentialDelay(100, r);
      assert.ok(d >= 0 && d <= 1000);
      sum += d;
    }
    assert.ok(Math.abs(sum / 20_000 - 100) < 5, `${sum / 20_000}`);
  });
});
