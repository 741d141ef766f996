/**
 * The reference audit's request (`reference.ts`) against the real `app_scoreV1` schema on an in-process
 * Engine API server: a chat answer is scored after its `messages` and no `prompt` (the reference renders
 * them with the model's chat template, as the miner did), a completion after its raw `prompt` and no
 * `messages`. The reference model here is a character-level stand-in that records what it was asked; the
 * app stack's own tests score real chat answers with llama.cpp. By token ids, the stand-in is byte-level
 * (an id is a UTF-8 byte; a piece ends before a character whose bytes are not all there, as llama.cpp's
 * backend decodes them), so an honest answer whose events split a character is audited without loss.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  app_generateV1,
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
import { AuditFailure } from '../../src/validator/audit.js';
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

/** The byte-level stand-in's pieces of `ids` (UTF-8 bytes): each ends before an unfinished character. */
function piecesOf(ids: readonly number[]): string[] {
  const decoder = new TextDecoder('utf-8');
  return ids.map((b, i) => decoder.decode(Uint8Array.of(b), { stream: i < ids.length - 1 }));
}

/**
 * A byte-level miner's answer: one token event per UTF-8 byte with its id and logprob; the text of a
 * character goes with its last byte (the events before carry their ids with empty text).
 */
const byteAnswer = (text: string, finishReason: 'stop' | 'length' = 'stop') => {
  const ids = [...Buffer.from(text, 'utf8')];
  return {
    tokens: piecesOf(ids).map((piece, i) => ({ text: piece, ids: [ids[i] as number], logprob: -0.25 })),
    finishReason,
  };
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
  /** The stand-in's context: this many tokens after the prompt. */
  let room = 1024;

  before(() => {
    server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
    server.register(scoreApi, {
      // Every character is the argmax with logprob -0.25; the answer may end right after it.
      app_scoreV1: (params) => {
        asked.push(params);
        const pieces =
          params.continuationIds === undefined
            ? [...(params.continuation ?? '')]
            : piecesOf(params.continuationIds);
        const tokens = pieces.map((c) => ({
          token: c,
          logprob: -0.25,
          topLogprobs: [{ token: c, logprob: -0.25 }],
        }));
        const prompt = params.prompt ?? (params.messages ?? []).map((m) => m.content).join('');
        const promptTokens = Buffer.byteLength(prompt, 'utf8');
        return {
          tokens,
          sumLogprob: -0.25 * tokens.length,
          promptTokens,
          contextLength: promptTokens + room,
          eos: { logprob: -0.1, topLogprob: -0.1 },
        };
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
  const completion = (maxTokens: number, stop: string[] = []) =>
    SynapseGenerateParamsSchema.parse({
      model: 'bigram',
      kind: 'completion',
      prompt: 'the quick',
      maxTokens,
      temperature: 0,
      seed: 7,
      logprobs: true,
      stop,
    });

  it('audits an answer with token ids by those ids: an honest one that splits characters passes', async () => {
    asked.length = 0;
    const answer = byteAnswer(' brün fôx');
    assert.ok(
      answer.tokens.some((t) => t.text === ''),
      'some events hold a partial character',
    );
    const audit = await auditGenerateWithReference(engine, completion(32), answer, opts);
    assert.equal(audit?.failure, null, audit?.detail);
    assert.equal(audit?.stats.tokens, 11);
    assert.equal(audit?.stats.logprobsCompared, 11);
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]?.continuationIds, [...Buffer.from(' brün fôx', 'utf8')]);
    assert.equal(asked[0]?.continuation, undefined);
    // The same events without ids go the text path, where the reference's tokens (characters) no longer
    // line up with the miner's (bytes): the loss the ids avoid.
    const noIds = { ...answer, tokens: answer.tokens.map(({ ids: _, ...t }) => t) };
    const byText = await auditGenerateWithReference(engine, completion(32), noIds, opts);
    assert.equal(asked.at(-1)?.continuation, ' brün fôx');
    assert.ok((byText?.stats.logprobsCompared ?? 0) < 11);
  });

  it('ids that do not decode to the relayed text fail TEXT_MISMATCH', async () => {
    const honest = byteAnswer(' the fox');
    const swapped = {
      ...honest,
      tokens: honest.tokens.map((t, i) => (i >= 5 ? { ...t, text: 'cat'[i - 5] ?? '' } : t)),
    };
    assert.equal(swapped.tokens.map((t) => t.text).join(''), ' the cat');
    const audit = await auditGenerateWithReference(engine, completion(32), swapped, opts);
    assert.equal(audit?.failure, AuditFailure.TEXT_MISMATCH, audit?.detail);
    // Ids one short of the text fail the same way.
    const short = { ...honest, tokens: honest.tokens.map((t, i) => (i === 7 ? { ...t, ids: [] } : t)) };
    const s = await auditGenerateWithReference(engine, completion(32), short, opts);
    assert.equal(s?.failure, AuditFailure.TEXT_MISMATCH, s?.detail);
  });

  it("finishReason 'length' passes where the context ran out first, and fails TRUNCATED where it did not", async () => {
    room = 6;
    try {
      // maxTokens 16, but the context had room for 6 tokens after the prompt: an honest capped answer.
      const capped = await auditGenerateWithReference(
        engine,
        completion(16),
        byteAnswer(' brown', 'length'),
        opts,
      );
      assert.equal(capped?.failure, null, capped?.detail);
      assert.equal(asked.at(-1)?.continuationIds?.length, 6);
      // Four of the six it had room for: truncated.
      const cut = await auditGenerateWithReference(
        engine,
        completion(16),
        byteAnswer(' bro', 'length'),
        opts,
      );
      assert.equal(cut?.failure, AuditFailure.TRUNCATED, cut?.detail);
    } finally {
      room = 1024;
    }
    const short = await auditGenerateWithReference(
      engine,
      completion(16),
      byteAnswer(' brown', 'length'),
      opts,
    );
    assert.equal(short?.failure, AuditFailure.TRUNCATED, short?.detail);
    const full = await auditGenerateWithReference(
      engine,
      completion(6),
      byteAnswer(' brown', 'length'),
      opts,
    );
    assert.equal(full?.failure, null, full?.detail);
    // More ids than maxTokens: too long.
    const long = await auditGenerateWithReference(
      engine,
      completion(5),
      byteAnswer(' brown', 'length'),
      opts,
    );
    assert.equal(long?.failure, AuditFailure.TOO_LONG, long?.detail);
  });

  it('an answer cut at a stop sequence passes: its ids decode to the text and the stop', async () => {
    const ids = [...Buffer.from(' the fox. And', 'utf8')];
    const answer = {
      tokens: [
        ...byteAnswer(' the fox').tokens,
        { text: '', ids: ids.slice(8), logprob: -0.25 * (ids.length - 8) },
      ],
      finishReason: 'stop' as const,
    };
    const audit = await auditGenerateWithReference(engine, completion(32, ['. ']), answer, opts);
    assert.equal(audit?.failure, null, audit?.detail);
    // Not the request's stop sequence: the ids say more than the text.
    const other = await auditGenerateWithReference(engine, completion(32, ['!']), answer, opts);
    assert.equal(other?.failure, AuditFailure.TEXT_MISMATCH, other?.detail);
  });

  it("an event's logprob is the sum over its ids; one off the reference fails LOGPROB_MISMATCH", async () => {
    const ids = [...Buffer.from(' fox', 'utf8')];
    const pair = {
      tokens: [
        { text: ' f', ids: ids.slice(0, 2), logprob: -0.5 },
        { text: 'ox', ids: ids.slice(2), logprob: -0.5 },
      ],
      finishReason: 'stop' as const,
    };
    const ok = await auditGenerateWithReference(engine, completion(32), pair, opts);
    assert.equal(ok?.failure, null, ok?.detail);
    assert.equal(ok?.stats.logprobsCompared, 2);
    const off = { ...pair, tokens: pair.tokens.map((t) => ({ ...t, logprob: -0.25 })) };
    const bad = await auditGenerateWithReference(engine, completion(32), off, opts);
    assert.equal(bad?.failure, AuditFailure.LOGPROB_MISMATCH, bad?.detail);
  });
});

describe('a sampled answer that stops on the end token is drawn again with its seed', () => {
  let server: EngineServer;
  let engine: EngineClient<EngineApi>;
  /** What the stand-in reference draws for the request (it ends with 'stop' when `stops`). */
  let draw = { text: 'the fox', stops: true };
  const drawn: number[] = [];

  before(() => {
    server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
    server.register(defineApi([app_scoreV1, app_generateV1]), {
      // Every character is a likely draw and the end token is plausible anywhere: teacher forcing alone
      // cannot tell an honest stop from a truncation here.
      app_scoreV1: (params) => {
        const tokens = [...(params.continuation ?? '')].map((c) => ({
          token: c,
          logprob: -0.25,
          topLogprobs: [{ token: c, logprob: -0.25 }],
        }));
        return { tokens, sumLogprob: -0.25 * tokens.length, eos: { logprob: -0.5, topLogprob: -0.25 } };
      },
      app_generateV1: (params) =>
        (async function* () {
          drawn.push(params.seed ?? -1);
          const chars = [...draw.text].slice(0, params.maxTokens);
          for (const c of chars) yield { type: 'token' as const, text: c, logprob: -0.25 };
          const stopped = draw.stops && chars.length === [...draw.text].length;
          yield {
            type: 'done' as const,
            finishReason: stopped ? ('stop' as const) : ('length' as const),
            usage: { promptTokens: 1, completionTokens: chars.length },
          };
        })(),
    });
    engine = createEngineClient(engineApi, createInProcessTransport(server));
  });
  after(() => server.close());

  const sampled = SynapseGenerateParamsSchema.parse({
    model: 'bigram',
    kind: 'completion',
    prompt: 'what jumps?',
    maxTokens: 16,
    temperature: 0.8,
    seed: 42,
    logprobs: true,
  });

  it('passes when the reference, with the same seed, stops at the same place', async () => {
    draw = { text: 'the fox', stops: true };
    drawn.length = 0;
    const audit = await auditGenerateWithReference(engine, sampled, answer('the fox'), opts);
    assert.equal(audit?.failure, null, audit?.detail);
    assert.deepEqual(drawn, [42], 'drawn once, with the request seed');
  });

  it('fails EARLY_STOP when the reference draws on past the stop (a truncated answer)', async () => {
    draw = { text: 'the fox jumps over', stops: true };
    const audit = await auditGenerateWithReference(engine, sampled, answer('the'), opts);
    assert.equal(audit?.failure, AuditFailure.EARLY_STOP);
    assert.equal(audit?.stats.passed, false);
  });

  it('greedy answers are not drawn again (the end token must be the argmax)', async () => {
    drawn.length = 0;
    const greedy = { ...sampled, temperature: 0 };
    const audit = await auditGenerateWithReference(engine, greedy, answer('the'), opts);
    assert.equal(audit?.failure, AuditFailure.EARLY_STOP, 'eos -0.5 is not within tolerance of the best');
    assert.deepEqual(drawn, []);
  });
});
