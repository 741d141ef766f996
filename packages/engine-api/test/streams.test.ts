/**
 * Engine API streams over both transports: complete runs, cancel (engine_cancelStreamV1), disconnect
 * (break / abort), deadlines, handler failures, backpressure, the open-stream limit and shutdown.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '@subnet/utils';
import { z } from 'zod';
import {
  createEngineClient,
  createHttpTransport,
  defineApi,
  defineErrors,
  EngineError,
  EngineErrorCode,
  encodeRequest,
  engineApi,
  type SseEvent,
  type StreamEnd,
  stream,
} from '../src/index.js';
import {
  collect,
  eachTransport,
  expectEngineError,
  type Harness,
  startHarness,
  TRANSPORTS,
  waitForNoStreams,
} from './harness.js';

const streamErrors = defineErrors({ TOO_HOT: { code: 2001, summary: 'Overheated.' } });

const streamApi = defineApi([
  stream('test_tickV1', {
    summary: 'Emits a tick every intervalMs until stopped; records its signal under `tag`.',
    params: z.object({ tag: z.string(), intervalMs: z.number().int().min(0) }).strict(),
    event: z.object({ n: z.number().int() }).strict(),
  }),
  stream('test_countV1', {
    summary: 'Emits `total` padded items as fast as they are read; counts what it produced under `tag`.',
    params: z.object({ tag: z.string(), total: z.number().int(), size: z.number().int() }).strict(),
    event: z.object({ n: z.number().int(), pad: z.string() }).strict(),
  }),
  stream('test_breakV1', {
    summary: 'Emits `after` events, then fails the way `how` says.',
    params: z
      .object({ after: z.number().int(), how: z.enum(['engine', 'plain', 'badEvent', 'throwNow']) })
      .strict(),
    event: z.object({ n: z.number().int() }).strict(),
    errors: [streamErrors.TOO_HOT],
  }),
]);

const signals = new Map<string, AbortSignal>();
const produced = new Map<string, number>();

function registerStreams(h: Harness): void {
  h.server.register(streamApi, {
    async *test_tickV1({ tag, intervalMs }, ctx) {
      signals.set(tag, ctx.signal);
      for (let n = 0; ; n++) {
        yield { n };
        await sleep(intervalMs, { signal: ctx.signal });
      }
    },
    async *test_countV1({ tag, total, size }, ctx) {
      signals.set(tag, ctx.signal);
      const pad = 'x'.repeat(size);
      for (let n = 0; n < total; n++) {
        produced.set(tag, n + 1);
        yield { n, pad };
      }
    },
    test_breakV1({ after: count, how }) {
      if (how === 'throwNow') throw EngineError.of(streamErrors.TOO_HOT, 'refused before the first event');
      return (async function* () {
        for (let n = 0; n < count; n++) yield { n };
        if (how === 'engine')
          throw EngineError.of(streamErrors.TOO_HOT, 'too hot; cool down', { celsius: 99 });
        if (how === 'plain') throw new Error('kaput');
        yield { n: 'not a number' } as never;
      })();
    },
  });
}

let tagSeq = 0;
const newTag = (label: string) => `${label}-${++tagSeq}`;

/** Reads raw SSE events of a transport-level stream until `end`, running `onData` on each data event. */
async function readRaw(
  events: AsyncIterable<SseEvent>,
  onData: (data: unknown, index: number) => Promise<void> | void = () => {},
): Promise<{ start: { streamId: string }; data: unknown[]; end: StreamEnd }> {
  let start: { streamId: string } | undefined;
  const data: unknown[] = [];
  for await (const ev of events) {
    if (ev.event === 'start') start = JSON.parse(ev.data) as { streamId: string };
    else if (ev.event === 'data') {
      data.push(JSON.parse(ev.data));
      await onData(data.at(-1), data.length - 1);
    } else {
      assert.ok(start !== undefined, 'start comes first');
      return { start, data, end: JSON.parse(ev.data) as StreamEnd };
    }
  }
  assert.fail('the stream closed without an end event');
}

let h: Harness;

before(async () => {
  h = await startHarness();
  registerStreams(h);
});

after(() => h.close());

