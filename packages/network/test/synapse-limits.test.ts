/**
 * Every value a miner sends a validator is bounded: a hostile miner (a real libp2p node speaking the synapse
 * wire by hand) breaks each bound of the validator's client in turn, and each break fails the request with
 * OVER_LIMIT naming the limit, is counted, cuts the miner off and (with a ban) keeps it off. The miner's
 * server refuses a stream of a peer without a permit before it buffers anything, and caps the bytes of
 * incomplete frames per connection. Requests leave canonical: the same fields in the same order whoever
 * sends them, and never a priority.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection, Stream } from '@libp2p/interface';
import { waitFor } from '@subnet/utils';
import { Registry } from 'prom-client';
import { NetworkErrorCode } from '../src/errors.js';
import type { SubnetLibp2p } from '../src/libp2p.js';
import type { Membership } from '../src/membership.js';
import { type NetworkMetrics, networkMetrics } from '../src/metrics.js';
import {
  createSynapseClient,
  createSynapseServer,
  encodeFrame,
  FrameDecoder,
  type SynapseClient,
  type SynapseClientOpts,
  type SynapseServer,
  synapseProtocol,
} from '../src/synapse/index.js';
import { makeNeuron, membershipOf, startLibp2p, type TestNeuron } from './helpers.js';

const PROTOCOL = synapseProtocol(1);

/** Client bounds small enough to break cheaply. */
const BOUNDS: SynapseClientOpts = {
  netuid: 1,
  maxResponseBytes: 1_048_576,
  maxTokenTextBytes: 1024,
  tokenSlack: 8,
  maxEmbeddingDims: 16,
  maxStrayBytes: 256 * 1024,
  maxBufferedBytes: 128 * 1024,
  overLimitBanMs: 0,
};

async function failure(
  it: AsyncIterable<unknown>,
): Promise<{ code: string; meta?: Record<string, unknown> }> {
  try {
    for await (const _ of it) {
      // drain
    }
  } catch (err) {
    return err as { code: string; meta?: Record<string, unknown> };
  }
  assert.fail('expected the synapse to fail');
}

async function collect(it: AsyncIterable<{ type: string }>): Promise<{ type: string }[]> {
  const out: { type: string }[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) sum += v.value;
  }
  return sum;
}

const token = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'token', text, ...extra });
const DONE = { type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } };

/**
 * The hostile miner's answers, by prompt (generate) or model (embed). Each is a list of raw frames to send
 * for request `id`; `ev(data)` and `end` build well-formed ones.
 */
