/**
 * Soak check: 10,000 short streams (in-process and over HTTP, 32 at a time) leave nothing behind — no
 * open stream, no timer, socket or handle beyond the pool's keep-alive connections, and no heap growth.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type EngineApi, type EngineClient, engineApi } from '../src/index.js';
import { type Harness, startHarness } from './harness.js';

const CONCURRENCY = 32;

/** `global.gc`, exposed at run time when the process was not started with --expose-gc. */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const gc = findGc();

function settle(): number {
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

function resources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

/** Runs `n` echo streams, `CONCURRENCY` at a time, checking each one's events. */
async function runStreams(client: EngineClient<EngineApi>, n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const payload = `s${i}`;
      let seq = 0;
      for await (const ev of await client.stream('engine_echoStreamV1', { payload, count: 3 })) {
        assert.equal(ev.seq, seq++);
        assert.equal(ev.payload, payload);
      }
      assert.equal(seq, 3);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

describe('10,000 streams leak nothing', () => {
  let h: Harness;
  let inProcess: EngineClient<EngineApi>;
  let http: EngineClient<EngineApi>;

  before(async () => {
    h = await startHarness();
    inProcess = h.client('in-process', engineApi);
    http = h.client('http', engineApi);
  });

  after(() => h.close());

  it('leaves no open stream, handle or heap growth behind', async () => {
    // Warm up: JIT, the pool's keep-alive connections, zod caches.
    await runStreams(inProcess, 500);
    await runStreams(http, 500);
    const heapBefore = settle();
    const before = resources();

    await runStreams(inProcess, 6_000);
    assert.equal(h.server.openStreams, 0);
    await runStreams(http, 4_000);
    assert.equal(h.server.openStreams, 0);

    const heapAfter = settle();
    const afterRes = resources();
    for (const [type, count] of afterRes) {
      const was = before.get(type) ?? 0;
      // Keep-alive sockets may be re-dialled (both ends count); nothing else may pile up.
      const slack = type === 'TCPSocketWrap' ? 8 : 2;
      assert.ok(count <= was + slack, `${type}: ${was} before, ${count} after 10,000 streams`);
    }
    const grown = heapAfter - heapBefore;
    const bound = gc === undefined ? 64 * 1024 * 1024 : 8 * 1024 * 1024;
    assert.ok(
      grown < bound,
      `heap grew ${(grown / 1048576).toFixed(1)} MiB over 10,000 streams (bound ${bound / 1048576} MiB)`,
    );
  });
});
