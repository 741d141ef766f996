/**
 * The devnet's nodes: once the devnet chain is up, one `subnet node start` process per registered neuron,
 * each with its own config file (`<dataDir>/devnet/nodes/<wallet>.json`), log (`<dataDir>/devnet/logs/`)
 * and Engine API port. Validators run chain + app (the reference chat model) + network + consensus + gateway
 * (each its own port and key store, so clients may use any validator); miners run chain + app + network
 * serving a generated bigram chat model and the packaged sentence encoder. The last `dishonestMiners` run the
 * adversary app stack of examples/adversaries/challengeSpotter.mjs (the real model for what it guesses are
 * challenges, a cheaper bigram of a smaller corpus for the rest, under the same id), and `appStacks` puts any
 * other stack module in a miner's place: adversaries live in examples and tests, never here. It waits until every
 * node is ready and the validators find every miner, restarts a node that dies once, and stops them all
 * (SIGINT, then SIGKILL past a grace). It never touches the chain: `startDevnet` did that.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Network } from '@subnet/chain';
import type { ConfigInput } from '@subnet/config';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { errorMessage } from '@subnet/utils';
import { BUILT_IN_CORPUS, docsCorpus } from './corpus.js';

/** Id of the generated chat model every devnet miner serves. */
export const DEVNET_CHAT_MODEL = 'devnet-chat';
/**
 * The devnet chat models' context, in tokens. The generated models read bytes (a token each), so a request
 * with a tool's schema in its prompt needs more than their trained 512; the models attend to nothing, so
 * positions past it change no answer.
 */
export const DEVNET_CONTEXT = 2048;
/** Id of the pretrained embedding model (Universal Sentence Encoder) every devnet miner serves. */
export const DEVNET_EMBED_MODEL = 'use-embed';

/**
 * V8 flags of every devnet node process (docs/architecture.md, "Memory per node"). V8 sizes the young
 * generation by the machine's memory: on this 24 GiB machine a node committed 128 MiB of new space, touched
 * by every scavenge, for a heap whose live young objects are a few MiB. A 1 MiB semi-space took a miner from
 * 319 to 208 MiB resident at the same load.
 */
export const NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Environment of every devnet node process unless the devnet's own sets it: glibc's malloc keeps an arena per
 * thread (libuv's pool, V8's platform workers, llama.cpp's threads), each holding freed memory; two arenas
 * took a miner from 208 to 191 MiB resident.
 */
export const NODE_MEMORY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * Mean gap between one validator's challenges of a model on a devnet of `miners` miners: 3 s, shortened on a
 * larger devnet so that each validator reaches each miner (`redundancy` of them per challenge, least recently
 * challenged first) about twice per epoch of `epochMs`, never under 500 ms.
 */
export function devnetChallengeIntervalMs(miners: number, epochMs: number, redundancy = 3): number {
  const perRound = Math.ceil(Math.max(1, miners) / redundancy);
  return Math.max(500, Math.min(3000, Math.floor(epochMs / (2 * perRound))));
}

/** Id under which a dishonest miner loads the cheaper chat model (its adversary stack hides it). */
export const DEVNET_CHEAP_CHAT_MODEL = `${DEVNET_CHAT_MODEL}-cheap`;

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));
/** The adversary app stack of `dishonestMiners` (repository root, from `packages/cli/dist/src/`). */
export const CHALLENGE_SPOTTER_STACK = fileURLToPath(
  new URL('../../../../examples/adversaries/challengeSpotter.mjs', import.meta.url),
);

/** Paths of the devnet nodes' files under `dataDir`. */
export function devnetNodePaths(dataDir: string) {
  const dir = join(dataDir, 'devnet');
  return {
    nodes: join(dir, 'nodes'),
    logs: join(dir, 'logs'),
    models: join(dir, 'models'),
    chatModel: join(dir, 'models', `${DEVNET_CHAT_MODEL}.gguf`),
    cheapChatModel: join(dir, 'models', `${DEVNET_CHEAP_CHAT_MODEL}.gguf`),
    /** Key stores of the gateways past the first (the first keeps `<dataDir>/gateway.sqlite`). */
    gateways: join(dir, 'gateways'),
    password: join(dir, 'wallet-password'),
  };
}