function script(id: string, kind: string, params: { prompt?: string; model?: string }): string[] {
  const ev = (data: unknown) => `{"t":"ev","id":"${id}","data":${JSON.stringify(data)}}`;
  const end = `{"t":"end","id":"${id}"}`;
  // Frames for a request that was never open, with a body that is not JSON: parsing one would fail.
  const stray = (n: number, bytes: number) =>
    Array.from({ length: n }, (_, i) => `{"t":"ev","id":"stray${i}","data":${'{'.repeat(bytes)}`);
  if (kind === 'embed') {
    if (params.model === 'count') return [ev({ embeddings: [[1]], usage: { promptTokens: 2 } }), end];
    if (params.model === 'dims') {
      return [ev({ embeddings: [new Array(17).fill(0), [1]], usage: { promptTokens: 2 } }), end];
    }
    return [ev({ embeddings: [[1], [2]], usage: { promptTokens: 2 } }), end];
  }
  switch (params.prompt) {
    case 'longtoken':
      return [ev(token('x'.repeat(1025))), ev(DONE), end];
    case 'widetoken':
      // 342 three-byte characters: 1026 bytes of UTF-8 in 342 characters.
      return [ev(token('€'.repeat(342))), ev(DONE), end];
    case 'manytokens':
      return [...Array.from({ length: 4 + 8 + 1 }, (_, i) => ev(token(`t${i}`))), ev(DONE), end];
    case 'slack':
      return [...Array.from({ length: 4 + 8 }, (_, i) => ev(token(`t${i}`))), ev(DONE), end];
    case 'manyids':
      // 13 ids in two events for maxTokens 4 + slack 8: each event within its bound, the answer over.
      return [
        ev(token('a', { ids: [1, 2, 3, 4, 5, 6, 7] })),
        ev(token('b', { ids: [8, 9, 10, 11, 12, 13] })),
        ev(DONE),
        end,
      ];
    case 'slackids':
      return [
        ev(token('', { ids: [1, 2, 3, 4, 5, 6] })),
        ev(token('ab', { ids: [7, 8, 9, 10, 11, 12] })),
        ev(DONE),
        end,
      ];
    case 'wideids':
      return [ev(token('a', { ids: Array.from({ length: 65 }, (_, i) => i) })), ev(DONE), end];
    case 'toplogprobs':
      return [
        ev(
          token('a', {
            logprob: -1,
            topLogprobs: Array.from({ length: 21 }, () => ({ token: 'a', logprob: -1 })),
          }),
        ),
        ev(DONE),
        end,
      ];
    case 'longtop':
      return [ev(token('a', { topLogprobs: [{ token: 'y'.repeat(2000), logprob: -1 }] })), ev(DONE), end];
    case 'afterdone':
      return [ev(DONE), ev(token('late')), end];
    case 'strayok':
      return [...stray(3, 50_000), ev(token('ok')), ev(DONE), end];
    case 'strayflood':
      return [...stray(6, 50_000), ev(token('never')), ev(DONE), end];
    case 'flood':
      return [...Array.from({ length: 300 }, () => ev(token('z'.repeat(1000)))), ev(DONE), end];
    default:
      return [ev(token('fine')), ev(DONE), end];
  }
}

/** A miner that answers by {@link script}, records every request frame and counts the streams it got. */
async function hostileMiner(libp2p: SubnetLibp2p) {
  const requests: string[] = [];
  let streams = 0;
  await libp2p.handle(
    PROTOCOL,
    (stream: Stream, _conn: Connection) => {
      streams++;
      const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
      stream.addEventListener('message', (e) => {
        for (const body of decoder.push(e.data)) {
          const text = body.toString('utf8');
          const msg = JSON.parse(text) as { t: string; id: string; kind: string; params: never };
          if (msg.t !== 'req') continue;
          requests.push(text);
          const frames = script(msg.id, msg.kind, msg.params);
          try {
            stream.send(Buffer.concat(frames.map((f) => encodeFrame(f))));
          } catch {
            // the validator cut us off
          }
        }
      });
    },
    { maxInboundStreams: 64 },
  );
  return {
    requests,
    get streams() {
      return streams;
    },
  };
}

