/**
 * Who may talk to this node: the registered neurons of its subnet, by hotkey, kept current from metagraph
 * snapshots (the chain stack streams one after every change on chain). Admission is fail-closed: until the
 * first snapshot arrives nobody is admitted.
 * A neuron whose registered peer id is not its hotkey's own (the registry refuses one now; one may have
 * slipped in before) is ignored as if unregistered: never dialled, admitted or mapped to its uid, so it
 * can neither take another neuron's work and credit nor, by leaving, make this node hang up on that neuron.
 * Every member's `peerId` is therefore the canonical peer id of its `hotkey`, or empty (none announced).
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '@subnet/utils';
import { addressOfPeerId } from './identity.js';
import type { NetworkMetrics } from './metrics.js';

/** A registered neuron as admission and discovery see it. */
export interface Member {
  uid: number;
  /** Lowercase hotkey address. */
  hotkey: string;
  role: 'validator' | 'miner';
  validatorPermit: boolean;
  /** The canonical peer id of `hotkey` as registered, or '' when the neuron announced none. */
  peerId: string;
  multiaddrs: string[];
  stake: bigint;
}

/** The fields of a metagraph snapshot membership needs (the `chain_*` JSON shape). */
export interface MetagraphSnapshot {
  netuid: number;
  block: number;
  neurons: readonly {
    uid: number;
    hotkey: string;
    role: 'validator' | 'miner';
    validatorPermit: boolean;
    peerId: string;
    multiaddrs: readonly string[];
    stake: string;
  }[];
}

export interface MembershipModules {
  /** Told once per neuron (hotkey and peer id) ignored for a peer id that is not its hotkey's. */
  logger?: Logger | undefined;
  /** Counts the same, once each: `refused{layer="membership",reason="peer_id_not_hotkey"}`. */
  metrics?: NetworkMetrics | undefined;
}

/** A registered neuron left out of the membership, and why. */
export interface IgnoredNeuron {
  uid: number;
  hotkey: string;
  peerId: string;
  reason: 'peer_id_not_hotkey';
}

export interface Membership {
  /** Block of the snapshot in use; null before the first. */
  readonly block: number | null;
  /** The member a peer id's key belongs to, if registered. */
  byPeer(peerId: PeerId | string): Member | undefined;
  byUid(uid: number): Member | undefined;
  byHotkey(hotkey: string): Member | undefined;
  members(): readonly Member[];
  /** The neurons of the current snapshot left out (a registered peer id that is not the hotkey's). */
  ignored(): readonly IgnoredNeuron[];
  /** Replaces the snapshot; calls the change listeners with the hotkeys that left. */
  update(snapshot: MetagraphSnapshot): void;
  /** Called after every update with the members that are no longer registered. */
  onChange(listener: (removed: readonly Member[]) => void): () => void;
}

/**
 * The canonical peer id a neuron registered, '' for none, or null when it does not derive from `hotkey`
 * (another key's, an ed25519 one, or not a peer id).
 */
export function ownPeerId(peerId: string, hotkey: string): string | null {
  if (peerId === '') return '';
  try {
    const id = peerIdFromString(peerId);
    return addressOfPeerId(id) === hotkey.toLowerCase() ? id.toString() : null;
  } catch {
    return null;
  }
}

/** Creates an empty membership (nobody admitted until the first {@link Membership.update}). */
export function createMembership(modules: MembershipModules = {}): Membership {
  const { logger, metrics } = modules;
  let block: number | null = null;
  let byKey = new Map<string, Member>();
  let byUidMap = new Map<number, Member>();
  let ignored: IgnoredNeuron[] = [];
  // `hotkey peerId` of the ignored neurons already logged, kept while they stay registered.
  let warned = new Set<string>();
  const listeners = new Set<(removed: readonly Member[]) => void>();
  return {
    get block() {
      return block;
    },
    byPeer(peerId) {
      const address = addressOfPeerId(peerId);
      return address === null ? undefined : byKey.get(address);
    },
    byUid: (uid) => byUidMap.get(uid),
    byHotkey: (hotkey) => byKey.get(hotkey.toLowerCase()),
    members: () => [...byUidMap.values()],
    ignored: () => ignored,
    update(snapshot) {
      const next = new Map<string, Member>();
      const nextUid = new Map<number, Member>();
      const nextIgnored: IgnoredNeuron[] = [];
      const nextWarned = new Set<string>();
      for (const n of snapshot.neurons) {
        const hotkey = n.hotkey.toLowerCase();
        const peerId = ownPeerId(n.peerId, hotkey);
        if (peerId === null) {
          nextIgnored.push({ uid: n.uid, hotkey, peerId: n.peerId, reason: 'peer_id_not_hotkey' });
          const key = `${hotkey} ${n.peerId}`;
          nextWarned.add(key);
          if (!warned.has(key)) {
            metrics?.refused.inc({ layer: 'membership', reason: 'peer_id_not_hotkey' });
            logger?.warn(
              { uid: n.uid, hotkey, peerId: n.peerId.slice(0, 128) },
              'ignoring a neuron whose registered peer id is not its hotkey’s',
            );
          }
          continue;
        }
        const m: Member = {
          uid: n.uid,
          hotkey,
          role: n.role,
          validatorPermit: n.validatorPermit,
          peerId,
          multiaddrs: [...n.multiaddrs],
          stake: BigInt(n.stake),
        };
        next.set(m.hotkey, m);
        nextUid.set(m.uid, m);
      }
      const removed = [...byKey.values()].filter((m) => !next.has(m.hotkey));
      byKey = next;
      byUidMap = nextUid;
      ignored = nextIgnored;
      warned = nextWarned;
      block = snapshot.block;
      for (const l of listeners) l(removed);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
