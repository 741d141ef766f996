/**
 * One key, two identities: the peer id of a hotkey encodes its EVM address, and the devnet's public-key
 * derivation (wallet) agrees with the network stack's private-key one. Membership admits by that address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { peerIdOfPublicKey } from '@subnet/wallet';
import { Registry } from 'prom-client';
import { privateKeyToAccount } from 'viem/accounts';
import { NetworkError } from '../src/errors.js';
import { addressOfPeerId, libp2pKeyFromHotkey, peerIdFromHotkey } from '../src/identity.js';
import { createMembership, type MetagraphSnapshot, ownPeerId } from '../src/membership.js';
import { networkMetrics } from '../src/metrics.js';
import { makeNeuron, membershipOf, snapshotOf, type TestNeuron } from './helpers.js';
import { counted } from './nodes.js';

describe('hotkey identity', () => {
  it('the peer id of a hotkey encodes its address, and both derivations agree', () => {
    for (let i = 0; i < 5; i++) {
      const n = makeNeuron('miner');
      const peerId = peerIdFromHotkey(n.privateKey);
      assert.equal(peerId.type, 'secp256k1');
      assert.equal(peerId.toString(), peerIdOfPublicKey(n.account.publicKey));
      assert.equal(addressOfPeerId(peerId), n.account.address.toLowerCase());
      assert.equal(addressOfPeerId(peerId.toString()), n.account.address.toLowerCase());
    }
    // Anvil's first account: a fixed vector.
    const anvil0 = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
    assert.equal(addressOfPeerId(peerIdOfPublicKey(anvil0.publicKey)), anvil0.address.toLowerCase());
  });

  it('a non-secp256k1 or malformed peer id has no address; a bad key is refused', async () => {
    const ed = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    assert.equal(addressOfPeerId(ed), null);
    assert.equal(addressOfPeerId('not-a-peer-id'), null);
    assert.throws(() => libp2pKeyFromHotkey('0x1234'), NetworkError);
  });
});

describe('membership', () => {
  it('admits registered hotkeys by peer id, uid and hotkey, and reports who left', () => {
    const [v, m1, m2] = [makeNeuron('validator'), makeNeuron('miner'), makeNeuron('miner')];
    const outsider = makeNeuron('miner', { registered: false });
    const membership = membershipOf([v, m1, m2, outsider]);
    assert.equal(membership.block, 1);
    assert.equal(membership.byPeer(v.peerId)?.role, 'validator');
    assert.equal(membership.byPeer(v.peerId)?.validatorPermit, true);
    assert.equal(membership.byPeer(m2.peerId)?.uid, 2);
    assert.equal(membership.byHotkey(m1.account.address.toUpperCase().replace('0X', '0x'))?.uid, 1);
    assert.equal(membership.byPeer(outsider.peerId), undefined);
    const left: string[] = [];
    membership.onChange((removed) => left.push(...removed.map((r) => r.hotkey)));
    membership.update(snapshotOf([v, m1], 2));
    assert.deepEqual(left, [m2.account.address.toLowerCase()]);
    assert.equal(membership.byPeer(m2.peerId), undefined);
    assert.equal(membership.block, 2);
  });
});

describe('membership: a peer id that is not the hotkey’s', () => {
  /** A snapshot of honest neurons plus `extra` rows (uids after theirs) registered with chosen peer ids. */
  const snapshotWith = (
    neurons: readonly TestNeuron[],
    extra: readonly { n: TestNeuron; peerId: string }[],
    block: number,
  ): MetagraphSnapshot => {
    const base = snapshotOf(neurons, block);
    return {
      ...base,
      neurons: [
        ...base.neurons,
        ...extra.map(({ n, peerId }, i) => ({
          uid: base.neurons.length + i,
          hotkey: n.account.address,
          role: n.role,
          validatorPermit: false,
          peerId,
          multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
          stake: '0',
        })),
      ],
    };
  };

  it('ignores a neuron registered with a victim’s peer id: no uid, no admission, counted and logged once', async () => {
    const [v, victim, attacker] = [makeNeuron('validator'), makeNeuron('miner'), makeNeuron('miner')];
    const ed = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const [edOwner, junkOwner] = [makeNeuron('miner'), makeNeuron('miner')];
    const metrics = networkMetrics(new Registry());
    const warnings: unknown[] = [];
    const logger = { warn: (obj: unknown) => warnings.push(obj) } as never;
    const membership = createMembership({ logger, metrics });
    const extra = [
      { n: attacker, peerId: victim.peerId },
      { n: edOwner, peerId: ed },
      { n: junkOwner, peerId: 'not-a-peer-id' },
    ];
    membership.update(snapshotWith([v, victim], extra, 1));
    // The victim is itself; the attacker is nowhere: not by uid, hotkey or its own key's peer id.
    assert.equal(membership.byPeer(victim.peerId)?.hotkey, victim.account.address.toLowerCase());
    assert.equal(membership.byUid(1)?.peerId, victim.peerId);
    assert.equal(membership.byUid(2), undefined);
    assert.equal(membership.byHotkey(attacker.account.address), undefined);
    assert.equal(membership.byPeer(attacker.peerId), undefined);
    assert.equal(membership.byUid(3), undefined);
    assert.equal(membership.byUid(4), undefined);
    assert.deepEqual(
      membership.members().map((m) => m.uid),
      [0, 1],
    );
    assert.deepEqual(
      membership.ignored().map((i) => [i.uid, i.peerId, i.reason]),
      [
        [2, victim.peerId, 'peer_id_not_hotkey'],
        [3, ed, 'peer_id_not_hotkey'],
        [4, 'not-a-peer-id', 'peer_id_not_hotkey'],
      ],
    );
    assert.equal(await counted(metrics.refused, { layer: 'membership', reason: 'peer_id_not_hotkey' }), 3);
    assert.equal(warnings.length, 3);
    // The next snapshot with the same rows: neither counted nor logged again.
    membership.update(snapshotWith([v, victim], extra, 2));
    assert.equal(await counted(metrics.refused, { layer: 'membership', reason: 'peer_id_not_hotkey' }), 3);
    assert.equal(warnings.length, 3);

    // The attacker deregisters: nothing is removed (it was never a member), the victim stays.
    const left: string[] = [];
    membership.onChange((removed) => left.push(...removed.map((m) => m.peerId)));
    membership.update(snapshotWith([v, victim], [], 3));
    assert.deepEqual(left, []);
    assert.equal(membership.byPeer(victim.peerId)?.uid, 1);
    assert.deepEqual(membership.ignored(), []);
  });

  it('drops a member whose peer id changes to another key’s, reporting it as removed under its own peer id', () => {
    const [victim, attacker] = [makeNeuron('miner'), makeNeuron('miner')];
    const membership = createMembership();
    membership.update(snapshotOf([victim, attacker], 1));
    assert.equal(membership.byUid(1)?.peerId, attacker.peerId);
    const removed: { hotkey: string; peerId: string }[] = [];
    membership.onChange((r) => removed.push(...r));
    membership.update(snapshotWith([victim], [{ n: attacker, peerId: victim.peerId }], 2));
    assert.deepEqual(
      removed.map((m) => [m.hotkey, m.peerId]),
      [[attacker.account.address.toLowerCase(), attacker.peerId]],
    );
    assert.equal(membership.byUid(1), undefined);
    assert.equal(membership.byPeer(victim.peerId)?.uid, 0);
  });

  it('keeps a neuron that announced no peer id (admitted by its key), and stores peer ids canonically', () => {
    const quiet = makeNeuron('miner');
    const membership = createMembership();
    membership.update(snapshotWith([], [{ n: quiet, peerId: '' }], 1));
    assert.equal(membership.byUid(0)?.peerId, '');
    assert.equal(membership.byPeer(quiet.peerId)?.uid, 0);
    assert.equal(ownPeerId('', quiet.account.address), '');
    assert.equal(ownPeerId(quiet.peerId, quiet.account.address.toUpperCase()), quiet.peerId);
    // The same key spelled as a CID (base32) is the same peer id: stored as the canonical base58 string.
    const cid = peerIdFromHotkey(quiet.privateKey).toCID().toString();
    assert.notEqual(cid, quiet.peerId);
    assert.equal(ownPeerId(cid, quiet.account.address), quiet.peerId);
    assert.equal(ownPeerId(quiet.peerId, makeNeuron('miner').account.address), null);
  });
});
