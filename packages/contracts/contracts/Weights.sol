// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {INeuronRegistry} from "./interfaces/INeuronRegistry.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";

/// @title Weights
/// @notice Commit-reveal of validator weights. A validator's hotkey commits a hash of its weight vector in
///         epoch `e`, then reveals the vector in epoch `e + commitRevealPeriod`. The revealed vector lives only
///         in the `WeightsRevealed` event, so storage stays two slots per validator.
/// @dev Packed vectors: `uids` and `weights` are big-endian uint16 arrays, 2 bytes per entry, entry `i` of
///      one matching entry `i` of the other. The commit hash is
///      `keccak256(abi.encode(block.chainid, address(this), netuid, committer, commitEpoch, uids, weights,
///      salt))` with types (uint256, address, uint16, address, uint64, bytes, bytes, bytes32)
///      (`weightsCommitHash` in `src/weights.ts` computes the same). Binding the chain, this contract, the
///      subnet, the committing hotkey and the epoch means a commit hash is only good for the one reveal it was
///      made for: a copier that commits another validator's public hash cannot open it with the victim's
///      revealed vector (its own address goes into the hash), and no commit replays on another chain,
///      deployment, subnet or epoch.
///      A reveal is valid when: `uids.length == weights.length`, both even; 1..maxAllowedUids entries; every
///      uid below `maxAllowedUids` and unique; at least `minAllowedWeights` non-zero weights; and no weight
///      above `maxWeightLimit / 65535` of the vector's sum (`weight * 65535 <= maxWeightLimit * sum`). Uids
///      are not checked against registrations (no per-uid storage read). The permit is checked at commit.
///      A new commit replaces an unrevealed one; commits are rate-limited per (netuid, uid) by
///      `weightsRateLimit` blocks; a commit made by a UID's previous holder cannot be revealed.
contract Weights {
    /// @notice A pending commit.
    struct Commit {
        bytes32 commitHash;
        address hotkey;
        uint64 epoch;
    }

    /// @notice The denominator of `maxWeightLimit`.
    /// @return The scale (65535).
    uint256 public constant WEIGHT_LIMIT_SCALE = 65_535;

    /// @notice The subnet registry (hyperparameters, epochs).
    /// @return The subnet registry.
    ISubnetRegistry public immutable subnetRegistry;
    /// @notice The neuron registry (UIDs, permits, last update).
    /// @return The neuron registry.
    INeuronRegistry public immutable neuronRegistry;

    mapping(uint16 netuid => mapping(uint16 uid => Commit)) private _commits;
    mapping(uint16 netuid => mapping(uint16 uid => uint64 blockNumber)) private _lastCommitBlock;

    /// @notice No subnet has this netuid (raised by the subnet registry).
    error SubnetNotFound(uint16 netuid);
    /// @notice The caller's hotkey holds no UID on this subnet (raised by the neuron registry).
    error NotRegistered(uint16 netuid, address hotkey);
    /// @notice The zero address was given where a contract is required.
    error ZeroAddress();
    /// @notice The caller's UID holds no validator permit.
    error NoValidatorPermit(uint16 netuid, uint16 uid);
    /// @notice The UID committed too recently; it may commit again from `nextBlock`.
    error RateLimited(uint16 netuid, uint16 uid, uint256 nextBlock);
    /// @notice A zero commit hash was given.
    error EmptyCommitHash();
    /// @notice The caller has no pending commit on this subnet.
    error NoCommit(uint16 netuid, uint16 uid);
    /// @notice The reveal epoch `revealEpoch` has not come yet.
    error RevealTooEarly(uint64 currentEpoch, uint64 revealEpoch);
    /// @notice The reveal epoch `revealEpoch` has passed.
    error RevealTooLate(uint64 currentEpoch, uint64 revealEpoch);
    /// @notice The version key differs from the subnet's `weightsVersionKey`.
    error WeightsVersionMismatch(uint64 expected, uint64 given);
    /// @notice The revealed data does not hash to the commit (with this chain, contract, subnet, caller and
    ///         commit epoch): a wrong salt or vector, or a copied commit hash.
    error CommitHashMismatch();
    /// @notice `uids` and `weights` differ in length.
    error LengthMismatch(uint256 uidsLength, uint256 weightsLength);
    /// @notice A packed uint16 array has an odd byte length.
    error MalformedPackedArray(uint256 byteLength);
    /// @notice The vector must have 1..`max` entries.
    error InvalidWeightCount(uint256 count, uint256 max);
    /// @notice A uid is not below `maxAllowedUids`.
    error UidOutOfRange(uint256 uid);
    /// @notice A uid appears twice.
    error DuplicateUid(uint256 uid);
    /// @notice Fewer than `minAllowedWeights` non-zero weights.
    error TooFewNonZeroWeights(uint256 count, uint256 min);
    /// @notice A weight exceeds `maxWeightLimit / 65535` of the sum.
    error WeightAboveLimit(uint256 uid, uint256 weight);

    /// @notice A validator committed `commitHash` in `epoch`.
    event WeightsCommitted(
        uint16 indexed netuid, uint16 indexed uid, address indexed hotkey, bytes32 commitHash, uint64 epoch
    );
    /// @notice A validator revealed the weights it committed in `epoch` (packed big-endian uint16 arrays).
    event WeightsRevealed(uint16 indexed netuid, uint16 indexed uid, uint64 epoch, bytes uids, bytes weights);

    /// @notice Deploys the weights contract.
    /// @param subnetRegistry_ The subnet registry.
    /// @param neuronRegistry_ The neuron registry (which must name this contract with `setWeights`).
    constructor(ISubnetRegistry subnetRegistry_, INeuronRegistry neuronRegistry_) {
        if (address(subnetRegistry_) == address(0) || address(neuronRegistry_) == address(0)) revert ZeroAddress();
        subnetRegistry = subnetRegistry_;
        neuronRegistry = neuronRegistry_;
    }

    /// @notice Commits the hash of a weight vector; the caller is a validator's hotkey holding a permit.
    /// @param netuid The subnet.
    /// @param commitHash `keccak256(abi.encode(block.chainid, address(this), netuid, msg.sender, currentEpoch,
    ///        uids, weights, salt))`.
    /// @return epoch The commit epoch; reveal in `epoch + commitRevealPeriod`.
    function commitWeights(uint16 netuid, bytes32 commitHash) external returns (uint64 epoch) {
        if (commitHash == bytes32(0)) revert EmptyCommitHash();
        ISubnetRegistry.Hyperparams memory hp = subnetRegistry.getHyperparams(netuid);
        uint16 uid = neuronRegistry.uidOf(netuid, msg.sender);
        if (!neuronRegistry.hasValidatorPermit(netuid, uid)) revert NoValidatorPermit(netuid, uid);
        uint64 last = _lastCommitBlock[netuid][uid];
        if (last != 0 && block.number < uint256(last) + hp.weightsRateLimit) {
            revert RateLimited(netuid, uid, uint256(last) + hp.weightsRateLimit);
        }
        epoch = subnetRegistry.currentEpoch(netuid);
        _commits[netuid][uid] = Commit(commitHash, msg.sender, epoch);
        _lastCommitBlock[netuid][uid] = uint64(block.number);
        emit WeightsCommitted(netuid, uid, msg.sender, commitHash, epoch);
    }

    /// @notice Reveals the caller's committed weight vector in epoch `commitEpoch + commitRevealPeriod`,
    ///         emits it and clears the commit.
    /// @param netuid The subnet.
    /// @param uids Packed big-endian uint16 uids.
    /// @param weights Packed big-endian uint16 weights, one per uid.
    /// @param salt The salt hashed into the commit.
    /// @param versionKey Must equal the subnet's `weightsVersionKey`.
    function revealWeights(
        uint16 netuid,
        bytes calldata uids,
        bytes calldata weights,
        bytes32 salt,
        uint64 versionKey
    ) external {
        ISubnetRegistry.Hyperparams memory hp = subnetRegistry.getHyperparams(netuid);
        uint16 uid = neuronRegistry.uidOf(netuid, msg.sender);
        Commit memory commit = _commits[netuid][uid];
        if (commit.commitHash == bytes32(0) || commit.hotkey != msg.sender) revert NoCommit(netuid, uid);
        uint64 epoch = subnetRegistry.currentEpoch(netuid);
        uint64 revealEpoch = commit.epoch + hp.commitRevealPeriod;
        if (epoch < revealEpoch) revert RevealTooEarly(epoch, revealEpoch);
        if (epoch > revealEpoch) revert RevealTooLate(epoch, revealEpoch);
        if (versionKey != hp.weightsVersionKey) revert WeightsVersionMismatch(hp.weightsVersionKey, versionKey);
        if (commitHashOf(netuid, msg.sender, commit.epoch, uids, weights, salt) != commit.commitHash) {
            revert CommitHashMismatch();
        }
        _checkVector(uids, weights, hp.maxAllowedUids, hp.minAllowedWeights, hp.maxWeightLimit);

        delete _commits[netuid][uid];
        emit WeightsRevealed(netuid, uid, commit.epoch, uids, weights);
        neuronRegistry.markUpdated(netuid, uid);
    }

    /// @notice The commit hash `committer` must commit in `epoch` to reveal this vector and salt later.
    /// @param netuid The subnet.
    /// @param committer The hotkey that commits and reveals.
    /// @param epoch The subnet's epoch at commit time.
    /// @param uids Packed big-endian uint16 uids.
    /// @param weights Packed big-endian uint16 weights.
    /// @param salt The secret salt.
    /// @return The hash, bound to this chain and contract.
    function commitHashOf(
        uint16 netuid,
        address committer,
        uint64 epoch,
        bytes calldata uids,
        bytes calldata weights,
        bytes32 salt
    ) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), netuid, committer, epoch, uids, weights, salt));
    }

    /// @notice A UID's pending commit (all zero when none).
    /// @param netuid The subnet.
    /// @param uid The UID.
    /// @return commit The commit hash, the committing hotkey and the commit epoch.
    function getCommit(uint16 netuid, uint16 uid) external view returns (Commit memory commit) {
        return _commits[netuid][uid];
    }

    /// @notice The block of a UID's last commit (0 when never), for the rate limit.
    /// @param netuid The subnet.
    /// @param uid The UID.
    /// @return blockNumber The block.
    function lastCommitBlock(uint16 netuid, uint16 uid) external view returns (uint64 blockNumber) {
        return _lastCommitBlock[netuid][uid];
    }

    function _checkVector(
        bytes calldata uids,
        bytes calldata weights,
        uint256 maxAllowedUids,
        uint256 minAllowedWeights,
        uint256 maxWeightLimit
    ) private pure {
        uint256 byteLength = uids.length;
        if (byteLength != weights.length) revert LengthMismatch(byteLength, weights.length);
        if (byteLength & 1 != 0) revert MalformedPackedArray(byteLength);
        uint256 count = byteLength >> 1;
        if (count == 0 || count > maxAllowedUids) revert InvalidWeightCount(count, maxAllowedUids);
        (uint256 sum, uint256 nonZero, uint256 maxWeight, uint256 maxWeightUid) =
            _scanVector(uids, weights, maxAllowedUids);
        if (nonZero < minAllowedWeights) revert TooFewNonZeroWeights(nonZero, minAllowedWeights);
        if (maxWeight * WEIGHT_LIMIT_SCALE > maxWeightLimit * sum) revert WeightAboveLimit(maxWeightUid, maxWeight);
    }

    // One pass over equal-length packed vectors: range and uniqueness of uids (a 4096-bit bitmap in scratch
    // memory past the free memory pointer; maxAllowedUids <= 4096), sum, non-zero count and largest weight.
    function _scanVector(bytes calldata uids, bytes calldata weights, uint256 maxAllowedUids)
        private
        pure
        returns (uint256 sum, uint256 nonZero, uint256 maxWeight, uint256 maxWeightUid)
    {
        uint256 failure = 0; // 1: uid out of range, 2: duplicate uid; the uid is then in maxWeightUid
        assembly ("memory-safe") {
            let seen := mload(0x40)
            calldatacopy(seen, calldatasize(), 512)
            let end := uids.length
            for { let offset := 0 } lt(offset, end) { offset := add(offset, 2) } {
                let uid := shr(240, calldataload(add(uids.offset, offset)))
                if iszero(lt(uid, maxAllowedUids)) {
                    failure := 1
                    maxWeightUid := uid
                    break
                }
                let slot := add(seen, shl(5, shr(8, uid)))
                let bit := shl(and(uid, 0xff), 1)
                let word := mload(slot)
                if and(word, bit) {
                    failure := 2
                    maxWeightUid := uid
                    break
                }
                mstore(slot, or(word, bit))
                let weight := shr(240, calldataload(add(weights.offset, offset)))
                sum := add(sum, weight)
                nonZero := add(nonZero, iszero(iszero(weight)))
                if gt(weight, maxWeight) {
                    maxWeight := weight
                    maxWeightUid := uid
                }
            }
        }
        if (failure == 1) revert UidOutOfRange(maxWeightUid);
        if (failure == 2) revert DuplicateUid(maxWeightUid);
    }
}
