/**
 * `subnet devnet` and the chain commands as a user runs them: the devnet chain (`--no-nodes`) comes up with
 * subnet 1 and four neurons, `subnet metagraph --netuid 1` shows them (text and JSON), stake and weights
 * commands work and refuse bad input, and a second start resumes the same chain. Then the whole devnet
 * (`npm start`): a node process per neuron, the validator finds every miner for both models, the printed
 * curl gets a completion, the official openai client works unchanged (and gets OpenAI's errors), killing a
 * miner under load fails no request that had not started streaming, a node that dies is restarted once,
 * no miner at all is a 503, Ctrl-C leaves no process behind, and a second start reuses the API key.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  engineApi,
  loadOrCreateJwtSecret,
} from '@subnet/engine-api';
import { freePortRange } from '@subnet/utils';
import OpenAI from 'openai';

import { firstLine, spawnDevnet, stopDevnet as stop } from './devnetProcess.js';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

async function startDevnet(cwd: string): Promise<{ proc: ChildProcess; rpcUrl: string; resumed: boolean }> {
  // Blocks only on transactions (and a minute apart), so epochs move only when the test mines them.
  // One validator: this file is about the chain commands and the front door; epochDevnet.test.ts runs the
  // default three validators settling epochs.
  const proc = spawnDevnet(cwd, { SUBNET_DEVNET__BLOCK_TIME_S: '60', SUBNET_DEVNET__VALIDATORS: '1' }, [
    '--no-nodes',
  ]);
  const info = JSON.parse(await firstLine(proc)) as { rpcUrl: string; resumed: boolean };
  return { proc, rpcUrl: info.rpcUrl, resumed: info.resumed };
}

describe('subnet devnet and the chain commands', () => {
  let dir: string;
  let devnet: { proc: ChildProcess; rpcUrl: string; resumed: boolean };
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-devnet-'));
    devnet = await startDevnet(dir);
    env = { SUBNET_CHAIN__RPC_URL: devnet.rpcUrl };
  });
  after(async () => {
    await stop(devnet.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings up subnet 1 and the metagraph shows its four neurons', async () => {
    assert.equal(devnet.resumed, false);
    const text = await cli(['metagraph', '--netuid', '1'], env, dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /4 neurons \(1 validator, 3 miners\)/);
    assert.match(text.stdout, /^0\s+validator\s+1000\.0000\s+yes/m);
    assert.equal(text.stdout.match(/^\d+\s+miner\s+/gm)?.length, 3);
    const json = await cli(['--json', 'metagraph', '--netuid', '1'], env, dir);
    const m = JSON.parse(json.stdout) as {
      netuid: number;
      neurons: { uid: number; role: string; hotkey: string; stake: string }[];
    };
    assert.equal(m.netuid, 1);
    assert.deepEqual(
      m.neurons.map((n) => n.role),
      ['validator', 'miner', 'miner', 'miner'],
    );
    for (const n of m.neurons) assert.match(n.hotkey, /^0x[0-9a-fA-F]{40}$/);
  });

  it('epoch status shows the latest ended epoch, as text and JSON', async () => {
    const json = await cli(['--json', 'epoch', 'status', '--netuid', '1'], env, dir);
    assert.equal(json.code, 0, json.stderr);
    const e = JSON.parse(json.stdout) as {
      epoch: number;
      currentEpoch: number;
      status: string;
      yumaVersion: number;
    };
    assert.equal(e.epoch, Math.max(0, e.currentEpoch - 1));
    assert.ok(['open', 'awaiting', 'expired'].includes(e.status), e.status);
    assert.equal(e.yumaVersion, 3);
    const text = await cli(['epoch', 'status', '--netuid', '1', '--epoch', '0'], env, dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^subnet 1 epoch 0: \w+/m);
    assert.match(text.stdout, /proposal\s+none yet/);
    const header = (await cli(['metagraph', '--netuid', '1'], env, dir)).stdout;
    assert.match(header, /EMISSION\s+INCENTIVE\s+DIVIDENDS\s+TRUST\s+CONSENSUS/);
  });

  it('subnet list/show and neuron show', async () => {
    const list = await cli(['--json', 'subnet', 'list'], env, dir);
    assert.equal((JSON.parse(list.stdout) as { name: string }[])[0]?.name, 'devnet-llm');
    const show = await cli(['subnet', 'show', '--netuid', '1'], env, dir);
    assert.match(show.stdout, /tempo\s+20/);
    const neuron = await cli(['--json', 'neuron', 'show', '--netuid', '1', '--uid', '2'], env, dir);
    assert.equal((JSON.parse(neuron.stdout) as { role: string }).role, 'miner');
  });

  it('faucet, stake add and allocate move SUB; stake show reports it', async () => {
    assert.equal((await cli(['faucet', '--wallet', 'miner1'], env, dir)).code, 0);
    const add = await cli(['stake', 'add', '--amount', '2.5', '--wallet', 'miner1'], env, dir);
    assert.equal(add.code, 0, add.stderr);
    const alloc = await cli(
      ['stake', 'allocate', '--amount', '2', '--netuid', '1', '--wallet', 'miner1'],
      env,
      dir,
    );
    assert.equal(alloc.code, 0, alloc.stderr);
    const show = await cli(['--json', 'stake', 'show', '--wallet', 'miner1'], env, dir);
    const s = JSON.parse(show.stdout) as { free: string; allocated: string };
    assert.equal(s.allocated, (2n * 10n ** 18n).toString());
    assert.equal(s.free, (5n * 10n ** 17n).toString());
  });

  it('refuses bad input with a message saying what to fix, and names reverts', async () => {
    const neg = await cli(['stake', 'add', '--amount', '-1', '--wallet', 'miner1'], env, dir);
    assert.equal(neg.code, 2);
    assert.match(neg.stderr, /positive decimal number of SUB/);
    const tooMuch = await cli(
      ['stake', 'allocate', '--amount', '1000000', '--netuid', '1', '--wallet', 'miner1'],
      env,
      dir,
    );
    assert.equal(tooMuch.code, 2);
    assert.match(tooMuch.stderr, /exceeds the free stake/);
    const param = await cli(
      ['subnet', 'set-param', '--netuid', '1', '--param', 'tempo', '--value', '0', '--wallet', 'owner'],
      env,
      dir,
    );
    assert.equal(param.code, 1);
    assert.match(param.stderr, /InvalidHyperparameter\(tempo\)/);
    const notOwner = await cli(
      ['subnet', 'set-param', '--netuid', '1', '--param', 'tempo', '--value', '30', '--wallet', 'miner1'],
      env,
      dir,
    );
    assert.match(notOwner.stderr, /NotSubnetOwner/);
    const badName = await cli(
      ['subnet', 'set-param', '--netuid', '1', '--param', 'tempoo', '--value', '3', '--wallet', 'owner'],
      env,
      dir,
    );
    assert.equal(badName.code, 2);
    const dead = await cli(
      ['metagraph', '--netuid', '1'],
      { SUBNET_CHAIN__RPC_URL: 'http://127.0.0.1:1' },
      dir,
    );
    assert.equal(dead.code, 4);
    assert.match(dead.stderr, /cannot reach the chain RPC/);
  });

  it('weights commit, reveal in the next epoch, and a second reveal is refused by name', async () => {
    const commit = await cli(
      [
        '--json',
        'weights',
        'commit',
        '--netuid',
        '1',
        '--uids',
        '1,2',
        '--weights',
        '5,5',
        '--wallet',
        'validator1',
      ],
      env,
      dir,
    );
    assert.equal(commit.code, 0, commit.stderr);
    const { epoch } = JSON.parse(commit.stdout) as { epoch: number };
    // The reveal window is the next epoch (tempo 20): mine 4 blocks at a time until the reveal is no
    // longer early; a 4-block step can never jump over the 20-block window.
    let reveal = await cli(['weights', 'reveal', '--netuid', '1', '--wallet', 'validator1'], env, dir);
    for (let i = 0; i < 10 && /RevealTooEarly/.test(reveal.stderr); i++) {
      await fetch(devnet.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x4'] }),
      });
      reveal = await cli(['weights', 'reveal', '--netuid', '1', '--wallet', 'validator1'], env, dir);
    }
    assert.equal(reveal.code, 0, reveal.stderr);
    assert.match(reveal.stdout, /revealed/);
    const again = await cli(['weights', 'reveal', '--netuid', '1', '--wallet', 'validator1'], env, dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /revealWeights reverted: \w+/);
    assert.ok(epoch >= 0);
  });

  it('subnet create, neuron register and deregister, stake delegate, remove and claim', async () => {
    const created = await cli(
      [
        '--json',
        'subnet',
        'create',
        '--name',
        'second',
        '--description',
        'a test subnet',
        '--activate',
        '--wallet',
        'owner',
      ],
      env,
      dir,
    );
    assert.equal(created.code, 0, created.stderr);
    const { netuid } = JSON.parse(created.stdout) as { netuid: number };
    assert.equal(netuid, 2);
    const reg = await cli(
      [
        '--json',
        'neuron',
        'register',
        '--netuid',
        '2',
        '--wallet',
        'miner2',
        '--multiaddr',
        '/ip4/127.0.0.1/tcp/4002',
      ],
      env,
      dir,
    );
    assert.equal(reg.code, 0, reg.stderr);
    const { uid } = JSON.parse(reg.stdout) as { uid: number };
    const shown = JSON.parse(
      (await cli(['--json', 'neuron', 'show', '--netuid', '2', '--uid', String(uid)], env, dir)).stdout,
    ) as {
      multiaddrs: string[];
    };
    assert.deepEqual(shown.multiaddrs, ['/ip4/127.0.0.1/tcp/4002']);
    const dereg = await cli(
      ['neuron', 'deregister', '--netuid', '2', '--uid', String(uid), '--wallet', 'miner2'],
      env,
      dir,
    );
    assert.equal(dereg.code, 0, dereg.stderr);
    const list = JSON.parse(
      (await cli(['--json', 'neuron', 'list', '--netuid', '2'], env, dir)).stdout,
    ) as unknown[];
    assert.equal(list.length, 0);
    // Delegate to the validator's hotkey (by wallet name), then unbond some free stake.
    assert.equal((await cli(['stake', 'add', '--amount', '3', '--wallet', 'miner3'], env, dir)).code, 0);
    const delegate = await cli(
      ['stake', 'delegate', '--amount', '1', '--netuid', '1', '--to', 'validator1', '--wallet', 'miner3'],
      env,
      dir,
    );
    assert.equal(delegate.code, 0, delegate.stderr);
    // Taking part of it back: it unbonds (slashable) until a block, and cannot be withdrawn before.
    const dealloc = await cli(
      [
        'stake',
        'deallocate',
        '--amount',
        '0.5',
        '--netuid',
        '1',
        '--from',
        'validator1',
        '--wallet',
        'miner3',
      ],
      env,
      dir,
    );
    assert.equal(dealloc.code, 0, dealloc.stderr);
    assert.match(dealloc.stdout, /0\.50* SUB unbonds until block \d+ \(slashable until then\)/);
    const tooSoon = await cli(
      ['stake', 'withdraw', '--netuid', '1', '--from', 'validator1', '--wallet', 'miner3'],
      env,
      dir,
    );
    assert.equal(tooSoon.code, 1, 'the deallocation has not matured');
    assert.match(tooSoon.stderr, /UnbondingNotMatured/);
    const remove = await cli(['--json', 'stake', 'remove', '--amount', '2', '--wallet', 'miner3'], env, dir);
    assert.equal(remove.code, 0, remove.stderr);
    const early = await cli(['stake', 'claim', '--wallet', 'miner3'], env, dir);
    assert.equal(early.code, 1, 'nothing has matured yet');
    const s = JSON.parse(
      (await cli(['--json', 'stake', 'show', '--wallet', 'miner3'], env, dir)).stdout,
    ) as Record<string, string>;
    assert.equal(s.allocated, (5n * 10n ** 17n).toString());
    assert.equal(s.unbonding, (2n * 10n ** 18n).toString());
    assert.equal(s.free, '0');
  });

  it('stops on Ctrl-C and a second start resumes the same chain', async () => {
    const before = JSON.parse((await cli(['--json', 'metagraph', '--netuid', '1'], env, dir)).stdout) as {
      neurons: unknown[];
    };
    assert.equal(await stop(devnet.proc), 0);
    devnet = await startDevnet(dir);
    assert.equal(devnet.resumed, true);
    const again = await cli(
      ['--json', 'metagraph', '--netuid', '1'],
      { SUBNET_CHAIN__RPC_URL: devnet.rpcUrl },
      dir,
    );
    const after = JSON.parse(again.stdout) as { neurons: unknown[] };
    assert.deepEqual(
      (after.neurons as { uid: number; hotkey: string; stake: string }[]).map((n) => [
        n.uid,
        n.hotkey,
        n.stake,
      ]),
      (before.neurons as { uid: number; hotkey: string; stake: string }[]).map((n) => [
        n.uid,
        n.hotkey,
        n.stake,
      ]),
    );
  });
});

interface NodesInfo {
  resumed: boolean;
  readyMs: number;
  anvilPid: number;
  gatewayUrl: string;
  apiKey: string;
  curl: string;
  rssBytes: number;
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string; configFile: string }[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('subnet devnet with its nodes (npm start)', { timeout: 180_000 }, () => {
  let dir: string;
  let proc: ChildProcess;
  let info: NodesInfo;
  let stderr = '';
  // libp2p ports, free when first chosen; the second start (a resume) reuses them, as registered on chain.
  let p2pBasePort: number | undefined;
  const start = async (): Promise<void> => {
    stderr = '';
    p2pBasePort ??= await freePortRange(20);
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(p2pBasePort),
      SUBNET_DEVNET__VALIDATORS: '1',
    });
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    info = JSON.parse(await firstLine(proc)) as NodesInfo;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-devnet-nodes-'));
    await start();
  });
  after(async () => {
    if (proc.exitCode === null) await stop(proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts one live node process per neuron, each with its config file', () => {
    assert.equal(info.resumed, false);
    assert.deepEqual(
      info.nodes.map((n) => [n.wallet, n.role, n.uid]),
      [
        ['validator1', 'validator', 0],
        ['miner1', 'miner', 1],
        ['miner2', 'miner', 2],
        ['miner3', 'miner', 3],
      ],
    );
    for (const n of [info.anvilPid, ...info.nodes.map((x) => x.pid)])
      assert.ok(alive(n), `pid ${n} is alive`);
    const devnetJson = JSON.parse(readFileSync(join(dir, '.subnet', 'devnet.json'), 'utf8')) as NodesInfo;
    assert.equal(devnetJson.gatewayUrl, info.gatewayUrl);
    assert.equal(devnetJson.apiKey, info.apiKey);
    assert.ok(info.rssBytes > 0);
  });

  it('the validator finds the three miners as providers of devnet-chat and use-embed', async () => {
    const validator = info.nodes.find((n) => n.role === 'validator');
    assert.ok(validator !== undefined);
    for (const model of ['devnet-chat', 'use-embed']) {
      const r = await cli(
        ['--json', 'network', 'providers', model, '--config', validator.configFile],
        {},
        dir,
      );
      assert.equal(r.code, 0, r.stderr);
      const uids = (JSON.parse(r.stdout) as { uid: number }[]).map((p) => p.uid).sort();
      assert.deepEqual(uids, [1, 2, 3], model);
    }
  });

  it('the printed curl gets a chat completion from the gateway; embeddings work too', async () => {
    assert.match(info.curl, /\/v1\/chat\/completions/);
    const curl = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('sh', ['-c', info.curl], { timeout: 30_000 }, (err, stdout) =>
        resolve({ code: err === null ? 0 : 1, stdout }),
      );
    });
    assert.equal(curl.code, 0);
    const chat = JSON.parse(curl.stdout) as {
      model: string;
      choices: { message: { content: string } }[];
      usage: { completion_tokens: number };
    };
    assert.equal(chat.model, 'devnet-chat');
    assert.ok((chat.choices[0]?.message.content.length ?? 0) > 0);
    assert.ok(chat.usage.completion_tokens > 0);
    const res = await fetch(`${info.gatewayUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'use-embed', input: ['a subnet of miners'] }),
    });
    assert.equal(res.status, 200);
    const emb = (await res.json()) as { data: { embedding: number[] }[] };
    assert.equal(emb.data[0]?.embedding.length, 512);
  });

  it('the official openai client: chat (plain and streamed), completions, embeddings, models', async () => {
    const client = new OpenAI({ baseURL: `${info.gatewayUrl}/v1`, apiKey: info.apiKey, maxRetries: 0 });
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id).sort(), ['devnet-chat', 'use-embed']);
    // The validator's scoring hears of every organic request through gateway_watchOutcomesV1: the stream is
    // open (its start event arrived) before the request is made.
    const validator = info.nodes.find((n) => n.role === 'validator');
    assert.ok(validator !== undefined);
    const secret = await loadOrCreateJwtSecret(join(dir, '.subnet', 'engine-jwt.hex'));
    const engine = createEngineClient(
      engineApi,
      createHttpTransport({
        url: validator.url,
        token: createTokenSigner(secret, { subject: 'test', lifetimeS: 60 }),
      }),
    );
    const outcomes = await engine.stream('gateway_watchOutcomesV1', {}, { deadlineMs: 60_000 });
    const chat = await client.chat.completions.create({
      model: 'devnet-chat',
      messages: [{ role: 'user', content: 'What is a subnet?' }],
      max_tokens: 12,
      temperature: 0,
    });
    let outcome: Record<string, unknown> | undefined;
    for await (const o of outcomes) {
      outcome = o;
      break;
    }
    await engine.close();
    assert.ok(outcome !== undefined);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.model, 'devnet-chat');
    assert.equal(outcome.kind, 'chat');
    assert.equal(outcome.completionTokens, 12);
    assert.ok([1, 2, 3].includes(outcome.uid as number));
    assert.ok((outcome.latencyMs as number) > 0);
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.choices[0]?.message.role, 'assistant');
    assert.ok((chat.choices[0]?.message.content ?? '').length > 0);
    assert.equal(chat.usage?.completion_tokens, 12);
    assert.equal(chat.choices[0]?.finish_reason, 'length');
    assert.equal(chat.usage?.total_tokens, (chat.usage?.prompt_tokens ?? 0) + 12);

    const stream = await client.chat.completions.create({
      model: 'devnet-chat',
      messages: [{ role: 'user', content: 'Stream it.' }],
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    let withLogprobs = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      if ((choice?.logprobs?.content?.length ?? 0) > 0) withLogprobs += 1;
      finish = choice?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 10);
    assert.ok(withLogprobs > 0, 'token chunks carry logprobs');

    const completion = await client.completions.create({
      model: 'devnet-chat',
      prompt: 'the ',
      max_tokens: 5,
    });
    assert.equal(completion.object, 'text_completion');
    // Sampled with a fresh seed: the bigram may draw its end token before max_tokens (finish 'stop').
    const used = completion.usage?.completion_tokens ?? 0;
    assert.ok(used >= 1 && used <= 5, `completion tokens ${used}`);
    assert.equal(completion.choices[0]?.finish_reason, used === 5 ? 'length' : 'stop');

    // The client asks for base64 by default and decodes it.
    const emb = await client.embeddings.create({ model: 'use-embed', input: ['miners', 'validators'] });
    assert.equal(emb.data.length, 2);
    assert.equal(emb.data[1]?.embedding.length, 512);
    assert.ok((emb.usage.prompt_tokens ?? 0) > 0);
  });

  it('each bad request gets its OpenAI error: 404, 400 naming the field, 401 (missing, revoked), 429', async () => {
    const client = new OpenAI({ baseURL: `${info.gatewayUrl}/v1`, apiKey: info.apiKey, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
    await assert.rejects(
      client.chat.completions.create({ model: 'devnet-chat', messages, temperature: 7 }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.equal(err.param, 'temperature');
        return true;
      },
    );
    const raw = await fetch(`${info.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
      body: '{"model": "devnet-chat", "messages": [',
    });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    const anonymous = await fetch(`${info.gatewayUrl}/v1/models`);
    assert.equal(anonymous.status, 401);

    const validator = info.nodes.find((n) => n.role === 'validator');
    assert.ok(validator !== undefined);
    const created = await cli(
      [
        '--json',
        'gateway',
        'keys',
        'create',
        '--name',
        'e2e',
        '--requests-per-minute',
        '1',
        '--config',
        validator.configFile,
      ],
      {},
      dir,
    );
    assert.equal(created.code, 0, created.stderr);
    const { key, info: keyInfo } = JSON.parse(created.stdout) as { key: string; info: { id: string } };
    const limited = new OpenAI({ baseURL: `${info.gatewayUrl}/v1`, apiKey: key, maxRetries: 0 });
    await limited.completions.create({ model: 'devnet-chat', prompt: 'a', max_tokens: 1 });
    await assert.rejects(
      limited.completions.create({ model: 'devnet-chat', prompt: 'a', max_tokens: 1 }),
      (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        assert.ok(Number(err.headers?.get('retry-after')) >= 1);
        return true;
      },
    );
    const revoked = await cli(
      ['gateway', 'keys', 'revoke', keyInfo.id, '--config', validator.configFile],
      {},
      dir,
    );
    assert.equal(revoked.code, 0, revoked.stderr);
    await assert.rejects(limited.models.list(), (err) => err instanceof OpenAI.AuthenticationError);
  });

  it('killing a miner during a load fails no request that had not started streaming', async () => {
    const client = new OpenAI({ baseURL: `${info.gatewayUrl}/v1`, apiKey: info.apiKey, maxRetries: 0 });
    const victim = info.nodes.find((n) => n.wallet === 'miner1');
    assert.ok(victim !== undefined);
    const failures: string[] = [];
    let done = 0;
    let streamedAfterStart = 0;
    const worker = async (i: number) => {
      for (let k = 0; k < 8; k++) {
        if (i % 2 === 0) {
          const r = await client.chat.completions
            .create({
              model: 'devnet-chat',
              messages: [{ role: 'user', content: `q${i}-${k}` }],
              max_tokens: 24,
            })
            .catch((err: Error) => err);
          if (r instanceof Error) failures.push(`plain: ${r.message}`);
        } else {
          let chunks = 0;
          try {
            const s = await client.chat.completions.create({
              model: 'devnet-chat',
              messages: [{ role: 'user', content: `s${i}-${k}` }],
              max_tokens: 24,
              stream: true,
            });
            for await (const _ of s) chunks += 1;
          } catch (err) {
            // Allowed only once the stream had begun: the client saw chunks before the error event.
            if (chunks === 0) failures.push(`stream before its first chunk: ${(err as Error).message}`);
            else streamedAfterStart += 1;
          }
        }
        done += 1;
        if (done === 12) process.kill(victim.pid, 'SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => worker(i)));
    assert.equal(done, 48);
    assert.deepEqual(failures, []);
    assert.ok(streamedAfterStart <= 3, `${streamedAfterStart} streams were cut after they began`);
    // The kill did hit requests: the gateway saw attempts fail on the victim and moved them elsewhere.
    const validator = info.nodes.find((n) => n.role === 'validator');
    assert.ok(validator !== undefined);
    const status = await cli(['--json', 'gateway', 'status', '--config', validator.configFile], {}, dir);
    assert.equal(status.code, 0, status.stderr);
    const miners = (JSON.parse(status.stdout) as { miners: { uid: number | null; failures: number }[] })
      .miners;
    assert.ok((miners.find((m) => m.uid === 1)?.failures ?? 0) >= 1, status.stdout);
    // The devnet restarts it; the next test waits for that.
    let restarted: RegExpExecArray | null = null;
    for (let i = 0; i < 200 && restarted === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      restarted = /node miner1 \(pid \d+\) exited with SIGKILL; restarted once as pid (\d+)/.exec(stderr);
    }
    assert.ok(restarted !== null, stderr);
    victim.pid = Number(restarted[1]);
  });

  it('restarts a node that dies, once, and says so on stderr', async () => {
    const miner = info.nodes.find((n) => n.wallet === 'miner3');
    assert.ok(miner !== undefined);
    process.kill(miner.pid, 'SIGKILL');
    let restarted: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && restarted === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      restarted = /node miner3 \(pid \d+\) exited with SIGKILL; restarted once as pid (\d+)/.exec(stderr);
    }
    assert.ok(restarted !== null, stderr);
    miner.pid = Number(restarted[1]);
    assert.ok(alive(miner.pid));
  });

  it('with every miner gone, a request gets 503 with a clear message, and the gateway keeps serving', async () => {
    for (const n of info.nodes.filter((x) => x.role === 'miner')) {
      if (alive(n.pid)) process.kill(n.pid, 'SIGKILL');
    }
    const res = await fetch(`${info.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'devnet-chat', messages: [{ role: 'user', content: 'anyone?' }] }),
    });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { message: string; code: string } };
    assert.match(body.error.message, /miner/);
    const models = await fetch(`${info.gatewayUrl}/v1/models`, {
      headers: { authorization: `Bearer ${info.apiKey}` },
    });
    assert.equal(models.status, 200);
  });

  it('Ctrl-C stops every node and anvil; a second start resumes and reuses the API key', async () => {
    const pids = [info.anvilPid, ...info.nodes.map((n) => n.pid)];
    assert.equal(await stop(proc), 0);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`);
    const { apiKey } = info;
    await start();
    assert.equal(info.resumed, true);
    assert.equal(info.apiKey, apiKey);
    const pids2 = [info.anvilPid, ...info.nodes.map((n) => n.pid)];
    for (const pid of pids2) assert.ok(alive(pid));
    assert.equal(await stop(proc), 0);
    for (const pid of pids2) assert.equal(alive(pid), false, `pid ${pid} is gone`);
  });
});
