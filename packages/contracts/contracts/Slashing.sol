// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {INeuronRegistry} from "./interfaces/INeuronRegistry.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";

/// @notice What the Slashing contract needs of the stake ledger.
interface ISlashableStaking {
    /// @notice Takes `shareBps` of `hotkey`'s stake on `netuid` (allocations and pending deallocations, pro rata
    ///         across its coldkeys) and burns it; only the slasher.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @param shareBps The share in basis points.
    /// @return amount Tokens burnt.
    function slash(uint16 netuid, address hotkey, uint256 shareBps) external returns (uint256 amount);
}

/// @notice What the Slashing contract reads of the epoch consensus contract.
interface IEpochVotes {
    /// @notice The root the epoch was finalised with (zero while not final).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return root The final root.
    function finalRoot(uint16 netuid, uint64 epoch) external view returns (bytes32 root);

    /// @notice The fingerprint of the root `hotkey` proposed or attested for the epoch, while stored.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator.
    /// @return known Whether a vote is stored.
    /// @return fingerprint Its root's fingerprint.
    function voteOf(uint16 netuid, uint64 epoch, address hotkey) external view returns (bool known, bytes8 fingerprint);

    /// @notice The fingerprint of a root.
    /// @param root The root.
    /// @return The fingerprint.
    function rootFingerprint(bytes32 root) external pure returns (bytes8);

    /// @notice A validator's stake in the epoch's snapshot (zero when not in it or no longer stored).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator.
    /// @return stake Its stake.
    function snapshotStake(uint16 netuid, uint64 epoch, address hotkey) external view returns (uint256 stake);
}

