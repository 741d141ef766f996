/**
 * Distributed inference for real: a generated 6-layer llama model split across three miner nodes with
 * llama.cpp's RPC backend, the members reached only over libp2p (the network stack's llama-rpc tunnel), on a
 * devnet chain where all of them are registered. Each node runs the chain, network and app stacks; the lead's
 * app stack runs llama-server with three RPC devices (its own ggml-rpc-server and the two members' through
 * tunnels). The members run in split mode so a member's network stack can be killed mid-request.
 *
 * Shows: the group's greedy tokens and logprobs match llama-server on one node (same binary); a validator
 * gets the group's answer through a synapse like any miner's; the members' RPC ports are loopback only and a
 * registered peer that is not the lead is refused; killing a member's network stack ends the in-flight
 * request with a clear error well inside its deadline, the lead stops advertising the model, and advertises
 * it again once the member is back.
 *
 * The first run on a machine builds llama.cpp's tools (minutes; `npm test` starts that build in the
 * background at its start, and this suite runs after the devnet suites).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  collect,
  createLlamaServerModule,
  ensureLlamaTools,
  GenerateRequestSchema,
  generateModel,
} from '@subnet/app';
import { type Devnet, startDevnet } from '@subnet/chain';
import { type Config, loadConfig } from '@subnet/config';
import { type EngineApi, type EngineClient, EngineError, engineApi } from '@subnet/engine-api';
import { freePortRange, silentLogger, waitFor } from '@subnet/utils';
import { type SubnetNode, startNode } from '../src/index.js';
import { clientOf } from './client.js';

const PROMPT = 'the quick brown fox';
const TOKENS = 24;

interface Running {
  node: SubnetNode;
  client: EngineClient<EngineApi>;
  config: Config;
}

describe('a pipeline group: one model across three miners over libp2p', { timeout: 30 * 60_000 }, () => {
  let dir: string;
  let devnet: Devnet;
  const nodes = new Map<string, Running>();
  const get = (name: string) => nodes.get(name) as Running;
  const neuron = (name: string) => {
    const n = devnet.network.neurons?.find((x) => x.wallet === name);
    assert.ok(n !== undefined, name);
    return n;
  };
  let rpcPorts: number[] = [];
  let tunnelPorts: number[] = [];
  let single: ReturnType<typeof createLlamaServerModule> | undefined;

  async function launch(
    name: string,
    extra: { app: Config['app']; llamaRpc: unknown; split?: boolean; restartDelayMs?: number },
  ) {
    const n = neuron(name);
    const [tcp, ws] = (n.multiaddrs ?? []).map((a) => Number(a.split('/')[4]));
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: dir,
        log: { level: 'silent' },
        node: {
          processMode: extra.split === true ? 'split' : 'single',
          port: 0,
          stacks: [
            { name: 'chain', module: '@subnet/chain/stack' },
            { name: 'network', module: '@subnet/network/stack' },
            { name: 'app', module: '@subnet/app/stack' },
          ],
          restart: {
            initialDelayMs: extra.restartDelayMs ?? 50,
            maxDelayMs: Math.max(500, extra.restartDelayMs ?? 0),
            resetAfterMs: 30_000,
          },
        },
        chain: {
          rpcUrl: devnet.anvil.rpcUrl,
          wallet: name,
          passwordFile: join(dir, 'devnet', 'wallet-password'),
          pollIntervalMs: 250,
        },
        network: {
          listen: [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${ws}/ws`],
          heartbeatIntervalMs: 1000,
          llamaRpc: extra.llamaRpc,
        },
        app: extra.app,
      } as never,
    });
    const node = await startNode(config, { logger: silentLogger() });
    nodes.set(name, { node, client: await clientOf(node, config, engineApi), config });
  }

  before(async () => {
    // Built once per machine and cached (found at once after the first run).
    await ensureLlamaTools({}, { logger: silentLogger() }, AbortSignal.timeout(25 * 60_000));
    dir = mkdtempSync(join(tmpdir(), 'subnet-pipeline-'));
    writeFileSync(
      join(dir, 'm.gguf'),
      generateModel({ kind: 'random', blocks: 6, embd: 256, seed: 3, ctx: 4096 }),
    );
    const base = await freePortRange(8 + 5);
    devnet = await startDevnet({
      dataDir: dir,
      port: 0,
      blockTimeS: 60,
      validators: 1,
      miners: 3,
      p2pBasePort: base,
    });
    rpcPorts = [base + 8, base + 9, base + 10];
    tunnelPorts = [base + 11, base + 12];
    const lead = neuron('miner1').hotkey;
    const model = {
      id: 'group',
      backend: 'llama.cpp' as const,
      path: join(dir, 'm.gguf'),
      contextLength: 4096,
      rpc: {
        servers: [`127.0.0.1:${rpcPorts[0]}`, ...tunnelPorts.map((p) => `127.0.0.1:${p}`)],
        tensorSplit: [2, 2, 2],
      },
    };
    await Promise.all([
      launch('validator1', { app: { models: [] } as never, llamaRpc: { tunnels: [] } }),
      ...[2, 3].map((i) =>
        launch(`miner${i}`, {
          app: { rpcServer: { port: rpcPorts[i - 1] as number, threads: 1 } } as never,
          llamaRpc: { serve: { port: rpcPorts[i - 1], allow: [lead] }, tunnels: [] },
          split: true,
          // A killed member comes back after 15 s: a window wide enough to see the lead withdraw the model and
          // refuse a request even on a loaded machine (the lead withdraws it when its server exits).
          restartDelayMs: 15_000,
        }),
      ),
    ]);
    await launch('miner1', {
      app: { models: [model], rpcServer: { port: rpcPorts[0] as number, threads: 1 } } as never,
      llamaRpc: {
        tunnels: [
          { hotkey: neuron('miner2').hotkey, port: tunnelPorts[0] },
          { hotkey: neuron('miner3').hotkey, port: tunnelPorts[1] },
        ],
      },
    });
    single = createLlamaServerModule(
      { id: 'group', path: join(dir, 'm.gguf'), contextLength: 4096, rpc: [] },
      { logger: silentLogger() },
    );
    await single.init({ signal: AbortSignal.timeout(60_000) });
  });

  after(async () => {
    await single?.close();
    await Promise.allSettled(
      [...nodes.values()].map(async (r) => {
        await r.client.close();
        await r.node.stop();
      }),
    );
    await devnet?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const advertised = async () => {
    const caps = await get('miner1').client.call('app_getCapabilitiesV1', {});
    return caps.models.some((m) => m.id === 'group');
  };

  it('the lead loads the model over its three RPC devices and advertises it', async () => {
    await waitFor(async () => ((await advertised()) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the lead serving the group model',
    });
  });

  it('greedy tokens and logprobs match llama-server on one node', async () => {
    const request = {
      model: 'group',
      kind: 'completion' as const,
      prompt: PROMPT,
      maxTokens: TOKENS,
      temperature: 0,
      logprobs: true,
      topLogprobs: 2,
    };
    assert.ok(single !== undefined);
    const want = await collect(
      single.generate(GenerateRequestSchema.parse(request), { signal: AbortSignal.timeout(60_000) }),
    );
    assert.equal(want.tokens.length, TOKENS, 'the seeded model decodes greedily without an end of text');
    const got: Array<{ text: string; logprob?: number | undefined }> = [];
    const all: unknown[] = [];
    for await (const ev of await get('miner1').client.stream('app_generateV1', request)) {
      all.push(ev);
      if (ev.type === 'token') got.push(ev);
    }
    assert.equal(got.length, TOKENS, JSON.stringify(all).slice(0, 2000));
    assert.deepEqual(
      got.map((t) => t.text),
      want.tokens.map((t) => t.text),
    );
    for (const [i, t] of got.entries()) {
      const w = want.tokens[i]?.logprob as number;
      assert.ok(Math.abs((t.logprob as number) - w) < 1e-3, `token ${i}: ${t.logprob} vs ${w}`);
    }
  });

  it('a validator gets the group’s answer through a synapse like any miner’s', async () => {
    const events: unknown[] = [];
    for await (const ev of await get('validator1').client.stream('network_sendSynapseV1', {
      uid: neuron('miner1').uid,
      kind: 'generate',
      params: { model: 'group', kind: 'completion', prompt: PROMPT, maxTokens: 4, temperature: 0 },
      timeoutMs: 60_000,
    })) {
      events.push(ev);
    }
    assert.equal((events.at(-1) as { type: string }).type, 'done');
    assert.ok(events.length >= 5, `${events.length} events`);
  });

  it('a member’s RPC server listens on loopback only', async () => {
    const port = rpcPorts[1] as number;
    const tryConnect = (host: string) =>
      new Promise<boolean>((resolve) => {
        const sock = connect({ host, port }, () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => resolve(false));
      });
    assert.equal(await tryConnect('127.0.0.1'), true);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a?.address as string);
    for (const host of external) assert.equal(await tryConnect(host), false, `reachable on ${host}:${port}`);
  });

  it('killing a member ends the in-flight request with a clear error, and the model is withdrawn until the member is back', async () => {
    const victim = get('miner3')
      .node.stacks()
      .find((s) => s.name === 'network');
    assert.ok(victim?.pid !== undefined && victim.pid !== process.pid);
    let tokens = 0;
    const started = Date.now();
    const err = await (async () => {
      try {
        for await (const ev of await get('miner1').client.stream('app_generateV1', {
          model: 'group',
          kind: 'completion',
          prompt: PROMPT,
          maxTokens: 3000,
          temperature: 0,
        })) {
          if (ev.type === 'token' && ++tokens === 1) process.kill(victim.pid as number, 'SIGKILL');
        }
      } catch (e) {
        return e as EngineError;
      }
      return undefined;
    })();
    const elapsed = Date.now() - started;
    assert.ok(
      err instanceof EngineError,
      `the request ends with an error, not a clean end (${tokens} tokens)`,
    );
    assert.ok(tokens < 3000, `the kill landed before the end (${tokens} tokens)`);
    assert.ok(
      ['BACKEND_FAILED', 'BACKEND_UNAVAILABLE'].includes(err.code as string),
      `${err.code}: ${err.message}`,
    );
    assert.ok(elapsed < 110_000, `ended in ${elapsed} ms, before the 120 s deadline rather than by it`);
    // Withdrawn while the group is broken (the member restarts after 15 s): neither advertised nor routed.
    await waitFor(async () => ((await advertised()) ? undefined : true), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the lead withdrawing the model',
    });
    await assert.rejects(
      async () => {
        for await (const _ of await get('miner1').client.stream('app_generateV1', {
          model: 'group',
          kind: 'completion',
          prompt: PROMPT,
          maxTokens: 2,
        })) {
          // nothing: the call fails before its first event
        }
      },
      (e: unknown) => e instanceof EngineError && e.code === 'BACKEND_UNAVAILABLE',
    );
    await waitFor(async () => ((await advertised()) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the lead serving the model again',
    });
    let again = 0;
    for await (const ev of await get('miner1').client.stream('app_generateV1', {
      model: 'group',
      kind: 'completion',
      prompt: PROMPT,
      maxTokens: 4,
      temperature: 0,
    })) {
      if (ev.type === 'token') again++;
    }
    assert.equal(again, 4);
  });
});