export interface DevnetNodesOpts {
  /** Absolute data dir of the devnet: the nodes share its wallets, devnet.json and Engine API secret. */
  dataDir: string;
  /** The devnet's network file contents (rpcUrl, netuid, neurons with their multiaddrs). */
  network: Network;
  /**
   * Port of the first validator's OpenAI-compatible gateway; validator i listens on this port + i (0: each
   * picks a free one).
   */
  gatewayPort: number;
  /** Whether every validator runs the gateway stack. */
  gateway: boolean;
  /**
   * Whether the nodes also serve the embedding model (Universal Sentence Encoder, ~110 MB resident per node);
   * default true. false: the generated chat model only (`devnet.embeddings`).
   */
  embeddings?: boolean;
  /** Seconds per epoch (tempo × block time): the validators' challenge rate follows it and the miner count. */
  epochS?: number;
  /**
   * How many miners (the last ones) run the challenge-spotting adversary stack: the real model for what it
   * guesses are challenges, the cheaper one for organic traffic (default 0).
   */
  dishonestMiners?: number;
  /** Per miner wallet, the module of its app stack in place of `@subnet/app/stack` (`devnet.appStacks`). */
  appStacks?: Readonly<Record<string, string>>;
  logLevel: string;
  /** Where the bigram corpus is looked for (README.md, docs/*.md); default: the working directory. */
  corpusDir?: string;
  /** Grace between SIGINT and SIGKILL when stopping (default 10 s). */
  stopTimeoutMs?: number;
}

export interface DevnetNodesModules {
  /** An authenticated Engine API client of the node on `port` of 127.0.0.1. */
  client: (port: number) => Promise<EngineClient<EngineApi>>;
  /** Told when a node dies, is restarted, or is left down (the CLI writes it on stderr). */
  onEvent: (message: string) => void;
}

export interface DevnetNode {
  readonly wallet: string;
  readonly role: 'validator' | 'miner';
  readonly uid: number;
  readonly stacks: readonly string[];
  readonly configFile: string;
  readonly logFile: string;
  /** Engine API port on 127.0.0.1. */
  readonly port: number;
  /** The current process id (undefined once it is down). */
  readonly pid: number | undefined;
  /** How often it was restarted after dying (at most once). */
  readonly restarts: number;
}

export interface DevnetNodes {
  readonly nodes: readonly DevnetNode[];
  /**
   * Resolves when every node's `/ready` answers 200 and every validator finds every miner as a provider
   * of both devnet models; rejects on `signal`, past `timeoutMs`, or when a node is down for good.
   */
  ready(opts: { signal: AbortSignal; timeoutMs: number }): Promise<void>;
  /** Stops every node: SIGINT, then SIGKILL past the grace (at once with `force`). Idempotent. */
  stop(opts?: { force?: boolean }): Promise<void>;
}

interface Proc {
  node: DevnetNode & { pid: number | undefined; restarts: number };
  child: ChildProcess | undefined;
  exited: Promise<void>;
  /** Set when the node died twice: why, and where its log is. */
  down: string | undefined;
}

/** A free TCP port on 127.0.0.1 (free now; the node binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for a devnet node');
  return address.port;
}

/** Writes a generated chat model unless it exists (same corpus, same bytes: it is written once). */
async function ensureChatModel(file: string, corpus: string): Promise<void> {
  if (existsSync(file)) return;
  const { generateModel } = await import('@subnet/app');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, generateModel({ kind: 'bigram', corpus }));
  await rename(tmp, file);
}

/** The embedding model entry of a node's app stack, unless `embeddings` is off. */
function embedModels(opts: DevnetNodesOpts): { id: string; backend: 'use' }[] {
  return opts.embeddings === false ? [] : [{ id: DEVNET_EMBED_MODEL, backend: 'use' }];
}

/** The models every miner serves and every validator must find: the chat model, and the embedder unless off. */
export function devnetModels(embeddings = true): string[] {
  return embeddings ? [DEVNET_CHAT_MODEL, DEVNET_EMBED_MODEL] : [DEVNET_CHAT_MODEL];
}

/** Miners launched at once past the first batch (with the validators); more wait for these to be ready. */
const LAUNCH_BATCH = 8;

/** Nodes past which heartbeats go every 10 s instead of 5 s: each one reaches every node (mesh degree) times. */
const LARGE_DEVNET_NODES = 16;

const minerCount = (opts: DevnetNodesOpts) =>
  (opts.network.neurons ?? []).filter((n) => n.role === 'miner').length;

