/**
 * The llama-rpc tunnel end to end on real libp2p over 127.0.0.1: a lead's loopback port → libp2p stream →
 * a member → a real TCP server standing in for `ggml-rpc-server`, and back. Byte integrity over megabytes,
 * backpressure from a reader that stops, refusals, and every way a tunnel ends.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger, waitFor } from '@subnet/utils';
import { Registry } from 'prom-client';
import { NetworkError, NetworkErrorCode } from '../src/errors.js';
import type { SubnetLibp2p } from '../src/libp2p.js';
import {
  LLAMA_RPC_PROTOCOL,
  type LlamaRpcServer,
  type LlamaRpcTunnel,
  openLlamaRpcTunnel,
  serveLlamaRpc,
} from '../src/llamaRpc.js';
import { createMembership, type Membership } from '../src/membership.js';
import { type NetworkMetrics, networkMetrics } from '../src/metrics.js';
import { makeNeuron, snapshotOf, startLibp2p } from './helpers.js';
import { counted, tcpAddr } from './nodes.js';

const MiB = 1_048_576;
/** Bytes the source command writes (more than every buffer on the path could hold together). */
const SOURCE_BYTES = 64 * MiB;

/**
 * The stand-in for ggml-rpc-server. The first byte of a connection picks what it does: `E` echoes the
 * rest, `S` writes SOURCE_BYTES of random data honouring backpressure, `C` closes the connection.
 */
interface Target {
  server: Server;
  port: number;
  connections: number;
  source: { written: number; waiting: boolean; hash: ReturnType<typeof createHash> };
}

async function startTarget(): Promise<Target> {
  const t: Target = {
    server: createServer(),
    port: 0,
    connections: 0,
    source: { written: 0, waiting: false, hash: createHash('sha256') },
  };
  t.server.on('connection', (socket) => {
    t.connections++;
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      const cmd = String.fromCharCode(first[0] ?? 0);
      if (cmd === 'E') {
        if (first.length > 1) socket.write(first.subarray(1));
        socket.pipe(socket);
      } else if (cmd === 'S') {
        const write = (): void => {
          while (t.source.written < SOURCE_BYTES) {
            const chunk = randomBytes(64 * 1024);
            t.source.hash.update(chunk);
            t.source.written += chunk.length;
            if (!socket.write(chunk)) {
              t.source.waiting = true;
              socket.once('drain', () => {
                t.source.waiting = false;
                write();
              });
              return;
            }
          }
          socket.end();
        };
        write();
      } else {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
  const address = t.server.address();
  t.port = typeof address === 'object' && address !== null ? address.port : 0;
  return t;
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when `socket` emits 'close', fails after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads exactly `n` bytes; returns their sha256 (hex). */
function readHash(socket: Socket, n: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`read ${got} of ${n} bytes in ${ms} ms`)), ms);
    const onData = (chunk: Buffer): void => {
      hash.update(chunk);
      got += chunk.length;
      if (got >= n) {
        clearTimeout(timer);
        socket.off('data', onData);
        if (got > n) reject(new Error(`read ${got} bytes, expected ${n}`));
        else resolve(hash.digest('hex'));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      clearTimeout(timer);
      if (got < n) reject(new Error(`closed after ${got} of ${n} bytes`));
    });
  });
}

async function roundTrip(port: number, text: string): Promise<string> {
  const s = await client(port);
  try {
    s.write(`E${text}`);
    const n = Buffer.byteLength(text);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).length >= n) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return Buffer.concat(chunks).toString();
  } finally {
    s.destroy();
  }
}