describe('synapse bounds: a hostile miner is cut off', () => {
  const validator = makeNeuron('validator');
  const hostile = makeNeuron('miner');
  const all = [validator, hostile];
  const registry = new Registry();
  const metrics: NetworkMetrics = networkMetrics(registry);
  let v: SubnetLibp2p;
  let h: SubnetLibp2p;
  let miner: Awaited<ReturnType<typeof hostileMiner>>;
  let client: SynapseClient;

  before(async () => {
    v = await startLibp2p(validator, membershipOf(all));
    h = await startLibp2p(hostile, membershipOf(all));
    miner = await hostileMiner(h);
    await v.dial(h.getMultiaddrs()[0] as never);
    client = createSynapseClient(BOUNDS, { libp2p: v, membership: membershipOf(all), metrics });
  });

  after(async () => {
    await client.stop();
    await Promise.all([v.stop(), h.stop()]);
  });

  const generate = (prompt: string, maxTokens = 4) => ({
    kind: 'generate' as const,
    params: { model: 'm', kind: 'completion' as const, prompt, maxTokens },
    deadlineMs: 10_000,
  });
  const disconnected = () =>
    waitFor(() => (v.getConnections(h.peerId).length === 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the connection to the hostile miner to close',
    });
  const overLimit = (limit: string) =>
    counter(registry, 'subnet_network_over_limit_total', { side: 'client', limit });

  it('an honest answer within every bound passes, slack included', async () => {
    assert.equal((await collect(client.request(hostile.peerId, generate('fine')))).at(-1)?.type, 'done');
    assert.equal((await collect(client.request(hostile.peerId, generate('slack')))).at(-1)?.type, 'done');
    const ids = await collect(client.request(hostile.peerId, generate('slackids')));
    assert.equal(ids.at(-1)?.type, 'done');
    assert.deepEqual(
      ids.flatMap((e) => (e as { data?: { ids?: number[] } }).data?.ids ?? []),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    const embed = await collect(
      client.request(hostile.peerId, {
        kind: 'embed',
        params: { model: 'ok', input: ['a', 'b'] },
        deadlineMs: 5000,
      }),
    );
    assert.equal(embed.at(-1)?.type, 'done');
  });

  const cases: [string, () => AsyncIterable<unknown>, string][] = [
    ['a token text over 1 KiB', () => client.request(hostile.peerId, generate('longtoken')), 'token_text'],
    [
      'a token of 342 three-byte characters',
      () => client.request(hostile.peerId, generate('widetoken')),
      'token_text',
    ],
    [
      'a top-logprob token over 1 KiB',
      () => client.request(hostile.peerId, generate('longtop')),
      'token_text',
    ],
    [
      'maxTokens + slack + 1 token events',
      () => client.request(hostile.peerId, generate('manytokens')),
      'token_count',
    ],
    [
      'maxTokens + slack + 1 token ids over two events',
      () => client.request(hostile.peerId, generate('manyids')),
      'token_count',
    ],
    ['21 top logprobs', () => client.request(hostile.peerId, generate('toplogprobs')), 'logprobs'],
    ['a token after done', () => client.request(hostile.peerId, generate('afterdone')), 'event_count'],
    [
      'one vector for two inputs',
      () =>
        client.request(hostile.peerId, {
          kind: 'embed',
          params: { model: 'count', input: ['a', 'b'] },
          deadlineMs: 5000,
        }),
      'embedding_count',
    ],
    [
      'a vector over the dimension cap',
      () =>
        client.request(hostile.peerId, {
          kind: 'embed',
          params: { model: 'dims', input: ['a', 'b'] },
          deadlineMs: 5000,
        }),
      'embedding_dims',
    ],
    [
      'stray frames over the stream budget',
      () => client.request(hostile.peerId, generate('strayflood')),
      'stray_bytes',
    ],
  ];
  for (const [what, send, limit] of cases) {
    it(`${what}: OVER_LIMIT (${limit}), counted, connection closed`, async () => {
      const before = await overLimit(limit);
      const err = await failure(send());
      assert.equal(err.code, NetworkErrorCode.OVER_LIMIT, String((err as unknown as Error).message));
      assert.equal(err.meta?.limit, limit);
      assert.equal(err.meta?.peerId, hostile.peerId);
      assert.equal(await overLimit(limit), before + 1);
      await disconnected();
    });
  }

  it('an event of 65 token ids breaks the event schema (MAX_TOKEN_IDS 64): refused as malformed', async () => {
    const err = await failure(client.request(hostile.peerId, generate('wideids')));
    assert.equal(err.code, NetworkErrorCode.REMOTE_ERROR);
    assert.equal(err.meta?.reason, 'malformed');
  });

  it('stray frames within the budget are dropped unparsed and counted, and the request succeeds', async () => {
    const before = await counter(registry, 'subnet_network_stray_bytes_total', { side: 'client' });
    const out = await collect(client.request(hostile.peerId, generate('strayok')));
    assert.equal(out.at(-1)?.type, 'done');
    const stray = (await counter(registry, 'subnet_network_stray_bytes_total', { side: 'client' })) - before;
    assert.ok(stray >= 150_000, `${stray} stray bytes counted`);
  });

  it('unconsumed events over the buffered budget cut the miner off', async () => {
    const it = client.request(hostile.peerId, generate('flood', 1000))[Symbol.asyncIterator]();
    // Read one event, then stop reading: the rest pile up until the budget is crossed.
    assert.equal((await it.next()).done, false);
    await waitFor(async () => ((await overLimit('buffered_bytes')) >= 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the buffered bound to break',
    });
    const err = await failure({ [Symbol.asyncIterator]: () => it });
    assert.equal(err.code, NetworkErrorCode.OVER_LIMIT);
    assert.equal(err.meta?.limit, 'buffered_bytes');
    await disconnected();
  });

  it('a miner over a bound is banned: the next request fails at once without a stream', async () => {
    const strict = createSynapseClient(
      { ...BOUNDS, overLimitBanMs: 600_000 },
      { libp2p: v, membership: membershipOf(all), metrics },
    );
    try {
      const first = await failure(strict.request(hostile.peerId, generate('longtoken')));
      assert.equal(first.meta?.limit, 'token_text');
      await disconnected();
      const streams = miner.streams;
      const banned = await failure(strict.request(hostile.peerId, generate('fine')));
      assert.equal(banned.code, NetworkErrorCode.OVER_LIMIT);
      assert.equal(banned.meta?.limit, 'banned');
      assert.equal(miner.streams, streams, 'no stream was opened to a banned miner');
      assert.ok((await overLimit('banned')) >= 1);
      // Another client (another ban list) still reaches it.
      assert.equal((await collect(client.request(hostile.peerId, generate('fine')))).at(-1)?.type, 'done');
    } finally {
      await strict.stop();
    }
  });

  it('params leave canonical: same fields, same order, defaults filled, never a priority', async () => {
    const n = miner.requests.length;
    await collect(
      client.request(hostile.peerId, {
        kind: 'generate',
        params: { prompt: 'fine', kind: 'completion', model: 'm' },
        deadlineMs: 5000,
      }),
    );
    await collect(
      client.request(hostile.peerId, {
        kind: 'generate',
        params: {
          topLogprobs: 0,
          model: 'm',
          stop: [],
          kind: 'completion',
          maxTokens: 128,
          prompt: 'fine',
          temperature: 0,
        },
        deadlineMs: 5000,
      }),
    );
    const sent = miner.requests.slice(n).map((f) => JSON.parse(f) as { params: unknown });
    assert.equal(sent.length, 2);
    const [a, b] = sent.map((f) => JSON.stringify(f.params));
    assert.equal(a, b);
    assert.deepEqual(Object.keys(sent[0]?.params as object), [
      'model',
      'kind',
      'prompt',
      'maxTokens',
      'temperature',
      'topP',
      'stop',
      'logprobs',
      'topLogprobs',
    ]);
    for (const priority of ['challenge', 'organic']) {
      const err = await failure(
        client.request(hostile.peerId, {
          kind: 'generate',
          params: { model: 'm', kind: 'completion', prompt: 'fine', priority } as never,
          deadlineMs: 5000,
        }),
      );
      assert.equal(err.code, NetworkErrorCode.INVALID_INPUT);
    }
    const embed = await failure(
      client.request(hostile.peerId, {
        kind: 'embed',
        params: { model: 'ok', input: ['a'], priority: 'challenge' } as never,
        deadlineMs: 5000,
      }),
    );
    assert.equal(embed.code, NetworkErrorCode.INVALID_INPUT);
    assert.equal(miner.requests.length, n + 2, 'nothing invalid reached the miner');
  });
});

describe('synapse server bounds', () => {
  const validator = makeNeuron('validator');
  const miner = makeNeuron('miner');
  const otherMiner = makeNeuron('miner');
  const all = [validator, miner, otherMiner];
  const registry = new Registry();
  const metrics = networkMetrics(registry);
  const nodes = new Map<TestNeuron, { libp2p: SubnetLibp2p; membership: Membership }>();
  let server: SynapseServer;

  before(async () => {
    for (const n of all) {
      const membership = membershipOf(all);
      nodes.set(n, { membership, libp2p: await startLibp2p(n, membership) });
    }
    const m = nodes.get(miner) as { libp2p: SubnetLibp2p; membership: Membership };
    server = createSynapseServer(
      {
        netuid: 1,
        maxRequestBytes: 64 * 1024,
        maxInFlight: 16,
        replayWindowMs: 60_000,
        receiptIntervalMs: 50,
        receiptBatchSize: 64,
        maxPendingRequestBytes: 32 * 1024,
      },
      {
        libp2p: m.libp2p,
        membership: m.membership,
        handler: {
          serve: async function* () {
            yield { models: [], hardware: { cpus: 1, memoryBytes: 1, gpu: null } };
          } as never,
        },
        signer: miner.account,
        metrics,
      },
    );
    await server.start();
  });

  after(async () => {
    await server.stop();
    await Promise.all([...nodes.values()].map((n) => n.libp2p.stop()));
  });

  /** A raw stream from `from` to the miner, collecting what comes back. */
  async function raw(from: TestNeuron) {
    const libp2p = (nodes.get(from) as { libp2p: SubnetLibp2p }).libp2p;
    const to = (nodes.get(miner) as { libp2p: SubnetLibp2p }).libp2p;
    if (libp2p.getConnections(to.peerId).length === 0) await libp2p.dial(to.getMultiaddrs()[0] as never);
    const stream = await libp2p.dialProtocol(to.peerId, PROTOCOL);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    const frames: { t: string; id?: string | null; reason?: string }[] = [];
    let closed = false;
    stream.addEventListener('message', (e) => {
      for (const f of decoder.push(e.data)) frames.push(JSON.parse(f.toString()));
    });
    stream.addEventListener('close', () => {
      closed = true;
    });
    const partial = (declared: number, bytes: number) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(declared);
      stream.send(Buffer.concat([header, Buffer.alloc(bytes, 0x20)]));
    };
    return {
      stream,
      frames,
      partial,
      closed: () => closed || stream.status !== 'open',
      waitErr: () =>
        waitFor(() => frames.find((f) => f.t === 'err'), {
          timeoutMs: 20_000,
          intervalMs: 5,
          what: 'an err frame',
        }),
    };
  }

  it("a peer without a permit is refused at its stream's first bytes, which are never decoded", async () => {
    const r = await raw(otherMiner);
    // A frame declaring more than maxRequestBytes would be refused as oversized if it were decoded.
    r.partial(10 * 1_048_576, 16);
    const err = await r.waitErr();
    assert.equal(err.id, null);
    assert.equal(err.reason, 'no_permit');
    await waitFor(() => (r.closed() ? true : undefined), { timeoutMs: 20_000, what: 'the stream to close' });
    assert.equal(
      await counter(registry, 'subnet_network_refused_total', { layer: 'synapse', reason: 'oversized' }),
      0,
    );
  });

  it("a validator's incomplete frames are capped per connection, over all its streams", async () => {
    const a = await raw(validator);
    const b = await raw(validator);
    a.partial(60_000, 20_000);
    b.partial(60_000, 20_000);
    const refused = await waitFor(() => [a, b].find((r) => r.frames.some((f) => f.t === 'err')), {
      timeoutMs: 20_000,
      what: 'one of the two streams to be refused',
    });
    assert.equal((await refused.waitErr()).reason, 'oversized');
    assert.equal(
      await counter(registry, 'subnet_network_over_limit_total', { side: 'server', limit: 'buffered_bytes' }),
      1,
    );
    // A stream of its own, within the bound, is served.
    const c = await raw(validator);
    c.stream.send(
      encodeFrame(
        JSON.stringify({
          t: 'req',
          id: 'after',
          kind: 'capabilities',
          params: {},
          deadlineMs: 5000,
          ts: Date.now(),
        }),
      ),
    );
    await waitFor(() => c.frames.find((f) => f.t === 'end' && f.id === 'after'), {
      timeoutMs: 20_000,
      what: 'the answer on a fresh stream',
    });
    for (const r of [a, b, c]) r.stream.abort(new Error('done'));
  });
});
