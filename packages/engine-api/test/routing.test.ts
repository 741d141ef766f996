/**
 * Forwarding: a front server routes a namespace to a back server (over an in-process link and over
 * HTTP). Unary calls, notifications and batches are forwarded, streams are relayed event by event, and
 * cancel / disconnect reach the back server; a missing or failing link answers UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger, sleep, waitFor } from '@subnet/utils';
import { z } from 'zod';
import {
  createEngineClient,
  createEngineServer,
  createHttpTransport,
  createInProcessTransport,
  defineApi,
  EngineErrorCode,
  type EngineServer,
  encodeRequest,
  engineApi,
  startEngineHttpServer,
  stream,
  type Transport,
  unary,
} from '../src/index.js';
import { collect, expectEngineError, type Harness, startHarness, waitForNoStreams } from './harness.js';

const backApi = defineApi([
  unary('back_addV1', {
    summary: 'Adds two numbers.',
    params: z.object({ a: z.number(), b: z.number() }).strict(),
    result: z.object({ sum: z.number() }).strict(),
  }),
  stream('back_tickV1', {
    summary: 'Ticks every intervalMs, `count` times.',
    params: z.object({ count: z.number().int(), intervalMs: z.number().int() }).strict(),
    event: z.object({ n: z.number().int() }).strict(),
  }),
]);

const api = defineApi([...Object.values(engineApi), ...Object.values(backApi)]);

let back: Harness;
let backSignals: AbortSignal[] = [];
let adds = 0;

before(async () => {
  back = await startHarness();
  back.server.register(backApi, {
    back_addV1: ({ a, b }) => {
      adds++;
      return { sum: a + b };
    },
    async *back_tickV1({ count, intervalMs }, ctx) {
      backSignals.push(ctx.signal);
      for (let n = 0; n < count; n++) {
        yield { n };
        await sleep(intervalMs, { signal: ctx.signal });
      }
    },
  });
});

after(() => back.close());

/** A front server forwarding `back_*` over `link`. */
function front(link: Transport | undefined): EngineServer {
  const server = createEngineServer({ streamDeadlineMs: 5_000, maxStreams: 10 }, { logger: silentLogger() });
  server.route('back', { methods: Object.values(backApi), transport: link });
  return server;
}

for (const linkKind of ['in-process', 'http'] as const) {
  describe(`forwarding over an ${linkKind} link`, () => {
    let server: EngineServer;
    let client: ReturnType<typeof createEngineClient<typeof api>>;

    before(() => {
      server = front(back.transport(linkKind));
      client = createEngineClient(api, createInProcessTransport(server));
    });

    it('forwards a unary call and its errors', async () => {
      assert.deepEqual(await client.call('back_addV1', { a: 2, b: 3 }), { sum: 5 });
      const reply = await createInProcessTransport(server).request(
        encodeRequest(9, 'back_addV1', { a: 'x' }),
        {},
      );
      assert.equal(reply.kind, 'json');
      const body = JSON.parse(reply.kind === 'json' ? reply.body : '{}') as {
        id: number;
        error: { code: number };
      };
      assert.equal(body.id, 9);
      assert.equal(body.error.code, EngineErrorCode.INVALID_PARAMS, 'the back server validated the params');
    });

    it('forwards notifications and batches', async () => {
      const before = adds;
      await client.notify('back_addV1', { a: 1, b: 1 });
      assert.equal(adds, before + 1);
      const out = await client.batch([
        ['back_addV1', { a: 1, b: 2 }],
        ['engine_echoV1', { payload: 'front' }],
        ['back_addV1', { a: 10, b: 20 }],
      ]);
      assert.deepEqual(out, [
        { ok: true, result: { sum: 3 } },
        { ok: true, result: { payload: 'front' } },
        { ok: true, result: { sum: 30 } },
      ]);
    });

    it('relays a stream event by event', async () => {
      const s = await client.stream('back_tickV1', { count: 5, intervalMs: 1 });
      assert.deepEqual(
        await collect(s),
        [0, 1, 2, 3, 4].map((n) => ({ n })),
      );
      assert.equal(server.openStreams, 0);
      await waitForNoStreams(back.server);
    });

    it('cancelling the relayed stream on the front stops the back stream', async () => {
      backSignals = [];
      const s = await client.stream('back_tickV1', { count: 1_000_000, intervalMs: 2 });
      let n = 0;
      for await (const _ev of s) if (++n === 3) assert.equal(await s.cancel(), true);
      assert.ok(n < 200);
      await waitForNoStreams(server);
      await waitForNoStreams(back.server);
      assert.equal(backSignals[0]?.aborted, true);
    });

    it('disconnecting from the front stops the back stream', async () => {
      backSignals = [];
      const s = await client.stream('back_tickV1', { count: 1_000_000, intervalMs: 2 });
      for await (const ev of s) if (ev.n === 2) break;
      await waitForNoStreams(server);
      await waitForNoStreams(back.server);
      assert.equal(backSignals[0]?.aborted, true);
    });

    it('rpc.discover on the front lists the routed methods', async () => {
      const doc = (await client.discover()) as { methods: { name: string; 'x-stream'?: boolean }[] };
      const tick = doc.methods.find((m) => m.name === 'back_tickV1');
      assert.equal(tick?.['x-stream'], true);
      assert.ok(doc.methods.some((m) => m.name === 'back_addV1'));
    });

    it('unroute makes the namespace unknown', async () => {
      const f = front(back.transport(linkKind));
      f.unroute('back');
      const c = createEngineClient(api, createInProcessTransport(f));
      await expectEngineError(c.call('back_addV1', { a: 1, b: 1 }), 'METHOD_NOT_FOUND');
      assert.ok(!f.methods().some((m) => m.name === 'back_addV1'));
    });
  });
}

