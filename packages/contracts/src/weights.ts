/**
 * Weight vectors in the form the Weights contract takes them: packed big-endian uint16 arrays (2 bytes per
 * entry) and the commit hash `keccak256(abi.encode(chainId, weightsContract, netuid, committer, epoch, uids,
 * weights, salt))`. Pure functions; must stay byte-identical to `Weights.sol`.
 */
import { SubnetError } from '@subnet/utils';
import { type Address, bytesToHex, encodeAbiParameters, type Hex, hexToBytes, keccak256 } from 'viem';

export const WeightsErrorCode = {
  INVALID_UINT16: 'INVALID_UINT16',
  INVALID_PACKED_ARRAY: 'INVALID_PACKED_ARRAY',
} as const;

/** Packs integers 0..65535 as big-endian uint16s, 2 bytes each (`[1, 258]` → `0x00010102`). */
export function packU16(values: readonly number[]): Hex {
  const bytes = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new SubnetError(
        WeightsErrorCode.INVALID_UINT16,
        `value ${v} at index ${i} is not an integer in 0..65535; scale weights to uint16 before packing`,
      );
    }
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  }
  return bytesToHex(bytes);
}

/** Unpacks big-endian uint16s (the inverse of {@link packU16}), e.g. from a `WeightsRevealed` event. */
export function unpackU16(packed: Hex): number[] {
  const bytes = hexToBytes(packed);
  if (bytes.length % 2 !== 0) {
    throw new SubnetError(
      WeightsErrorCode.INVALID_PACKED_ARRAY,
      `a packed uint16 array needs an even byte length, got ${bytes.length}`,
    );
  }
  const out = new Array<number>(bytes.length / 2);
  for (let i = 0; i < out.length; i++)
    out[i] = ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number);
  return out;
}

/** What a weights commit hash binds: the commit is good for this one reveal only. */
export interface WeightsCommitParameters {
  /** The chain's id (`block.chainid`). */
  chainId: number | bigint;
  /** The Weights contract's address (`address(this)`). */
  contract: Address;
  netuid: number;
  /** The hotkey that commits and must reveal (`msg.sender`). */
  committer: Address;
  /** The subnet's current epoch at commit time. */
  epoch: bigint;
  uids: readonly number[];
  weights: readonly number[];
  /** 32 random bytes, kept secret until the reveal. */
  salt: Hex;
}

/**
 * The commit hash `Weights.commitWeights` expects and `Weights.revealWeights` checks:
 * `keccak256(abi.encode(uint256 chainId, address contract, uint16 netuid, address committer, uint64 epoch,
 * bytes uids, bytes weights, bytes32 salt))`, the vectors packed as by {@link packU16}. A copier that commits
 * another hotkey's hash cannot reveal it: its own address would go into the hash.
 */
export function weightsCommitHash(p: WeightsCommitParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint16' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'bytes' },
        { type: 'bytes' },
        { type: 'bytes32' },
      ],
      [
        BigInt(p.chainId),
        p.contract,
        p.netuid,
        p.committer,
        p.epoch,
        packU16(p.uids),
        packU16(p.weights),
        p.salt,
      ],
    ),
  );
}
