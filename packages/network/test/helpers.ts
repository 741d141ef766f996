/**
 * Test helpers: neurons with fresh hotkeys on loopback libp2p, and a membership built from them (the shape
 * the chain stack streams). Tests that need the real chain use the devnet instead.
 */
import { randomBytes } from 'node:crypto';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { libp2pKeyFromHotkey, peerIdFromHotkey } from '../src/identity.js';
import { createSubnetLibp2p, type SubnetLibp2p, type SubnetLibp2pModules } from '../src/libp2p.js';
import { createMembership, type Membership, type MetagraphSnapshot } from '../src/membership.js';

export interface TestNeuron {
  privateKey: Hex;
  account: ReturnType<typeof privateKeyToAccount>;
  peerId: string;
  role: 'validator' | 'miner';
  permit: boolean;
  /** Registered in the snapshot; false makes an outsider. */
  registered: boolean;
}

export function makeNeuron(
  role: 'validator' | 'miner',
  extra: Partial<Pick<TestNeuron, 'permit' | 'registered'>> = {},
): TestNeuron {
  const privateKey = `0x${randomBytes(32).toString('hex')}` as Hex;
  return {
    privateKey,
    account: privateKeyToAccount(privateKey),
    peerId: peerIdFromHotkey(privateKey).toString(),
    role,
    permit: extra.permit ?? role === 'validator',
    registered: extra.registered ?? true,
  };
}

/** A metagraph snapshot registering the given neurons (uids in order). */
export function snapshotOf(neurons: readonly TestNeuron[], block = 1): MetagraphSnapshot {
  return {
    netuid: 1,
    block,
    neurons: neurons
      .filter((n) => n.registered)
      .map((n, uid) => ({
        uid,
        hotkey: n.account.address,
        role: n.role,
        validatorPermit: n.role === 'validator' && n.permit,
        peerId: n.peerId,
        multiaddrs: [],
        stake: n.role === 'validator' ? '1000000000000000000000' : '0',
      })),
  };
}

export function membershipOf(neurons: readonly TestNeuron[]): Membership {
  const m = createMembership();
  m.update(snapshotOf(neurons));
  return m;
}

/** Starts a libp2p node for a neuron on 127.0.0.1 (TCP and WebSockets on free ports). */
export async function startLibp2p(
  n: TestNeuron,
  membership: Membership,
  onRefused?: SubnetLibp2pModules['onRefused'],
): Promise<SubnetLibp2p> {
  return createSubnetLibp2p(
    {
      privateKey: libp2pKeyFromHotkey(n.privateKey),
      netuid: 1,
      listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
    },
    onRefused === undefined ? { membership } : { membership, onRefused },
  );
}
