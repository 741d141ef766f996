/**
 * `subnet network status|peers|dial|providers`: the running node's network stack over the Engine API
 * (`network_getStatusV1`, `network_listPeersV1`, `network_dialV1`, `network_findProvidersV1`): who this
 * node is on libp2p, who it is connected to, and which miners serve a model.
 */
import type { Command } from 'commander';
import { askNode, type GlobalOpts, output } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

const hint = 'is a node with the network stack running?';

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
      const s = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot read the network status', hint },
        (c) => c.call('network_getStatusV1', {}),
      );
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
    });

  network
    .command('peers')
    .description(
      'Registered neurons and connected peers: uid, role (* = validator permit), latency, models, load',
    )
    .option('--connected', 'only peers connected now')
    .action(async (f: { connected?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { peers } = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot list peers', hint },
        (c) => c.call('network_listPeersV1', { connectedOnly: f.connected === true }),
      );
      output(global, peers, () => (peers.length === 0 ? 'no peers' : peers.map(peerLine).join('\n')));
    });

  network
    .command('dial')
    .description('Connect to a peer by multiaddr (ending in /p2p/<peerId>) or by a registered peer id')
    .argument('<target>', 'a multiaddr or a peer id')
    .action(async (target: string, _o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const r = await askNode(
        global,
        { label: `dialling ${target}…`, failure: `cannot dial ${target}`, hint },
        (c) => c.call('network_dialV1', target.startsWith('/') ? { multiaddr: target } : { peerId: target }),
      );
      output(global, r, () => `connected to ${r.peerId} (${r.latencyMs.toFixed(2)} ms)`);
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
      const { providers } = await askNode(
        global,
        { label: `looking for ${model}…`, failure: `cannot find providers of ${model}`, hint },
        (c) => c.call('network_findProvidersV1', { model, timeoutMs }, { timeoutMs: timeoutMs + 5000 }),
      );
      output(global, providers, () =>
        providers.length === 0 ? `no miner serves ${model}` : providers.map(peerLine).join('\n'),
      );
    });
}