for (const [name, makeClient] of eachTransport(() => h)) {
  describe(`streams over ${name}`, () => {
    it('delivers every event in order, then completes', async () => {
      const c = makeClient(engineApi);
      const s = await c.stream('engine_echoStreamV1', { payload: 'p', count: 50 });
      assert.match(s.id, /^[0-9a-f-]{36}$/);
      const events = await collect(s);
      assert.deepEqual(
        events,
        Array.from({ length: 50 }, (_, seq) => ({ seq, payload: 'p' })),
      );
      assert.equal(h.server.openStreams, 0);
    });

    it('applies param defaults before the handler runs', async () => {
      const events = await collect(await makeClient(engineApi).stream('engine_echoStreamV1', { count: 2 }));
      assert.deepEqual(events, [
        { seq: 0, payload: '' },
        { seq: 1, payload: '' },
      ]);
    });

    it('a zero-length stream completes with no events', async () => {
      assert.deepEqual(
        await collect(await makeClient(engineApi).stream('engine_echoStreamV1', { count: 0 })),
        [],
      );
    });

    it('carries payloads with newlines, SSE keywords and non-ASCII intact', async () => {
      const payload = 'line\nbreak\r\n\ndata: {"x":1}\n\nevent: end\n\u2028é😀\u0000';
      const events = await collect(
        await makeClient(engineApi).stream('engine_echoStreamV1', { payload, count: 3 }),
      );
      assert.deepEqual(
        events.map((e) => e.payload),
        [payload, payload, payload],
      );
    });

    it('ends with reason "complete" and a start event naming the stream', async () => {
      const reply = await h
        .transport(name)
        .request(encodeRequest(1, 'engine_echoStreamV1', { payload: 'z', count: 3 }), {});
      assert.equal(reply.kind, 'stream');
      if (reply.kind !== 'stream') return;
      const { start, data, end } = await readRaw(reply.events);
      assert.equal(start.streamId, reply.streamId);
      assert.equal(data.length, 3);
      assert.deepEqual(end, { reason: 'complete' });
    });

    it('engine_cancelStreamV1 ends the stream with reason "cancelled"', async () => {
      const c = makeClient(engineApi);
      const reply = await h
        .transport(name)
        .request(encodeRequest(1, 'engine_echoStreamV1', { count: 1_000_000, intervalMs: 2 }), {});
      assert.equal(reply.kind, 'stream');
      if (reply.kind !== 'stream') return;
      const { data, end } = await readRaw(reply.events, async (_d, i) => {
        if (i === 1)
          assert.deepEqual(await c.call('engine_cancelStreamV1', { streamId: reply.streamId }), {
            cancelled: true,
          });
      });
      assert.deepEqual(end, { reason: 'cancelled' });
      assert.ok(data.length < 100, `stopped soon after the cancel (${data.length} events)`);
      await waitForNoStreams(h.server);
      assert.deepEqual(await c.call('engine_cancelStreamV1', { streamId: reply.streamId }), {
        cancelled: false,
      });
    });

    it('stream.cancel() stops the loop without an error and aborts the handler', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('cancel');
      const s = await c.stream('test_tickV1', { tag, intervalMs: 5 });
      let n = 0;
      for await (const ev of s) {
        assert.equal(ev.n, n++);
        if (n === 3) assert.equal(await s.cancel(), true);
        assert.ok(n < 200, 'the loop ends after cancel');
      }
      assert.ok(n >= 3);
      await waitForNoStreams(h.server);
      assert.equal(signals.get(tag)?.aborted, true);
      assert.equal(signals.get(tag)?.reason, 'cancelled');
      assert.equal(await s.cancel(), false, 'a finished stream cannot be cancelled again');
    });

    it('a stream cancelled before it is read is closed on the server', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('unread');
      const s = await c.stream('test_tickV1', { tag, intervalMs: 5 });
      assert.equal(await s.cancel(), true);
      await waitForNoStreams(h.server);
      // In-process nothing was produced; over HTTP the first events may already be on the wire.
      const late = await collect(s);
      assert.ok(late.length < 10, `reading it afterwards ends at once (${late.length} events)`);
    });

    it('cancelling an unknown stream id answers cancelled: false', async () => {
      const c = makeClient(engineApi);
      assert.deepEqual(await c.call('engine_cancelStreamV1', { streamId: 'no-such-stream' }), {
        cancelled: false,
      });
      await expectEngineError(
        c.call('engine_cancelStreamV1', { streamId: '' }),
        'INVALID_PARAMS',
        EngineErrorCode.INVALID_PARAMS,
      );
    });

    it('breaking out of the loop disconnects: the handler is aborted and the stream closes', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('break');
      const s = await c.stream('test_tickV1', { tag, intervalMs: 1 });
      assert.equal(h.server.openStreams, 1);
      for await (const ev of s) if (ev.n === 4) break;
      await waitForNoStreams(h.server);
      await waitFor(() => (signals.get(tag)?.aborted === true ? true : undefined), {
        timeoutMs: 2_000,
        what: 'the handler signal to abort',
      });
      assert.equal(signals.get(tag)?.reason, 'disconnect');
    });

    it('aborting the stream signal disconnects: the loop throws CANCELLED and the handler is aborted', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('abort');
      const ac = new AbortController();
      const s = await c.stream('test_tickV1', { tag, intervalMs: 2 }, { signal: ac.signal });
      let n = 0;
      // The same outcome over every transport.
      await expectEngineError(
        (async () => {
          for await (const _ev of s) if (++n === 3) ac.abort();
        })(),
        'CANCELLED',
        EngineErrorCode.CANCELLED,
      );
      assert.ok(n >= 3 && n < 100, `the loop stopped soon after the abort (${n} events)`);
      await waitForNoStreams(h.server);
      assert.equal(signals.get(tag)?.aborted, true);
    });

    it('a client deadline (X-Deadline-Ms) ends the stream with DEADLINE_EXCEEDED', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('deadline');
      const started = Date.now();
      const s = await c.stream('test_tickV1', { tag, intervalMs: 5 }, { deadlineMs: 150 });
      let n = 0;
      const err = await expectEngineError(
        (async () => {
          for await (const _ev of s) n++;
        })(),
        'DEADLINE_EXCEEDED',
        EngineErrorCode.DEADLINE_EXCEEDED,
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 140 && elapsed < 2_000, `ended after ${elapsed} ms`);
      assert.ok(n > 0, 'events flowed until the deadline');
      assert.match(err.message, /deadline/);
      await waitForNoStreams(h.server);
      assert.equal(signals.get(tag)?.reason, 'deadline');
    });

    it('a handler error mid-stream reaches the client with its code and data', async () => {
      const c = makeClient(streamApi);
      const seen: number[] = [];
      const err = await expectEngineError(
        (async () => {
          for await (const ev of await c.stream('test_breakV1', { after: 3, how: 'engine' })) seen.push(ev.n);
        })(),
        'TOO_HOT',
        2001,
      );
      assert.deepEqual(seen, [0, 1, 2]);
      assert.deepEqual(err.data, { celsius: 99 });
      assert.equal(h.server.openStreams, 0);
    });

    it('a handler crash mid-stream is INTERNAL_ERROR', async () => {
      const c = makeClient(streamApi);
      await expectEngineError(
        collect(await c.stream('test_breakV1', { after: 1, how: 'plain' })),
        'INTERNAL_ERROR',
        EngineErrorCode.INTERNAL_ERROR,
      );
    });

    it('a handler that throws before streaming answers a JSON error', async () => {
      const c = makeClient(streamApi);
      await expectEngineError(c.stream('test_breakV1', { after: 0, how: 'throwNow' }), 'TOO_HOT', 2001);
      assert.equal(h.server.openStreams, 0);
    });

    it(
      name === 'http'
        ? 'an event failing its schema is refused by the client, which disconnects'
        : "a stream handler in this process is trusted: its values are handed over unparsed (the other stack's own typed code)",
      async () => {
        const c = makeClient(streamApi);
        const events = collect(await c.stream('test_breakV1', { after: 2, how: 'badEvent' }));
        if (name === 'http')
          await expectEngineError(events, 'INVALID_RESPONSE', EngineErrorCode.INVALID_RESPONSE);
        else assert.deepEqual(await events, [{ n: 0 }, { n: 1 }, { n: 'not a number' }]);
        await waitForNoStreams(h.server);
      },
    );

    it('invalid stream params are refused client-side and server-side', async () => {
      const c = makeClient(engineApi);
      await expectEngineError(c.stream('engine_echoStreamV1', { count: 1.5 }), 'INVALID_PARAMS');
      const reply = await h
        .transport(name)
        .request(encodeRequest(1, 'engine_echoStreamV1', { count: 'x' }), {});
      assert.equal(reply.kind, 'json');
      assert.equal(h.server.openStreams, 0);
    });

    it('a stream can be iterated only once', async () => {
      const s = await makeClient(engineApi).stream('engine_echoStreamV1', { count: 1 });
      await collect(s);
      await assert.rejects(collect(s), TypeError);
    });

    it('backpressure: a paused reader holds the producer back, which finishes once reading resumes', async () => {
      const c = makeClient(streamApi);
      const tag = newTag('bp');
      // In-process the pump is pull-based; over HTTP the socket buffers (a few MB on loopback) sit between.
      const size = name === 'http' ? 4_096 : 16;
      const total = name === 'http' ? 10_000 : 1_000;
      const s = await c.stream('test_countV1', { tag, total, size });
      let read = 0;
      let pausedAt = 0;
      for await (const ev of s) {
        assert.equal(ev.n, read++);
        if (read === 10) {
          // Pause: let the producer run as far ahead as it can, until it stops moving.
          let last = -1;
          while (produced.get(tag) !== last) {
            last = produced.get(tag) ?? 0;
            await sleep(100);
          }
          pausedAt = produced.get(tag) ?? 0;
        }
      }
      const bound = name === 'http' ? total / 4 : 12;
      assert.ok(
        pausedAt < bound,
        `while paused the producer stopped at ${pausedAt} of ${total} (bound ${bound})`,
      );
      assert.equal(read, total, 'every item arrived after reading resumed');
      assert.equal(produced.get(tag), total);
      assert.equal(h.server.openStreams, 0);
    });
  });
}

