import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@subnet/config';
import { defineApi, type EngineClient, engineApi } from '@subnet/engine-api';
import { silentLogger, waitFor } from '@subnet/utils';
import { type SubnetNode, startNode } from '../src/index.js';
import { clientOf } from './client.js';
import { counterApi } from './fixtures/counter.js';
import { tickerApi } from './fixtures/ticker.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const api = defineApi([
  ...Object.values(engineApi),
  ...Object.values(counterApi),
  ...Object.values(tickerApi),
]);
type Client = EngineClient<typeof api>;

async function boot(mode: 'single' | 'split') {
  const dataDir = mkdtempSync(join(tmpdir(), 'subnet-node-'));
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      log: { level: 'silent' },
      node: {
        processMode: mode,
        port: 0,
        stacks: [
          { name: 'counter', module: fixture('counter') },
          { name: 'ticker', module: fixture('ticker') },
        ],
        restart: { initialDelayMs: 50, maxDelayMs: 500, resetAfterMs: 30_000 },
      },
    },
  });
  const node = await startNode(config, { logger: silentLogger() });
  const client: Client = await clientOf(node, config, api);
  return { node, client, dataDir };
}

for (const mode of ['single', 'split'] as const) {
  describe(`node in ${mode} mode`, () => {
    let node: SubnetNode;
    let client: Client;
    let dataDir: string;
    before(async () => ({ node, client, dataDir } = await boot(mode)));
    after(async () => {
      await client.close();
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers node_* and reports every stack running', async () => {
      const health = await client.call('node_getHealthV1', {});
      assert.equal(health.status, 'ok');
      assert.equal(health.processMode, mode);
      assert.deepEqual(health.stacks, { counter: 'running', ticker: 'running' });
      const { stacks } = await client.call('node_getStacksV1', {});
      assert.deepEqual(
        stacks.map((s) => s.name),
        ['counter', 'ticker'],
      );
      for (const s of stacks) {
        assert.equal(typeof s.pid, 'number');
        if (mode === 'single') assert.equal(s.pid, process.pid);
        else assert.notEqual(s.pid, process.pid);
      }
      const version = await client.call('node_getVersionV1', {});
      assert.match(version.runtime, /^v\d+/);
    });

    it('routes stack methods and lets one stack call another through the node', async () => {
      const a = await client.call('counter_incrementV1', {});
      const b = await client.call('counter_incrementV1', {});
      assert.equal(b.count, a.count + 1);
      const { pid: tickerPid } = await client.call('ticker_getPidV1', {});
      assert.deepEqual(await client.call('counter_askTickerV1', {}), { tickerPid });
    });

    it('serves /health, /ready and Prometheus /metrics', async () => {
      const health = await fetch(`${node.url}/health`);
      assert.equal(health.status, 200);
      const ready = await fetch(`${node.url}/ready`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      assert.match(metrics, /subnet_stack_up\{stack="counter"\} 1/);
      assert.match(metrics, /engine_api_calls_total\{method="counter_incrementV1"/);
      if (mode === 'split') assert.match(metrics, /process_cpu_user_seconds_total\{stack="ticker"\}/);
    });

    it('rejects calls without a token', async () => {
      const res = await fetch(`${node.url}/rpc`, {
        method: 'POST',
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_getHealthV1', params: {} }),
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32001);
    });

    it('node_restartStackV1 restarts one stack and refuses unknown names', async () => {
      await client.call('counter_incrementV1', {});
      const { stack } = await client.call('node_restartStackV1', { name: 'counter' });
      assert.equal(stack.status, 'running');
      assert.equal(stack.restarts, 1);
      assert.equal(
        (await client.call('counter_incrementV1', {})).count,
        1,
        'state starts over after a restart',
      );
      await assert.rejects(client.call('node_restartStackV1', { name: 'nope' }), {
        code: 'STACK_NOT_FOUND',
        rpcCode: 1001,
      });
    });

    it('node_watchStacksV1 streams the stack list, again on change', async () => {
      const s = await client.stream('node_watchStacksV1', {});
      const seen: string[] = [];
      let restarted = false;
      for await (const ev of s) {
        seen.push(ev.stacks.map((x) => `${x.name}:${x.status}`).join(','));
        if (!restarted) {
          restarted = true;
          void client.call('node_restartStackV1', { name: 'ticker' });
        } else if (ev.stacks.every((x) => x.status === 'running')) break;
      }
      assert.equal(seen[0], 'counter:running,ticker:running');
      assert.ok(
        seen.some((x) => x.includes('ticker:stopping') || x.includes('ticker:starting')),
        seen.join(' | '),
      );
    });
  });
}

describe('split mode supervision', () => {
  it('restarts a killed stack with backoff while the other keeps its pid and its open stream', async () => {
    const { node, client, dataDir } = await boot('split');
    try {
      const before = await client.call('node_getStacksV1', {});
      const pidOf = (stacks: typeof before.stacks, name: string) => stacks.find((s) => s.name === name)?.pid;
      const counterPid = pidOf(before.stacks, 'counter') as number;
      const tickerPid = pidOf(before.stacks, 'ticker') as number;

      const ticks = await client.stream('ticker_ticksV1', { intervalMs: 10 });
      const it = ticks[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);

      process.kill(counterPid, 'SIGKILL');
      const down = await waitFor(
        async () => {
          const h = await client.call('node_getHealthV1', {});
          return h.stacks.counter !== 'running' ? h : undefined;
        },
        { timeoutMs: 20_000, what: 'the supervisor to notice the kill', intervalMs: 5 },
      );
      assert.equal(down.status, 'degraded');
      const back = await waitFor(
        async () => {
          const { stacks } = await client.call('node_getStacksV1', {});
          const c = stacks.find((s) => s.name === 'counter');
          return c?.status === 'running' && c.pid !== counterPid ? stacks : undefined;
        },
        { timeoutMs: 10_000, what: 'the counter stack to come back' },
      );
      assert.equal(back.find((s) => s.name === 'counter')?.restarts, 1);
      assert.equal(pidOf(back, 'ticker'), tickerPid, 'the ticker kept its process');
      assert.equal((await client.call('counter_incrementV1', {})).count, 1);

      // The ticker's stream, opened before the kill, is still the same connection and keeps counting.
      let last = (first.value as { seq: number }).seq;
      for (let i = 0; i < 5; i++) {
        const r = await it.next();
        assert.equal(r.done, false);
        const ev = r.value as { seq: number; pid: number };
        assert.equal(ev.seq, last + 1, 'no gap and no restart in the ticker stream');
        assert.equal(ev.pid, tickerPid);
        last = ev.seq;
      }
      await it.return?.();
    } finally {
      await client.close();
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails fast with a clear error when a stack module is not a stack', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'subnet-node-'));
    const config = loadConfig({
      env: {},
      flags: {
        dataDir,
        log: { level: 'silent' },
        node: {
          processMode: 'split',
          port: 0,
          stacks: [{ name: 'bad', module: fileURLToPath(import.meta.url) }],
        },
      },
    });
    await assert.rejects(startNode(config, { logger: silentLogger() }), { code: 'STACK_MODULE_INVALID' });
    rmSync(dataDir, { recursive: true, force: true });
  });
});
