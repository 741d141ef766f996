/**
 * Who may talk to this node: the registered neurons of its subnet, by hotkey, kept current from metagraph
 * snapshots (the chain stack streams one after every change on chain). Admission is fail-closed: until the
 * first snapshot arrives nobody is admitted.
 */
import type { PeerId } from '@libp2p/interface';
import { addressOfPeerId } from './identity.js';

/** A registered neuron as admission and discovery see it. */
export interface Member {
  uid: number;
  hotkey: string;
  role: 'validator' | 'miner';
  validatorPermit: boolean;
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

export interface Membership {
  /** Block of the snapshot in use; null before the first. */
  readonly block: number | null;
  /** The member a peer id's key belongs to, if registered. */
  byPeer(peerId: PeerId | string): Member | undefined;
  byUid(uid: number): Member | undefined;
  byHotkey(hotkey: string): Member | undefined;
  members(): readonly Member[];
  /** Replaces the snapshot; calls the change listeners with the hotkeys that left. */
  update(snapshot: MetagraphSnapshot): void;
  /** Called after every update with the members that are no longer registered. */
  onChange(listener: (removed: readonly Member[]) => void): () => void;
}

export function createMembership(): Membership {
  let block: number | null = null;
  let byKey = new Map<string, Member>();
  let byUidMap = new Map<number, Member>();
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
    update(snapshot) {
      const next = new Map<string, Member>();
      const nextUid = new Map<number, Member>();
      for (const n of snapshot.neurons) {
        const m: Member = {
          uid: n.uid,
          hotkey: n.hotkey.toLowerCase(),
          role: n.role,
          validatorPermit: n.validatorPermit,
          peerId: n.peerId,
          multiaddrs: [...n.multiaddrs],
          stake: BigInt(n.stake),
        };
        next.set(m.hotkey, m);
        nextUid.set(m.uid, m);
      }
      const removed = [...byKey.values()].filter((m) => !next.has(m.hotkey));
      byKey = next;
      byUidMap = nextUid;
      block = snapshot.block;
      for (const l of listeners) l(removed);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
