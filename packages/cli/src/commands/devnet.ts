/**
 * `subnet devnet` (what `npm start` runs): a whole local subnet on this machine — anvil on 127.0.0.1, the
 * contracts, subnet 1 with its validators and miners, and (unless `--no-nodes`) one node process per
 * neuron: miners serving a generated chat model and (unless `devnet.embeddings` is false) a pretrained
 * embedding model, every validator running
 * an OpenAI-compatible gateway with the dashboard (each its own port and key store). Resumed from
 * `<dataDir>/devnet/` when it exists. Prints where everything is, with one API key per gateway and a curl to
 * paste, the dashboard's URL and admin token, and stops the nodes, then anvil, on Ctrl-C.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Network } from '@subnet/chain';
import type { Config } from '@subnet/config';
import { adminTokenFileOf, loadOrCreateAdminToken } from '@subnet/dashboard';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { loadOrCreateJwtSecret } from '@subnet/engine-api';
import type { Command } from 'commander';
import { type GlobalOpts, nodeClient, resolveConfig, withProgress } from '../context.js';
import {
  DEVNET_CHAT_MODEL,
  DEVNET_EMBED_MODEL,
  type DevnetNodes,
  devnetNodePaths,
  residentBytes,
  startDevnetNodes,
} from '../devnetNodes.js';
import { CliError, ExitCode } from '../exitCodes.js';
import { formatSub } from './chainContext.js';

/**
 * How long the nodes get to become ready (models loaded, every miner found) before the start fails: 120 s, and
 * 8 s per node past 20 (on 2 cores shared with other work, 35 nodes took over 3 minutes to load and find each other).
 */
export function readyTimeoutMs(nodes: number): number {
  return 120_000 + Math.max(0, nodes - 20) * 8_000;
}
const API_KEY_NAME = 'devnet';

interface DevnetFlags {
  port?: string;
  dataDir?: string;
  nodes: boolean;
}

/** A client of the devnet node listening on `port` of 127.0.0.1 (same secret: same data dir). */
function clientOf(config: Config, port: number): Promise<EngineClient<EngineApi>> {
  return nodeClient({ ...config, node: { ...config.node, host: '127.0.0.1', port } });
}

/**
 * The gateway's URL and an API key: the key saved in devnet.json when the gateway still lists it
 * unrevoked, else a new one.
 */
async function gatewayAccess(
  client: EngineClient<EngineApi>,
  previousKey: string | undefined,
): Promise<{ url: string; apiKey: string }> {
  const { url } = await client.call('gateway_getStatusV1', {});
  if (previousKey !== undefined) {
    const { keys } = await client.call('gateway_listKeysV1', { includeRevoked: false });
    if (keys.some((k) => k.name === API_KEY_NAME && previousKey.startsWith(k.prefix)))
      return { url, apiKey: previousKey };
  }
  const { key } = await client.call('gateway_createKeyV1', { name: API_KEY_NAME });
  return { url, apiKey: key };
}

/** One validator's gateway as devnet.json lists it (`gateways`): each key is valid on its own gateway only. */
export interface DevnetGateway {
  wallet: string;
  uid: number;
  url: string;
  apiKey: string;
}

/** The `gateways` a previous run wrote in devnet.json (their keys are reused while still listed). */
async function previousGateways(file: string): Promise<Map<string, string>> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as { gateways?: unknown };
    const list = Array.isArray(raw.gateways) ? (raw.gateways as Partial<DevnetGateway>[]) : [];
    return new Map(
      list.flatMap((g) =>
        typeof g.wallet === 'string' && typeof g.apiKey === 'string' ? [[g.wallet, g.apiKey] as const] : [],
      ),
    );
  } catch {
    return new Map();
  }
}

/** A curl of the gateway's chat completions, ready to paste. */
export function chatCurl(gatewayUrl: string, apiKey: string): string {
  const body = JSON.stringify({
    model: DEVNET_CHAT_MODEL,
    messages: [{ role: 'user', content: 'What is a subnet?' }],
    max_tokens: 32,
  });
  return `curl -s ${gatewayUrl.replace(/\/$/, '')}/v1/chat/completions -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' -d '${body}'`;
}

