/**
 * The reference audit's request (`reference.ts`) against the real `app_scoreV1` schema on an in-process
 * Engine API server: a chat answer is scored after its `messages` and no `prompt` (the reference renders
 * them with the model's chat template, as the miner did), a completion after its raw `prompt` and no
 * `messages`. The reference model here is a character-level stand-in that records what it was asked; the
 * app stack's own tests score real chat answers with llama.cpp.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  app_scoreV1,
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  defineApi,
  type EngineApi,
  type EngineClient,
  EngineError,
  type EngineServer,
  engineApi,
  SynapseGenerateParamsSchema,
} from '@subnet/engine-api';
import type { z } from 'zod';
import { auditGenerateWithReference, unscorable } from '../../src/validator/reference.js';

const scoreApi = defineApi([app_scoreV1]);
type ScoreParams = z.output<typeof app_scoreV1.params>;

const opts = {
  tolerance: 0.05,
  minMatch: 0.9,
  plausibleRatio: 0.1,
  timeoutMs: 5_000,
  minCosine: 0.9,
  signal: new AbortController().signal,
};

/** A miner's answer: one token event per character, each with the logprob the stand-in gives it. */
const answer = (text: string) => ({
  tokens: [...text].map((c) => ({ text: c, logprob: -0.25 })),
  finishReason: 'stop' as const,
});

describe('reference audit requests', () => {
  let server: EngineServer;
  let engine: EngineClient<EngineApi>;
  const asked: ScoreParams[] = [];

  before(() => {
    server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
    server.register(scoreApi, {
      // Every character is the argmax with logprob -0.25; the answer may end right after it.
      app_scoreV1: (params) => {
        asked.push(params);
        const tokens = [...params.continuation].map((c) => ({
          token: c,
          logprob: -0.25,
          topLogprobs: [{ token: c, logprob: -0.25 }],
        }));
        return { tokens, sumLogprob: -0.25 * tokens.length, eos: { logprob: -0.1, topLogprob: -0.1 } };
      },
    });
    engine = createEngineClient(engineApi, createInProcessTransport(server));
  });
  after(() => server.close());

  it('scores a chat answer after its messages, with no prompt', async () => {
    asked.length = 0;
    const messages = [
      { role: 'system' as const, content: 'answer briefly' },
      { role: 'user' as const, content: 'what jumps over the lazy dog?' },
    ];
    const params = SynapseGenerateParamsSchema.parse({
      model: 'bigram',
      kind: 'chat',
      messages,
      maxTokens: 16,
      seed: 7,
      logprobs: true,
    });
    const audit = await auditGenerateWithReference(engine, params, answer('the fox'), opts);
    assert.equal(audit?.failure, null, audit?.detail);
    assert.equal(asked.length, 1);
    const [req] = asked;
    assert.deepEqual(req?.messages, messages);
    assert.equal('prompt' in (req ?? {}), false);
    assert.equal(req?.continuation, 'the fox');
    assert.equal(req?.eos, true);
  });

  it('scores a completion after its prompt, with no messages', async () => {
    asked.length = 0;
    const params = SynapseGenerateParamsSchema.parse({
      model: 'bigram',
      kind: 'completion',
      prompt: 'the quick',
      maxTokens: 16,
      seed: 7,
      logprobs: true,
    });
    const audit = await auditGenerateWithReference(engine, params, answer(' brown'), opts);
    assert.equal(audit?.failure, null, audit?.detail);
    assert.equal(asked[0]?.prompt, 'the quick');
    assert.equal('messages' in (asked[0] ?? {}), false);
  });

  it('a request with both prompt and messages is refused, and would leave the answer unaudited', async () => {
    asked.length = 0;
    const err = await engine
      .call('app_scoreV1', {
        model: 'bigram',
        prompt: '',
        messages: [{ role: 'user', content: 'hi' }],
        continuation: 'x',
      })
      .then(
        () => assert.fail('expected INVALID_PARAMS'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof EngineError);
    assert.equal(err.code, 'INVALID_PARAMS');
    assert.match(err.message, /exactly one of prompt/);
    assert.equal(unscorable(err), true);
    assert.equal(asked.length, 0);
  });
});
