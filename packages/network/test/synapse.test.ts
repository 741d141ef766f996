/**
 * The synapse protocol end to end on real libp2p over 127.0.0.1: a miner's server and validators'
 * clients, every refusal path, cancellation, deadlines, a miner dying mid-stream, and receipts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { sleep, waitFor } from '@subnet/utils';
import { Registry } from 'prom-client';
import { NetworkErrorCode } from '../src/errors.js';
import type { SubnetLibp2p } from '../src/libp2p.js';
import type { Membership } from '../src/membership.js';
import { type NetworkMetrics, networkMetrics } from '../src/metrics.js';
import {
  createReceiptStore,
  createSynapseClient,
  createSynapseServer,
  encodeFrame,
  FrameDecoder,
  merkleProofs,
  type Receipt,
  type ReceiptFrame,
  receiptLeaf,
  receiptMessage,
  type SynapseClient,
  type SynapseContext,
  type SynapseHandler,
  type SynapseKind,
  type SynapseParams,
  type SynapseResult,
  type SynapseServer,
  sha256Hex,
  synapseProtocol,
  verifyReceipt,
} from '../src/synapse/index.js';
import { makeNeuron, membershipOf, snapshotOf, startLibp2p, type TestNeuron } from './helpers.js';

const LIMITS = {
  netuid: 1,
  maxRequestBytes: 64 * 1024,
  maxResponseBytes: 64 * 1024,
  maxInFlight: 512,
  replayWindowMs: 60_000,
  receiptIntervalMs: 50,
  receiptBatchSize: 1024,
};

const CAPABILITIES = {
  models: [
    { id: 'm', backend: 'openai', taskTypes: ['chat'], contextLength: 512, modelType: 'llm', features: [] },
  ],
  hardware: { cpus: 2, memoryBytes: 1024, gpu: null },
} as const;

/** What the test handler saw. */
const seen = { started: new Set<string>(), aborted: new Set<string>() };

/**
 * The miner's fake app stack. `generate` obeys its prompt: `tokens:N`, `slow:N` (20 ms apart), `hang`,
 * `throw`, `bad` (an event of the wrong shape), `big:N` (one N-character token).
 */
async function* serveTest(kind: SynapseKind, params: unknown, ctx: SynapseContext): AsyncGenerator<unknown> {
  seen.started.add(ctx.requestId);
  ctx.signal.addEventListener('abort', () => seen.aborted.add(ctx.requestId), { once: true });
  if (kind === 'capabilities') {
    yield CAPABILITIES;
    return;
  }
  if (kind === 'embed') {
    const p = params as SynapseParams<'embed'>;
    yield { embeddings: p.input.map((s) => [s.length, 0.5]), usage: { promptTokens: p.input.length } };
    return;
  }
  const p = params as SynapseParams<'generate'>;
  const [cmd, arg] = (p.prompt ?? '').split(':');
  const n = Number(arg ?? 0);
  switch (cmd) {
    case 'tokens':
    case 'slow':
      for (let i = 0; i < n; i++) {
        if (cmd === 'slow') await sleep(20, { signal: ctx.signal });
        yield { type: 'token', text: `t${i}` };
      }
      yield { type: 'done', finishReason: 'length', usage: { promptTokens: 1, completionTokens: n } };
      return;
    case 'hang':
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      return;
    case 'throw':
      throw Object.assign(new Error('the model exploded'), { code: 'APP_BACKEND_FAILED' });
    case 'bad':
      yield { type: 'bogus' };
      return;
    case 'big':
      yield { type: 'token', text: 'x'.repeat(n) };
      return;
  }
}

const handler: SynapseHandler = {
  serve: (kind, params, ctx) => serveTest(kind, params, ctx) as never,
};

const gen = (prompt: string) => ({ model: 'm', kind: 'completion' as const, prompt });

async function collect<K extends SynapseKind>(
  it: AsyncIterable<SynapseResult<K>>,
): Promise<SynapseResult<K>[]> {
  const out: SynapseResult<K>[] = [];
  for await (const r of it) out.push(r);
  return out;
}

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

