/**
 * The network stack's Prometheus metrics, created once per registry. Every refusal at any boundary (the
 * connection gate, the synapse server, gossip validation) is counted here with its reason, so an operator
 * sees hostile or misconfigured peers without reading logs.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface NetworkMetrics {
  /** Refusals by layer (gate, synapse, gossip, llama_rpc, membership) and reason (unregistered, no_permit, replayed, …). */
  refused: Counter<'layer' | 'reason'>;
  /** Synapses by side (client, server), kind and outcome (ok, refused, remote, timeout, gone, cancelled). */
  synapses: Counter<'side' | 'kind' | 'outcome'>;
  /** Synapse latency on the client side, seconds, by kind. */
  synapseSeconds: Histogram<'kind'>;
  /** Gossip messages received by topic and validation result (accept, reject, ignore). */
  gossip: Counter<'topic' | 'result'>;
  /** Connected peers. */
  peers: Gauge;
  /** Receipt batches signed (server) or verified (client), and receipts that failed verification. */
  receipts: Counter<'side' | 'outcome'>;
  /**
   * Peers over a bound (client: the validator cut a miner off; server: the miner cut a validator off;
   * gossip: a heartbeat refused), by side and limit (see `LimitName`).
   */
  overLimit: Counter<'side' | 'limit'>;
  /** Bytes of frames for requests not open (stray frames), by side. */
  strayBytes: Counter<'side'>;
  /**
   * Bytes relayed by llama-rpc tunnels, by side (lead, member) and direction (`to_peer`: read from the local
   * TCP socket and sent over libp2p; `from_peer`: received over libp2p and written to the socket).
   */
  llamaRpcBytes: Counter<'side' | 'direction'>;
  /** llama-rpc tunnel streams open now, by side (lead, member). */
  llamaRpcStreams: Gauge<'side'>;
}

const cache = new WeakMap<Registry, NetworkMetrics>();

export function networkMetrics(registry: Registry): NetworkMetrics {
  const hit = cache.get(registry);
  if (hit !== undefined) return hit;
  const registers = [registry];
  const m: NetworkMetrics = {
    refused: new Counter({
      name: 'subnet_network_refused_total',
      help: 'Peers, synapses and gossip messages refused, by layer and reason.',
      labelNames: ['layer', 'reason'],
      registers,
    }),
    synapses: new Counter({
      name: 'subnet_network_synapses_total',
      help: 'Synapses by side, kind and outcome.',
      labelNames: ['side', 'kind', 'outcome'],
      registers,
    }),
    synapseSeconds: new Histogram({
      name: 'subnet_network_synapse_seconds',
      help: 'Synapse latency seen by the sender, by kind.',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    gossip: new Counter({
      name: 'subnet_network_gossip_messages_total',
      help: 'Gossip messages received, by topic and validation result.',
      labelNames: ['topic', 'result'],
      registers,
    }),
    peers: new Gauge({ name: 'subnet_network_peers', help: 'Connected peers.', registers }),
    receipts: new Counter({
      name: 'subnet_network_receipts_total',
      help: 'Receipt batches signed (server) and receipts verified or rejected (client).',
      labelNames: ['side', 'outcome'],
      registers,
    }),
    overLimit: new Counter({
      name: 'subnet_network_over_limit_total',
      help: 'Peers cut off or messages refused for going over a bound, by side and limit.',
      labelNames: ['side', 'limit'],
      registers,
    }),
    strayBytes: new Counter({
      name: 'subnet_network_stray_bytes_total',
      help: 'Bytes of synapse frames for requests that are not open, by side.',
      labelNames: ['side'],
      registers,
    }),
    llamaRpcBytes: new Counter({
      name: 'subnet_network_llama_rpc_bytes_total',
      help: 'Bytes relayed by llama-rpc tunnels, by side (lead, member) and direction (to_peer, from_peer).',
      labelNames: ['side', 'direction'],
      registers,
    }),
    llamaRpcStreams: new Gauge({
      name: 'subnet_network_llama_rpc_streams',
      help: 'llama-rpc tunnel streams open now, by side (lead, member).',
      labelNames: ['side'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
