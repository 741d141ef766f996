/**
 * The epoch's payout tree and results in the form EpochConsensus takes them (docs/epoch.md): the leaf hash
 * `keccak256(keccak256(abi.encode(uint16 netuid, uint64 epoch, uint16 uid, address account, uint256 amount)))`,
 * OpenZeppelin's sorted-pair Merkle tree over the leaves sorted by hash, and the 22-byte result entries.
 * Pure functions; must stay bit-identical to `EpochConsensus.sol` (the contract tests verify proofs built
 * here on chain).
 */
import { SubnetError } from '@subnet/utils';
import {
  type Address,
  bytesToHex,
  concat,
  encodeAbiParameters,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
} from 'viem';

export const EpochErrorCode = {
  EMPTY_TREE: 'EMPTY_TREE',
  DUPLICATE_UID: 'DUPLICATE_UID',
  UNKNOWN_UID: 'UNKNOWN_UID',
  VALUE_OUT_OF_RANGE: 'VALUE_OUT_OF_RANGE',
  MALFORMED_RESULTS: 'MALFORMED_RESULTS',
} as const;

/** The uid of the subnet owner's leaf. */
export const OWNER_UID = 65_535;
/** Bytes per result entry: `uid u16 | incentive u16 | dividends u16 | trust u16 | consensus u16 | amount u96`. */
export const RESULT_ENTRY_BYTES = 22;

const MAX_U96 = (1n << 96n) - 1n;
const MAX_U256 = (1n << 256n) - 1n;

/** One payout: the neuron's uid (or {@link OWNER_UID}), its hotkey (or the owner) and the amount. */
export interface EpochLeaf {
  uid: number;
  account: Address;
  amount: bigint;
}

/** A leaf of epoch `epoch` of subnet `netuid`. */
export interface EpochLeafParameters extends EpochLeaf {
  netuid: number;
  epoch: bigint;
}

/** One neuron's results: u16 values are `floor(raw · 65535 / 2^32)`; `amount` its payout (< 2^96). */
export interface ResultEntry {
  uid: number;
  incentive: number;
  dividends: number;
  trust: number;
  consensus: number;
  amount: bigint;
}

/** A built payout tree. */
export interface EpochTree {
  /** The Merkle root `EpochConsensus.propose` takes. */
  root: Hex;
  /** The leaves, by ascending uid, each with its hash. */
  leaves: (EpochLeaf & { hash: Hex })[];
  /** The proof of the leaf of `uid` for `EpochConsensus.claim`; throws `UNKNOWN_UID` when there is none. */
  proof(uid: number): Hex[];
  /** The leaf of `uid`, or undefined. */
  leaf(uid: number): (EpochLeaf & { hash: Hex }) | undefined;
}

function checkU16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new SubnetError(
      EpochErrorCode.VALUE_OUT_OF_RANGE,
      `${name} ${value} is not an integer in 0..65535`,
    );
  }
}

/**
 * The leaf hash `EpochConsensus.claim` checks:
 * `keccak256(bytes.concat(keccak256(abi.encode(uint16 netuid, uint64 epoch, uint16 uid, address account, uint256 amount))))`.
 */
export function epochLeafHash({ netuid, epoch, uid, account, amount }: EpochLeafParameters): Hex {
  checkU16('netuid', netuid);
  checkU16('uid', uid);
  if (epoch < 0n || epoch >= 1n << 64n) {
    throw new SubnetError(EpochErrorCode.VALUE_OUT_OF_RANGE, `epoch ${epoch} is not a uint64`);
  }
  if (amount < 0n || amount > MAX_U256) {
    throw new SubnetError(EpochErrorCode.VALUE_OUT_OF_RANGE, `amount ${amount} is not a uint256`);
  }
  const encoded = encodeAbiParameters(
    [{ type: 'uint16' }, { type: 'uint64' }, { type: 'uint16' }, { type: 'address' }, { type: 'uint256' }],
    [netuid, epoch, uid, account, amount],
  );
  return keccak256(keccak256(encoded));
}