/** A raw synapse stream speaking frames by hand (for inputs the client would never send). */
async function rawStream(from: SubnetLibp2p, to: SubnetLibp2p) {
  const stream: Stream = await from.dialProtocol(to.peerId, synapseProtocol(1));
  const decoder = new FrameDecoder({ maxFrameBytes: 1 << 24 });
  const frames: { t: string; id?: string | null; reason?: string; code?: string }[] = [];
  stream.addEventListener('message', (e) => {
    for (const f of decoder.push(e.data)) frames.push(JSON.parse(f.toString()));
  });
  const req = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      t: 'req',
      id,
      kind: 'capabilities',
      params: {},
      deadlineMs: 5000,
      ts: Date.now(),
      ...extra,
    });
  const waitFrame = (pred: (f: (typeof frames)[number]) => boolean, what: string) =>
    waitFor(() => frames.find(pred), { timeoutMs: 20_000, intervalMs: 5, what });
  return { stream, frames, req, waitFrame };
}

interface Node {
  neuron: TestNeuron;
  libp2p: SubnetLibp2p;
  membership: Membership;
}

describe('synapse protocol over libp2p', () => {
  const validator = makeNeuron('validator');
  const miner = makeNeuron('miner');
  const permitless = makeNeuron('validator', { permit: false });
  const otherMiner = makeNeuron('miner');
  const doomed = makeNeuron('miner');
  const all = [validator, miner, permitless, otherMiner, doomed];
  const registry = new Registry();
  const metrics: NetworkMetrics = networkMetrics(registry);
  const nodes = new Map<TestNeuron, Node>();
  let server: SynapseServer;
  let doomedServer: SynapseServer;
  let client: SynapseClient;
  const node = (n: TestNeuron) => nodes.get(n) as Node;

  before(async () => {
    await Promise.all(
      all.map(async (n) => {
        const membership = membershipOf(all);
        nodes.set(n, { neuron: n, membership, libp2p: await startLibp2p(n, membership) });
      }),
    );
    const serverOf = (n: TestNeuron, limits = LIMITS) =>
      createSynapseServer(limits, {
        libp2p: node(n).libp2p,
        membership: node(n).membership,
        handler,
        signer: n.account,
        metrics,
      });
    server = serverOf(miner);
    doomedServer = serverOf(doomed, { ...LIMITS, maxInFlight: 3 });
    await server.start();
    await doomedServer.start();
    for (const from of [validator, permitless, otherMiner]) {
      for (const to of [miner, doomed])
        await node(from).libp2p.dial(node(to).libp2p.getMultiaddrs()[0] as never);
    }
    client = clientOf(validator);
  });

  const clientOf = (n: TestNeuron) =>
    createSynapseClient(LIMITS, { libp2p: node(n).libp2p, membership: node(n).membership, metrics });

  after(async () => {
    await client.stop();
    await server.stop();
    await Promise.all([...nodes.values()].map((n) => n.libp2p.stop()));
  });

  it('generate streams tokens in order and ends with done', async () => {
    const out = await collect(
      client.request(miner.peerId, { kind: 'generate', params: gen('tokens:5'), deadlineMs: 5000 }),
    );
    const events = out.filter((r) => r.type === 'event').map((r) => r.data);
    assert.deepEqual(
      events.slice(0, 5).map((e) => (e.type === 'token' ? e.text : '?')),
      ['t0', 't1', 't2', 't3', 't4'],
    );
    assert.equal(events[5]?.type, 'done');
    const done = out.at(-1);
    assert.equal(done?.type, 'done');
    if (done?.type !== 'done') return;
    assert.match(done.requestId, /^[0-9a-f]{16}$/);
    assert.match(done.requestHash, /^0x[0-9a-f]{64}$/);
    assert.match(done.responseHash, /^0x[0-9a-f]{64}$/);
    assert.ok(done.latencyMs > 0 && done.firstEventMs !== null && done.firstEventMs <= done.latencyMs);
  });

  it('embed and capabilities answer with one event each', async () => {
    const embed = await collect(
      client.request(miner.peerId, {
        kind: 'embed',
        params: { model: 'm', input: ['ab', 'cde'] },
        deadlineMs: 5000,
      }),
    );
    assert.deepEqual(embed[0], {
      type: 'event',
      data: {
        embeddings: [
          [2, 0.5],
          [3, 0.5],
        ],
        usage: { promptTokens: 2 },
      },
    });
    assert.equal(embed.length, 2);
    const caps = await collect(
      client.request(miner.peerId, { kind: 'capabilities', params: {}, deadlineMs: 5000 }),
    );
    assert.deepEqual(caps[0], { type: 'event', data: CAPABILITIES });
    assert.equal(caps[1]?.type, 'done');
  });

  it('200 concurrent requests are multiplexed on one stream', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        collect(
          client.request(miner.peerId, {
            kind: 'generate',
            params: gen(`tokens:${i % 7}`),
            deadlineMs: 10_000,
          }),
        ),
      ),
    );
    results.forEach((out, i) => {
      assert.equal(out.length, (i % 7) + 2);
      assert.equal(out.at(-1)?.type, 'done');
    });
    const ids = new Set(results.map((out) => (out.at(-1) as { requestId: string }).requestId));
    assert.equal(ids.size, 200);
    const conns = node(validator).libp2p.getConnections(node(miner).libp2p.peerId);
    const streams = conns.flatMap((c) => c.streams).filter((s) => s.protocol === synapseProtocol(1));
    assert.equal(streams.length, 1);
    assert.ok(client.sessions >= 1);
  });

  it("cancelling stops the miner's handler", async () => {
    const ac = new AbortController();
    let id = '';
    const it = client.request(
      miner.peerId,
      { kind: 'generate', params: gen('slow:1000'), deadlineMs: 10_000 },
      { signal: ac.signal },
    );
    const err = await (async () => {
      try {
        for await (const r of it) {
          if (r.type === 'event') {
            id = [...seen.started].at(-1) ?? '';
            ac.abort();
          }
        }
      } catch (e) {
        return e as { code: string };
      }
      return null;
    })();
    assert.equal(err?.code, NetworkErrorCode.CANCELLED);
    await waitFor(() => seen.aborted.has(id) || undefined, {
      timeoutMs: 20_000,
      what: 'the handler to see its abort',
    });

    // Breaking out of the loop cancels too.
    let brokeId = '';
    for await (const r of client.request(miner.peerId, {
      kind: 'generate',
      params: gen('slow:1000'),
      deadlineMs: 10_000,
    })) {
      if (r.type === 'event') {
        brokeId = [...seen.started].at(-1) ?? '';
        break;
      }
    }
    await waitFor(() => seen.aborted.has(brokeId) || undefined, {
      timeoutMs: 20_000,
      what: 'the abort after break',
    });
    assert.equal(server.inFlight, 0);
  });

  it('a deadline ends a hanging request with TIMEOUT and the miner stops it', async () => {
    const before = new Set(seen.started);
    const err = await failure(
      client.request(miner.peerId, { kind: 'generate', params: gen('hang'), deadlineMs: 200 }),
    );
    assert.equal(err.code, NetworkErrorCode.TIMEOUT);
    const id = [...seen.started].find((x) => !before.has(x));
    assert.ok(id !== undefined, 'the miner started the request before it timed out');
    await waitFor(() => (seen.aborted.has(id) && server.inFlight === 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the handler to see its abort',
    });
  });

  it('a validator removed from the metagraph after connecting is refused as unregistered', async () => {
    const m = node(miner).membership;
    m.update(
      snapshotOf(
        all.filter((n) => n !== validator),
        2,
      ),
    );
    try {
      const err = await failure(
        client.request(miner.peerId, { kind: 'capabilities', params: {}, deadlineMs: 5000 }),
      );
      assert.equal(err.code, NetworkErrorCode.REFUSED);
      assert.equal(err.meta?.reason, 'unregistered');
    } finally {
      m.update(snapshotOf(all, 3));
    }
  });

  it('a validator without a permit and a miner are refused as no_permit', async () => {
    for (const n of [permitless, otherMiner]) {
      const c = clientOf(n);
      try {
        const err = await failure(
          c.request(miner.peerId, { kind: 'capabilities', params: {}, deadlineMs: 5000 }),
        );
        assert.equal(err.code, NetworkErrorCode.REFUSED);
        assert.equal(err.meta?.reason, 'no_permit');
      } finally {
        await c.stop();
      }
    }
  });

  it('a replayed id or a stale timestamp is refused as replayed', async () => {
    const raw = await rawStream(node(validator).libp2p, node(miner).libp2p);
    const req = raw.req('replay-1');
    raw.stream.send(encodeFrame(req));
    await raw.waitFrame((f) => f.t === 'end' && f.id === 'replay-1', 'the first answer');
    raw.stream.send(encodeFrame(req));
    const replayed = await raw.waitFrame((f) => f.t === 'err' && f.id === 'replay-1', 'the replay refusal');
    assert.equal(replayed.reason, 'replayed');
    raw.stream.send(encodeFrame(raw.req('stale-1', { ts: Date.now() - 120_000 })));
    const stale = await raw.waitFrame((f) => f.t === 'err' && f.id === 'stale-1', 'the stale refusal');
    assert.equal(stale.reason, 'replayed');
    await raw.stream.close();
  });

  it('malformed frames and params are refused and the stream keeps serving', async () => {
    const raw = await rawStream(node(validator).libp2p, node(miner).libp2p);
    raw.stream.send(encodeFrame('{"t":"req",'));
    const notJson = await raw.waitFrame((f) => f.t === 'err' && f.id === null, 'the JSON refusal');
    assert.equal(notJson.reason, 'malformed');
    raw.stream.send(encodeFrame(JSON.stringify({ t: 'req', id: 'bad-schema', kind: 'dance', params: {} })));
    const badSchema = await raw.waitFrame((f) => f.id === 'bad-schema', 'the schema refusal');
    assert.equal(badSchema.reason, 'malformed');
    raw.stream.send(encodeFrame(raw.req('bad-params', { params: { surprise: true } })));
    const badParams = await raw.waitFrame((f) => f.id === 'bad-params', 'the params refusal');
    assert.equal(badParams.reason, 'malformed');
    raw.stream.send(encodeFrame(raw.req('good-after')));
    await raw.waitFrame((f) => f.t === 'end' && f.id === 'good-after', 'the good answer');
    await raw.stream.close();
    // The client's own params, when wrong, never leave: it parses them with the kind's strict schema.
    const err = await failure(
      client.request(miner.peerId, { kind: 'embed', params: { model: 'm', input: [] }, deadlineMs: 5000 }),
    );
    assert.equal(err.code, NetworkErrorCode.INVALID_INPUT);
  });

  it('an oversized frame is refused and the stream reset', async () => {
    const raw = await rawStream(node(validator).libp2p, node(miner).libp2p);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(LIMITS.maxRequestBytes + 1);
    raw.stream.send(header);
    const err = await raw.waitFrame((f) => f.t === 'err', 'the oversized refusal');
    assert.equal(err.reason, 'oversized');
    await waitFor(() => (raw.stream.status !== 'open' ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the reset',
    });
    // Through the client: a request too large for the miner.
    const big = await failure(
      client.request(miner.peerId, {
        kind: 'embed',
        params: { model: 'm', input: ['y'.repeat(LIMITS.maxRequestBytes)] },
        deadlineMs: 5000,
      }),
    );
    assert.equal(big.code, NetworkErrorCode.REFUSED);
    assert.equal(big.meta?.reason, 'oversized');
    // And the next request opens a fresh stream.
    const ok = await collect(
      client.request(miner.peerId, { kind: 'capabilities', params: {}, deadlineMs: 5000 }),
    );
    assert.equal(ok.at(-1)?.type, 'done');
  });

  it("the miner's error reaches the validator as REMOTE_ERROR with its code", async () => {
    const err = await failure(
      client.request(miner.peerId, { kind: 'generate', params: gen('throw'), deadlineMs: 5000 }),
    );
    assert.equal(err.code, NetworkErrorCode.REMOTE_ERROR);
    assert.equal(err.meta?.remoteCode, 'APP_BACKEND_FAILED');
    assert.match((err as unknown as Error).message, /the model exploded/);
  });

  it('malformed or oversized responses fail the request', async () => {
    const bad = await failure(
      client.request(miner.peerId, { kind: 'generate', params: gen('bad'), deadlineMs: 5000 }),
    );
    assert.equal(bad.code, NetworkErrorCode.REMOTE_ERROR);
    assert.match((bad as unknown as Error).message, /malformed response/);
    // Over a bound: OVER_LIMIT, and this client bans the miner (a separate client, so the others go on).
    const strict = clientOf(validator);
    try {
      const big = await failure(
        strict.request(miner.peerId, {
          kind: 'generate',
          params: gen(`big:${LIMITS.maxResponseBytes}`),
          deadlineMs: 5000,
        }),
      );
      assert.equal(big.code, NetworkErrorCode.OVER_LIMIT);
      assert.equal(big.meta?.limit, 'response_bytes');
    } finally {
      await strict.stop();
    }
  });

  it('more requests than maxInFlight are refused as busy', async () => {
    const ac = new AbortController();
    const hanging = Array.from({ length: 3 }, () =>
      failure(
        client.request(
          doomed.peerId,
          { kind: 'generate', params: gen('hang'), deadlineMs: 10_000 },
          { signal: ac.signal },
        ),
      ),
    );
    await waitFor(() => (doomedServer.inFlight === 3 ? true : undefined), {
      timeoutMs: 20_000,
      what: '3 in flight',
    });
    const err = await failure(
      client.request(doomed.peerId, { kind: 'capabilities', params: {}, deadlineMs: 5000 }),
    );
    assert.equal(err.meta?.reason, 'busy');
    ac.abort();
    for (const e of await Promise.all(hanging)) assert.equal(e.code, NetworkErrorCode.CANCELLED);
    await waitFor(() => (doomedServer.inFlight === 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'none in flight',
    });
  });

  it('a miner that dies mid-stream fails its requests with PEER_GONE at once', async () => {
    const it = client.request(doomed.peerId, {
      kind: 'generate',
      params: gen('slow:1000'),
      deadlineMs: 30_000,
    });
    const others = Array.from({ length: 2 }, () =>
      failure(
        client.request(doomed.peerId, { kind: 'generate', params: gen('slow:1000'), deadlineMs: 30_000 }),
      ),
    );
    let killed = false;
    const err = await (async () => {
      try {
        for await (const r of it) {
          if (r.type === 'event' && !killed) {
            killed = true;
            void node(doomed).libp2p.stop();
          }
        }
      } catch (e) {
        return e as { code: string };
      }
      return null;
    })();
    // PEER_GONE, not TIMEOUT: the close itself failed them, long before their 30 s deadline.
    assert.equal(err?.code, NetworkErrorCode.PEER_GONE);
    for (const e of await Promise.all(others)) assert.equal(e.code, NetworkErrorCode.PEER_GONE);
  });

  it('receipts arrive, verify, and tampered ones are rejected', async () => {
    const out = await collect(
      client.request(miner.peerId, { kind: 'generate', params: gen('tokens:3'), deadlineMs: 5000 }),
    );
    const done = out.at(-1);
    assert.ok(done?.type === 'done');
    const receipt = await waitFor(
      () => {
        try {
          return client.receipts.get(done.requestId);
        } catch (err) {
          if ((err as { code?: string }).code === NetworkErrorCode.RECEIPT_PENDING) return undefined;
          throw err;
        }
      },
      { timeoutMs: 20_000, intervalMs: 10, what: 'the receipt' },
    );
    assert.equal(receipt.miner, miner.account.address.toLowerCase());
    assert.equal(receipt.validator, validator.account.address.toLowerCase());
    assert.equal(receipt.requestHash, done.requestHash);
    assert.equal(receipt.responseHash, done.responseHash);
    assert.equal(await verifyReceipt(receipt), true);
    const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`;
    const tampered: Receipt[] = [
      { ...receipt, responseHash: flip(receipt.responseHash) },
      { ...receipt, requestHash: flip(receipt.requestHash) },
      { ...receipt, validator: permitless.account.address.toLowerCase() },
      { ...receipt, miner: otherMiner.account.address.toLowerCase() },
      { ...receipt, proof: [...receipt.proof, sha256Hex('x')] },
      {
        ...receipt,
        signature: await otherMiner.account.signMessage({
          message: { raw: receiptMessage(receipt.root as never) },
        }),
      },
    ];
    for (const t of tampered) assert.equal(await verifyReceipt(t), false);
    assert.throws(() => client.receipts.get('never-sent'), { code: NetworkErrorCode.RECEIPT_NOT_FOUND });
  });

  it('the receipt store keeps only receipts that verify', async () => {
    const local = new Registry();
    const store = createReceiptStore({}, { metrics: networkMetrics(local) });
    const m = miner.account.address.toLowerCase() as `0x${string}`;
    const v = validator.account.address.toLowerCase() as `0x${string}`;
    const pending = [0, 1, 2].map((i) => ({
      requestId: `r${i}`,
      miner: m,
      validator: v,
      requestHash: sha256Hex(`req${i}`),
      responseHash: sha256Hex(`res${i}`),
    }));
    for (const p of pending) store.expect(p);
    assert.throws(() => store.get('r0'), { code: NetworkErrorCode.RECEIPT_PENDING });
    const leaves = pending.map((p) => receiptLeaf(p.requestId, p.requestHash, p.responseHash, p.validator));
    const { root, proofs } = merkleProofs(leaves);
    const frame = async (signer: TestNeuron, items: ReceiptFrame['items']): Promise<ReceiptFrame> => ({
      t: 'rcpt',
      root,
      sig: (await signer.account.signMessage({ message: { raw: receiptMessage(root) } })).toLowerCase(),
      at: Date.now(),
      items,
    });
    const items = pending.map((p, i) => ({ id: p.requestId, proof: proofs[i] as string[] }));
    // Wrong signer: nothing kept.
    assert.equal(await store.accept(await frame(otherMiner, items), m), 0);
    // Wrong proof for r0, wrong leaf for r1 (a proof of r2's), right for r2.
    const wrong = [
      { id: 'r0', proof: [sha256Hex('nope'), ...(proofs[0] as string[]).slice(1)] },
      { id: 'r1', proof: proofs[2] as string[] },
      { id: 'r2', proof: proofs[2] as string[] },
    ];
    assert.equal(await store.accept(await frame(miner, wrong), m), 1);
    assert.throws(() => store.get('r0'), { code: NetworkErrorCode.RECEIPT_PENDING });
    assert.equal(await verifyReceipt(store.get('r2')), true);
    assert.equal(await store.accept(await frame(miner, items), m), 2);
    assert.equal(await verifyReceipt(store.get('r0')), true);
    assert.equal(
      await counter(local, 'subnet_network_receipts_total', { side: 'client', outcome: 'invalid' }),
      5,
    );
    assert.equal(
      await counter(local, 'subnet_network_receipts_total', { side: 'client', outcome: 'valid' }),
      3,
    );
    // A receipt from some other miner for these requests is not theirs to sign.
    assert.equal(await store.accept(await frame(otherMiner, items), otherMiner.account.address), 0);
    // Bounded: the oldest entries go first.
    const small = createReceiptStore({ capacity: 2 });
    for (const p of pending) small.expect(p);
    assert.equal(small.size, 2);
    assert.throws(() => small.get('r0'), { code: NetworkErrorCode.RECEIPT_NOT_FOUND });
  });

  it('metrics count synapses, refusals and receipts on both sides', async () => {
    const c = (labels: Record<string, string>) => counter(registry, 'subnet_network_synapses_total', labels);
    const r = (labels: Record<string, string>) => counter(registry, 'subnet_network_refused_total', labels);
    assert.ok((await c({ side: 'client', outcome: 'ok' })) >= 200);
    assert.ok((await c({ side: 'server', outcome: 'ok' })) >= 200);
    assert.ok((await c({ side: 'server', outcome: 'cancelled' })) >= 2);
    assert.ok((await c({ side: 'client', outcome: 'timeout' })) >= 1);
    assert.ok((await c({ side: 'client', outcome: 'gone' })) >= 3);
    for (const reason of ['unregistered', 'no_permit', 'replayed', 'malformed', 'oversized', 'busy']) {
      assert.ok((await r({ layer: 'synapse', reason })) >= 1, reason);
    }
    assert.ok(
      (await counter(registry, 'subnet_network_receipts_total', { side: 'server', outcome: 'signed' })) >= 1,
    );
    assert.ok(
      (await counter(registry, 'subnet_network_receipts_total', { side: 'client', outcome: 'valid' })) >= 200,
    );
  });
});
