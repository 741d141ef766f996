/**
 * The real app stack under the node in split mode, beside another stack with an open stream: killing the
 * app stack's process brings it back with its configured model, while the other stack keeps its process and
 * its stream (the network stack will hold its peer connections the same way).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateModel } from '@subnet/app';
import { loadConfig } from '@subnet/config';
import { type createEngineClient, defineApi, engineApi } from '@subnet/engine-api';
import { silentLogger, waitFor } from '@subnet/utils';
import { type SubnetNode, startNode } from '../src/index.js';
import { clientOf } from './client.js';
import { tickerApi } from './fixtures/ticker.js';

const api = defineApi([...Object.values(engineApi), ...Object.values(tickerApi)]);

describe('app stack in split mode', () => {
  let dir: string;
  let node: SubnetNode;
  let client: ReturnType<typeof createEngineClient<typeof api>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-node-app-'));
    const model = join(dir, 'bigram.gguf');
    writeFileSync(model, generateModel({ kind: 'bigram', corpus: 'quick-brown '.repeat(40) }));
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: dir,
        log: { level: 'silent' },
        node: {
          processMode: 'split',
          port: 0,
          stacks: [
            { name: 'app', module: '@subnet/app/stack' },
            { name: 'ticker', module: fileURLToPath(new URL('./fixtures/ticker.js', import.meta.url)) },
          ],
          restart: { initialDelayMs: 50, maxDelayMs: 500, resetAfterMs: 30_000 },
        },
        app: { models: [{ id: 'bigram', backend: 'llama.cpp', path: model }] },
      },
    });
    node = await startNode(config, { logger: silentLogger() });
    client = await clientOf(node, config, api);
  });
  after(async () => {
    await client.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates through the node, and a killed app stack comes back while the other stack keeps streaming', async () => {
    const generate = async () => {
      let text = '';
      for await (const ev of await client.stream('app_generateV1', {
        model: 'bigram',
        kind: 'completion',
        prompt: 'q',
        maxTokens: 10,
        priority: 'organic',
      })) {
        if (ev.type === 'token') text += ev.text;
      }
      return text;
    };
    assert.equal(await generate(), 'uick-brown');
    const ticks = (await client.stream('ticker_ticksV1', { intervalMs: 10 }))[Symbol.asyncIterator]();
    const first = (await ticks.next()).value as { seq: number; pid: number };
    const stacks = node.stacks();
    const appPid = stacks.find((s) => s.name === 'app')?.pid as number;
    const tickerPid = stacks.find((s) => s.name === 'ticker')?.pid as number;
    process.kill(appPid, 'SIGKILL');
    await waitFor(
      () => {
        const s = node.stacks().find((x) => x.name === 'app');
        return s?.status === 'running' && s.pid !== appPid ? true : undefined;
      },
      { timeoutMs: 20_000, what: 'the app stack to restart' },
    );
    assert.equal(await generate(), 'uick-brown', 'the restarted stack loaded its model again');
    assert.equal(node.stacks().find((s) => s.name === 'ticker')?.pid, tickerPid);
    let last = first.seq;
    for (let i = 0; i < 3; i++) {
      const ev = (await ticks.next()).value as { seq: number; pid: number };
      assert.equal(ev.seq, last + 1, 'the other stack streamed on without a gap');
      assert.equal(ev.pid, tickerPid);
      last = ev.seq;
    }
    await ticks.return?.();
  });
});
