/**
 * llama-rpc tunnel bench: the cost of carrying llama.cpp's RPC over libp2p instead of plain loopback TCP.
 * One process holds a lead and a member libp2p node (noise + yamux over 127.0.0.1), the member's tunnel
 * endpoint and a TCP server standing in for ggml-rpc-server. Each contender (`direct`: a socket to that
 * server; `tunnel`: a socket to the lead's tunnel port) sends THROUGHPUT_MIB one way (the server answers one
 * byte when it has it all) and makes PINGS round trips of 64 bytes on one connection (llama.cpp's RPC is
 * request/response on one socket per device). Rounds alternate between the contenders; the medians are
 * reported (metrics off: counting bytes is not what is measured). Prints one JSON object. Run after `npx tsc -b`.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { availableParallelism } from 'node:os';
import { openLlamaRpcTunnel, serveLlamaRpc } from '../../packages/network/dist/src/llamaRpc.js';
import { makeNeuron, membershipOf, startLibp2p } from '../../packages/network/dist/test/helpers.js';
import { connect } from '../../packages/network/dist/test/nodes.js';
import { percentile, round } from './measure.ts';

const THROUGHPUT_MIB = Number(process.env.BENCH_TUNNEL_MIB ?? 64);
const PINGS = Number(process.env.BENCH_TUNNEL_PINGS ?? 1000);
const ROUNDS = Number(process.env.BENCH_TUNNEL_ROUNDS ?? 3);
const CHUNK = 256 * 1024;
const PING_BYTES = 64;

/** First byte `S`: swallow the rest and answer `K` after THROUGHPUT_MIB; `E`: echo the rest. */
function startServer(): Promise<{ server: Server; port: number }> {
  const total = THROUGHPUT_MIB * 1_048_576;
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    let mode = '';
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      let data = chunk;
      if (mode === '') {
        mode = String.fromCharCode(chunk[0] ?? 0);
        data = chunk.subarray(1);
      }
      if (mode === 'E') {
        if (data.length > 0) socket.write(data);
        return;
      }
      got += data.length;
      if (got >= total) socket.write('K');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a !== null ? a.port : 0 });
    }),
  );
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** MiB/s of one THROUGHPUT_MIB transfer, from the first write to the server's acknowledgement. */
async function throughput(port: number): Promise<number> {
  const s = await open(port);
  const chunk = Buffer.alloc(CHUNK, 7);
  const acked = new Promise<void>((resolve) => s.once('data', () => resolve()));
  const t0 = performance.now();
  s.write('S');
  for (let sent = 0; sent < THROUGHPUT_MIB * 1_048_576; sent += CHUNK) {
    if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
  }
  await acked;
  const ms = performance.now() - t0;
  s.destroy();
  return THROUGHPUT_MIB / (ms / 1000);
}

/** Round-trip times (ms) of PINGS 64-byte messages on one connection. */
async function pingPong(port: number): Promise<number[]> {
  const s = await open(port);
  s.write('E');
  const msg = Buffer.alloc(PING_BYTES, 1);
  const samples: number[] = [];
  let got = 0;
  let done: (() => void) | undefined;
  s.on('data', (c: Buffer) => {
    got += c.length;
    if (got >= PING_BYTES) {
      got -= PING_BYTES;
      done?.();
    }
  });
  for (let i = 0; i < PINGS + 50; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      done = resolve;
      s.write(msg);
    });
    if (i >= 50) samples.push(performance.now() - t0); // the first 50 warm up
  }
  s.destroy();
  return samples;
}

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

async function main(): Promise<void> {
  const { server, port } = await startServer();
  const lead = makeNeuron('miner');
  const member = makeNeuron('miner');
  const membership = membershipOf([lead, member]);
  const leadNode = await startLibp2p(lead, membership);
  const memberNode = await startLibp2p(member, membership);
  try {
    await connect(leadNode, memberNode);
    const served = await serveLlamaRpc(
      { port, allow: [lead.account.address] },
      { libp2p: memberNode, membership },
    );
    const tunnel = await openLlamaRpcTunnel(
      { hotkey: member.account.address },
      { libp2p: leadNode, membership },
    );
    const ports = { direct: port, tunnel: tunnel.port } as const;
    const acc = {
      direct: { mibps: [] as number[], rtt: [] as number[] },
      tunnel: { mibps: [] as number[], rtt: [] as number[] },
    };
    const cpu0 = process.cpuUsage();
    for (let r = 0; r <= ROUNDS; r++) {
      for (const k of ['direct', 'tunnel'] as const) {
        const mibps = await throughput(ports[k]);
        const rtt = await pingPong(ports[k]);
        if (r === 0) continue; // warm-up round
        acc[k].mibps.push(mibps);
        acc[k].rtt.push(...rtt);
        process.stderr.write(`llamaRpcTunnel: round ${r} ${k} ${round(mibps, 1)} MiB/s\n`);
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const summary = (k: 'direct' | 'tunnel') => {
      const sorted = [...acc[k].rtt].sort((a, b) => a - b);
      return {
        throughputMiBps: round(median(acc[k].mibps), 1),
        roundsMiBps: acc[k].mibps.map((x) => round(x, 1)),
        rttMs: { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3) },
      };
    };
    const direct = summary('direct');
    const tunnelResult = summary('tunnel');
    process.stdout.write(
      `${JSON.stringify({
        bench: 'llamaRpcTunnel',
        cores: availableParallelism(),
        settings: { throughputMiB: THROUGHPUT_MIB, pings: PINGS, pingBytes: PING_BYTES, rounds: ROUNDS },
        note: 'one process: client, lead and member libp2p nodes (noise + yamux over 127.0.0.1) and the server; direct = a socket straight to the server. Medians over rounds; ratio.throughput = tunnel / direct, ratio.rttP50 = tunnel / direct.',
        direct,
        tunnel: tunnelResult,
        ratio: {
          throughput: round(tunnelResult.throughputMiBps / direct.throughputMiBps),
          rttP50: round(tunnelResult.rttMs.p50 / direct.rttMs.p50),
          rttP99: round(tunnelResult.rttMs.p99 / direct.rttMs.p99),
        },
        processCpuMs: round((cpu.user + cpu.system) / 1000, 0),
      })}\n`,
    );
    await tunnel.close();
    await served.close();
  } finally {
    await Promise.allSettled([leadNode.stop(), memberNode.stop()]);
    server.close();
  }
}

await main();