const compareHex = (a: Hex, b: Hex): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** OpenZeppelin's `Hashes.commutativeKeccak256`: the hash of the two nodes in ascending order. */
function hashPair(a: Hex, b: Hex): Hex {
  return compareHex(a, b) <= 0 ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/**
 * Builds the payout tree of an epoch as OpenZeppelin's `StandardMerkleTree` lays it out (leaf hashes sorted
 * ascending, sorted-pair hashing), so `MerkleProof.verify` accepts its proofs. A one-leaf tree has the leaf
 * as root and empty proofs. Throws `EMPTY_TREE` for no leaves and `DUPLICATE_UID` for a uid given twice.
 */
export function buildEpochTree(netuid: number, epoch: bigint, leaves: readonly EpochLeaf[]): EpochTree {
  if (leaves.length === 0) {
    throw new SubnetError(EpochErrorCode.EMPTY_TREE, 'an epoch tree needs at least one leaf');
  }
  const byUid = new Map<number, EpochLeaf & { hash: Hex }>();
  for (const leaf of leaves) {
    if (byUid.has(leaf.uid)) {
      throw new SubnetError(EpochErrorCode.DUPLICATE_UID, `uid ${leaf.uid} has two leaves; merge them first`);
    }
    byUid.set(leaf.uid, {
      uid: leaf.uid,
      account: getAddress(leaf.account),
      amount: leaf.amount,
      hash: epochLeafHash({ netuid, epoch, ...leaf }),
    });
  }
  const sorted = [...byUid.values()].sort((a, b) => compareHex(a.hash, b.hash));
  const n = sorted.length;
  // Heap layout: node i has children 2i+1 and 2i+2; the leaves fill the last n slots in reverse order.
  const tree = new Array<Hex>(2 * n - 1);
  const position = new Map<number, number>();
  sorted.forEach((leaf, i) => {
    tree[tree.length - 1 - i] = leaf.hash;
    position.set(leaf.uid, tree.length - 1 - i);
  });
  for (let i = tree.length - 1 - n; i >= 0; i--) {
    tree[i] = hashPair(tree[2 * i + 1] as Hex, tree[2 * i + 2] as Hex);
  }
  return {
    root: tree[0] as Hex,
    leaves: [...byUid.values()].sort((a, b) => a.uid - b.uid),
    leaf: (uid) => byUid.get(uid),
    proof(uid) {
      let i = position.get(uid);
      if (i === undefined) {
        throw new SubnetError(EpochErrorCode.UNKNOWN_UID, `uid ${uid} has no leaf in this tree`);
      }
      const proof: Hex[] = [];
      while (i > 0) {
        proof.push(tree[i % 2 === 0 ? i - 1 : i + 1] as Hex);
        i = Math.floor((i - 1) / 2);
      }
      return proof;
    },
  };
}

/**
 * Packs result entries, sorted by uid, 22 bytes each big-endian:
 * `uid u16 | incentive u16 | dividends u16 | trust u16 | consensus u16 | amount u96`. Throws
 * `VALUE_OUT_OF_RANGE` or `DUPLICATE_UID`.
 */
export function encodeResults(entries: readonly ResultEntry[]): Hex {
  const sorted = [...entries].sort((a, b) => a.uid - b.uid);
  const bytes = new Uint8Array(sorted.length * RESULT_ENTRY_BYTES);
  sorted.forEach((e, i) => {
    if (i > 0 && (sorted[i - 1] as ResultEntry).uid === e.uid) {
      throw new SubnetError(EpochErrorCode.DUPLICATE_UID, `uid ${e.uid} has two result entries`);
    }
    const at = i * RESULT_ENTRY_BYTES;
    const u16s = [e.uid, e.incentive, e.dividends, e.trust, e.consensus];
    const names = ['uid', 'incentive', 'dividends', 'trust', 'consensus'];
    u16s.forEach((v, k) => {
      checkU16(names[k] as string, v);
      bytes[at + 2 * k] = v >> 8;
      bytes[at + 2 * k + 1] = v & 0xff;
    });
    if (e.amount < 0n || e.amount > MAX_U96) {
      throw new SubnetError(
        EpochErrorCode.VALUE_OUT_OF_RANGE,
        `amount ${e.amount} of uid ${e.uid} does not fit in 96 bits`,
      );
    }
    let amount = e.amount;
    for (let k = 21; k >= 10; k--) {
      bytes[at + k] = Number(amount & 0xffn);
      amount >>= 8n;
    }
  });
  return bytesToHex(bytes);
}

/** Unpacks result entries (the inverse of {@link encodeResults}), e.g. from an `EpochProposed` event. */
export function decodeResults(results: Hex): ResultEntry[] {
  const bytes = hexToBytes(results);
  if (bytes.length % RESULT_ENTRY_BYTES !== 0) {
    throw new SubnetError(
      EpochErrorCode.MALFORMED_RESULTS,
      `results must be a multiple of ${RESULT_ENTRY_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const out: ResultEntry[] = [];
  for (let at = 0; at < bytes.length; at += RESULT_ENTRY_BYTES) {
    const u16 = (k: number) => ((bytes[at + 2 * k] as number) << 8) | (bytes[at + 2 * k + 1] as number);
    let amount = 0n;
    for (let k = 10; k < 22; k++) amount = (amount << 8n) | BigInt(bytes[at + k] as number);
    out.push({ uid: u16(0), incentive: u16(1), dividends: u16(2), trust: u16(3), consensus: u16(4), amount });
  }
  return out;
}

/** `keccak256(results)`, the results hash of a proposal. */
export function resultsHash(results: Hex): Hex {
  return keccak256(results);
}

/**
 * The weight rules of docs/epoch.md over `WeightsRevealed` logs (ascending): per validator (validator role and
 * a permit), its latest reveal in `[max(S(e-3), registeredAt), B(e)]`, keeping only entries on miners
 * registered at or before the reveal's block. Validators without one are left out (they abstain). Blocks are
 * numbers or bigints, the same type throughout (the chain stack reads bigints, the simulator numbers).
 */
export function countedReveals<
  B extends number | bigint,
  L extends { uid: number; block: B; uids: number[]; weights: number[] },
>(
  neurons: readonly { uid: number; role: string; validatorPermit: boolean; registeredAt: B }[],
  logs: readonly L[],
  window: { from: B; to: B },
): L[] {
  const validators = new Map(
    neurons.filter((n) => n.role === 'validator' && n.validatorPermit).map((n) => [n.uid, n]),
  );
  const miners = new Map(neurons.filter((n) => n.role === 'miner').map((n) => [n.uid, n]));
  const latest = new Map<number, L>();
  for (const log of logs) {
    const v = validators.get(log.uid);
    if (v === undefined || log.block < window.from || log.block > window.to || log.block < v.registeredAt)
      continue;
    latest.set(log.uid, log);
  }
  return [...latest.values()]
    .sort((a, b) => a.uid - b.uid)
    .map((r) => {
      const uids: number[] = [];
      const weights: number[] = [];
      r.uids.forEach((uid, k) => {
        const m = miners.get(uid);
        if (m === undefined || m.registeredAt > r.block) return;
        uids.push(uid);
        weights.push(r.weights[k] ?? 0);
      });
      return { ...r, uids, weights };
    });
}
