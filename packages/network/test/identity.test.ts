/**
 * One key, two identities: the peer id of a hotkey encodes its EVM address, and the devnet's public-key
 * derivation (wallet) agrees with the network stack's private-key one. Membership admits by that address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { peerIdOfPublicKey } from '@subnet/wallet';
import { privateKeyToAccount } from 'viem/accounts';
import { NetworkError } from '../src/errors.js';
import { addressOfPeerId, libp2pKeyFromHotkey, peerIdFromHotkey } from '../src/identity.js';
import { makeNeuron, membershipOf, snapshotOf } from './helpers.js';

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
