import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sleep, waitFor } from '@subnet/utils';
import { backoffMs, modelKey } from '../src/discovery.js';
import { createMembership } from '../src/membership.js';
import { makeNeuron, snapshotOf, type TestNeuron } from './helpers.js';
import { counted, isConnected, modelInfo, startNode, type TestNode, tcpAddr } from './nodes.js';

describe('discovery', () => {
  const running: TestNode[] = [];
  after(async () => {
    await Promise.all(running.map((n) => n.stop()));
  });

  it('backs off exponentially with jitter, capped', () => {
    assert.equal(
      backoffMs(1, 500, 30_000, () => 0),
      250,
    );
    assert.equal(
      backoffMs(1, 500, 30_000, () => 1),
      500,
    );
    assert.equal(
      backoffMs(4, 500, 30_000, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(20, 500, 30_000, () => 1),
      30_000,
    );
    assert.equal(
      backoffMs(20, 500, 30_000, () => 0),
      15_000,
    );
    assert.equal(modelKey(3, 'llama-3'), '/subnet/3/model/llama-3');
  });

  it('bootstraps 8 nodes from one address and finds the miners of a model on the DHT alone', async () => {
    const validators = [makeNeuron('validator'), makeNeuron('validator')];
    const minersA = [makeNeuron('miner'), makeNeuron('miner'), makeNeuron('miner')];
    const minersB = [makeNeuron('miner'), makeNeuron('miner'), makeNeuron('miner')];
    const neurons = [...validators, ...minersA, ...minersB];
    const membership = createMembership();
    membership.update(snapshotOf(neurons)); // no addresses on chain: only the bootnode's is known
    const modelsOf = (n: TestNeuron) => (minersA.includes(n) ? ['A'] : minersB.includes(n) ? ['B'] : []);
    const boot = await startNode(neurons[0] as TestNeuron, membership, { heartbeats: false, discover: true });
    running.push(boot);
    const others = await Promise.all(
      neurons.slice(1).map((n) =>
        startNode(n, membership, {
          heartbeats: false,
          discover: true,
          models: modelsOf(n),
          discovery: { bootnodes: [tcpAddr(boot.libp2p)] },
        }),
      ),
    );
    running.push(...others);
    const nodes = [boot, ...others];
    await waitFor(
      () =>
        nodes.every((n) => neurons.every((m) => m === n.neuron || isConnected(n.libp2p, m.peerId)))
          ? true
          : undefined,
      { timeoutMs: 15_000, what: 'every node to reach every other through the DHT' },
    );
    const validator = nodes[1] as TestNode;
    const idsOf = (list: { peerId: string }[]) => list.map((r) => r.peerId).sort();
    const want = idsOf(minersA);
    const found = await waitFor(
      async () => {
        const rows = await validator.discovery.findProviders('A', { timeoutMs: 20_000 });
        return JSON.stringify(idsOf(rows)) === JSON.stringify(want) ? rows : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'the miners of A on the DHT' },
    );
    for (const row of found) {
      assert.equal(row.role, 'miner');
      assert.equal(row.connected, true);
      assert.equal(row.lastHeartbeatAt, null, 'no heartbeats: the DHT alone found them');
    }
    assert.deepEqual(
      idsOf(await validator.discovery.findProviders('B', { timeoutMs: 2000 })),
      idsOf(minersB),
    );
    assert.deepEqual(await validator.discovery.findProviders('C', { timeoutMs: 1000 }), []);

    // With heartbeats on, rows carry the models, and a fresh heartbeat outranks an old provider record.
    const moved = others.find((n) => n.neuron === minersA[0]) as TestNode;
    for (const n of others) {
      const models = n === moved ? ['B'] : modelsOf(n.neuron);
      n.gossip.setHeartbeat(() => ({
        models: models.map(modelInfo),
        load: { queued: 1, running: 0 },
        queueDepth: 1,
        hardware: null,
      }));
      if (n === moved) n.discovery.setModels(['B']);
    }
    await waitFor(
      async () => {
        const rows = await validator.discovery.findProviders('B', { timeoutMs: 20_000 });
        return rows.length === 4 && rows.every((r) => r.lastHeartbeatAt !== null) ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'heartbeats listing B' },
    );
    assert.deepEqual(
      idsOf(await validator.discovery.findProviders('A', { timeoutMs: 1000 })),
      idsOf(minersA.slice(1)),
    );
  });

  it('ignores a neuron registered with another’s peer id: never dialled or admitted; its leaving hangs up on nobody', async () => {
    const [xN, victimN, attackerN] = [makeNeuron('validator'), makeNeuron('miner'), makeNeuron('miner')];
    const membership = createMembership();
    const opts = { heartbeats: false, discover: true, discovery: { minBackoffMs: 200, maxBackoffMs: 1000 } };
    const x = await startNode(xN, membership, opts);
    const victim = await startNode(victimN, membership, opts);
    const attacker = await startNode(attackerN, membership, opts);
    running.push(x, victim, attacker);
    const addrOf = new Map([x, victim].map((n) => [n.neuron.peerId, tcpAddr(n.libp2p)]));
    const honest = snapshotOf([xN, victimN], 1).neurons.map((n) => ({
      ...n,
      multiaddrs: [addrOf.get(n.peerId) as string],
    }));
    // The attacker's uid claims the victim's peer id and address (as if registered before the contract check).
    const forged = { ...(honest[1] as (typeof honest)[number]), uid: 2, hotkey: attackerN.account.address };
    membership.update({ netuid: 1, block: 1, neurons: [...honest, forged] });
    assert.equal(membership.byUid(2), undefined);
    await waitFor(() => (isConnected(x.libp2p, victimN.peerId) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'x to dial the victim',
    });
    // The attacker dials the members itself: their gates refuse it, as for any outsider.
    await waitFor(
      async () =>
        (await counted(x.metrics.refused, { layer: 'gate', reason: 'unregistered' })) >= 1 ? true : undefined,
      { timeoutMs: 20_000, what: "x's gate to refuse the attacker" },
    );
    await waitFor(() => (isConnected(x.libp2p, attackerN.peerId) ? undefined : true), {
      timeoutMs: 20_000,
      what: 'the attacker to be disconnected',
    });
    assert.deepEqual(
      x.peers.rows().map((r) => [r.uid, r.peerId, r.hotkey]),
      [[1, victimN.peerId, victimN.account.address.toLowerCase()]],
    );
    // The attacker deregisters: the victim keeps its connections (hang-ups are synchronous on update).
    membership.update({ netuid: 1, block: 2, neurons: honest });
    assert.equal(isConnected(x.libp2p, victimN.peerId), true);
    // The connection still carries traffic (a ping in flight since the connect may answer null: retry).
    await waitFor(async () => (await x.peers.ping(victimN.peerId)) ?? undefined, {
      timeoutMs: 20_000,
      what: 'a ping to the victim',
    });
    assert.equal(isConnected(x.libp2p, victimN.peerId), true);
    // The victim leaves too: now x hangs up on it.
    membership.update({ netuid: 1, block: 3, neurons: honest.slice(0, 1) });
    await waitFor(() => (isConnected(x.libp2p, victimN.peerId) ? undefined : true), {
      timeoutMs: 20_000,
      what: 'x to hang up on the victim',
    });
  });

  it('redials a restarted member within the backoff and hangs up on one that left the metagraph', async () => {
    const neurons = [makeNeuron('validator'), makeNeuron('miner'), makeNeuron('miner')];
    const [xN, yN, zN] = neurons as [TestNeuron, TestNeuron, TestNeuron];
    const membership = createMembership();
    membership.update(snapshotOf(neurons));
    const opts = { heartbeats: false, discover: true, discovery: { minBackoffMs: 200, maxBackoffMs: 1000 } };
    const x = await startNode(xN, membership, opts);
    const y = await startNode(yN, membership, opts);
    let z = await startNode(zN, membership, { ...opts, listen: ['/ip4/127.0.0.1/tcp/0'] });
    running.push(x, y);
    const snapshot = snapshotOf(neurons, 2);
    const addrOf = new Map([x, y, z].map((n) => [n.neuron.peerId, tcpAddr(n.libp2p)]));
    membership.update({
      ...snapshot,
      neurons: snapshot.neurons.map((n) => ({ ...n, multiaddrs: [addrOf.get(n.peerId) as string] })),
    });
    const meshed = () =>
      [x, y].every((a) => neurons.every((m) => m === a.neuron || isConnected(a.libp2p, m.peerId)))
        ? true
        : undefined;
    await waitFor(meshed, { timeoutMs: 10_000, what: 'the members to dial each other' });

    const port = (addrOf.get(zN.peerId) as string).split('/')[4] as string;
    await z.stop();
    await sleep(1500); // a few failed redials: the backoff grows to its cap
    z = await startNode(zN, membership, {
      heartbeats: false,
      discover: false, // z does not dial: the others must redial it
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
    });
    running.push(z);
    // Wait for the event, not a wall-clock cap: a busy CI machine once took 4.3 s here. The backoff is capped
    // at maxBackoffMs, so the redial comes; a generous timeout only guards against it never coming.
    await waitFor(meshed, { timeoutMs: 20_000, what: 'the others to redial the restarted member' });

    z.discovery.start();

    // y leaves the metagraph: the others hang up on it and their gates refuse it from then on.
    const left = snapshotOf([xN, zN], 3);
    membership.update({
      ...left,
      neurons: left.neurons.map((n) => ({ ...n, multiaddrs: [addrOf.get(n.peerId) as string] })),
    });
    await waitFor(
      () => (!isConnected(x.libp2p, yN.peerId) && !isConnected(z.libp2p, yN.peerId) ? true : undefined),
      { timeoutMs: 20_000, what: 'the removed member to be disconnected' },
    );
    // y still takes x for a member and keeps redialling it: x's gate refuses and counts every attempt.
    await waitFor(
      async () =>
        (await counted(x.metrics.refused, { layer: 'gate', reason: 'unregistered' })) >= 1 ? true : undefined,
      // y redials within its capped backoff (1 s); the timeout only guards against it never coming.
      { timeoutMs: 20_000, what: "x's gate to refuse y" },
    );
    await sleep(300);
    assert.equal(isConnected(x.libp2p, yN.peerId), false);
    assert.equal(
      x.peers.rows().some((r) => r.peerId === yN.peerId),
      false,
    );
  });
});
