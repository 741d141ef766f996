/**
 * corkConnection: a TCP connection between two neurons sends a turn's frames in one system call (one
 * `_writev` of the socket), delivers every byte in order, and leaves connections it does not know alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Connection, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { waitFor } from '@subnet/utils';
import { corkConnection } from '../src/cork.js';
import type { SubnetLibp2p } from '../src/libp2p.js';
import { makeNeuron, membershipOf, startLibp2p } from './helpers.js';

const PROTOCOL = '/subnet-test/cork/1.0.0';

describe('corkConnection', () => {
  const a = makeNeuron('validator');
  const b = makeNeuron('miner');
  const membership = membershipOf([a, b]);
  let na: SubnetLibp2p;
  let nb: SubnetLibp2p;
  let received = Buffer.alloc(0);

  before(async () => {
    na = await startLibp2p(a, membership);
    nb = await startLibp2p(b, membership);
    await nb.handle(PROTOCOL, async (stream: Stream) => {
      for await (const chunk of stream)
        received = Buffer.concat([
          received,
          Buffer.from(chunk instanceof Uint8Array ? chunk : chunk.subarray()),
        ]);
    });
  });
  after(async () => {
    await na?.stop();
    await nb?.stop();
  });

  const addrOf = (node: SubnetLibp2p, ws: boolean) => {
    const found = node.getMultiaddrs().find((m) => m.toString().includes('/ws') === ws);
    assert.ok(found !== undefined, `a ${ws ? 'WebSockets' : 'TCP'} address`);
    return multiaddr(found.toString());
  };

  it('sends a burst of frames in one writev, every byte in order', async () => {
    const conn: Connection = await na.dial(addrOf(nb, false));
    // The node corked it when it opened (libp2p.ts); asking again is a no-op that says so.
    assert.equal(corkConnection(conn), true);
    const socket = (conn as unknown as { maConn: { socket: Record<string, unknown> } }).maConn.socket;
    const counts = { write: 0, writev: 0 };
    for (const [k, name] of [
      ['write', '_write'],
      ['writev', '_writev'],
    ] as const) {
      const orig = socket[name] as (...args: unknown[]) => unknown;
      socket[name] = function (this: unknown, ...args: unknown[]) {
        counts[k]++;
        return orig.apply(this, args);
      };
    }
    const stream = await conn.newStream(PROTOCOL);
    // The stream's opening frames go first: a warm-up frame is waited for at the other end before counting.
    received = Buffer.alloc(0);
    stream.send(Buffer.from('warm-up;'));
    await waitFor(() => (received.length >= 8 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the warm-up frame',
    });
    counts.write = 0;
    counts.writev = 0;
    received = Buffer.alloc(0);
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const msg = Buffer.from(`frame ${i};`);
      sent.push(msg);
      stream.send(msg);
    }
    const expected = Buffer.concat(sent);
    await waitFor(() => (received.length >= expected.length ? true : undefined), {
      timeoutMs: 10_000,
      what: 'every byte at the other end',
    });
    assert.deepEqual(received, expected);
    // A burst coalesces anyway once the socket has a write pending; corked it leaves in very few writevs.
    assert.ok(
      counts.write + counts.writev <= 5,
      `socket writes for a burst of 20 frames: ${JSON.stringify(counts)}`,
    );
    // A frame alone in its turn (a heartbeat, a light load): one system call, not two (noise's length
    // prefix and its ciphertext were two socket writes: uncorked, none of these takes one). Background traffic
    // (a DHT query) may land in a frame's window, so most of them, not all, are checked.
    const perFrame: number[] = [];
    for (let i = 0; i < 10; i++) {
      counts.write = 0;
      counts.writev = 0;
      const before = received.length;
      stream.send(Buffer.from(`alone ${i};`));
      await waitFor(() => (received.length > before ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the frame',
      });
      perFrame.push(counts.write + counts.writev);
    }
    assert.ok(
      perFrame.filter((n) => n === 1).length >= 8,
      `socket writes per lone frame: ${perFrame.join(', ')}`,
    );
    await stream.close();
  });

  it('leaves a connection that is not TCP alone', async () => {
    await na.hangUp(nb.peerId);
    const conn = await na.dial(addrOf(nb, true));
    assert.match(conn.remoteAddr.toString(), /\/ws/);
    assert.equal(corkConnection(conn), false);
    assert.equal(corkConnection({} as Connection), false);
  });
});
