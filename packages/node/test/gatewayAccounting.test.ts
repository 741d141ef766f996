/**
 * The gateway in front of real miners: a validator's network node and two miners' network nodes on libp2p
 * over 127.0.0.1, each miner serving generated llama.cpp models through its app stack. One miner is honest;
 * the other runs a hostile synapse handler that forges the `usage` of every answer (2^53-1, then 0).
 *
 * Shows: the key is billed what the validator relayed, counted with its own node's tokenizer (or the
 * documented bound for a model the validator's node lacks), never the miner's claim, so the key is not
 * locked out and the usage flush keeps working for every key; every request leaves with its seed fixed,
 * `logprobs: true` and no `priority`, and the client still gets OpenAI's shapes without logprobs; a
 * subscriber asking for samples gets the params exactly as the miner saw them and the relayed tokens; and
 * the validator's routing advice keeps an unroutable miner out of organic traffic.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AppService, appApi, createAppHandlers, generateModel } from '@subnet/app';
import { ConfigSchema } from '@subnet/config';
import {
  consensus_getRoutingV1,
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  defineApi,
  type EngineApi,
  type EngineClient,
  engineApi,
} from '@subnet/engine-api';
import {
  createKeyStore,
  createLimiter,
  createOpenAiServer,
  createRouter,
  type GatewayRouter,
  type KeyStore,
  type OpenAiServer,
  type Outcome,
} from '@subnet/gateway';
import {
  createMembership,
  createNetworkNode,
  type NetworkNode,
  peerIdFromHotkey,
  type SynapseHandler,
} from '@subnet/network';
import { appHeartbeat, appSynapseHandler, networkApi, networkHandlers } from '@subnet/network/stack';
import { silentLogger, waitFor } from '@subnet/utils';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** Every byte has one successor: greedy decoding of 'quick' goes on '-brown quick-brown …'. */
const CORPUS = 'quick-brown '.repeat(50);
const FOX = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

type Routing = { uid: number; hotkey: string; score: number; routable: boolean; reason: string | null };

interface Neuron {
  key: Hex;
  hotkey: string;
  peerId: string;
}

function neuron(): Neuron {
  const key = `0x${randomBytes(32).toString('hex')}` as Hex;
  return { key, hotkey: privateKeyToAccount(key).address, peerId: peerIdFromHotkey(key).toString() };
}

function appOf(dir: string, models: string[]): { app: AppService; engine: EngineClient<EngineApi> } {
  const opts = ConfigSchema.parse({
    app: {
      models: models.map((id) => ({
        id,
        backend: 'llama.cpp',
        path: join(dir, `${id}.gguf`),
        // Room for a tool-calling prompt: these models read bytes, one token each.
        contextLength: 1024,
      })),
    },
  }).app;
  const app = createAppHandlers(opts, {
    logger: silentLogger(),
    registry: new Registry(),
    detectGpu: async () => null,
  });
  const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 64 });
  server.register(appApi, app.handlers);
  return { app, engine: createEngineClient(engineApi, createInProcessTransport(server)) };
}

