import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ResponseFormatSchema, structuredAnswerProblem } from '@subnet/engine-api';
import {
  AppError,
  AppErrorCode,
  collect,
  createLlamaCppModule,
  type GenerateRequest,
  type GenerateRequestInput,
  GenerateRequestSchema,
  generateModel,
  type InferenceModule,
} from '../src/index.js';

const FOX = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
/** Every byte has one successor, so greedy decoding is known in advance. */
const CORPUS = 'quick-brown '.repeat(50);
const signal = new AbortController().signal;

function req(
  input: Omit<GenerateRequestInput, 'model' | 'kind'> & Partial<GenerateRequestInput>,
): GenerateRequest {
  return GenerateRequestSchema.parse({ model: 'bigram', kind: 'completion', ...input });
}

function isCode(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('llama.cpp backend', { timeout: 60_000 }, () => {
  let dir: string;
  let mod: InferenceModule;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-llamacpp-'));
    writeFileSync(join(dir, 'bigram.gguf'), generateModel({ kind: 'bigram', corpus: CORPUS }));
    writeFileSync(join(dir, 'random.gguf'), generateModel({ kind: 'random', seed: 7 }));
    writeFileSync(join(dir, 'fox.gguf'), generateModel({ kind: 'bigram', corpus: FOX }));
    mod = createLlamaCppModule(
      {
        models: [
          { id: 'bigram', path: join(dir, 'bigram.gguf'), contextLength: 256 },
          { id: 'random', path: join(dir, 'random.gguf'), contextLength: 128 },
          { id: 'fox', path: join(dir, 'fox.gguf'), contextLength: 256 },
        ],
        threads: 2,
      },
      {},
    );
    await mod.init({ signal });
  });
  after(async () => {
    await mod?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a truncated file and one missing feed_forward_length, without aborting', async () => {
    const good = generateModel({ kind: 'bigram', corpus: CORPUS });
    writeFileSync(join(dir, 'truncated.gguf'), good.subarray(0, Math.floor(good.length / 2)));
    // Rename the key in place (same length, so the file stays well formed): llama.cpp would SIGABRT on it.
    const noFfn = Buffer.from(good);
    const at = noFfn.indexOf('llama.feed_forward_length');
    assert.ok(at > 0);
    noFfn.write('X', at + 'llama.feed_forward_length'.length - 1);
    writeFileSync(join(dir, 'noffn.gguf'), noFfn);
    for (const [file, problem] of [
      ['truncated.gguf', /truncat|incomplete|ends/i],
      ['noffn.gguf', /feed_forward_length/],
    ] as const) {
      const bad = createLlamaCppModule({ models: [{ id: 'bad', path: join(dir, file) }] }, {});
      await assert.rejects(bad.init({ signal }), (err: unknown) => {
        isCode(AppErrorCode.MODEL_REFUSED)(err);
        assert.match((err as Error).message, new RegExp(file.replace('.', '\\.')));
        assert.match((err as Error).message, problem);
        return true;
      });
      await bad.close();
    }
  });

  it('streams a completion and reports usage', async () => {
    const { text, tokens, done } = await collect(
      mod.generate(req({ prompt: 'quick', maxTokens: 20 }), { signal }),
    );
    assert.ok(tokens.length > 0);
    assert.equal(text, '-brown quick-brown q');
    assert.equal(done.finishReason, 'length');
    assert.equal(done.usage.completionTokens, 20);
    assert.ok(done.usage.promptTokens >= 5);
  });

  it('greedy and seeded sampling are deterministic', async () => {
    const greedy = req({ model: 'fox', prompt: 'the lazy', maxTokens: 30, topP: 0.9 });
    const a = await collect(mod.generate(greedy, { signal }));
    const b = await collect(mod.generate(greedy, { signal }));
    assert.equal(a.text, b.text);
    const seeded = req({ model: 'random', prompt: 'Hello', maxTokens: 30, temperature: 1, seed: 1234 });
    const c = await collect(mod.generate(seeded, { signal }));
    const d = await collect(mod.generate(seeded, { signal }));
    assert.equal(c.text, d.text);
    assert.ok(c.done.usage.completionTokens > 0);
    const fox = req({ model: 'fox', prompt: 'the', maxTokens: 40, temperature: 0.8, seed: 99 });
    const e = (await collect(mod.generate(fox, { signal }))).text;
    assert.equal((await collect(mod.generate(fox, { signal }))).text, e);
    const other = (await collect(mod.generate({ ...fox, seed: 100 }, { signal }))).text;
    const greedyFox = (await collect(mod.generate({ ...fox, temperature: 0 }, { signal }))).text;
    assert.ok(e !== other || e !== greedyFox, 'sampling at temperature > 0 should depend on the seed');
  });

  it('honours stop sequences and maxTokens', async () => {
    const stopped = await collect(
      mod.generate(req({ prompt: 'quick', maxTokens: 60, stop: ['own q'] }), { signal }),
    );
    assert.equal(stopped.text, '-br');
    assert.equal(stopped.done.finishReason, 'stop');
    const short = await collect(mod.generate(req({ prompt: 'quick', maxTokens: 3 }), { signal }));
    assert.equal(short.done.finishReason, 'length');
    assert.equal(short.done.usage.completionTokens, 3);
    assert.equal(short.text, '-br');
  });

  it('an end-of-generation token ends the answer with finishReason stop, never a short length', async () => {
    // Sampled hot, the fox bigram draws its end token now and then: every such answer must say 'stop'
    // (node-llama-cpp ends its iteration silently on one unless asked to yield it).
    let stops = 0;
    for (let seed = 0; seed < 300 && stops < 2; seed++) {
      const { done } = await collect(
        mod.generate(req({ model: 'fox', prompt: 'the', maxTokens: 24, temperature: 2, seed }), { signal }),
      );
      const n = done.usage.completionTokens;
      if (done.finishReason === 'stop') stops += 1;
      else assert.equal(n, 24, `seed ${seed}: finishReason length after ${n} of 24 tokens`);
    }
    assert.ok(stops > 0, 'no sampled answer ended on the end token');
  });

  it('cancels promptly through the AbortSignal', async () => {
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const ev of mod.generate(req({ prompt: 'the', maxTokens: 200 }), { signal: ac.signal }))
          if (ev.type === 'token' && ++n === 3) ac.abort();
      })(),
      isCode(AppErrorCode.CANCELLED),
    );
    assert.equal(n, 3);
    // The sequence went back to the pool: the model still serves.
    const after = await collect(mod.generate(req({ prompt: 'the', maxTokens: 4 }), { signal }));
    assert.equal(after.done.usage.completionTokens, 4);
  });

  it('returns logprobs ≤ 0 with sorted top-k, equal to a teacher-forced score', async () => {
    const g = await collect(
      mod.generate(
        req({ model: 'fox', prompt: 'the quick', maxTokens: 16, logprobs: true, topLogprobs: 3 }),
        { signal },
      ),
    );
    assert.equal(g.tokens.length, 16);
    for (const t of g.tokens) {
      assert.ok(t.logprob !== undefined && t.logprob <= 0, JSON.stringify(t));
      const top = t.topLogprobs ?? [];
      assert.equal(top.length, 3);
      for (let i = 1; i < top.length; i++) assert.ok((top[i - 1]?.logprob ?? 0) >= (top[i]?.logprob ?? 0));
      assert.ok(Math.abs((top[0]?.logprob ?? 0) - (t.logprob ?? 1)) < 1e-6, 'greedy picks the top token');
    }
    assert.ok(mod.score !== undefined);
    const s = await mod.score(
      { model: 'fox', prompt: 'the quick', continuation: g.text, topLogprobs: 3 },
      { signal },
    );
    assert.equal(s.tokens.length, g.tokens.length);
    let sum = 0;
    s.tokens.forEach((t, i) => {
      assert.ok(Math.abs(t.logprob - (g.tokens[i]?.logprob ?? 0)) < 1e-3, `token ${i}: ${t.logprob}`);
      sum += t.logprob;
    });
    assert.ok(Math.abs(sum - s.sumLogprob) < 1e-9);
    // A continuation the model would not write scores lower.
    const odd = await mod.score(
      { model: 'fox', prompt: 'the quick', continuation: ' dog fox brown quick' },
      { signal },
    );
    assert.ok(odd.sumLogprob < s.sumLogprob);
  });

  it('sends the token ids of every event; scoring those ids reproduces a sampled generation exactly', async () => {
    assert.ok(mod.score !== undefined);
    // A bigram trained on a short corpus, sampled at temperature 1: add-one smoothing gives every byte a
    // chance, so the answer holds invalid UTF-8 and control bytes that no re-tokenisation of its text gives back.
    const r = req({ prompt: 'quick', maxTokens: 200, temperature: 1, seed: 7, logprobs: true });
    const g = await collect(mod.generate(r, { signal }));
    assert.ok(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is control bytes
      /[\uFFFD\u0000-\u0008\u000e-\u001f]/.test(g.text),
      `the sample holds invalid UTF-8 or control bytes: ${JSON.stringify(g.text)}`,
    );
    const ids = g.tokens.flatMap((t) => t.ids ?? []);
    assert.ok(g.tokens.every((t) => t.ids !== undefined && t.ids.length <= 1));
    assert.equal(ids.length, g.done.usage.completionTokens);
    assert.ok(ids.length >= 100, `${ids.length} tokens`);
    // Text scoring re-tokenises and scores other tokens than were generated.
    const byText = await mod.score({ model: 'bigram', prompt: 'quick', continuation: g.text }, { signal });
    assert.notEqual(byText.tokens.length, ids.length);
    const s = await mod.score(
      { model: 'bigram', prompt: 'quick', continuationIds: ids, topLogprobs: 40, eos: true },
      { signal },
    );
    assert.equal(s.tokens.length, ids.length);
    assert.equal(s.tokens.map((t) => t.token).join(''), g.text, 'the pieces join to the relayed text');
    assert.equal(s.contextLength, 256);
    assert.ok(s.promptTokens !== undefined && s.promptTokens >= 5);
    // The backend reports the logprob after its sampler chain: top-k 40 renormalised (top-p 1, temperature 1).
    const events = g.tokens.filter((t) => (t.ids ?? []).length > 0);
    s.tokens.forEach((t, i) => {
      const top = (t.topLogprobs ?? []).map((x) => x.logprob);
      const m = Math.max(...top);
      const z = m + Math.log(top.reduce((a, l) => a + Math.exp(l - m), 0));
      const mine = events[i]?.logprob ?? Number.NaN;
      assert.ok(Math.abs(t.logprob - z - mine) < 1e-3, `token ${i}: ${t.logprob - z} vs ${mine}`);
    });
    // An id outside the vocabulary is refused before llama.cpp sees it.
    await assert.rejects(
      mod.score({ model: 'bigram', prompt: 'quick', continuationIds: [1, 1_000_000] }, { signal }),
      isCode(AppErrorCode.INVALID_REQUEST),
    );
  });

  it('without logprobs, held text waits and its ids go with the next event; the ids decode to the text', async () => {
    assert.ok(mod.score !== undefined);
    const g = await collect(
      mod.generate(req({ prompt: 'quick', maxTokens: 120, temperature: 1, seed: 11 }), { signal }),
    );
    const ids = g.tokens.flatMap((t) => t.ids ?? []);
    assert.equal(ids.length, g.done.usage.completionTokens);
    assert.ok(g.tokens.every((t) => t.ids !== undefined && t.ids.length <= 64));
    const s = await mod.score({ model: 'bigram', prompt: 'quick', continuationIds: ids }, { signal });
    assert.equal(s.tokens.map((t) => t.token).join(''), g.text);
    // A stop sequence cuts the text inside the ids: they decode to the text and the stop sequence.
    const stopped = await collect(
      mod.generate(req({ prompt: 'quick', maxTokens: 60, stop: ['own q'], logprobs: true }), { signal }),
    );
    assert.equal(stopped.text, '-br');
    const stoppedIds = stopped.tokens.flatMap((t) => t.ids ?? []);
    const decoded = await mod.score(
      { model: 'bigram', prompt: 'quick', continuationIds: stoppedIds },
      { signal },
    );
    assert.equal(decoded.tokens.map((t) => t.token).join(''), '-brown q');
  });

  it('a long prompt caps the answer at the context: scoring reports the room there was', async () => {
    assert.ok(mod.score !== undefined);
    const prompt = 'quick-brown '.repeat(18);
    const g = await collect(mod.generate(req({ prompt, maxTokens: 500, logprobs: true }), { signal }));
    assert.equal(g.done.finishReason, 'length');
    const ids = g.tokens.flatMap((t) => t.ids ?? []);
    assert.ok(ids.length < 500);
    const s = await mod.score({ model: 'bigram', prompt, continuationIds: ids }, { signal });
    assert.equal((s.contextLength ?? 0) - (s.promptTokens ?? 0), ids.length);
    assert.equal(s.promptTokens, g.done.usage.promptTokens);
  });

  it('scores the end of generation after the continuation (eos) against the best token there', async () => {
    assert.ok(mod.score !== undefined);
    // CORPUS: after 'n' comes ' ' 50 times; the bigram rows are add-one smoothed over the 260 tokens, so
    // P(' ' | 'n') = 51/310 and P(</s> | 'n') = 1/310 (the corpus never ends a text).
    const s = await mod.score(
      { model: 'bigram', prompt: 'quick', continuation: '-brown', eos: true },
      { signal },
    );
    assert.ok(s.eos !== undefined && s.eos !== null);
    assert.ok(Math.abs(s.eos.logprob - Math.log(1 / 310)) < 1e-3, `eos ${s.eos.logprob}`);
    assert.ok(Math.abs(s.eos.topLogprob - Math.log(51 / 310)) < 1e-3, `top ${s.eos.topLogprob}`);
    // The tokens and their sum are the same with or without the end scored.
    const plain = await mod.score({ model: 'bigram', prompt: 'quick', continuation: '-brown' }, { signal });
    assert.equal(plain.eos, undefined);
    assert.deepEqual(plain.tokens, s.tokens);
    // The best token there is the one the continuation would go on with.
    const longer = await mod.score({ model: 'bigram', prompt: 'quick', continuation: '-brown ' }, { signal });
    assert.ok(Math.abs((longer.tokens.at(-1)?.logprob ?? 0) - s.eos.topLogprob) < 1e-3);
  });

  it('counts tokens with the model tokenizer, without BOS', async () => {
    assert.ok(mod.tokenize !== undefined);
    const texts = ['quick-brown', '', 'the quick brown fox', 'é ü'];
    const { counts } = await mod.tokenize({ model: 'bigram', texts }, { signal });
    // The generated vocabulary is one token per byte (a space is '▁').
    assert.deepEqual(
      counts,
      texts.map((t) => Buffer.byteLength(t)),
    );
    await assert.rejects(
      mod.tokenize({ model: 'nope', texts: ['x'] }, { signal }),
      isCode(AppErrorCode.UNKNOWN_MODEL),
    );
  });

  it('embeds each input with the model dimension', async () => {
    const r = await mod.embed(
      { model: 'bigram', input: ['the quick brown fox', 'lazy dog', 'x'] },
      { signal },
    );
    assert.equal(r.embeddings.length, 3);
    const dim = r.embeddings[0]?.length ?? 0;
    assert.ok(dim > 0);
    for (const e of r.embeddings) {
      assert.equal(e.length, dim);
      assert.ok(e.every(Number.isFinite));
    }
    assert.ok(r.usage.promptTokens > 0);
  });

  it('refuses a prompt longer than the context and an unknown model', async () => {
    await assert.rejects(
      collect(mod.generate(req({ prompt: 'the quick brown fox '.repeat(20) }), { signal })),
      isCode(AppErrorCode.CONTEXT_OVERFLOW),
    );
    await assert.rejects(
      collect(mod.generate(req({ model: 'nope', prompt: 'hi' }), { signal })),
      isCode(AppErrorCode.UNKNOWN_MODEL),
    );
    await assert.rejects(
      mod.embed({ model: 'nope', input: ['x'] }, { signal }),
      isCode(AppErrorCode.UNKNOWN_MODEL),
    );
  });

  it('serves chat through the model template', async () => {
    const r = await collect(
      mod.generate(
        GenerateRequestSchema.parse({
          model: 'bigram',
          kind: 'chat',
          messages: [{ role: 'user', content: 'the quick' }],
          maxTokens: 8,
        }),
        { signal },
      ),
    );
    assert.ok(r.done.usage.promptTokens > 2);
    assert.ok(r.done.usage.completionTokens > 0);
  });

  it('structured outputs: every answer under json_object / json_schema parses and validates, greedy or sampled', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 12 },
        age: { type: 'integer' },
        tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 },
        ok: { type: 'boolean' },
      },
      required: ['name', 'age', 'tags', 'ok'],
      additionalProperties: false,
    };
    const formats = [
      { type: 'json_schema', name: 'person', schema, strict: true },
      { type: 'json_object' },
    ] as const;
    for (const format of formats)
      for (const [temperature, seed] of [
        [0, undefined],
        [1, 3],
        [1, 11],
      ] as const) {
        const { text, done } = await collect(
          mod.generate(
            req({ model: 'fox', prompt: 'the', maxTokens: 200, temperature, seed, responseFormat: format }),
            { signal },
          ),
        );
        assert.equal(done.finishReason, 'stop', `ended on its own: ${text}`);
        assert.equal(structuredAnswerProblem(ResponseFormatSchema.parse(format), text), null, text);
        const value = JSON.parse(text) as Record<string, unknown>;
        assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value));
        if (format.type === 'json_schema')
          assert.deepEqual(Object.keys(value).sort(), ['age', 'name', 'ok', 'tags']);
      }
    // Without a format the same prompt is not JSON: the grammar made the difference.
    const plain = await collect(
      mod.generate(req({ model: 'fox', prompt: 'the', maxTokens: 40 }), { signal }),
    );
    assert.throws(() => JSON.parse(plain.text));
  });

  it('reports capabilities and health', async () => {
    const caps = mod.capabilities();
    assert.equal(caps.backend, 'llama.cpp');
    assert.deepEqual(
      caps.models.map((m) => [m.id, m.contextLength, m.modelType]),
      [
        ['bigram', 256, 'llm'],
        ['random', 256, 'llm'], // llama.cpp rounds the context up to a multiple of 256
        ['fox', 256, 'llm'],
      ],
    );
    assert.deepEqual(caps.models[0]?.taskTypes, ['chat', 'completion', 'embedding']);
    assert.ok(caps.hardware.cpus > 0 && caps.hardware.memoryBytes > 0);
    assert.equal(caps.hardware.gpu, null);
    assert.deepEqual(await mod.health({ signal }), { ok: true, detail: '3 model(s) loaded' });
  });
});
