/**
 * The trusted in-process path (`openLocal`): a stream served by a handler in the caller's own process hands
 * its values over as they are (no JSON), validates params once at the server, parses events again only
 * when their schema would change them, and is tracked, bounded, timed and cancelled like any other stream.
 * A namespace routed to another process never takes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '@subnet/utils';
import { z } from 'zod';
import {
  createEngineClient,
  createEngineServer,
  createHttpTransport,
  createInProcessTransport,
  defineApi,
  EngineErrorCode,
  stream,
} from '../src/index.js';
import { schemaIsPlain } from '../src/schemaPlain.js';
import { collect, expectEngineError, type Harness, startHarness, waitForNoStreams } from './harness.js';

const Item = z.object({ n: z.number().int(), tags: z.array(z.string()) }).strict();

const api = defineApi([
  stream('direct_itemsV1', {
    summary: 'Yields `count` items, keeping each one it yielded for the test to compare.',
    params: z.object({ count: z.number().int().min(0).max(100), label: z.string().default('none') }).strict(),
    event: Item,
  }),
  stream('direct_defaultedV1', {
    summary: 'Yields one event without the field its schema defaults.',
    params: z.object({}).strict(),
    event: z.object({ n: z.number(), unit: z.string().default('tokens') }),
  }),
  stream('direct_foreverV1', {
    summary: 'Yields an item every 5 ms until its signal aborts, recording the signal.',
    params: z.object({ tag: z.string() }).strict(),
    event: z.object({ n: z.number() }),
  }),
]);

const yielded: unknown[] = [];
const labels: string[] = [];
const signals = new Map<string, AbortSignal>();

function register(h: Harness): void {
  h.server.register(api, {
    async *direct_itemsV1({ count, label }) {
      labels.push(label);
      for (let n = 0; n < count; n++) {
        const item = { n, tags: [`t${n}`] };
        yielded.push(item);
        yield item;
      }
    },
    async *direct_defaultedV1() {
      yield { n: 1 };
    },
    async *direct_foreverV1({ tag }, ctx) {
      signals.set(tag, ctx.signal);
      for (let n = 0; ; n++) {
        yield { n };
        await sleep(5, { signal: ctx.signal });
      }
    },
  });
}

let h: Harness;
before(async () => {
  h = await startHarness({ server: { maxStreams: 3, streamDeadlineMs: 60_000 } });
  register(h);
});
after(() => h.close());

describe('the trusted in-process path', () => {
  it('hands each value over as the very object the handler yielded (no JSON between)', async () => {
    yielded.length = 0;
    const got = await collect(await h.client('in-process', api).stream('direct_itemsV1', { count: 3 }));
    assert.equal(got.length, 3);
    for (let i = 0; i < 3; i++) assert.equal(got[i], yielded[i], `item ${i} is the same object`);
    // Over HTTP the same stream arrives as equal copies.
    yielded.length = 0;
    const copies = await collect(await h.client('http', api).stream('direct_itemsV1', { count: 3 }));
    assert.deepEqual(copies, yielded);
    assert.notEqual(copies[0], yielded[0]);
  });

  it('validates params once at the server, defaults included', async () => {
    labels.length = 0;
    await collect(await h.client('in-process', api).stream('direct_itemsV1', { count: 0 }));
    assert.deepEqual(labels, ['none']);
    await expectEngineError(
      h.client('in-process', api).stream('direct_itemsV1', { count: 1000 }),
      'INVALID_PARAMS',
      EngineErrorCode.INVALID_PARAMS,
    );
    await expectEngineError(
      h.client('in-process', api).stream('direct_itemsV1', { count: 1, extra: true } as never),
      'INVALID_PARAMS',
    );
    assert.equal(h.server.openStreams, 0);
  });

  it('parses an event whose schema changes it (a default), so both paths give the same value', async () => {
    const direct = await collect(await h.client('in-process', api).stream('direct_defaultedV1', {}));
    const http = await collect(await h.client('http', api).stream('direct_defaultedV1', {}));
    assert.deepEqual(direct, [{ n: 1, unit: 'tokens' }]);
    assert.deepEqual(http, direct);
  });

  it('a break aborts the handler and forgets the stream; the deadline ends it with DEADLINE_EXCEEDED', async () => {
    const s = await h.client('in-process', api).stream('direct_foreverV1', { tag: 'brk' });
    for await (const ev of s) if (ev.n >= 2) break;
    await waitFor(() => (signals.get('brk')?.aborted ? true : undefined), {
      timeoutMs: 5000,
      what: 'the handler aborted',
    });
    await waitForNoStreams(h.server);
    const timed = await h
      .client('in-process', api)
      .stream('direct_foreverV1', { tag: 'ddl' }, { deadlineMs: 50 });
    await expectEngineError(collect(timed), 'DEADLINE_EXCEEDED', EngineErrorCode.DEADLINE_EXCEEDED);
    await waitForNoStreams(h.server);
  });

  it('the caller aborting its signal cancels the stream', async () => {
    const ctl = new AbortController();
    const s = await h
      .client('in-process', api)
      .stream('direct_foreverV1', { tag: 'abt' }, { signal: ctl.signal });
    const read = collect(s);
    await waitFor(() => (signals.has('abt') ? true : undefined), {
      timeoutMs: 5000,
      what: 'the handler started',
    });
    ctl.abort();
    await expectEngineError(read, 'CANCELLED', EngineErrorCode.CANCELLED);
    await waitFor(() => (signals.get('abt')?.aborted ? true : undefined), {
      timeoutMs: 5000,
      what: 'the handler aborted',
    });
    await waitForNoStreams(h.server);
  });

  it('counts against maxStreams: one more is OVERLOADED', async () => {
    const c = h.client('in-process', api);
    const open = await Promise.all(['o1', 'o2', 'o3'].map((tag) => c.stream('direct_foreverV1', { tag })));
    await expectEngineError(
      c.stream('direct_foreverV1', { tag: 'o4' }),
      'OVERLOADED',
      EngineErrorCode.OVERLOADED,
    );
    await Promise.all(open.map((s) => s.cancel()));
    await waitForNoStreams(h.server);
  });

  it('a namespace routed to another process takes the socket path: parsed copies, never the handler objects', async () => {
    // The front server routes `direct_*` to the harness's server over HTTP: another process, as in split mode.
    const front = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 10 });
    const upstream = createHttpTransport({ url: h.http.url, token: h.token });
    front.route('direct', { methods: Object.values(api), transport: upstream });
    const t = createInProcessTransport(front);
    assert.equal(t.openLocal?.('direct_itemsV1', { count: 1 }, {}), undefined);
    yielded.length = 0;
    const got = await collect(await createEngineClient(api, t).stream('direct_itemsV1', { count: 2 }));
    assert.deepEqual(got, yielded);
    assert.notEqual(got[0], yielded[0]);
    await upstream.close();
  });
});

describe('schemaIsPlain', () => {
  it('is true only when parsing cannot change a value', () => {
    assert.equal(schemaIsPlain(Item), true);
    assert.equal(
      schemaIsPlain(
        z.discriminatedUnion('type', [
          z.object({ type: z.literal('a'), v: z.array(z.number()).nullable().optional() }),
          z.object({ type: z.literal('b'), r: z.record(z.string(), z.enum(['x', 'y'])) }),
        ]),
      ),
      true,
    );
    assert.equal(schemaIsPlain(z.object({ a: z.string().default('x') })), false);
    assert.equal(schemaIsPlain(z.object({ a: z.array(z.string().transform((s) => s.trim())) })), false);
    assert.equal(schemaIsPlain(z.object({ a: z.coerce.number() })), false);
    assert.equal(schemaIsPlain(z.union([z.string(), z.number().catch(0)])), false);
    assert.equal(schemaIsPlain(z.object({ a: z.string().pipe(z.email()) })), false);
    assert.equal(schemaIsPlain(z.lazy(() => z.string())), false);
    assert.equal(schemaIsPlain(z.object({ a: z.date() })), false);
    assert.equal(schemaIsPlain(z.tuple([z.string()], z.number().prefault(1))), false);
  });
});
