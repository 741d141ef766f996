/**
 * The pipeline group's pieces on one machine, with llama.cpp's real tools (built once per machine and cached;
 * this suite runs in `npm test`'s last pass, after the background build): the tool cache, the lead's module
 * over ggml-rpc-servers on loopback (answers identical to llama-server alone), the lead's behaviour while a
 * member is missing (declared, not ready, BACKEND_UNAVAILABLE; ready once the member is up), a member dying
 * mid-request (BACKEND_FAILED well inside the deadline, then recovery), and the refusals of bad config.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePortRange, silentLogger, waitFor } from '@subnet/utils';
import {
  AppError,
  AppErrorCode,
  collect,
  createLlamaServerModule,
  defaultCacheDir,
  ensureLlamaTools,
  GenerateRequestSchema,
  generateModel,
  loopbackEndpoint,
  type RpcServer,
  startRpcServer,
} from '../src/index.js';

const logger = silentLogger();
const request = (maxTokens: number) =>
  GenerateRequestSchema.parse({
    model: 'm',
    kind: 'completion',
    prompt: 'the quick brown fox',
    maxTokens,
    temperature: 0,
    logprobs: true,
  });

describe('llama.cpp tools and pipeline groups on one machine', { timeout: 30 * 60_000 }, () => {
  let dir: string;
  let file: string;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    await ensureLlamaTools({}, { logger }, AbortSignal.timeout(25 * 60_000));
    dir = mkdtempSync(join(tmpdir(), 'subnet-llama-server-'));
    file = join(dir, 'm.gguf');
    writeFileSync(file, generateModel({ kind: 'random', blocks: 6, embd: 256, seed: 3, ctx: 4096 }));
  });

  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the built tools in the cache at once, once for concurrent callers', async () => {
    const [a, b] = await Promise.all([
      ensureLlamaTools({}, { logger }, AbortSignal.timeout(10_000)),
      ensureLlamaTools({}, { logger }, AbortSignal.timeout(10_000)),
    ]);
    assert.equal(a.built, false);
    assert.equal(a.dir, b.dir);
    assert.ok(a.dir.startsWith(join(defaultCacheDir(), 'llama-tools')), a.dir);
  });

  it('the cache root follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/y' }), '/y/subnet');
    assert.equal(defaultCacheDir({}), join(homedir(), '.cache', 'subnet'));
  });

  it('refuses a non-loopback RPC endpoint and a tensor split that does not match the devices', () => {
    for (const bad of ['10.0.0.5:50052', '0.0.0.0:1', 'example.com:50052', '127.0.0.1:0', '127.0.0.1:99999'])
      assert.throws(
        () => loopbackEndpoint(bad),
        (e: unknown) => e instanceof AppError && e.code === AppErrorCode.INVALID_REQUEST,
        bad,
      );
    assert.throws(
      () =>
        createLlamaServerModule(
          { id: 'm', path: file, rpc: ['127.0.0.1:1', '127.0.0.1:2'], tensorSplit: [1] },
          { logger },
        ),
      (e: unknown) => e instanceof AppError && e.code === AppErrorCode.INVALID_REQUEST,
    );
    assert.throws(
      () =>
        createLlamaServerModule({ id: 'm', path: file, rpc: ['127.0.0.1:1'], tensorSplit: [0] }, { logger }),
      (e: unknown) => e instanceof AppError && e.code === AppErrorCode.INVALID_REQUEST,
    );
  });

  it('a lead over two RPC servers answers exactly as llama-server alone; it waits for a missing member', async () => {
    const single = createLlamaServerModule({ id: 'm', path: file, contextLength: 1024, rpc: [] }, { logger });
    closers.push(() => single.close());
    await single.init({ signal: AbortSignal.timeout(60_000) });
    const want = await collect(single.generate(request(16), { signal: AbortSignal.timeout(60_000) }));
    // The seeded model decodes 16 tokens greedily without an end of text (seed 7 ends at once).
    assert.equal(want.tokens.length, 16);
    assert.equal(want.done.finishReason, 'length');

    const base = await freePortRange(2);
    const ports = [base, base + 1];
    const first = await startRpcServer(
      { port: ports[0] as number, threads: 1 },
      { logger },
      AbortSignal.timeout(10_000),
    );
    closers.push(() => first.close());
    // The second member is not up yet: the lead declares the model but is not ready.
    const lead = createLlamaServerModule(
      {
        id: 'm',
        path: file,
        contextLength: 1024,
        rpc: ports.map((p) => `127.0.0.1:${p}`),
        tensorSplit: [1, 1],
      },
      { logger },
    );
    closers.push(() => lead.close());
    await lead.init({ signal: AbortSignal.timeout(60_000) });
    assert.equal(lead.ready?.(), false);
    assert.deepEqual(
      lead.capabilities().models.map((m) => m.id),
      ['m'],
    );
    assert.throws(
      () => lead.generate(request(2), { signal: AbortSignal.timeout(1000) }),
      (e: unknown) => e instanceof AppError && e.code === AppErrorCode.BACKEND_UNAVAILABLE,
    );
    const second: RpcServer = await startRpcServer(
      { port: ports[1] as number, threads: 1 },
      { logger },
      AbortSignal.timeout(10_000),
    );
    closers.push(() => second.close());
    await waitFor(() => (lead.ready?.() === true ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'the lead ready once its group is whole',
    });
    const got = await collect(lead.generate(request(16), { signal: AbortSignal.timeout(60_000) }));
    assert.deepEqual(
      got.tokens.map((t) => t.text),
      want.tokens.map((t) => t.text),
    );
    for (const [i, t] of got.tokens.entries())
      assert.ok(Math.abs((t.logprob ?? 0) - (want.tokens[i]?.logprob ?? 1)) < 1e-3, `token ${i}`);

    // A member dies mid-request: the request fails with BACKEND_FAILED, not a hang or a clean end.
    let tokens = 0;
    const started = Date.now();
    await assert.rejects(
      (async () => {
        for await (const ev of lead.generate(
          { ...request(3000), logprobs: false },
          { signal: AbortSignal.timeout(120_000) },
        )) {
          if (ev.type === 'token' && ++tokens === 1) void second.close();
        }
      })(),
      (e: unknown) =>
        e instanceof AppError &&
        (e.code === AppErrorCode.BACKEND_FAILED || e.code === AppErrorCode.BACKEND_UNAVAILABLE),
    );
    assert.ok(tokens < 3000, `${tokens} tokens`);
    assert.ok(Date.now() - started < 120_000, 'ended before the request deadline, not by it');
    await waitFor(() => (lead.ready?.() === false ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the lead not ready without its member',
    });
  });
});