describe('llama-rpc tunnel over libp2p', () => {
  const lead = makeNeuron('miner');
  const member = makeNeuron('miner');
  const stranger = makeNeuron('miner');
  const nobody = makeNeuron('miner', { registered: false });
  const membership: Membership = createMembership();
  const nodes: SubnetLibp2p[] = [];
  const tunnels: LlamaRpcTunnel[] = [];
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  let target: Target;
  let leadNode: SubnetLibp2p;
  let memberNode: SubnetLibp2p;
  let strangerNode: SubnetLibp2p;
  let memberMetrics: NetworkMetrics;
  let leadMetrics: NetworkMetrics;
  let served: LlamaRpcServer;
  let tunnel: LlamaRpcTunnel;

  before(async () => {
    membership.update(snapshotOf([lead, member, stranger]));
    target = await startTarget();
    leadNode = await startLibp2p(lead, membership);
    nodes.push(leadNode);
    memberNode = await startLibp2p(member, membership);
    nodes.push(memberNode);
    strangerNode = await startLibp2p(stranger, membership);
    nodes.push(strangerNode);
    // The member's registered address is how the lead finds it (nothing is dialled by hand).
    const snapshot = snapshotOf([lead, member, stranger]);
    membership.update({
      ...snapshot,
      neurons: snapshot.neurons.map((n) =>
        n.hotkey === member.account.address
          ? { ...n, multiaddrs: [tcpAddr(memberNode).replace(/\/p2p\/.*$/, '')] }
          : n,
      ),
    });
    memberMetrics = networkMetrics(new Registry());
    leadMetrics = networkMetrics(new Registry());
    served = await serveLlamaRpc(
      { port: target.port, allow: [lead.account.address] },
      { libp2p: memberNode, membership, metrics: memberMetrics, logger },
    );
    tunnel = await openLlamaRpcTunnel(
      { hotkey: member.account.address },
      { libp2p: leadNode, membership, metrics: leadMetrics, logger },
    );
    tunnels.push(tunnel);
  });

  after(async () => {
    await Promise.allSettled(tunnels.map((t) => t.close()));
    await served?.close();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await new Promise((resolve) => target?.server.close(resolve));
  });

  it('carries bytes from the lead port to the member’s local server and back', async () => {
    assert.equal(await roundTrip(tunnel.port, 'hello ggml'), 'hello ggml');
    const bytes = await leadMetrics.llamaRpcBytes.get();
    const toPeer = bytes.values.find((v) => v.labels.direction === 'to_peer')?.value ?? 0;
    assert.ok(toPeer >= 11, `to_peer bytes counted (${toPeer})`);
  });

  it('round-trips 16 MiB intact with both sides writing and reading at once', async () => {
    const s = await client(tunnel.port);
    try {
      const payload = randomBytes(16 * MiB);
      const want = createHash('sha256').update(payload).digest('hex');
      const got = readHash(s, payload.length, 15_000);
      s.write('E');
      for (let off = 0; off < payload.length; off += 256 * 1024) {
        if (!s.write(payload.subarray(off, off + 256 * 1024))) {
          await new Promise((resolve) => s.once('drain', resolve));
        }
      }
      assert.equal(await got, want);
    } finally {
      s.destroy();
    }
  });

  it('pauses the member’s server while the lead-side reader stops, and loses nothing', async () => {
    const s = await client(tunnel.port);
    try {
      s.pause();
      s.write('S');
      // Wait until the source stops making progress: blocked on 'drain' and unchanged across polls.
      let last = -1;
      let still = 0;
      await waitFor(
        () => {
          const w = target.source.written;
          still = w === last ? still + 1 : 0;
          last = w;
          return still >= 10 ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: 'the source to block on backpressure' },
      );
      assert.ok(
        target.source.written < SOURCE_BYTES,
        `the tunnel absorbed everything (${target.source.written} bytes): no backpressure`,
      );
      // Held by the tunnel: the lead's paused stream holds at most one yamux window (16 MiB) plus a socket
      // chunk; the member's stream queue at most one chunk read from its server.
      const lead = tunnel.stats().queuedBytes;
      const memberQueued = served.stats().queuedBytes;
      assert.ok(lead <= 17 * MiB, `the lead holds ${lead} bytes`);
      assert.ok(memberQueued <= MiB, `the member holds ${memberQueued} bytes`);
      const rest = readHash(s, SOURCE_BYTES, 15_000);
      s.resume();
      assert.equal(await rest, target.source.hash.digest('hex'));
    } finally {
      s.destroy();
    }
  });

  it('closes the lead-side socket when the local server closes its end', async () => {
    const before = target.connections;
    const s = await client(tunnel.port);
    s.on('error', () => {});
    s.write('C');
    await closedWithin(s, 5000);
    assert.equal(target.connections, before + 1);
  });

  it('refuses a registered hotkey not in the allow-list: reset, no connection to the server, counted', async () => {
    const before = target.connections;
    const other = await openLlamaRpcTunnel(
      { hotkey: member.account.address },
      { libp2p: strangerNode, membership, logger },
    );
    tunnels.push(other);
    const s = await client(other.port);
    s.on('error', () => {});
    s.write('Ehello');
    await closedWithin(s, 5000);
    assert.equal(target.connections, before, 'the member connected a refused stream to its server');
    assert.equal(await counted(memberMetrics.refused, { layer: 'llama_rpc', reason: 'not_allowed' }), 1);
    assert.ok(logLines.some((l) => l.includes('not in the allow-list')));
  });

  it('closes a connection to a tunnel whose hotkey is not a registered neuron at once, with a warning', async () => {
    const unknown = await openLlamaRpcTunnel(
      { hotkey: nobody.account.address },
      { libp2p: leadNode, membership, logger },
    );
    tunnels.push(unknown);
    const s = await client(unknown.port);
    s.on('error', () => {});
    await closedWithin(s, 2000);
    assert.ok(
      logLines.some((l) => l.includes('"level":40') && l.includes(nobody.account.address.toLowerCase())),
    );
  });

  it('refuses malformed hotkeys and a port in use with named errors', async () => {
    await assert.rejects(
      openLlamaRpcTunnel({ hotkey: '0x1234' }, { libp2p: leadNode, membership }),
      (err: unknown) => err instanceof NetworkError && err.code === NetworkErrorCode.INVALID_INPUT,
    );
    await assert.rejects(
      openLlamaRpcTunnel(
        { hotkey: member.account.address, port: tunnel.port },
        { libp2p: leadNode, membership },
      ),
      (err: unknown) => err instanceof NetworkError && err.code === NetworkErrorCode.LISTEN_FAILED,
    );
    await assert.rejects(
      serveLlamaRpc({ port: target.port, allow: ['lead'] }, { libp2p: memberNode, membership }),
      (err: unknown) => err instanceof NetworkError && err.code === NetworkErrorCode.INVALID_INPUT,
    );
  });

  it('ends the lead-side socket within a bounded time when the member node stops', async () => {
    const s = await client(tunnel.port);
    s.on('error', () => {});
    s.write('Eping');
    await new Promise((resolve) => s.once('data', resolve));
    assert.equal(tunnel.stats().connections, 1);
    await memberNode.stop();
    await closedWithin(s, 5000);
    await waitFor(() => (tunnel.stats().connections === 0 ? true : undefined), {
      timeoutMs: 2000,
      what: 'the lead to forget the connection',
    });
    // The protocol id is the one documented.
    assert.equal(LLAMA_RPC_PROTOCOL, '/subnet/llama-rpc/1.0.0');
  });
});
