/**
 * Gossip bench: NODES network stacks on loopback in one process, every node subscribed to one app topic,
 * publishers rotating at an aggregate RATE messages a second for SECONDS; each message carries its send
 * time. Prints one JSON object: delivery ratio (every message at every other node), propagation latency
 * percentiles, and the process CPU used. Run after `npx tsc -b`.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { makeNeuron, membershipOf } from '../../packages/network/dist/test/helpers.js';
import { connect, startNode, type TestNode } from '../../packages/network/dist/test/nodes.js';
import { sleep } from '../../packages/utils/dist/src/index.js';
import { percentile, round } from './measure.ts';

const NODES = Number(process.env.BENCH_GOSSIP_NODES ?? 20);
const RATE = Number(process.env.BENCH_GOSSIP_RATE ?? 50);
const SECONDS = Number(process.env.BENCH_GOSSIP_SECONDS ?? 10);
const PAYLOAD_BYTES = Number(process.env.BENCH_GOSSIP_PAYLOAD ?? 256);

async function main(): Promise<void> {
  const neurons = Array.from({ length: NODES }, (_, i) => makeNeuron(i < 4 ? 'validator' : 'miner'));
  const membership = membershipOf(neurons);
  const nodes: TestNode[] = await Promise.all(
    neurons.map((n) => startNode(n, membership, { heartbeats: false, heartbeatIntervalMs: 5000 })),
  );
  const latencies: number[] = [];
  const received = new Map<number, number>();
  for (const node of nodes) {
    node.gossip.subscribe('bench', (m) => {
      const { id, sentAt } = m.data as { id: number; sentAt: number };
      latencies.push(performance.now() - sentAt);
      received.set(id, (received.get(id) ?? 0) + 1);
    });
  }
  // A sparse, connected overlay: each node dials 3 others (ring neighbours and a chord).
  const links: Promise<void>[] = [];
  for (let i = 0; i < NODES; i++) {
    for (const step of [1, 2, 7]) {
      links.push(connect((nodes[i] as TestNode).libp2p, (nodes[(i + step) % NODES] as TestNode).libp2p));
    }
  }
  await Promise.all(links);
  await sleep(3000); // meshes form over a few gossipsub heartbeats

  const total = RATE * SECONDS;
  const padding = randomBytes(PAYLOAD_BYTES / 2).toString('hex');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let publishErrors = 0;
  for (let id = 0; id < total; id++) {
    const due = t0 + (id * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const publisher = nodes[id % NODES] as TestNode;
    publisher.gossip.publish('bench', { id, sentAt: performance.now(), padding }).catch(() => {
      publishErrors += 1;
    });
  }
  const sendWallMs = performance.now() - t0;
  await sleep(2000); // drain
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const expected = total * (NODES - 1);
  const delivered = [...received.values()].reduce((a, b) => a + b, 0);
  const sorted = latencies.sort((a, b) => a - b);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const result = {
    bench: 'gossip',
    nodes: NODES,
    processes: 1,
    cores: availableParallelism(),
    topology: 'each node dials 3 others (ring +1, +2, chord +7); gossipsub D=6',
    payloadBytes: PAYLOAD_BYTES,
    messages: total,
    ratePerSec: round(total / (sendWallMs / 1000), 1),
    publishErrors,
    deliveries: delivered,
    expectedDeliveries: expected,
    deliveryRatio: round(delivered / expected, 4),
    messagesFullyDelivered: [...received.values()].filter((n) => n === NODES - 1).length,
    latencyMs: {
      p50: round(percentile(sorted, 50), 2),
      p90: round(percentile(sorted, 90), 2),
      p99: round(percentile(sorted, 99), 2),
      max: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
    },
    cpu: {
      processMs: round(cpuMs, 0),
      wallMs: round(wallMs, 0),
      coresBusy: round(cpuMs / wallMs, 2),
      usPerDelivery: round((cpuMs * 1000) / Math.max(1, delivered), 1),
    },
  };
  await Promise.all(nodes.map((n) => n.stop()));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
