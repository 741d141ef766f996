import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sleep, waitFor } from '@subnet/utils';
import { libp2pKeyFromHotkey } from '../src/identity.js';
import { gossipTopic, HEARTBEAT_TOPIC } from '../src/topics.js';
import { makeNeuron, membershipOf, startLibp2p } from './helpers.js';
import { connect, counted, isConnected, modelInfo, startNode, type TestNode } from './nodes.js';

const encoder = new TextEncoder();
const HB = gossipTopic(1, HEARTBEAT_TOPIC);

/** A heartbeat envelope signed by `signer` (a libp2p key) that claims to be from `peerId`. */
async function signedHeartbeat(
  signerHotkey: `0x${string}`,
  peerId: string,
  extra: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const payload = JSON.stringify({
    version: 1,
    peerId,
    models: [],
    load: { queued: 0, running: 0 },
    queueDepth: 0,
    hardware: null,
    ts: Date.now(),
    seq: Date.now() * 10,
    ...extra,
  });
  const sig = await libp2pKeyFromHotkey(signerHotkey).sign(encoder.encode(payload));
  return encoder.encode(JSON.stringify({ payload, sig: Buffer.from(sig).toString('hex') }));
}

describe('gossip', () => {
  const running: TestNode[] = [];
  after(async () => {
    await Promise.all(running.map((n) => n.stop()));
  });

  it('delivers every heartbeat to every other node of 6, and fills the peer table', async () => {
    const neurons = [
      makeNeuron('validator'),
      makeNeuron('validator'),
      ...Array.from({ length: 4 }, () => makeNeuron('miner')),
    ];
    const membership = membershipOf(neurons);
    const nodes = await Promise.all(
      neurons.map((n, i) => startNode(n, membership, { models: n.role === 'miner' ? [`m${i}`] : [] })),
    );
    running.push(...nodes);
    // A ring plus one chord: most pairs are not directly connected, so heartbeats must be relayed.
    for (let i = 0; i < nodes.length; i++) {
      await connect((nodes[i] as TestNode).libp2p, (nodes[(i + 1) % nodes.length] as TestNode).libp2p);
    }
    await connect((nodes[0] as TestNode).libp2p, (nodes[3] as TestNode).libp2p);
    await waitFor(
      () =>
        nodes.every((n) =>
          // Pings are opportunistic: only peers with a direct connection have a round trip.
          n.peers.rows().every((r) => r.lastHeartbeatAt !== null && (!r.connected || r.latencyMs !== null)),
        )
          ? true
          : undefined,
      { timeoutMs: 15_000, what: 'heartbeats of every node at every node' },
    );
    for (const [i, node] of nodes.entries()) {
      const rows = node.peers.rows();
      assert.equal(rows.length, 5);
      for (const row of rows) {
        const j = neurons.findIndex((n) => n.peerId === row.peerId);
        assert.deepEqual(
          row.models.map((m) => m.id),
          neurons[j]?.role === 'miner' ? [`m${j}`] : [],
        );
        assert.deepEqual(row.load, { queued: 0, running: 1 });
        assert.equal(row.hardware?.cpus, 2);
        assert.equal(row.hotkey, neurons[j]?.account.address.toLowerCase());
      }
      assert.ok(
        (await counted(node.metrics.gossip, { topic: 'heartbeat', result: 'accept' })) >= 5,
        `node ${i}`,
      );
      assert.equal(await counted(node.metrics.gossip, { result: 'reject' }), 0);
    }
  });

  it('a peer that joins later hears a heartbeat at once, not a whole interval later', async () => {
    const [miner, validator] = [makeNeuron('miner'), makeNeuron('validator')];
    const membership = membershipOf([miner, validator]);
    // An interval far longer than the test: only the answer to the new subscription can deliver it.
    const m = await startNode(miner, membership, { models: ['early'], heartbeatIntervalMs: 600_000 });
    running.push(m);
    await new Promise((r) => setTimeout(r, 300)); // the first heartbeat at start reached nobody
    const v = await startNode(validator, membership, { heartbeatIntervalMs: 600_000 });
    running.push(v);
    await connect(v.libp2p, m.libp2p);
    const row = await waitFor(
      () => {
        const r = v.peers.get(miner.peerId);
        return r?.lastHeartbeatAt === null ? undefined : r;
      },
      { timeoutMs: 10_000, what: "the miner's heartbeat at the validator" },
    );
    assert.deepEqual(
      row?.models.map((x) => x.id),
      ['early'],
    );
  });

  it('rejects malformed, oversized and forged heartbeats, ignores unregistered and stale ones, and counts them', async () => {
    const victimN = makeNeuron('validator');
    const badN = makeNeuron('miner');
    const honestN = makeNeuron('miner');
    const outsider = makeNeuron('miner', { registered: false });
    const membership = membershipOf([victimN, badN, honestN, outsider]);
    const victim = await startNode(victimN, membership);
    const bad = await startNode(badN, membership, { heartbeats: false });
    running.push(victim, bad);
    await connect(bad.libp2p, victim.libp2p);
    await waitFor(() => (victim.libp2p.services.pubsub.getSubscribers(HB).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'subscription',
    });
    await waitFor(() => (bad.libp2p.services.pubsub.getSubscribers(HB).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'subscription',
    });
    const send = (bytes: Uint8Array) => bad.libp2p.services.pubsub.publish(HB, bytes);
    await send(encoder.encode('not json'));
    await send(encoder.encode(JSON.stringify({ payload: '{"version":1}', sig: '00' })));
    await send(encoder.encode(JSON.stringify({ payload: 'x'.repeat(70_000), sig: '00' })));
    // Claims to be the honest miner, signed by the bad one.
    await send(await signedHeartbeat(badN.privateKey, honestN.peerId));
    // Signed by an outsider's own key: genuine, but not a member.
    await send(await signedHeartbeat(outsider.privateKey, outsider.peerId));
    // Genuine heartbeat of the bad node but an hour old.
    await send(await signedHeartbeat(badN.privateKey, badN.peerId, { ts: Date.now() - 3_600_000 }));
    const refused = (reason: string) => counted(victim.metrics.refused, { layer: 'gossip', reason });
    await waitFor(async () => ((await refused('stale')) === 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the last message to be refused',
    });
    assert.equal(await refused('malformed'), 2);
    assert.equal(await refused('oversized'), 1);
    assert.equal(await refused('forged'), 1);
    assert.equal(await refused('unregistered'), 1);
    assert.equal(await counted(victim.metrics.gossip, { topic: 'heartbeat', result: 'reject' }), 4);
    assert.equal(await counted(victim.metrics.gossip, { topic: 'heartbeat', result: 'ignore' }), 2);
    assert.equal(victim.peers.heartbeat(honestN.peerId), undefined, 'the forged heartbeat was not taken');
    // A genuine one is accepted, and an older seq after it is ignored as a replay.
    await send(await signedHeartbeat(badN.privateKey, badN.peerId, { seq: 100 }));
    await send(await signedHeartbeat(badN.privateKey, badN.peerId, { seq: 99 }));
    await waitFor(async () => ((await refused('replayed')) === 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the replay to be refused',
    });
    assert.equal(victim.peers.heartbeat(badN.peerId)?.heartbeat.seq, 100);
    // Scores are cached for a gossipsub heartbeat (1 s).
    await waitFor(() => ((victim.gossip.score(badN.peerId) ?? 0) < 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'rejections to lower the sender score',
    });
  });

  it('caps models per heartbeat and heartbeats per origin, before the signature is verified', async () => {
    const victimN = makeNeuron('validator');
    const badN = makeNeuron('miner');
    const membership = membershipOf([victimN, badN]);
    // An interval far longer than the test: the origin's bucket (4 per interval) does not refill.
    const victim = await startNode(victimN, membership, { heartbeatIntervalMs: 600_000 });
    const bad = await startNode(badN, membership, { heartbeats: false });
    running.push(victim, bad);
    await connect(bad.libp2p, victim.libp2p);
    await waitFor(() => (bad.libp2p.services.pubsub.getSubscribers(HB).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'subscription',
    });
    const send = (bytes: Uint8Array) => bad.libp2p.services.pubsub.publish(HB, bytes);
    const refused = (reason: string) => counted(victim.metrics.refused, { layer: 'gossip', reason });
    // 65 models: rejected, however genuine.
    const models = Array.from({ length: 65 }, (_, i) => modelInfo(`m${i}`));
    await send(await signedHeartbeat(badN.privateKey, badN.peerId, { models, seq: 1 }));
    await waitFor(async () => ((await refused('too_many_models')) === 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the heartbeat with 65 models to be rejected',
    });
    assert.equal(await counted(victim.metrics.gossip, { topic: 'heartbeat', result: 'reject' }), 1);
    // 12 genuine heartbeats at once: 4 taken, 8 dropped as rate-limited.
    for (let i = 0; i < 12; i++)
      await send(await signedHeartbeat(badN.privateKey, badN.peerId, { seq: 10 + i }));
    await waitFor(async () => ((await refused('rate_limited')) === 8 ? true : undefined), {
      timeoutMs: 20_000,
      what: '8 heartbeats over the rate',
    });
    const taken = await counted(victim.metrics.gossip, { topic: 'heartbeat', result: 'accept' });
    // Concurrent verifies may deliver an older seq after a newer one: it is then a replay, never a 5th.
    assert.equal(taken + (await refused('replayed')), 4);
    assert.ok(taken >= 1);
    // The cheap checks come first: forged heartbeats over either bound are refused for the bound, unverified.
    await send(await signedHeartbeat(victimN.privateKey, badN.peerId, { seq: 50 }));
    await send(await signedHeartbeat(victimN.privateKey, badN.peerId, { models, seq: 51 }));
    await waitFor(
      async () =>
        (await refused('rate_limited')) === 9 && (await refused('too_many_models')) === 2 ? true : undefined,
      { timeoutMs: 20_000, what: 'the forged heartbeats to be refused for their bounds' },
    );
    assert.equal(await refused('forged'), 0);
    // A node never publishes more models than its peers accept.
    const big = await startNode(makeNeuron('miner'), membership, {
      heartbeats: true,
      models: models.map((m) => m.id),
      heartbeatIntervalMs: 600_000,
    });
    running.push(big);
    await assert.rejects(big.gossip.publishHeartbeat(), { code: 'NETWORK_INVALID_INPUT' });
  });

  it('graylists a peer that sends invalid messages: its valid messages stop being delivered', async () => {
    const victimN = makeNeuron('validator');
    const spammerN = makeNeuron('miner');
    const membership = membershipOf([victimN, spammerN]);
    const victim = await startNode(victimN, membership);
    const spammer = await startNode(spammerN, membership, { heartbeats: false });
    running.push(victim, spammer);
    const got: unknown[] = [];
    victim.gossip.subscribe('chat', (m) => got.push(m.data));
    spammer.gossip.subscribe('chat', () => {});
    await connect(spammer.libp2p, victim.libp2p);
    const chat = gossipTopic(1, 'chat');
    await waitFor(() => (spammer.libp2p.services.pubsub.getSubscribers(chat).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'subscription',
    });
    await spammer.gossip.publish('chat', { n: 1 });
    await waitFor(() => (got.length === 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'a valid message',
    });
    for (let i = 0; i < 5; i++)
      await spammer.libp2p.services.pubsub.publish(chat, encoder.encode(`{bad ${i}`));
    await waitFor(() => ((victim.gossip.score(spammerN.peerId) ?? 0) < -80 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the spammer to be graylisted',
    });
    const rejected = await counted(victim.metrics.gossip, { topic: 'chat', result: 'reject' });
    assert.ok(rejected >= 3, `rejected ${rejected}`);
    await spammer.gossip.publish('chat', { n: 2 });
    await spammer.gossip.publish('chat', { n: 3 });
    await sleep(500);
    assert.deepEqual(got, [{ n: 1 }], 'nothing from a graylisted peer is delivered');
    assert.equal(await counted(victim.metrics.gossip, { topic: 'chat', result: 'reject' }), rejected);
  });

  it('publishes JSON on app topics and refuses bad names, non-JSON and oversized data', async () => {
    const neurons = [makeNeuron('validator'), makeNeuron('miner'), makeNeuron('miner')];
    const membership = membershipOf(neurons);
    const nodes = await Promise.all(neurons.map((n) => startNode(n, membership, { heartbeats: false })));
    running.push(...nodes);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const atB: unknown[] = [];
    const atC: { from: string | null; data: unknown }[] = [];
    b.gossip.subscribe('scores', (m) => atB.push(m.data));
    const off = c.gossip.subscribe('scores', (m) => atC.push({ from: m.from, data: m.data }));
    await connect(a.libp2p, b.libp2p);
    await connect(b.libp2p, c.libp2p);
    assert.deepEqual(c.gossip.topics().sort(), ['heartbeat', 'scores']);
    a.gossip.subscribe('scores', () => {});
    await sleep(1500); // a heartbeat or two for the mesh to form
    const { recipients } = await a.gossip.publish('scores', { epoch: 7, weights: [1, 2, 3] });
    assert.ok(recipients >= 1);
    await waitFor(() => (atC.length === 1 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'relayed message',
    });
    assert.deepEqual(atB, [{ epoch: 7, weights: [1, 2, 3] }]);
    // The DHT may have connected a and c directly by now, so the relay is a or b.
    assert.ok([a, b].some((n) => n.libp2p.peerId.toString() === atC[0]?.from));
    assert.deepEqual(atC[0]?.data, { epoch: 7, weights: [1, 2, 3] });
    off();
    assert.deepEqual(c.gossip.topics(), ['heartbeat']);
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: { code: string }) => err.code,
      );
    assert.equal(await code(a.gossip.publish('Bad Name', 1)), 'NETWORK_INVALID_INPUT');
    assert.equal(await code(a.gossip.publish('heartbeat', 1)), 'NETWORK_INVALID_INPUT');
    assert.equal(await code(a.gossip.publish('scores', undefined)), 'NETWORK_INVALID_INPUT');
    assert.equal(await code(a.gossip.publish('scores', 10n)), 'NETWORK_INVALID_INPUT');
    assert.equal(await code(a.gossip.publish('scores', 'x'.repeat(70_000))), 'NETWORK_INVALID_INPUT');
    // Oversized data sent by a peer anyway is rejected by the validator.
    await a.libp2p.services.pubsub.publish(
      gossipTopic(1, 'scores'),
      encoder.encode(`"${'x'.repeat(70_000)}"`),
    );
    await waitFor(
      async () =>
        (await counted(b.metrics.refused, { layer: 'gossip', reason: 'oversized' })) === 1 ? true : undefined,
      { timeoutMs: 20_000, what: 'oversized message refused' },
    );
    assert.equal(atB.length, 1);
  });

  it('the gate refuses an unregistered peer and counts it', async () => {
    const memberN = makeNeuron('validator');
    const outsider = makeNeuron('miner', { registered: false });
    const member = await startNode(memberN, membershipOf([memberN]));
    running.push(member);
    // The outsider admits everyone (its own metagraph lists both), but the member's gate refuses it.
    const rogue = await startLibp2p(outsider, membershipOf([memberN, { ...outsider, registered: true }]));
    try {
      // The dialler may see its side of the upgrade finish before the member hangs up.
      await connect(rogue, member.libp2p).catch(() => {});
      await waitFor(
        async () =>
          (await counted(member.metrics.refused, { layer: 'gate', reason: 'unregistered' })) === 1 &&
          !isConnected(rogue, memberN.peerId)
            ? true
            : undefined,
        { timeoutMs: 20_000, what: 'the outsider to be refused' },
      );
      assert.equal(isConnected(member.libp2p, outsider.peerId), false);
      // Dialling it from the member is refused before any socket opens.
      await assert.rejects(connect(member.libp2p, rogue));
      assert.equal(await counted(member.metrics.refused, { layer: 'gate', reason: 'unregistered' }), 2);
    } finally {
      await rogue.stop();
    }
  });
});