/// @title Slashing
/// @notice Puts validator stake at risk (docs/epoch.md, "Slashing"). A validator is slashed, once per (subnet,
///         epoch, hotkey), by its subnet's slash share of its stake there (allocations and pending
///         deallocations of every coldkey delegating to it, burnt by `Staking.slash`) when it
///         - equivocated: signed two `Attestation`s (EIP-712, this contract's domain) of different roots for
///           one epoch (`slashEquivocation`, anyone may submit the two signatures), or
///         - proposed or attested a root other than the one the epoch was finalised with (`slashWrongRoot`,
///           anyone may call it once the epoch is final; EpochConsensus records every vote's root fingerprint).
///         Nothing here recomputes an epoch: both proofs are checks of signatures or of stored votes. The
///         slash share is set per subnet by its owner (default `DEFAULT_SLASH_SHARE_BPS`, at most
///         `MAX_SLASH_SHARE_BPS`) and takes effect from the next epoch. No reward goes to the reporter.
/// @dev Must never slash without one of the two proofs, nor twice for one (subnet, epoch, hotkey). Holds no
///      tokens and has no owner: the deployer makes it Staking's slasher once.
contract Slashing is EIP712 {
    /// @notice The EIP-712 type a validator signs when it proposes or attests.
    /// @return The type hash.
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint16 netuid,uint64 epoch,bytes32 root,bytes32 resultsHash)");
    /// @notice The slash share of a subnet whose owner never set one.
    /// @return Basis points (10 %).
    uint16 public constant DEFAULT_SLASH_SHARE_BPS = 1_000;
    /// @notice The largest slash share an owner may set.
    /// @return Basis points (50 %).
    uint16 public constant MAX_SLASH_SHARE_BPS = 5_000;

    /// @notice Why a validator was slashed.
    enum Offence {
        Equivocation,
        WrongRoot
    }

    // A subnet's slash share: `pending` applies from `effectiveEpoch`, `current` before (`set` false: default).
    struct Share {
        uint16 current;
        uint16 pending;
        uint64 effectiveEpoch;
        bool set;
    }

    /// @notice The stake ledger (this contract must be its slasher).
    /// @return The staking contract.
    ISlashableStaking public immutable staking;
    /// @notice The epoch consensus contract (final roots, votes, snapshots).
    /// @return The epoch consensus contract.
    IEpochVotes public immutable epochConsensus;
    /// @notice The subnet registry (owners, epochs).
    /// @return The subnet registry.
    ISubnetRegistry public immutable subnetRegistry;
    /// @notice The neuron registry (validator permits).
    /// @return The neuron registry.
    INeuronRegistry public immutable neuronRegistry;

    mapping(uint16 netuid => Share) private _shares;
    mapping(uint16 netuid => mapping(uint64 epoch => mapping(address hotkey => bool))) private _slashed;

    /// @notice The zero address was given where a contract is required.
    error ZeroAddress();
    /// @notice Only the subnet's owner may do this.
    error NotSubnetOwner(uint16 netuid, address caller);
    /// @notice The slash share exceeds `max` basis points.
    error SlashShareTooHigh(uint16 shareBps, uint16 max);
    /// @notice The two statements name the same root: no equivocation.
    error SameRoot(bytes32 root);
    /// @notice A signature is malformed or does not recover an address.
    error InvalidSignature();
    /// @notice The two statements were signed by different keys.
    error DifferentSigners(address signerA, address signerB);
    /// @notice `hotkey` was neither in the epoch's validator snapshot nor holds a validator permit now.
    error NotValidator(uint16 netuid, uint64 epoch, address hotkey);
    /// @notice The hotkey was already slashed for this epoch.
    error AlreadySlashed(uint16 netuid, uint64 epoch, address hotkey);
    /// @notice The epoch is not final: no root is wrong yet.
    error EpochNotFinalised(uint16 netuid, uint64 epoch);
    /// @notice No vote of the hotkey for the epoch is stored (it did not vote, or voted twice since).
    error VoteNotFound(uint16 netuid, uint64 epoch, address hotkey);
    /// @notice The hotkey voted for the final root.
    error VotedFinalRoot(uint16 netuid, uint64 epoch, address hotkey);

    /// @notice `hotkey` was slashed for `offence` in epoch `epoch`: `shareBps` of its stake, `amount` burnt.
    event ValidatorSlashed(
        uint16 indexed netuid,
        uint64 indexed epoch,
        address indexed hotkey,
        Offence offence,
        uint256 shareBps,
        uint256 amount,
        address reporter
    );
    /// @notice The subnet owner set the slash share to `shareBps` from epoch `effectiveEpoch`.
    event SlashShareSet(uint16 indexed netuid, uint16 shareBps, uint64 effectiveEpoch);

    /// @notice Deploys the contract; make it the slasher of `staking_`.
    /// @param staking_ The stake ledger.
    /// @param epochConsensus_ The epoch consensus contract.
    /// @param subnetRegistry_ The subnet registry.
    /// @param neuronRegistry_ The neuron registry.
    constructor(
        ISlashableStaking staking_,
        IEpochVotes epochConsensus_,
        ISubnetRegistry subnetRegistry_,
        INeuronRegistry neuronRegistry_
    ) EIP712("SubnetSlashing", "1") {
        if (
            address(staking_) == address(0) || address(epochConsensus_) == address(0)
                || address(subnetRegistry_) == address(0) || address(neuronRegistry_) == address(0)
        ) revert ZeroAddress();
        staking = staking_;
        epochConsensus = epochConsensus_;
        subnetRegistry = subnetRegistry_;
        neuronRegistry = neuronRegistry_;
    }

    /// @notice Sets the subnet's slash share from the next epoch on; only the subnet's owner. A value set
    ///         earlier and not yet in effect is replaced.
    /// @param netuid The subnet.
    /// @param shareBps Basis points, at most `MAX_SLASH_SHARE_BPS` (0 turns slashing off on the subnet).
    /// @return effectiveEpoch The first epoch it applies to.
    function setSlashShare(uint16 netuid, uint16 shareBps) external returns (uint64 effectiveEpoch) {
        address subnetOwner = subnetRegistry.subnetOwner(netuid);
        if (msg.sender != subnetOwner) revert NotSubnetOwner(netuid, msg.sender);
        if (shareBps > MAX_SLASH_SHARE_BPS) revert SlashShareTooHigh(shareBps, MAX_SLASH_SHARE_BPS);
        uint64 epoch = subnetRegistry.currentEpoch(netuid);
        Share memory share = _shares[netuid];
        uint16 current = _shareAt(share, epoch);
        effectiveEpoch = epoch + 1;
        _shares[netuid] = Share(current, shareBps, effectiveEpoch, true);
        emit SlashShareSet(netuid, shareBps, effectiveEpoch);
    }

    /// @notice Slashes the validator that signed `Attestation`s of two different roots for one epoch.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param rootA The first statement's root.
    /// @param resultsHashA The first statement's results hash.
    /// @param sigA The first statement's signature (65 bytes, or 64 EIP-2098).
    /// @param rootB The second statement's root (not `rootA`).
    /// @param resultsHashB The second statement's results hash.
    /// @param sigB The second statement's signature.
    /// @return amount Tokens burnt.
    function slashEquivocation(
        uint16 netuid,
        uint64 epoch,
        bytes32 rootA,
        bytes32 resultsHashA,
        bytes calldata sigA,
        bytes32 rootB,
        bytes32 resultsHashB,
        bytes calldata sigB
    ) external returns (uint256 amount) {
        if (rootA == rootB) revert SameRoot(rootA);
        address signerA = _signer(attestationDigest(netuid, epoch, rootA, resultsHashA), sigA);
        address signerB = _signer(attestationDigest(netuid, epoch, rootB, resultsHashB), sigB);
        if (signerA != signerB) revert DifferentSigners(signerA, signerB);
        if (!_isValidator(netuid, epoch, signerA)) revert NotValidator(netuid, epoch, signerA);
        return _slash(netuid, epoch, signerA, Offence.Equivocation);
    }

    /// @notice Slashes a validator that proposed or attested a root other than the one epoch `epoch` was
    ///         finalised with. Anyone may call it once the epoch is final, while the vote is stored (until the
    ///         validator votes on `epoch + 2`, never before `S(epoch + 3)`).
    /// @param netuid The subnet.
    /// @param epoch The epoch (final).
    /// @param hotkey The validator.
    /// @return amount Tokens burnt.
    function slashWrongRoot(uint16 netuid, uint64 epoch, address hotkey) external returns (uint256 amount) {
        bytes32 root = epochConsensus.finalRoot(netuid, epoch);
        if (root == bytes32(0)) revert EpochNotFinalised(netuid, epoch);
        (bool known, bytes8 vote) = epochConsensus.voteOf(netuid, epoch, hotkey);
        if (!known) revert VoteNotFound(netuid, epoch, hotkey);
        if (vote == epochConsensus.rootFingerprint(root)) revert VotedFinalRoot(netuid, epoch, hotkey);
        return _slash(netuid, epoch, hotkey, Offence.WrongRoot);
    }

    /// @notice The EIP-712 digest a validator signs for a statement.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param root The root it proposes or attests.
    /// @param resultsHash The results hash with it.
    /// @return The digest.
    function attestationDigest(uint16 netuid, uint64 epoch, bytes32 root, bytes32 resultsHash)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(ATTESTATION_TYPEHASH, netuid, epoch, root, resultsHash)));
    }

    /// @notice The slash share applying to slashes made now.
    /// @param netuid The subnet.
    /// @return shareBps Basis points.
    function slashShare(uint16 netuid) external view returns (uint16 shareBps) {
        return _shareAt(_shares[netuid], subnetRegistry.currentEpoch(netuid));
    }

    /// @notice The subnet's slash share setting: `current` until epoch `effectiveEpoch`, `pending` from it.
    /// @param netuid The subnet.
    /// @return current The share before `effectiveEpoch`.
    /// @return pending The share from `effectiveEpoch`.
    /// @return effectiveEpoch The epoch the pending share takes effect (0 when never set).
    function slashShareSetting(uint16 netuid)
        external
        view
        returns (uint16 current, uint16 pending, uint64 effectiveEpoch)
    {
        Share memory share = _shares[netuid];
        if (!share.set) return (DEFAULT_SLASH_SHARE_BPS, DEFAULT_SLASH_SHARE_BPS, 0);
        return (share.current, share.pending, share.effectiveEpoch);
    }

    /// @notice Whether `hotkey` was slashed for epoch `epoch` of `netuid`.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator.
    /// @return True once slashed.
    function isSlashed(uint16 netuid, uint64 epoch, address hotkey) external view returns (bool) {
        return _slashed[netuid][epoch][hotkey];
    }

    function _slash(uint16 netuid, uint64 epoch, address hotkey, Offence offence) private returns (uint256 amount) {
        if (_slashed[netuid][epoch][hotkey]) revert AlreadySlashed(netuid, epoch, hotkey);
        _slashed[netuid][epoch][hotkey] = true;
        uint16 shareBps = _shareAt(_shares[netuid], subnetRegistry.currentEpoch(netuid));
        amount = staking.slash(netuid, hotkey, shareBps);
        emit ValidatorSlashed(netuid, epoch, hotkey, offence, shareBps, amount, msg.sender);
    }

    // A validator of the epoch: in its snapshot (while stored) or permitted now.
    function _isValidator(uint16 netuid, uint64 epoch, address hotkey) private view returns (bool) {
        if (epochConsensus.snapshotStake(netuid, epoch, hotkey) != 0) return true;
        try neuronRegistry.uidOf(netuid, hotkey) returns (uint16 uid) {
            return neuronRegistry.hasValidatorPermit(netuid, uid);
        } catch {
            return false;
        }
    }

    function _signer(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError error_;
        (signer, error_,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error_ != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    function _shareAt(Share memory share, uint64 epoch) private pure returns (uint16) {
        if (!share.set) return DEFAULT_SLASH_SHARE_BPS;
        return epoch >= share.effectiveEpoch ? share.pending : share.current;
    }
}
