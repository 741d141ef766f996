/**
 * The gateway's part of `npm run bench`: the whole path a client request takes — client → the validator's
 * gateway (OpenAI API, key check, rate limit) → its network stack → the synapse protocol over libp2p → the
 * miner's network stack → its app stack → an instant OpenAI-compatible backend — against the client calling
 * that same backend directly, in the same run, in interleaved rounds. A devnet chain (anvil) registers one
 * validator and one miner; each node is its own process (`subnet node start`), as in `npm start`.
 *
 * Reports added latency (p50, p99) at concurrency 16, throughput of the full path at concurrency 64, and the
 * validator process's CPU per streamed token (the SSE relay). Prints one JSON object on stdout.
 *
 * Metering (issue 15): the same rounds also run the full path with a key bound to a paying client's account
 * (`POST /v1/payments/keys` with a signed SpendingAuthorization over a prepaid deposit): each request is
 * reserved against the account, charged at the on-chain price of the (priced) devnet model and answered with a
 * signed usage receipt; the free admin key's requests are not metered. `metering` compares the two throughputs
 * at c=64 (target: metered ≥ 0.95 × free).
 *
 * Knobs (env): BENCH_GATEWAY_ROUND_MS (default 2000), BENCH_GATEWAY_ROUNDS (4), BENCH_GATEWAY_TOKENS (20000).
 * For profiling: BENCH_PROF=<dir> writes a CPU profile per node (nodes.ts), and BENCH_GATEWAY_SOAK_MS=<ms> runs
 * only the free full path at c=64 for that long after the warm-up and prints its throughput (no targets).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAi } from '../../packages/app/dist/test/fixtures/openaiServer.js';
import {
  createSubnetClient,
  DEVNET_CLIENT,
  depositPayment,
  getModelPrices,
  startDevnet,
} from '../../packages/chain/dist/src/index.js';
import { randomNonce, spendingAuthorizationTypedData } from '../../packages/contracts/dist/src/index.js';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  engineApi,
  loadOrCreateJwtSecret,
} from '../../packages/engine-api/dist/src/index.js';
import { freePortRange } from '../../packages/utils/dist/src/index.js';
import { createWalletStore } from '../../packages/wallet/dist/src/index.js';
import { drive, round, summariseLoad } from './measure.ts';
import {
  chat,
  closePools,
  cpuSeconds,
  freePort,
  post,
  startNode as startNodeProcess,
  stopNodes,
  timed,
} from './nodes.ts';

const ROUND_MS = Number(process.env.BENCH_GATEWAY_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 4);
const RELAY_TOKENS = Number(process.env.BENCH_GATEWAY_TOKENS ?? 20_000);
const SOAK_MS = Number(process.env.BENCH_GATEWAY_SOAK_MS ?? 0);
/** A model the devnet prices (DEVNET_PRICES), so that metered requests cost something. */
const MODEL = 'devnet-chat';
/** What the paying client deposits with the gateway and authorises it to spend (sUSD units, 6 decimals). */
const DEPOSIT = 500_000_000n;

