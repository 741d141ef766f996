/**
 * `subnet network status|peers|dial|providers`: the running node's network stack over the Engine API
 * (`network_getStatusV1`, `network_listPeersV1`, `network_dialV1`, `network_findProvidersV1`): who this
 * node is on libp2p, who it is connected to, and which miners serve a model.
 */
import type { Command } from 'commander';
import {
  engineFailure,
  type GlobalOpts,
  nodeClient,
  output,
  resolveConfig,
  withProgress,
} from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

const failure = (err: unknown, what: string) =>
  engineFailure(err, what, 'is a node with the network stack running?');

interface PeerRow {
  peerId: string;
  uid: number | null;
  role: string | null;
  validatorPermit: boolean;
  connected: boolean;
  latencyMs: number | null;
  models: { id: string }[];
  load: { queued: number; running: number } | null;
}

function peerLine(p: PeerRow): string {
  const uid = p.uid === null ? '   -' : String(p.uid).padStart(4);
  const role = (p.role ?? 'unregistered') + (p.validatorPermit ? '*' : '');
  const latency = p.latencyMs === null ? '     -' : `${p.latencyMs.toFixed(1).padStart(6)}`;
  const load = p.load === null ? '-' : `${p.load.running} running, ${p.load.queued} queued`;
  return `${uid}  ${role.padEnd(12)} ${p.connected ? 'up  ' : 'down'} ${latency} ms  ${p.peerId}  ${p.models.map((m) => m.id).join(',') || '-'}  ${load}`;
}

export function registerNetwork(program: Command): void {
  const network = program.command('network').description("The running node's libp2p network stack");

  network
    .command('status')
    .description('Peer id, hotkey, addresses, subnet and connection count of this node')
    .action(async (_o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const client = await nodeClient(resolveConfig(global));
      try {
        const s = await withProgress(global, 'asking the node…', () =>
          client.call('network_getStatusV1', {}),
        ).catch((err: unknown) => {
          throw failure(err, 'cannot read the network status');
        });
        output(global, s, () =>
          [
            `peer id     ${s.peerId}`,
            `hotkey      ${s.hotkey}`,
            `subnet      ${s.netuid}  uid ${s.uid ?? 'not registered'}${s.role === null ? '' : ` (${s.role})`}`,
            `connections ${s.connections}`,
            `metagraph   ${s.metagraphBlock === null ? 'not loaded yet' : `block ${s.metagraphBlock}`}`,
            'addresses',
            ...s.multiaddrs.map((a) => `  ${a}`),
          ].join('\n'),
        );
      } finally {
        await client.close();
      }
    });

  network
    .command('peers')
    .description(
      'Registered neurons and connected peers: uid, role (* = validator permit), latency, models, load',
    )
    .option('--connected', 'only peers connected now')
    .action(async (f: { connected?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const client = await nodeClient(resolveConfig(global));
      try {
        const { peers } = await withProgress(global, 'asking the node…', () =>
          client.call('network_listPeersV1', { connectedOnly: f.connected === true }),
        ).catch((err: unknown) => {
          throw failure(err, 'cannot list peers');
        });
        output(global, peers, () => (peers.length === 0 ? 'no peers' : peers.map(peerLine).join('\n')));
      } finally {
        await client.close();
      }
    });

  network
    .command('dial')
    .description('Connect to a peer by multiaddr (ending in /p2p/<peerId>) or by a registered peer id')
    .argument('<target>', 'a multiaddr or a peer id')
    .action(async (target: string, _o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const client = await nodeClient(resolveConfig(global));
      try {
        const r = await withProgress(global, `dialling ${target}…`, () =>
          client.call('network_dialV1', target.startsWith('/') ? { multiaddr: target } : { peerId: target }),
        ).catch((err: unknown) => {
          throw failure(err, `cannot dial ${target}`);
        });
        output(global, r, () => `connected to ${r.peerId} (${r.latencyMs.toFixed(2)} ms)`);
      } finally {
        await client.close();
      }
    });

  network
    .command('providers')
    .description('The miners serving a model, from the DHT and heartbeats')
    .argument('<model>', 'model id')
    .option('--timeout <ms>', 'how long to search', '3000')
    .action(async (model: string, f: { timeout: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const timeoutMs = Number(f.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
        throw new CliError(ExitCode.USAGE, '--timeout must be a positive integer');
      const client = await nodeClient(resolveConfig(global));
      try {
        const { providers } = await withProgress(global, `looking for ${model}…`, () =>
          client.call('network_findProvidersV1', { model, timeoutMs }, { timeoutMs: timeoutMs + 5000 }),
        ).catch((err: unknown) => {
          throw failure(err, `cannot find providers of ${model}`);
        });
        output(global, providers, () =>
          providers.length === 0 ? `no miner serves ${model}` : providers.map(peerLine).join('\n'),
        );
      } finally {
        await client.close();
      }
    });
}