/** The config file of one devnet node. */
function nodeConfig(
  opts: DevnetNodesOpts,
  neuron: NonNullable<Network['neurons']>[number],
  port: number,
  stacks: readonly string[],
  dishonest: boolean,
  managed: readonly { name: string; url: string }[],
  /** Index of this validator among the validators (its gateway's port offset); 0 for miners. */
  validatorIndex: number,
): ConfigInput {
  const paths = devnetNodePaths(opts.dataDir);
  const appStack = dishonest ? CHALLENGE_SPOTTER_STACK : opts.appStacks?.[neuron.wallet];
  const modules: Record<string, string> = {
    chain: '@subnet/chain/stack',
    network: '@subnet/network/stack',
    app: appStack ?? '@subnet/app/stack',
    gateway: '@subnet/gateway/stack',
    consensus: '@subnet/consensus/stack',
  };
  const gatewayPort = opts.gatewayPort === 0 ? 0 : opts.gatewayPort + validatorIndex;
  return {
    dataDir: opts.dataDir,
    log: { level: opts.logLevel as 'info' },
    node: {
      processMode: 'single',
      host: '127.0.0.1',
      port,
      stacks: stacks.map((name) => ({ name, module: modules[name] ?? name })),
    },
    chain: {
      ...(opts.network.rpcUrl === undefined ? {} : { rpcUrl: opts.network.rpcUrl }),
      wallet: neuron.wallet,
      passwordFile: paths.password,
    },
    network: {
      netuid: opts.network.netuid ?? 1,
      listen: neuron.multiaddrs ?? [],
      // Gossip of heartbeats grows with the square of the nodes (each reaches every node via several mesh
      // peers): half as often on a large devnet, still three per 30 s provider TTL.
      ...((opts.network.neurons?.length ?? 0) > LARGE_DEVNET_NODES ? { heartbeatIntervalMs: 10_000 } : {}),
    },
    ...(stacks.includes('app')
      ? {
          app: {
            models:
              neuron.role === 'miner'
                ? [
                    {
                      id: DEVNET_CHAT_MODEL,
                      backend: 'llama.cpp',
                      path: paths.chatModel,
                      contextLength: DEVNET_CONTEXT,
                    },
                    // The adversary stack serves this one under the advertised id and hides it.
                    ...(dishonest
                      ? [
                          {
                            id: DEVNET_CHEAP_CHAT_MODEL,
                            backend: 'llama.cpp' as const,
                            path: paths.cheapChatModel,
                            contextLength: DEVNET_CONTEXT,
                          },
                        ]
                      : []),
                    ...embedModels(opts),
                  ]
                : // A validator's app stack holds the reference models its audits check against: the chat
                  // model (teacher-forced logprobs) and the embedder (cosine similarity of the embeddings).
                  [
                    {
                      id: DEVNET_CHAT_MODEL,
                      backend: 'llama.cpp',
                      path: paths.chatModel,
                      contextLength: DEVNET_CONTEXT,
                    },
                    ...embedModels(opts),
                  ],
          },
        }
      : {}),
    // Challenges every few seconds (more often with many miners) so scores move within an epoch; the
    // proposer claims every leaf, so miners see their emission without claiming themselves.
    ...(stacks.includes('consensus')
      ? {
          consensus: {
            challengeIntervalMs: devnetChallengeIntervalMs(minerCount(opts), (opts.epochS ?? 20) * 1000),
            claim: 'all',
          },
        }
      : {}),
    // The gateway's dashboard manages the miners' models through their Engine APIs (same data dir: same secret).
    // Each gateway has its own key store: an API key is valid on the gateway that created it only.
    ...(stacks.includes('gateway')
      ? {
          gateway: {
            host: '127.0.0.1',
            port: gatewayPort,
            ...(validatorIndex === 0 ? {} : { dbFile: join(paths.gateways, `${neuron.wallet}.sqlite`) }),
            dashboard: { nodes: [...managed] },
            // Payments settle every few seconds, so a person sees a paid request reach the miners' earnings.
            payments: { settleIntervalMs: 5000 },
          },
        }
      : {}),
  };
}

/**
 * The environment of a node: {@link NODE_MEMORY_ENV} under the devnet's own, less `SUBNET_*` overrides meant
 * for the devnet command.
 */
function nodeEnv(): NodeJS.ProcessEnv {
  return {
    ...NODE_MEMORY_ENV,
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SUBNET_'))),
  };
}