describe('gateway accounting and routing against real miners', { timeout: 120_000 }, () => {
  let dir: string;
  const validator = neuron();
  const honest = neuron();
  const hostile = neuron();
  const membership = createMembership();
  const nodes: NetworkNode[] = [];
  const apps: AppService[] = [];
  let router: GatewayRouter;
  let routerEngine: EngineClient<EngineApi>;
  let keys: KeyStore;
  let front: OpenAiServer;
  let victim: OpenAI;
  let bystander: OpenAI;
  let victimId: string;
  let bystanderId: string;
  /** What the hostile miner claims as usage (null: its real count). */
  let claim: number | null = 2 ** 53 - 1;
  /** How long the hostile miner holds every request before it starts to answer (0: at once). */
  let stallMs = 0;
  /** Whether the hostile miner drops a request's responseFormat (decodes without the grammar, to save time). */
  let skipFormat = false;
  /** Params each miner's handler received, in order. */
  const seen: { hostile: unknown[]; honest: unknown[] } = { hostile: [], honest: [] };
  /** The validator's routing advice, and how often it was asked for. */
  let advice: Routing[] = [];
  let polls = 0;

  const route = (honestRoutable: boolean, hostileRoutable: boolean): Routing[] => [
    { uid: 1, hotkey: honest.hotkey, score: 0.9, routable: honestRoutable, reason: null },
    { uid: 2, hotkey: hostile.hotkey, score: 0.9, routable: hostileRoutable, reason: null },
  ];
  /** Sets the advice and waits until the routers have read it (two polls each later). */
  const advise = async (a: Routing[], routers = 1) => {
    advice = a;
    const from = polls;
    await waitFor(() => (polls >= from + 2 * routers + (routers - 1) ? true : undefined), {
      timeoutMs: 20_000,
      what: 'two routing polls',
    });
  };

  async function miner(n: Neuron, models: string[], wrap: (h: SynapseHandler) => SynapseHandler) {
    const { app, engine } = appOf(dir, models);
    apps.push(app);
    await app.start(new AbortController().signal);
    const network = ConfigSchema.parse({
      network: { listen: ['/ip4/127.0.0.1/tcp/0'], heartbeatIntervalMs: 300 },
    }).network;
    const node = await createNetworkNode(
      { privateKey: n.key, network },
      {
        logger: silentLogger(),
        registry: new Registry(),
        membership,
        signer: privateKeyToAccount(n.key),
        handler: wrap(appSynapseHandler(engine)),
        heartbeat: appHeartbeat(engine),
      },
    );
    nodes.push(node);
    return node;
  }

  /** Records the params and forges the usage of every answer. */
  const forging =
    (log: unknown[]) =>
    (h: SynapseHandler): SynapseHandler => ({
      serve: async function* (kind, params, ctx) {
        log.push(params);
        if (stallMs > 0) await sleep(stallMs, undefined, { signal: ctx.signal });
        const asked = skipFormat
          ? { ...(params as Record<string, unknown>), responseFormat: undefined }
          : params;
        for await (const ev of h.serve(kind, asked as typeof params, ctx) as AsyncIterable<
          Record<string, unknown>
        >) {
          if (claim === null) yield ev;
          else if (kind === 'generate' && ev.type === 'done')
            yield { ...ev, usage: { promptTokens: claim, completionTokens: claim } };
          else if (kind === 'embed') yield { ...ev, usage: { promptTokens: claim } };
          else yield ev;
        }
      } as SynapseHandler['serve'],
    });
  const recording =
    (log: unknown[]) =>
    (h: SynapseHandler): SynapseHandler => ({
      serve: ((kind, params, ctx) => {
        log.push(params);
        return h.serve(kind, params, ctx);
      }) as SynapseHandler['serve'],
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-gateway-accounting-'));
    writeFileSync(join(dir, 'bigram.gguf'), generateModel({ kind: 'bigram', corpus: CORPUS }));
    writeFileSync(join(dir, 'fox.gguf'), generateModel({ kind: 'bigram', corpus: FOX }));
    membership.update({
      netuid: 1,
      block: 1,
      neurons: [validator, honest, hostile].map((n, uid) => ({
        uid,
        hotkey: n.hotkey,
        role: uid === 0 ? ('validator' as const) : ('miner' as const),
        validatorPermit: uid === 0,
        peerId: n.peerId,
        multiaddrs: [],
        stake: uid === 0 ? '1000000000000000000000' : '0',
      })),
    });
    const minerNodes = [
      await miner(honest, ['bigram', 'fox'], recording(seen.honest)),
      await miner(hostile, ['bigram', 'fox'], forging(seen.hostile)),
    ];

    // The validator's node: its network stack, its own app stack (bigram only: fox is counted by the
    // bound) and a consensus stand-in answering consensus_getRoutingV1.
    const own = appOf(dir, ['bigram']);
    apps.push(own.app);
    await own.app.start(new AbortController().signal);
    const network = ConfigSchema.parse({
      network: { listen: ['/ip4/127.0.0.1/tcp/0'], heartbeatIntervalMs: 300 },
    }).network;
    const vnode = await createNetworkNode(
      { privateKey: validator.key, network },
      {
        logger: silentLogger(),
        registry: new Registry(),
        membership,
        signer: privateKeyToAccount(validator.key),
      },
    );
    nodes.push(vnode);
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 64 });
    server.register(networkApi, networkHandlers(vnode));
    server.register(appApi, own.app.handlers);
    const routingApi = defineApi([consensus_getRoutingV1]);
    server.register(routingApi, {
      consensus_getRoutingV1: () => {
        polls++;
        return { miners: advice, at: Date.now() };
      },
    });
    const engine = createEngineClient(
      { ...engineApi, ...routingApi },
      createInProcessTransport(server),
    ) as unknown as EngineClient<EngineApi>;
    routerEngine = engine;
    // Dialled as the network tests do (discovery would find them through the chain's addresses).
    for (const m of minerNodes) await vnode.libp2p.dial(m.libp2p.getMultiaddrs());
    await waitFor(
      () =>
        vnode.peers().filter((p) => p.connected && p.models.some((x) => x.id === 'fox')).length === 2
          ? true
          : undefined,
      { timeoutMs: 30_000, what: "both miners' heartbeats" },
    );

    router = createRouter(
      {
        requestTimeoutMs: 30_000,
        maxAttempts: 2,
        firstEventTimeoutMs: 0,
        providerRefreshMs: 100,
        routingPollMs: 50,
      },
      { engine, logger: silentLogger() },
    );
    router.start();
    keys = createKeyStore({
      file: join(dir, 'gateway.sqlite'),
      defaults: { requestsPerMinute: 600, tokensPerMinute: 10_000 },
      flushIntervalMs: 50,
    });
    front = await createOpenAiServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, requestTimeoutMs: 30_000 },
      { router, keys, limiter: createLimiter(), usage: keys },
    );
    const a = keys.create({ name: 'victim' });
    const b = keys.create({ name: 'bystander' });
    victimId = a.info.id;
    bystanderId = b.info.id;
    const client = (apiKey: string) =>
      new OpenAI({ baseURL: `${front.url}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
    victim = client(a.key);
    bystander = client(b.key);
    // Organic traffic goes to the hostile miner only, until the routing test says otherwise.
    await advise(route(false, true));
  });

  after(async () => {
    router?.stop();
    await front?.close();
    keys?.close();
    for (const n of nodes.reverse()) await n.stop();
    for (const a of apps) await a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const usageOf = (id: string) => keys.list({ includeRevoked: false }).find((k) => k.id === id)?.usage;

  it('bills the tokens relayed, counted by its own tokenizer, whatever the miner claims (2^53-1, 0)', async () => {
    const before = seen.hostile.length;
    const outcomes: Outcome[] = [];
    const off = router.onOutcome((o) => outcomes.push(o));
    for (const forged of [2 ** 53 - 1, 0, 6]) {
      claim = forged;
      const r = await victim.completions.create({
        model: 'bigram',
        prompt: 'quick',
        max_tokens: 6,
        temperature: 0,
      });
      // One token per byte: 'quick' is 5, the answer 6.
      assert.equal(r.choices[0]?.text, '-brown');
      assert.deepEqual(
        r.usage,
        { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
        `claim ${forged}`,
      );
      assert.equal(r.choices[0]?.logprobs, null, 'logprobs stripped: the client did not ask');
    }
    off();
    assert.equal(seen.hostile.length, before + 3, 'the hostile miner served all three');
    // A count that differs from the token ids relayed is a provable lie: the outcome says so (the client
    // was served, and billed the true count), and the validator's scoring fails the miner for it.
    assert.deepEqual(
      outcomes.map((o) => [o.ok, o.errorCode]),
      [
        [true, 'USAGE_FORGED'],
        [true, 'USAGE_FORGED'],
        [true, null],
      ],
    );
    // The stream's usage chunk carries the same counts.
    claim = 2 ** 53 - 1;
    const stream = await victim.chat.completions.create({
      model: 'bigram',
      messages: [{ role: 'user', content: 'quick' }],
      max_tokens: 4,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    let completion = '';
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      completion += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(usage?.prompt_tokens, 5);
    assert.equal(usage?.completion_tokens, Buffer.byteLength(completion));
    assert.ok((usage?.completion_tokens ?? 99) <= 4);

    // The key's totals are the true counts, and it is not locked out.
    const want = { prompt: 5 + 5 + 5 + 5, completion: 6 + 6 + 6 + (usage?.completion_tokens ?? 0) };
    const u = await waitFor(
      () => {
        const x = usageOf(victimId);
        return x !== undefined && x.requests === 4 ? x : undefined;
      },
      { timeoutMs: 20_000, what: 'the usage flush' },
    );
    assert.equal(u.promptTokens, want.prompt);
    assert.equal(u.completionTokens, want.completion);
    assert.equal(u.rejected, 0);
    const again = await victim.completions.create({
      model: 'bigram',
      prompt: 'quick',
      max_tokens: 2,
      temperature: 0,
    });
    assert.equal(again.usage?.completion_tokens, 2);

    // The flush still works for another key.
    await bystander.completions.create({ model: 'bigram', prompt: 'quick', max_tokens: 3, temperature: 0 });
    const b = await waitFor(
      () => {
        const x = usageOf(bystanderId);
        return x !== undefined && x.requests === 1 ? x : undefined;
      },
      { timeoutMs: 20_000, what: "the bystander's usage flush" },
    );
    assert.deepEqual([b.promptTokens, b.completionTokens], [5, 3]);
  });

  it("counts a model the validator's node lacks by the bound: ceil(bytes / 4) and the events relayed", async () => {
    claim = 2 ** 53 - 1;
    const r = await victim.completions.create({
      model: 'fox',
      prompt: 'the quick',
      max_tokens: 5,
      temperature: 0,
    });
    // 'the quick' is 9 bytes: ceil(9 / 4) = 3; five token events.
    assert.deepEqual(r.usage, { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    claim = 0;
    const e = await victim.embeddings.create({ model: 'bigram', input: ['quick', 'brown fox'] });
    assert.equal(e.usage.prompt_tokens, 5 + 9);
  });

  it('sends every request with its seed fixed, logprobs on and no priority; samples what the miner saw', async () => {
    const sampled: Outcome[] = [];
    const plain: Outcome[] = [];
    const offA = router.onOutcome((o) => sampled.push(o), { sampleRate: 1 });
    const offB = router.onOutcome((o) => plain.push(o), { sampleRate: 0 });
    try {
      const from = seen.hostile.length;
      const r1 = await victim.completions.create({
        model: 'bigram',
        prompt: 'quick',
        max_tokens: 4,
        temperature: 0,
      });
      const r2 = await victim.completions.create({
        model: 'bigram',
        prompt: 'quick',
        max_tokens: 4,
        temperature: 0.7,
        seed: 42,
        logprobs: 2,
      });
      const [p1, p2] = seen.hostile.slice(from) as Record<string, unknown>[];
      assert.ok(typeof p1?.seed === 'number' && p1.seed >= 0 && p1.seed < 2 ** 32, JSON.stringify(p1));
      assert.equal(p1?.logprobs, true);
      assert.equal(p1?.topLogprobs, 0);
      assert.equal(p2?.seed, 42);
      assert.equal(p2?.topLogprobs, 2);
      for (const p of [p1, p2]) assert.equal(p !== undefined && 'priority' in p, false);
      assert.equal(r1.choices[0]?.logprobs, null);
      // Asked for: OpenAI's legacy logprobs shape, one entry per relayed token.
      const lp = r2.choices[0]?.logprobs;
      assert.ok((lp?.tokens?.length ?? 0) > 0);
      assert.equal(lp?.tokens?.join(''), r2.choices[0]?.text);
      assert.equal(lp?.top_logprobs?.length, lp?.tokens?.length);

      await waitFor(() => (sampled.length >= 2 && plain.length >= 2 ? true : undefined), {
        timeoutMs: 20_000,
        what: 'outcomes',
      });
      assert.ok(plain.every((o) => o.sample === null));
      const s1 = sampled[0]?.sample;
      assert.ok(s1 !== null && s1 !== undefined && s1.kind === 'generate');
      assert.deepEqual(s1.params, p1, 'the params exactly as the miner received them');
      assert.equal(s1.tokens.map((t) => t.text).join(''), r1.choices[0]?.text);
      assert.ok(s1.tokens.every((t) => t.logprob !== null && t.logprob <= 0));
      // The model token ids stay in the sample, for the audit; the client never gets them.
      assert.equal(s1.tokens.flatMap((t) => t.ids ?? []).length, 4);
      assert.ok(s1.tokens.every((t) => t.ids !== undefined));
      assert.equal(JSON.stringify([r1, r2]).includes('"ids"'), false);
      const relayed = await router.complete(
        { model: 'bigram', kind: 'completion', prompt: 'quick', maxTokens: 3 },
        { signal: AbortSignal.timeout(10_000), requestId: 'req_ids' },
      );
      assert.ok(relayed.length > 1);
      assert.ok(
        relayed.every((e) => !('ids' in e)),
        JSON.stringify(relayed),
      );
      assert.equal(s1.finishReason, 'length');
      assert.equal(sampled[0]?.promptTokens, 5);
      assert.equal(sampled[0]?.completionTokens, 4);
    } finally {
      offA();
      offB();
    }
  });

  it('keeps an unroutable miner out of organic traffic while a routable one serves the model', async () => {
    const seenBy = async (n: number) => {
      const from = { honest: seen.honest.length, hostile: seen.hostile.length };
      for (let i = 0; i < n; i++)
        await bystander.completions.create({
          model: 'bigram',
          prompt: 'quick',
          max_tokens: 1,
          temperature: 0,
        });
      return { honest: seen.honest.length - from.honest, hostile: seen.hostile.length - from.hostile };
    };
    await advise(route(true, false));
    assert.deepEqual(await seenBy(12), { honest: 12, hostile: 0 });
    await advise(route(false, true));
    assert.deepEqual(await seenBy(6), { honest: 0, hostile: 6 });
    // Without advice (both routable), both get traffic eventually; a higher score is preferred.
    await advise([]);
    const both = await seenBy(24);
    assert.equal(both.honest + both.hostile, 24);
  });
  it('abandons a miner that sends nothing within firstEventTimeoutMs for another; the last one waits', async () => {
    const watch = createRouter(
      {
        requestTimeoutMs: 30_000,
        maxAttempts: 2,
        // Far above an honest first token even on a saturated machine: the honest miner is never cut.
        firstEventTimeoutMs: 5000,
        providerRefreshMs: 100,
        routingPollMs: 50,
      },
      { engine: routerEngine, logger: silentLogger() },
    );
    const outcomes: Outcome[] = [];
    const unsubscribe = watch.onOutcome((o) => outcomes.push(o));
    watch.start();
    stallMs = 20_000;
    try {
      const ask = async () => {
        const served: string[] = [];
        const started = performance.now();
        const events = await watch.complete(
          { model: 'bigram', kind: 'completion', prompt: 'quick', maxTokens: 2, temperature: 0 },
          {
            signal: AbortSignal.timeout(20_000),
            requestId: `stall-${randomBytes(4).toString('hex')}`,
            served: (h) => served.push(h),
          },
        );
        return { ms: performance.now() - started, served, done: events.at(-1)?.type === 'done' };
      };
      // Both routable, the staller preferred (score 0.9 against 0.05): power of two choices still gives the
      // honest miner the first attempt now and then, so ask until the staller got some first.
      await advise(
        [
          { uid: 1, hotkey: honest.hotkey, score: 0.05, routable: true, reason: null },
          { uid: 2, hotkey: hostile.hotkey, score: 0.9, routable: true, reason: null },
        ],
        2,
      );
      let stalled = 0;
      for (let i = 0; i < 12 && stalled < 3; i++) {
        const from = outcomes.length;
        const r = await ask();
        assert.ok(r.done, 'answered');
        assert.deepEqual(r.served, [honest.hotkey.toLowerCase()], 'the honest miner served it');
        const failed = outcomes.slice(from).filter((o) => !o.ok);
        if (failed.length === 0) continue;
        stalled++;
        assert.equal(failed.length, 1);
        assert.equal(failed[0]?.errorCode, 'STALLED');
        assert.equal(failed[0]?.uid, 2, 'the staller is blamed');
        // STALLED, not a late success: the watch cut it at 5 s, long before the staller's 20 s were up.
      }
      assert.ok(stalled > 0, 'the staller got a first attempt');
      // With the staller the only candidate, it is the last attempt: no watch, it answers after its stall.
      await advise(route(false, true), 2);
      stallMs = 6000;
      const from = outcomes.length;
      const r = await ask();
      assert.ok(r.done);
      assert.deepEqual(r.served, [hostile.hotkey.toLowerCase()]);
      assert.ok(r.ms >= 5900, `answered after ${Math.round(r.ms)} ms`);
      assert.deepEqual(
        outcomes.slice(from).map((o) => o.ok),
        [true],
      );
    } finally {
      stallMs = 0;
      unsubscribe();
      watch.stop();
    }
  });
  it('structured outputs: json_schema strict answers validate; a miner skipping the grammar is caught', async () => {
    const schema = {
      type: 'object',
      properties: { word: { type: 'string', maxLength: 8 }, n: { type: 'integer' } },
      required: ['word', 'n'],
      additionalProperties: false,
    };
    const format = {
      type: 'json_schema' as const,
      json_schema: { name: 'pair', schema, strict: true },
    };
    const outcomes: Outcome[] = [];
    const off = router.onOutcome((o) => outcomes.push(o));
    await advise(route(true, true));
    skipFormat = true;
    const forged = claim;
    claim = null; // one lie at a time: this one is the format
    try {
      const check = (text: string | null | undefined) => {
        const v = JSON.parse(text ?? '') as Record<string, unknown>;
        assert.deepEqual(Object.keys(v).sort(), ['n', 'word']);
        assert.ok(Number.isSafeInteger(v.n) && typeof v.word === 'string' && v.word.length <= 8, text ?? '');
      };
      // Not streamed: an answer that breaks the format never reaches the client; another miner answers. The
      // router picks by chance and by load: requests go on (at least 8, at most 64) until the hostile miner
      // has been picked once, instead of hoping 8 reach it (in CI, once, none did).
      const violations = () => outcomes.filter((o) => o.errorCode === 'FORMAT_VIOLATED').length;
      for (let i = 0; i < 64 && (i < 8 || violations() === 0); i++) {
        const r = await bystander.chat.completions.create({
          model: 'fox',
          messages: [{ role: 'user', content: `the quick ${i}` }],
          max_tokens: 60,
          temperature: 0,
          response_format: format,
        });
        check(r.choices[0]?.message.content);
      }
      const caught = outcomes.filter((o) => o.errorCode === 'FORMAT_VIOLATED');
      assert.ok(caught.length > 0, 'the hostile miner got some of them');
      for (const o of caught) {
        assert.equal(o.ok, false);
        assert.equal(o.uid, 2, 'blamed on the miner that skipped the grammar');
      }
      assert.ok(outcomes.filter((o) => o.ok && o.uid === 1).length >= 8, 'the honest miner answered each');
      // Streamed: what was relayed stays relayed, but the lie is reported as a violation.
      await advise(route(false, true));
      const from = outcomes.length;
      let text = '';
      for await (const chunk of await bystander.chat.completions.create({
        model: 'fox',
        messages: [{ role: 'user', content: 'the lazy' }],
        max_tokens: 60,
        temperature: 0,
        response_format: format,
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? '';
      assert.throws(() => JSON.parse(text), 'the hostile miner answered without the grammar');
      // The outcome is recorded as the relay ends, which may be just after the client read [DONE].
      const streamed = await waitFor(() => (outcomes.length > from ? outcomes.slice(from) : undefined), {
        timeoutMs: 10_000,
        what: "the streamed request's outcome",
      });
      assert.deepEqual(
        streamed.map((o) => [o.ok, o.errorCode, o.uid]),
        [[true, 'FORMAT_VIOLATED', 2]],
      );
      // Honest again: the same streamed request validates.
      skipFormat = false;
      let honestText = '';
      for await (const chunk of await bystander.chat.completions.create({
        model: 'fox',
        messages: [{ role: 'user', content: 'the lazy' }],
        max_tokens: 60,
        temperature: 0,
        response_format: format,
        stream: true,
      }))
        honestText += chunk.choices[0]?.delta.content ?? '';
      check(honestText);
    } finally {
      skipFormat = false;
      claim = forged;
      off();
    }
  });
  it('tool calling: required, streamed and not, then the tool result and a final answer (official client)', async () => {
    await advise(route(true, false));
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1 } },
            required: ['city', 'days'],
            additionalProperties: false,
          },
        },
      },
    ];
    // One call (these models read bytes: a call is ~70 tokens, and nothing stops a bigram model from
    // making eight).
    const ask = { model: 'fox', max_tokens: 300, temperature: 0, tools, parallel_tool_calls: false } as const;
    const question = { role: 'user' as const, content: 'the quick brown fox' };
    const r = await bystander.chat.completions.create({
      ...ask,
      messages: [question],
      tool_choice: 'required',
    });
    const choice = r.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    const call = choice?.message.tool_calls?.[0];
    assert.ok(call !== undefined && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments) as { city: string; days: number };
    assert.ok(typeof args.city === 'string' && Number.isSafeInteger(args.days), call.function.arguments);
    assert.equal(choice?.message.content, null);
    // What the miner saw: the tools in a system message first, the answer constrained to the call schema.
    const sent = seen.honest.at(-1) as {
      messages: { role: string; content: string }[];
      responseFormat?: { type: string };
    };
    assert.equal(sent.messages[0]?.role, 'system');
    assert.match(sent.messages[0]?.content ?? '', /get_weather/);
    assert.equal(sent.responseFormat?.type, 'json_schema');

    // Streamed: the same call, in OpenAI's chunk shape, assembled by the client's own helper.
    const stream = bystander.chat.completions.stream({
      ...ask,
      messages: [question],
      tool_choice: 'required',
    });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    const streamedCall = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(streamedCall !== undefined && streamedCall.type === 'function');
    assert.equal(streamedCall.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(streamedCall.function.arguments), args, 'greedy: the same call');

    // The round trip: the call and its result in the history; the model answers in words.
    const history = [
      question,
      { role: 'assistant' as const, content: null, tool_calls: [call] },
      { role: 'tool' as const, tool_call_id: call.id, content: '18 degrees and sunny' },
    ];
    const answer = await bystander.chat.completions.create({
      ...ask,
      messages: history,
      tool_choice: 'none',
    });
    assert.equal(typeof answer.choices[0]?.message.content, 'string');
    assert.equal(answer.choices[0]?.message.tool_calls, undefined);
    const rendered = seen.honest.at(-1) as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      rendered.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
      'no tool prompt with tool_choice none; the result as a user turn',
    );
    assert.match(rendered.messages[2]?.content ?? '', /"tool_response".*18 degrees and sunny/);
    // auto: a call or words, either way a valid message.
    const auto = await bystander.chat.completions.create({ ...ask, messages: history });
    const m = auto.choices[0]?.message;
    assert.ok(
      (m?.tool_calls?.length ?? 0) > 0
        ? auto.choices[0]?.finish_reason === 'tool_calls'
        : typeof m?.content === 'string',
    );
  });
});
