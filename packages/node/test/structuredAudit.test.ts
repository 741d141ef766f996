/**
 * The validator's audit of structured answers (responseFormat json_schema / json_object) against a real
 * reference: an app stack serving generated llama.cpp models, reached over an in-process Engine API, as the
 * consensus stack reaches its node's app stack. The miners' answers are real generations too: the honest one
 * by the same model under the same grammar and seed; the cheat's by a cheaper model under the same grammar
 * (its answer meets the format, so only the reproduction catches it); a miner that skips the grammar (its
 * answer is not JSON); one that cuts the answer short.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppService, appApi, createAppHandlers, generateModel } from '@subnet/app';
import { ConfigSchema } from '@subnet/config';
import { AuditFailure, auditGenerateWithReference } from '@subnet/consensus';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  type EngineApi,
  type EngineClient,
  engineApi,
  SynapseGenerateParamsSchema,
} from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { Registry } from 'prom-client';

const FOX = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 10 },
    legs: { type: 'integer' },
    kind: { enum: ['fox', 'dog'] },
  },
  required: ['name', 'legs', 'kind'],
  additionalProperties: false,
};
const opts = {
  tolerance: 0.05,
  minMatch: 0.9,
  plausibleRatio: 0.1,
  timeoutMs: 30_000,
  minCosine: 0.9,
  signal: new AbortController().signal,
};

type Token = { text: string; ids?: number[]; logprob?: number };

describe('audit of structured answers against a real reference', { timeout: 120_000 }, () => {
  let dir: string;
  let app: AppService;
  let engine: EngineClient<EngineApi>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-structured-audit-'));
    writeFileSync(join(dir, 'fox.gguf'), generateModel({ kind: 'bigram', corpus: FOX }));
    writeFileSync(join(dir, 'cheap.gguf'), generateModel({ kind: 'random', seed: 5 }));
    const config = ConfigSchema.parse({
      app: {
        models: ['fox', 'cheap'].map((id) => ({
          id,
          backend: 'llama.cpp',
          path: join(dir, `${id}.gguf`),
          contextLength: 256,
        })),
      },
    }).app;
    app = createAppHandlers(config, {
      logger: silentLogger(),
      registry: new Registry(),
      detectGpu: async () => null,
    });
    await app.start(new AbortController().signal);
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
    server.register(appApi, app.handlers);
    engine = createEngineClient(engineApi, createInProcessTransport(server));
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const params = (format: 'json_schema' | 'json_object', temperature: number) =>
    SynapseGenerateParamsSchema.parse({
      model: 'fox',
      kind: 'completion',
      prompt: 'the',
      maxTokens: 120,
      temperature,
      seed: 11,
      logprobs: true,
      responseFormat:
        format === 'json_schema'
          ? { type: 'json_schema', name: 'animal', schema: SCHEMA, strict: true }
          : { type: 'json_object' },
    });

  /** A real answer to `p` by `model` (the miner's backend), as the validator relays it. */
  async function answer(p: ReturnType<typeof params>, model = p.model) {
    const tokens: Token[] = [];
    let finishReason: 'stop' | 'length' | null = null;
    for await (const ev of await engine.stream('app_generateV1', { ...p, model })) {
      if (ev.type === 'token')
        tokens.push({
          text: ev.text,
          ...(ev.ids === undefined ? {} : { ids: ev.ids }),
          ...(ev.logprob === undefined ? {} : { logprob: ev.logprob }),
        });
      else finishReason = ev.finishReason;
    }
    return { tokens, finishReason };
  }
  const textOf = (a: { tokens: Token[] }) => a.tokens.map((t) => t.text).join('');

  it('an honest answer, greedy or sampled, is reproduced exactly and passes', async () => {
    for (const format of ['json_schema', 'json_object'] as const)
      for (const temperature of [0, 0.8]) {
        const p = params(format, temperature);
        const a = await answer(p);
        JSON.parse(textOf(a));
        const audit = await auditGenerateWithReference(engine, p, a, opts);
        assert.equal(audit?.failure, null, `${format} at ${temperature}: ${audit?.detail}`);
        assert.equal(audit?.detail, 'reproduced exactly');
      }
  });

  it('a cheaper model under the same grammar meets the format but is not reproduced: NOT_REPRODUCED', async () => {
    const p = params('json_schema', 0);
    const cheat = await answer(p, 'cheap');
    const honest = await answer(p);
    assert.notEqual(textOf(cheat), textOf(honest), 'the two models answer differently');
    JSON.parse(textOf(cheat)); // the format alone cannot tell
    const audit = await auditGenerateWithReference(engine, p, cheat, opts);
    assert.equal(audit?.failure, AuditFailure.NOT_REPRODUCED, audit?.detail);
  });

  it('an answer that skips the grammar fails FORMAT_VIOLATED', async () => {
    const p = params('json_schema', 0);
    const plain = await answer({ ...p, responseFormat: undefined });
    assert.throws(() => JSON.parse(textOf(plain)));
    const audit = await auditGenerateWithReference(engine, p, { ...plain, finishReason: 'stop' }, opts);
    assert.equal(audit?.failure, AuditFailure.FORMAT_VIOLATED, audit?.detail);
  });

  it('an answer cut short fails: TRUNCATED claimed as length, EARLY_STOP claimed as stop', async () => {
    const p = params('json_schema', 0);
    const a = await answer(p);
    assert.ok(a.tokens.length > 4, textOf(a));
    const cut = a.tokens.slice(0, 3);
    const truncated = await auditGenerateWithReference(
      engine,
      p,
      { tokens: cut, finishReason: 'length' },
      opts,
    );
    assert.equal(truncated?.failure, AuditFailure.TRUNCATED, truncated?.detail);
    const early = await auditGenerateWithReference(engine, p, { tokens: cut, finishReason: 'stop' }, opts);
    // Not JSON yet: the format check catches it first.
    assert.equal(early?.failure, AuditFailure.FORMAT_VIOLATED, early?.detail);
  });
});