const mib = (bytes: number) => `${Math.round(bytes / 1_048_576)} MiB`;

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description(
      'Start (or resume) the local devnet: anvil, contracts, subnet 1 with validators and miners, and their nodes',
    )
    .option('--port <port>', 'anvil port on 127.0.0.1 (default: devnet.port, 8545)')
    .option('--data-dir <dir>', 'where the devnet keeps its chain state, wallets, node configs and logs')
    .option('--no-nodes', 'only the chain: start no node processes')
    .action(async (flags: DevnetFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const config = resolveConfig(global, {
        ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
        ...(flags.port === undefined ? {} : { devnet: { port: Number(flags.port) } }),
      });
      const { startDevnet, createSubnetClient, fetchMetagraph } = await import('@subnet/chain');
      const started = Date.now();

      // Ctrl-C (or SIGTERM) at any point, start included: stop what runs, nodes first, then anvil.
      // A second one while stopping kills the nodes at once.
      const stopping = new AbortController();
      let nodes: DevnetNodes | undefined;
      const onSignal = () => {
        if (stopping.signal.aborted) void nodes?.stop({ force: true });
        else stopping.abort(new CliError(ExitCode.FAILURE, 'stopped before the devnet was ready'));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let quiet = false;
      const note = (s: string): void => {
        if (!quiet) process.stderr.write(`${s}\n`);
      };

      let devnet: Awaited<ReturnType<typeof startDevnet>> | undefined;
      let exitOnCrash = (): void => {};
      try {
        devnet = await withProgress(global, 'starting the devnet…', () =>
          startDevnet({
            dataDir: config.dataDir,
            port: config.devnet.port,
            blockTimeS: config.devnet.blockTimeS,
            validators: config.devnet.validators,
            miners: config.devnet.miners,
            tempo: config.devnet.tempo,
            p2pBasePort: config.devnet.p2pBasePort,
            signal: stopping.signal,
            onProgress: (step) => note(`devnet: ${step}`),
          }),
        ).catch((err: unknown) => {
          if (stopping.signal.aborted) throw stopping.signal.reason;
          throw new CliError(ExitCode.FAILURE, `the devnet failed to start: ${(err as Error).message}`);
        });
        // Last resort if this process ends without the finally below (an uncaught error): no anvil left behind.
        const anvilPid = devnet.anvil.pid;
        exitOnCrash = () => {
          try {
            process.kill(anvilPid, 'SIGTERM');
          } catch {}
        };
        process.once('exit', exitOnCrash);
        stopping.signal.throwIfAborted();
        let network: Network = devnet.network;

        let gateway: { url: string; apiKey: string; dashboardUrl: string; adminToken: string } | undefined;
        let gateways: DevnetGateway[] = [];
        if (flags.nodes) {
          // One block every blockTimeS from here on, so an epoch lasts tempo × blockTimeS however busy the nodes are.
          await devnet.intervalMiningOnly();
          note(`devnet: starting ${network.neurons?.length ?? 0} nodes`);
          // The nodes share the data dir's Engine API secret: create it before they race to.
          await loadOrCreateJwtSecret(config.engine.jwtSecretFile);
          nodes = await startDevnetNodes(
            {
              dataDir: config.dataDir,
              network,
              gatewayPort: config.devnet.gatewayPort,
              gateway: true,
              embeddings: config.devnet.embeddings,
              epochS: config.devnet.tempo * config.devnet.blockTimeS,
              dishonestMiners: config.devnet.dishonestMiners,
              ...(config.devnet.appStacks === undefined ? {} : { appStacks: config.devnet.appStacks }),
              logLevel: config.log.level,
            },
            {
              client: (port) => clientOf(config, port),
              onEvent: (message) => process.stderr.write(`${message}\n`),
            },
          );
          note('devnet: waiting for the nodes (models loaded, every miner found by the validators)');
          await withProgress(global, 'waiting for the nodes…', () =>
            (nodes as DevnetNodes).ready({
              signal: stopping.signal,
              timeoutMs: readyTimeoutMs((nodes as DevnetNodes).nodes.length),
            }),
          ).catch((err: unknown) => {
            if (stopping.signal.aborted) throw stopping.signal.reason;
            throw new CliError(
              ExitCode.FAILURE,
              `the devnet nodes failed to start: ${(err as Error).message}`,
            );
          });
          // Every validator runs a gateway with its own key store: one API key per gateway (the first's also as
          // `apiKey`, beside `gatewayUrl`, as before), reused on a resume while that gateway still lists it.
          const gatewayNodes = nodes.nodes.filter((n) => n.stacks.includes('gateway'));
          if (gatewayNodes.length > 0) {
            const previous = await previousGateways(devnet.file);
            const firstWallet = gatewayNodes[0]?.wallet;
            gateways = await Promise.all(
              gatewayNodes.map(async (n) => {
                const client = await clientOf(config, n.port);
                try {
                  const previousKey =
                    previous.get(n.wallet) ?? (n.wallet === firstWallet ? network.apiKey : undefined);
                  const access = await gatewayAccess(client, previousKey);
                  return { wallet: n.wallet, uid: n.uid, ...access };
                } catch (err) {
                  throw new CliError(
                    ExitCode.FAILURE,
                    `cannot get an API key of ${n.wallet}'s gateway: ${(err as Error).message}`,
                  );
                } finally {
                  await client.close();
                }
              }),
            );
            const first = gateways[0] as DevnetGateway;
            // The gateway nodes created the token file at start (same data dir, the default file).
            const adminToken = await loadOrCreateAdminToken(adminTokenFileOf(config.dataDir, undefined));
            gateway = { url: first.url, apiKey: first.apiKey, dashboardUrl: `${first.url}/`, adminToken };
            network = {
              ...network,
              gatewayUrl: gateway.url,
              apiKey: gateway.apiKey,
              dashboardUrl: gateway.dashboardUrl,
              adminToken: gateway.adminToken,
            };
            // It now holds API keys and the admin token: readable by this user only.
            const file = { ...network, gatewayUrls: gateways.map((g) => g.url), gateways };
            await writeFile(devnet.file, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
            await chmod(devnet.file, 0o600);
          }
        }
        quiet = true;

        const sdk = createSubnetClient({
          rpcUrl: devnet.anvil.rpcUrl,
          chainId: network.chainId,
          contracts: network.contracts,
        });
        const metagraph = await fetchMetagraph(sdk.chain, { netuid: network.netuid ?? 1 });
        const readyMs = Date.now() - started;
        const pids = [devnet.anvil.pid, ...(nodes?.nodes.map((n) => n.pid) ?? [])].filter(
          (p): p is number => p !== undefined,
        );
        const rss = await Promise.all(pids.map(residentBytes));
        const anvilRss = rss[0] ?? 0;
        const totalRss = rss.reduce((a, b) => a + b, 0);
        const curl = gateway === undefined ? undefined : chatCurl(gateway.url, gateway.apiKey);
        const nodeRows = (nodes?.nodes ?? []).map((n) => ({
          wallet: n.wallet,
          role: n.role,
          uid: n.uid,
          pid: n.pid,
          url: `http://127.0.0.1:${n.port}`,
          stacks: n.stacks,
          configFile: n.configFile,
          logFile: n.logFile,
        }));
        if (global.json === true) {
          process.stdout.write(
            `${JSON.stringify({
              ...network,
              ...(gateways.length === 0 ? {} : { gatewayUrls: gateways.map((g) => g.url), gateways }),
              file: devnet.file,
              resumed: devnet.resumed,
              readyMs,
              anvilPid: devnet.anvil.pid,
              nodes: nodeRows,
              rssBytes: totalRss,
              ...(curl === undefined ? {} : { curl }),
            })}\n`,
          );
        } else {
          const rel = (p: string) => {
            const r = relative(process.cwd(), p);
            return r === '' ? '.' : r.startsWith('..') ? p : r;
          };
          const paths = devnetNodePaths(config.dataDir);
          process.stdout.write(
            [
              `devnet ${devnet.resumed ? 'resumed' : 'ready'} in ${(readyMs / 1000).toFixed(1)} s`,
              `  chain     ${devnet.anvil.rpcUrl} (chain id ${network.chainId}, block ${metagraph.block}, anvil pid ${devnet.anvil.pid})`,
              `  subnet    ${network.netuid} with ${metagraph.neurons.length} neurons`,
              ...metagraph.neurons.map(
                (n) =>
                  `    uid ${n.uid}  ${(n.isValidator ? 'validator' : 'miner').padEnd(9)}  hotkey ${n.hotkey}  stake ${formatSub(n.stake)} SUB`,
              ),
              `  contracts ${Object.entries(network.contracts)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`,
              ...(nodes === undefined
                ? []
                : [
                    `  nodes     configs in ${rel(paths.nodes)}/, logs in ${rel(paths.logs)}/`,
                    ...nodeRows.map(
                      (n) =>
                        `    ${n.wallet.padEnd(11)} ${n.role.padEnd(9)}  uid ${n.uid}  pid ${String(n.pid).padEnd(7)}  ${n.url}  ${n.stacks.join(', ')}`,
                    ),
                    `  models    ${DEVNET_CHAT_MODEL} (generated bigram, ${rel(paths.chatModel)})${config.devnet.embeddings ? `, ${DEVNET_EMBED_MODEL} (Universal Sentence Encoder)` : ''}`,
                  ]),
              ...(gateway === undefined
                ? []
                : [
                    `  gateway   ${gateway.url}`,
                    `  api key   ${gateway.apiKey}`,
                    ...gateways
                      .slice(1)
                      .flatMap((g) => [`  gateway   ${g.url} (${g.wallet}; its own API key: ${g.apiKey})`]),
                    `  dashboard ${gateway.dashboardUrl}`,
                    `  admin token ${gateway.adminToken}`,
                  ]),
              ...(network.payments === undefined
                ? []
                : [
                    `  payments  token (sUSD) ${network.payments.token}, escrow ${network.payments.escrow}, pricing ${network.payments.pricing}`,
                    `  client    wallet ${network.payments.clientWallet}, account ${network.payments.client} (funded with 1000 sUSD and ETH for gas)`,
                  ]),
              `  memory    ${mib(totalRss)} resident (anvil ${mib(anvilRss)}${nodes === undefined ? '' : `, ${nodes.nodes.length} nodes ${mib(totalRss - anvilRss)}`})`,
              `  written   ${devnet.file}`,
              '',
              'try:',
              ...(curl === undefined ? [] : [`  ${curl}`]),
              '  npx subnet metagraph --netuid 1',
              ...(network.payments === undefined
                ? []
                : [
                    'pay (as the funded client):',
                    '  npx subnet pay deposit --amount 25          # prepaid account with validator1',
                    '  npx subnet pay balance',
                    ...(gateway === undefined
                      ? []
                      : [
                          `  npx subnet pay key --gateway-url ${gateway.url} --cap 10   # an API key bound to that account`,
                          `  or pay per request with x402: a request to ${gateway.url}/v1/chat/completions without a key answers 402 with the payment requirements`,
                        ]),
                  ]),
              ...(nodes === undefined
                ? []
                : [
                    `  npx subnet network providers ${DEVNET_CHAT_MODEL} --config ${rel(nodeRows.find((n) => n.role === 'validator')?.configFile ?? '')}`,
                  ]),
              'press Ctrl-C to stop (the chain is saved and resumes on the next start)',
              '',
            ].join('\n'),
          );
        }
        await new Promise<void>((resolve) => {
          if (stopping.signal.aborted) resolve();
          else stopping.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      } catch (err) {
        // Stopped by Ctrl-C before it was ready: not a failure.
        if (!(stopping.signal.aborted && err === stopping.signal.reason)) throw err;
      } finally {
        if (stopping.signal.aborted) process.stderr.write('stopping the devnet…\n');
        await nodes?.stop();
        await devnet?.stop();
        process.off('exit', exitOnCrash);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