/** The last lines of a log, for an error message. */
async function logTail(file: string, lines = 8): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Writes the nodes' config files and starts one process per neuron of `opts.network`. Each process is
 * `subnet node start --config <file>` in its own process group (Ctrl-C reaches only the devnet, which
 * stops the nodes before anvil) with an IPC channel, so a node also stops if the devnet process dies.
 */
export async function startDevnetNodes(
  opts: DevnetNodesOpts,
  modules: DevnetNodesModules,
): Promise<DevnetNodes> {
  const paths = devnetNodePaths(opts.dataDir);
  await Promise.all(
    [paths.nodes, paths.logs, paths.models, paths.gateways].map((d) =>
      mkdir(d, { recursive: true, mode: 0o700 }),
    ),
  );
  const neurons = opts.network.neurons ?? [];
  const dishonestMiners = opts.dishonestMiners ?? 0;
  if (neurons.length > 0)
    await ensureChatModel(paths.chatModel, docsCorpus(opts.corpusDir ?? '.') ?? BUILT_IN_CORPUS);
  if (dishonestMiners > 0) {
    await ensureChatModel(paths.cheapChatModel, BUILT_IN_CORPUS.split('\n').slice(0, 2).join('\n'));
  }
  const validators = neurons.filter((n) => n.role === 'validator').map((n) => n.wallet);
  const miners = neurons.filter((n) => n.role === 'miner').map((n) => n.wallet);
  const cheats = new Set(dishonestMiners === 0 ? [] : miners.slice(-dishonestMiners));

  // Every node's port first: the gateway's config lists the miners' Engine APIs.
  const ports = new Map<string, number>();
  for (const neuron of neurons) ports.set(neuron.wallet, await freePort());
  const managed = neurons
    .filter((n) => n.role === 'miner')
    .map((n) => ({ name: n.wallet, url: `http://127.0.0.1:${ports.get(n.wallet) as number}` }));
  const procs: Proc[] = [];
  for (const neuron of neurons) {
    const stacks =
      neuron.role === 'miner'
        ? // The app stack before the network stack: the first heartbeat already lists the models.
          ['chain', 'app', 'network']
        : ['chain', 'app', 'network', 'consensus', ...(opts.gateway ? ['gateway'] : [])];
    const port = ports.get(neuron.wallet) as number;
    const configFile = join(paths.nodes, `${neuron.wallet}.json`);
    await writeFile(
      configFile,
      `${JSON.stringify(
        nodeConfig(
          opts,
          neuron,
          port,
          stacks,
          cheats.has(neuron.wallet),
          managed,
          Math.max(0, validators.indexOf(neuron.wallet)),
        ),
        null,
        2,
      )}\n`,
      { mode: 0o600 },
    );
    procs.push({
      node: {
        wallet: neuron.wallet,
        role: neuron.role,
        uid: neuron.uid,
        stacks,
        configFile,
        logFile: join(paths.logs, `${neuron.wallet}.log`),
        port,
        pid: undefined,
        restarts: 0,
      },
      child: undefined,
      exited: Promise.resolve(),
      down: undefined,
    });
  }

  let stopping = false;

  function launch(p: Proc): void {
    const log = openSync(p.node.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [...NODE_V8_FLAGS, BIN, 'node', 'start', '--config', p.node.configFile],
        {
          cwd: process.cwd(),
          env: nodeEnv(),
          stdio: ['ignore', log, log, 'ipc'],
          detached: true,
        },
      );
    } finally {
      closeSync(log);
    }
    p.child = child;
    p.node.pid = child.pid;
    p.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        p.node.pid = undefined;
        p.child = undefined;
        resolve();
        if (stopping) return;
        const how = signal === null ? `code ${code}` : signal;
        if (p.node.restarts === 0) {
          p.node.restarts++;
          launch(p);
          modules.onEvent(
            `devnet: node ${p.node.wallet} (pid ${child.pid}) exited with ${how}; restarted once as pid ${p.node.pid} (log: ${p.node.logFile})`,
          );
        } else {
          p.down = `node ${p.node.wallet} exited again with ${how}; it stays down (log: ${p.node.logFile})`;
          modules.onEvent(`devnet: ${p.down}`);
        }
      });
    });
    child.once('error', (err) => modules.onEvent(`devnet: node ${p.node.wallet}: ${errorMessage(err)}`));
  }

  // Validators and the first miners now; on a large devnet the other miners in batches, each once the one
  // before is ready (in `ready`): 35 nodes loading at once on 2 cores starved each other past every deadline.
  const waves: Proc[][] = [];
  const miners_ = procs.filter((p) => p.node.role === 'miner');
  const firstWave = [...procs.filter((p) => p.node.role !== 'miner'), ...miners_.slice(0, LAUNCH_BATCH)];
  for (let i = LAUNCH_BATCH; i < miners_.length; i += LAUNCH_BATCH)
    waves.push(miners_.slice(i, i + LAUNCH_BATCH));
  for (const p of firstWave) launch(p);

  async function isReady(p: Proc, signal: AbortSignal): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${p.node.port}/ready`, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
      });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** What each validator found last: `validator1 finds devnet-chat: 1, 2; use-embed: none`. */
  const lastFound = new Map<string, string>();

  async function findsAllMiners(
    wallet: string,
    client: EngineClient<EngineApi>,
    miners: number[],
  ): Promise<boolean> {
    const found: string[] = [];
    let all = true;
    for (const model of devnetModels(opts.embeddings)) {
      try {
        const { providers } = await client.call('network_findProvidersV1', { model, timeoutMs: 1000 });
        // Connected, and its heartbeat (what the gateway routes by) lists the model.
        const uids = providers
          .filter((x) => x.connected && x.models.some((m) => m.id === model))
          .map((x) => x.uid)
          .filter((u): u is number => u !== null);
        found.push(`${model}: uids ${uids.sort((a, b) => a - b).join(', ') || 'none'}`);
        all &&= miners.every((uid) => uids.includes(uid));
      } catch (err) {
        found.push(`${model}: ${errorMessage(err)}`);
        all = false;
      }
    }
    lastFound.set(wallet, `${wallet} finds ${found.join('; ')}`);
    return all;
  }

  async function failIfDown(): Promise<void> {
    const down = procs.find((p) => p.down !== undefined);
    if (down === undefined) return;
    const tail = await logTail(down.node.logFile);
    throw new Error(`${down.down}${tail === '' ? '' : `; its log ends with:\n${tail}`}`);
  }

  return {
    nodes: procs.map((p) => p.node),

    async ready({ signal, timeoutMs }) {
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      const pending = new Set(procs.filter((p) => p.child !== undefined || p.node.restarts > 0));
      const check = async () => {
        signal.throwIfAborted();
        if (deadline.aborted)
          throw new Error(
            pending.size > 0
              ? `devnet nodes not ready after ${timeoutMs / 1000} s: ${[...pending].map((p) => `${p.node.wallet} (log: ${p.node.logFile})`).join(', ')}`
              : `the validators do not find every miner after ${timeoutMs / 1000} s (${[...lastFound.values()].join('; ')}); see the logs in ${paths.logs}`,
          );
        await failIfDown();
      };
      while (pending.size > 0 || waves.length > 0) {
        await check();
        if (pending.size === 0) {
          for (const p of waves.shift() ?? []) {
            if (stopping) break;
            launch(p);
            pending.add(p);
          }
        }
        const ready = await Promise.all(
          [...pending].map(async (p) => [p, await isReady(p, deadline)] as const),
        );
        for (const [p, ok] of ready) if (ok) pending.delete(p);
        if (pending.size > 0) await sleep(200, deadline);
      }
      const miners = procs.filter((p) => p.node.role === 'miner').map((p) => p.node.uid);
      if (miners.length === 0) return;
      const validators = procs.filter((p) => p.node.role === 'validator');
      const clients = await Promise.all(
        validators.map(async (p) => ({ wallet: p.node.wallet, client: await modules.client(p.node.port) })),
      );
      try {
        const waiting = new Set(clients);
        while (waiting.size > 0) {
          await check();
          for (const v of [...waiting]) {
            if (await findsAllMiners(v.wallet, v.client, miners)) waiting.delete(v);
          }
          if (waiting.size > 0) await sleep(250, deadline);
        }
      } finally {
        await Promise.all(clients.map((v) => v.client.close()));
      }
    },

    async stop(stopOpts = {}) {
      stopping = true;
      const graceMs = stopOpts.force === true ? 0 : (opts.stopTimeoutMs ?? 10_000);
      await Promise.all(
        procs.map(async (p) => {
          const child = p.child;
          if (child === undefined) return;
          if (graceMs > 0) child.kill('SIGINT');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await p.exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/** Resident memory of a process in bytes (`/proc/<pid>/status` VmRSS), or 0 where it cannot be read. */
export async function residentBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}
