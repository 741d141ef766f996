/**
 * A hotkey's libp2p identity. The network stack's peer id is the hotkey itself (secp256k1), so the key
 * registered on chain and the key that authenticates every libp2p connection are one: the peer id is
 * derived here from the public key, and the network stack builds its libp2p key from the same private key.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { secp256k1 } from '@noble/curves/secp256k1';
import { type Hex, hexToBytes } from 'viem';

/** The libp2p peer id (`16Uiu2…`) of a secp256k1 public key (a viem account's `publicKey`, 65 or 33 bytes). */
export function peerIdOfPublicKey(publicKey: Hex): string {
  const compressed = secp256k1.ProjectivePoint.fromHex(hexToBytes(publicKey)).toRawBytes(true);
  return peerIdFromPublicKey(publicKeyFromRaw(compressed)).toString();
}
