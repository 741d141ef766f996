/**
 * One key, two identities: the neuron's hotkey (a secp256k1 key, an EVM address on chain) is also its
 * libp2p identity. The peer id embeds the compressed public key, so anyone can derive the hotkey address
 * from a peer id, and the noise handshake proves the remote holds the key. Admission therefore needs no
 * extra signatures: the address of an authenticated connection is looked up in the metagraph.
 */
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { secp256k1 } from '@noble/curves/secp256k1';
import { type Address, type Hex, hexToBytes, keccak256 } from 'viem';
import { NetworkError, NetworkErrorCode } from './errors.js';

/** The libp2p private key of a hotkey (32-byte secp256k1 scalar, 0x-hex). */
export function libp2pKeyFromHotkey(privateKey: Hex): PrivateKey {
  const raw = hexToBytes(privateKey);
  if (raw.length !== 32) {
    throw new NetworkError(
      NetworkErrorCode.INVALID_INPUT,
      `a hotkey private key is 32 bytes, got ${raw.length}`,
    );
  }
  return privateKeyFromRaw(raw);
}

/** The peer id of a hotkey's private key. */
export function peerIdFromHotkey(privateKey: Hex): PeerId {
  return peerIdFromPrivateKey(libp2pKeyFromHotkey(privateKey));
}

const addressCache = new Map<string, Address | null>();

/**
 * The EVM address a peer id encodes (lowercase), or null when it is not a secp256k1 peer id. Cached:
 * decompressing the point costs tens of microseconds and admission asks once per connection and request.
 */
export function addressOfPeerId(peerId: PeerId | string): Address | null {
  const key = peerId.toString();
  const hit = addressCache.get(key);
  if (hit !== undefined) return hit;
  let address: Address | null = null;
  try {
    const id = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId;
    if (id.type === 'secp256k1') {
      const uncompressed = secp256k1.ProjectivePoint.fromHex(id.publicKey.raw).toRawBytes(false);
      address = `0x${keccak256(uncompressed.subarray(1)).slice(-40)}` as Address;
    }
  } catch {
    address = null;
  }
  if (addressCache.size > 100_000) addressCache.clear();
  addressCache.set(key, address);
  return address;
}