describe('a caller that leaves while the back server opens its stream', () => {
  for (const binding of ['in-process', 'http'] as const) {
    it(`leaves no stream open on either server (front over ${binding})`, async () => {
      const inner = back.transport('in-process');
      // The back answers at once, but the reply reaches the front only after the caller has gone.
      const slow: Transport = {
        request: async (body, opts) => {
          const reply = await inner.request(body, opts);
          await sleep(60);
          return reply;
        },
        close: async () => {},
      };
      const server = front(slow);
      let url = '';
      let close = async () => {};
      if (binding === 'http') {
        const http = await startEngineHttpServer(
          { host: '127.0.0.1', port: 0, maxBodyBytes: 65_536 },
          { server, verifier: undefined, logger: silentLogger() },
        );
        url = http.url;
        close = () => http.close();
      }
      const transport = binding === 'http' ? createHttpTransport({ url }) : createInProcessTransport(server);
      const c = createEngineClient(api, transport);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const timersBefore = timers();
      try {
        await assert.rejects(
          c.stream('back_tickV1', { count: 1_000_000, intervalMs: 5 }, { signal: AbortSignal.timeout(20) }),
        );
        await sleep(80);
        await waitForNoStreams(server, 1_000);
        await waitForNoStreams(back.server, 1_000);
        assert.equal(timers(), timersBefore, 'no stream deadline timer is left behind');
      } finally {
        await c.close();
        await close();
      }
    });
  }
});

describe('an unavailable namespace', () => {
  it('answers UNAVAILABLE while its stack is not running (transport undefined)', async () => {
    const c = createEngineClient(api, createInProcessTransport(front(undefined)));
    await expectEngineError(c.call('back_addV1', { a: 1, b: 1 }), 'UNAVAILABLE', EngineErrorCode.UNAVAILABLE);
    await expectEngineError(c.stream('back_tickV1', { count: 1, intervalMs: 0 }), 'UNAVAILABLE');
  });

  it('answers UNAVAILABLE when the link fails', async () => {
    const broken: Transport = {
      request: async () => {
        throw new Error('ECONNREFUSED');
      },
      close: async () => {},
    };
    const c = createEngineClient(api, createInProcessTransport(front(broken)));
    const err = await expectEngineError(c.call('back_addV1', { a: 1, b: 1 }), 'UNAVAILABLE');
    assert.match(err.message, /back_\*/);
    await expectEngineError(c.stream('back_tickV1', { count: 1, intervalMs: 0 }), 'UNAVAILABLE');
  });

  it('a back stream that goes away mid-stream ends with UNAVAILABLE', async () => {
    const cut: Transport = {
      request: async () => ({
        kind: 'stream',
        streamId: 'cut-1',
        events: (async function* () {
          yield { event: 'start' as const, data: '{"streamId":"cut-1"}' };
          yield { event: 'data' as const, data: '{"n":0}' };
        })(),
      }),
      close: async () => {},
    };
    const c = createEngineClient(api, createInProcessTransport(front(cut)));
    const seen: number[] = [];
    await expectEngineError(
      (async () => {
        for await (const ev of await c.stream('back_tickV1', { count: 5, intervalMs: 0 })) seen.push(ev.n);
      })(),
      'UNAVAILABLE',
    );
    assert.deepEqual(seen, [0]);
  });

  it('a malformed end event from the back is INTERNAL_ERROR', async () => {
    const garbled: Transport = {
      request: async () => ({
        kind: 'stream',
        streamId: 'g-1',
        events: (async function* () {
          yield { event: 'end' as const, data: '{not json' };
        })(),
      }),
      close: async () => {},
    };
    const server = front(garbled);
    const c = createEngineClient(api, createInProcessTransport(server));
    await expectEngineError(
      collect(await c.stream('back_tickV1', { count: 5, intervalMs: 0 })),
      'INTERNAL_ERROR',
    );
    await waitFor(() => (server.openStreams === 0 ? true : undefined), {
      timeoutMs: 1_000,
      what: 'no streams',
    });
  });
});