describe('unreachable server', () => {
  it('stream() and call() fail with UNAVAILABLE, not a socket error', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = createEngineClient(engineApi, createHttpTransport({ url: `http://127.0.0.1:${port}` }));
    await expectEngineError(
      c.stream('engine_echoStreamV1', { count: 1 }),
      'UNAVAILABLE',
      EngineErrorCode.UNAVAILABLE,
    );
    await expectEngineError(
      c.call('engine_echoV1', { payload: 'x' }),
      'UNAVAILABLE',
      EngineErrorCode.UNAVAILABLE,
    );
    await c.close();
  });
});

describe('stream limits and shutdown', () => {
  let small: Harness;

  before(async () => {
    small = await startHarness({ server: { maxStreams: 2, streamDeadlineMs: 200 } });
    registerStreams(small);
  });

  after(() => small.close());

  for (const kind of TRANSPORTS) {
    it(`refuses streams past maxStreams with OVERLOADED (${kind})`, async () => {
      const c = small.client(kind, streamApi);
      const a = await c.stream('test_tickV1', { tag: newTag('o1'), intervalMs: 1_000 });
      const b = await c.stream('test_tickV1', { tag: newTag('o2'), intervalMs: 1_000 });
      assert.equal(small.server.openStreams, 2);
      await expectEngineError(
        c.stream('test_tickV1', { tag: newTag('o3'), intervalMs: 1_000 }),
        'OVERLOADED',
        EngineErrorCode.OVERLOADED,
      );
      assert.equal(await a.cancel(), true);
      assert.equal(await b.cancel(), true);
      await Promise.all([collect(a), collect(b)]);
      await waitForNoStreams(small.server);
      // A slot is free again.
      assert.deepEqual(
        await collect(await c.stream('test_countV1', { tag: newTag('o4'), total: 2, size: 1 })),
        [
          { n: 0, pad: 'x' },
          { n: 1, pad: 'x' },
        ],
      );
    });

    it(`the server's streamDeadlineMs caps every stream (${kind})`, async () => {
      const c = small.client(kind, streamApi);
      const tag = newTag('server-deadline');
      const started = Date.now();
      await expectEngineError(
        collect(await c.stream('test_tickV1', { tag, intervalMs: 10 }, { deadlineMs: 60_000 })),
        'DEADLINE_EXCEEDED',
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 2_000, `ended after ${elapsed} ms`);
    });

    it(`server.close() ends open streams with reason "shutdown" (${kind})`, async () => {
      const reply = await small
        .transport(kind)
        .request(encodeRequest(1, 'test_tickV1', { tag: newTag('shutdown'), intervalMs: 5 }), {});
      assert.equal(reply.kind, 'stream');
      if (reply.kind !== 'stream') return;
      const { end } = await readRaw(reply.events, async (_d, i) => {
        if (i === 2) await small.server.close();
      });
      assert.deepEqual(end, { reason: 'shutdown' });
      await waitForNoStreams(small.server);
    });
  }

  it('closing the HTTP server ends its open streams and returns promptly', async () => {
    const h3 = await startHarness();
    registerStreams(h3);
    const c = h3.client('http', streamApi);
    const tag = newTag('http-close');
    const s = await c.stream('test_tickV1', { tag, intervalMs: 5 });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const ev of s) seen.push(ev.n);
    })();
    await waitFor(() => (seen.length >= 2 ? true : undefined), { timeoutMs: 2_000, what: 'two ticks' });
    await h3.close();
    // The stream ended cleanly (reason "shutdown"): close ended it instead of its force timeout cutting
    // the connection, which would fail the read.
    await reading;
    assert.equal(h3.server.openStreams, 0);
    assert.equal(signals.get(tag)?.reason, 'shutdown');
  });
});