const progress = (m: string) => process.stderr.write(`bench gateway: ${m}\n`);
const startNode = (dir: string, name: string, config: unknown) =>
  startNodeProcess(dir, name, config, progress);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-bench-gateway-'));
  const children: ChildProcess[] = [];
  const backend = await startFakeOpenAi([MODEL]);
  let devnet: Awaited<ReturnType<typeof startDevnet>> | undefined;
  try {
    const p2pBase = await freePortRange(8);
    progress('devnet chain with one validator and one miner');
    devnet = await startDevnet({
      dataDir: dir,
      port: 0,
      blockTimeS: 60,
      validators: 1,
      miners: 1,
      p2pBasePort: p2pBase,
    });
    const rpc = async (method: string, params: unknown[]) => {
      const res = await fetch(devnet?.anvil.rpcUrl as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      return ((await res.json()) as { result: unknown }).result;
    };
    const sdk = createSubnetClient({
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: devnet.network.chainId,
      contracts: devnet.network.contracts,
      pollingIntervalMs: 50,
    });
    // The devnet's prices take effect at the subnet's next epoch boundary: mine up to it.
    for (let i = 0; ; i++) {
      const block = await sdk.chain.public.getBlockNumber();
      const price = (await getModelPrices(sdk.chain, 1, block)).find((m) => m.model === MODEL);
      if (price !== undefined && price.completionPerMillion > 0n) break;
      if (i > 50) throw new Error(`the devnet never priced ${MODEL}`);
      await rpc('anvil_mine', ['0x5']);
    }
    const neurons = devnet.network.neurons ?? [];
    const addrs = (wallet: string) => neurons.find((n) => n.wallet === wallet)?.multiaddrs ?? [];
    const common = (wallet: string, port: number) => ({
      dataDir: dir,
      log: { level: 'warn' },
      chain: {
        rpcUrl: devnet?.anvil.rpcUrl,
        wallet,
        passwordFile: join(dir, 'devnet', 'wallet-password'),
        pollIntervalMs: 500,
      },
      network: { listen: addrs(wallet), heartbeatIntervalMs: 1000 },
      node: { port, stacks: [] as { name: string; module: string }[] },
    });
    const minerConfig = common('miner1', await freePort());
    minerConfig.node.stacks = [
      { name: 'chain', module: '@subnet/chain/stack' },
      { name: 'network', module: '@subnet/network/stack' },
      { name: 'app', module: '@subnet/app/stack' },
    ];
    const validatorPort = await freePort();
    const gatewayPort = await freePort();
    const validatorConfig = {
      ...common('validator1', validatorPort),
      // Account-bound keys get the gateway's default limits: high enough not to throttle the bench.
      gateway: { port: gatewayPort, requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 },
    };
    validatorConfig.node.stacks = [
      { name: 'chain', module: '@subnet/chain/stack' },
      { name: 'network', module: '@subnet/network/stack' },
      { name: 'gateway', module: '@subnet/gateway/stack' },
    ];
    progress('starting the miner and the validator nodes');
    const miner = startNode(dir, 'miner1', {
      ...minerConfig,
      app: {
        models: [{ id: MODEL, backend: 'openai', baseUrl: backend.url, model: MODEL }],
        scheduler: { concurrency: 128, queueCapacity: 4096 },
      },
    });
    const validator = startNode(dir, 'validator1', validatorConfig);
    children.push(miner, validator);

    const secret = await loadOrCreateJwtSecret(join(dir, 'engine-jwt.hex'));
    const engine = createEngineClient(
      engineApi,
      createHttpTransport({
        url: `http://127.0.0.1:${validatorPort}`,
        token: createTokenSigner(secret, { subject: 'bench', lifetimeS: 60 }),
      }),
    );
    const deadline = Date.now() + 60_000;
    let key: string | undefined;
    while (key === undefined) {
      if (Date.now() > deadline) throw new Error('the validator did not come up in 60 s');
      key = await engine
        .call('gateway_createKeyV1', {
          name: 'bench',
          requestsPerMinute: 1_000_000,
          tokensPerMinute: 1_000_000_000,
        })
        .then((r) => r.key)
        .catch(() => undefined);
      if (key === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    const auth = { authorization: `Bearer ${key}` };
    const body = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello world' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    while (true) {
      if (Date.now() > deadline) throw new Error('the miner never became routable');
      const ok = await chat(`${gateway}/v1/chat/completions`, auth, body).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await engine.close();

    progress('paying client: deposit with the gateway, signed spending authorization, account-bound key');
    const terms = (await (await fetch(`${gateway}/v1/payments`)).json()) as {
      chain_id: number;
      gateway: `0x${string}`;
      escrow: `0x${string}`;
      models: { id: string; prompt_per_million: string; completion_per_million: string }[];
    };
    const priced = terms.models.find((m) => m.id === MODEL);
    if (priced === undefined || BigInt(priced.completion_per_million) === 0n)
      throw new Error(`the gateway shows no price for ${MODEL}: ${JSON.stringify(terms.models)}`);
    const password = readFileSync(join(dir, 'devnet', 'wallet-password'), 'utf8').trim();
    const payer = await createWalletStore({ dataDir: dir }).unlock(DEVNET_CLIENT.wallet, 'coldkey', password);
    await depositPayment(sdk.withAccount(payer).chain, { gateway: terms.gateway, amount: DEPOSIT });
    const now = (await sdk.chain.public.getBlock()).timestamp;
    const authorization = {
      client: payer.address,
      gateway: terms.gateway,
      cap: DEPOSIT,
      expiry: now + 86_400n,
      nonce: randomNonce(),
    };
    const signature = await payer.signTypedData(
      spendingAuthorizationTypedData({
        chainId: terms.chain_id,
        paymentEscrow: terms.escrow,
        authorization,
      }),
    );
    const bound = await fetch(`${gateway}/v1/payments/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        authorization: { ...authorization, cap: DEPOSIT.toString(), expiry: authorization.expiry.toString() },
        signature,
      }),
    });
    const boundBody = (await bound.json()) as { key?: string };
    if (!bound.ok || boundBody.key === undefined)
      throw new Error(`POST /v1/payments/keys: ${bound.status} ${JSON.stringify(boundBody)}`);
    const paidAuth = { authorization: `Bearer ${boundBody.key}` };
    // A metered answer carries its signed receipt (an SSE comment line); a free one does not.
    const probe = await post(`${gateway}/v1/chat/completions`, paidAuth, body);
    if (!probe.ok || !probe.text.includes(': x-subnet-receipt '))
      throw new Error(`the metered answer has no receipt: ${probe.status} ${probe.text.slice(0, 300)}`);
    const freeProbe = await post(`${gateway}/v1/chat/completions`, auth, body);
    if (freeProbe.text.includes('x-subnet-receipt')) throw new Error('the free key was metered');

    const direct = () => chat(`${backend.url}/v1/chat/completions`, {}, body);
    const full = () => chat(`${gateway}/v1/chat/completions`, auth, body);
    const metered = () => chat(`${gateway}/v1/chat/completions`, paidAuth, body);
    progress('warm-up');
    await drive(full, 16, 2000);
    await drive(metered, 16, 2000);
    await drive(direct, 16, 1000);
    if (SOAK_MS > 0) {
      const cpu0 = { validator: cpuSeconds(validator.pid as number), miner: cpuSeconds(miner.pid as number) };
      const soak = await timed(64, SOAK_MS, full);
      const us = (pid: number, before: number) =>
        round(((cpuSeconds(pid) - before) * 1e6) / soak.samples.length, 0);
      process.stdout.write(
        `${JSON.stringify({
          bench: 'gateway-soak',
          full: summariseLoad(soak.samples, soak.elapsedMs, []),
          cpuPerRequestUs: {
            validator: us(validator.pid as number, cpu0.validator),
            miner: us(miner.pid as number, cpu0.miner),
          },
        })}\n`,
      );
      return;
    }

    const at = async (concurrency: number) => {
      const acc = {
        direct: { s: [] as number[], ms: 0, rounds: [] as number[] },
        full: { s: [] as number[], ms: 0, rounds: [] as number[] },
        metered: { s: [] as number[], ms: 0, rounds: [] as number[] },
      };
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which of the gateway's two paths goes first, so neither always follows the other.
        const gatewayPaths = [
          ['full', full],
          ['metered', metered],
        ] as const;
        for (const [k, f] of [
          ['direct', direct] as const,
          ...(r % 2 === 0 ? gatewayPaths : [...gatewayPaths].reverse()),
        ]) {
          const { samples, elapsedMs } = await timed(concurrency, ROUND_MS, f);
          acc[k].s.push(...samples);
          acc[k].ms += elapsedMs;
          acc[k].rounds.push(round((samples.length * 1000) / elapsedMs, 0));
        }
      }
      return {
        direct: summariseLoad(acc.direct.s, acc.direct.ms, acc.direct.rounds),
        full: summariseLoad(acc.full.s, acc.full.ms, acc.full.rounds),
        metered: summariseLoad(acc.metered.s, acc.metered.ms, acc.metered.rounds),
      };
    };
    progress(`c=1: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c1 = await at(1);
    progress(`c=16: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c16 = await at(16);
    progress(`c=64: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c64 = await at(64);

    progress('CPU per request of each process: 4 s of the full path at c=16');
    const cpuBefore = {
      validator: cpuSeconds(validator.pid as number),
      miner: cpuSeconds(miner.pid as number),
      bench: cpuSeconds(process.pid),
    };
    const load = await timed(16, 4000, full);
    const perRequestUs = (k: keyof typeof cpuBefore, pid: number) =>
      round(((cpuSeconds(pid) - cpuBefore[k]) * 1e6) / load.samples.length, 0);
    const cpuPerRequestUs = {
      validator: perRequestUs('validator', validator.pid as number),
      miner: perRequestUs('miner', miner.pid as number),
      clientAndBackend: perRequestUs('bench', process.pid),
    };
    progress('validator CPU per metered request: 4 s of the metered path at c=16');
    const meteredCpu0 = cpuSeconds(validator.pid as number);
    const meteredLoad = await timed(16, 4000, metered);
    const validatorMeteredUs = round(
      ((cpuSeconds(validator.pid as number) - meteredCpu0) * 1e6) / meteredLoad.samples.length,
      0,
    );

    progress(`SSE relay: ${RELAY_TOKENS} tokens through the gateway`);
    const words = 2000;
    const long = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: Array.from({ length: words }, (_, i) => `w${i}`).join(' ') }],
      max_tokens: words,
      stream: true,
    });
    const cpu0 = cpuSeconds(validator.pid as number);
    const t0 = performance.now();
    for (let i = 0; i < RELAY_TOKENS / words; i++) await chat(`${gateway}/v1/chat/completions`, auth, long);
    const relayCpuS = cpuSeconds(validator.pid as number) - cpu0;
    const relayMs = performance.now() - t0;

    const addedP50 = round(c16.full.p50Ms - c16.direct.p50Ms, 3);
    const addedP99 = round(c16.full.p99Ms - c16.direct.p99Ms, 3);
    const relayUs = round((relayCpuS * 1e6) / RELAY_TOKENS, 2);
    const meteringRatio = (c: typeof c64) => round(c.metered.rps / c.full.rps, 3);
    const meteringC64 = meteringRatio(c64);

    process.stdout.write(
      `${JSON.stringify({
        bench: 'gateway',
        note: 'full: client → gateway (OpenAI API, key, limits) → validator network stack → synapse over libp2p → miner network stack → app stack (openai backend) → instant OpenAI-compatible server; direct: client → that server. Streamed chat (2 tokens, include_usage), read to [DONE], undici keep-alive pool, interleaved rounds. Nodes are separate processes; client and backend share this process. Relay CPU: the validator process (gateway + network stack) per token streamed, from /proc (10 ms ticks).',
        c1,
        c16,
        c64,
        addedLatencyC16: { p50Ms: addedP50, p99Ms: addedP99 },
        metering: {
          note: `metered: the full path with a key bound to a prepaid account (${MODEL} at ${priced.prompt_per_million}/${priced.completion_per_million} units per million prompt/completion tokens): reserve, charge, signed usage receipt per request, settlement loop running; full: the free admin key (no metering). Same rounds, interleaved.`,
          rpsRatioC1: meteringRatio(c1),
          rpsRatioC16: meteringRatio(c16),
          rpsRatioC64: meteringC64,
          addedP50MsC16: round(c16.metered.p50Ms - c16.full.p50Ms, 3),
          addedP99MsC16: round(c16.metered.p99Ms - c16.full.p99Ms, 3),
          validatorCpuPerRequestUs: { free: cpuPerRequestUs.validator, metered: validatorMeteredUs },
        },
        cpuPerRequestUs,
        relay: {
          tokens: RELAY_TOKENS,
          cpuS: round(relayCpuS, 3),
          wallMs: round(relayMs, 0),
          cpuUsPerToken: relayUs,
        },
        targets: {
          addedP50Ms: { target: 1, value: addedP50, met: addedP50 <= 1 },
          addedP99Ms: { target: 3, value: addedP99, met: addedP99 <= 3 },
          fullPathRpsC64: { target: 3000, value: c64.full.rps, met: c64.full.rps >= 3000 },
          relayCpuUsPerToken: { target: 10, value: relayUs, met: relayUs <= 10 },
          meteringRpsRatioC64: { target: 0.95, value: meteringC64, met: meteringC64 >= 0.95 },
        },
      })}\n`,
    );
  } finally {
    await stopNodes(children);
    await closePools();
    await backend.close();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
