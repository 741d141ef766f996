// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMintableToken} from "./interfaces/IMintableToken.sol";
import {INeuronRegistry} from "./interfaces/INeuronRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";

/// @title EpochConsensus
/// @notice Settles each subnet's epochs as docs/epoch.md defines: a permitted validator proposes the epoch's
///         emission tree (Merkle root of the payouts, hash of the per-neuron results, total), the other
///         permitted validators attest to it, at two thirds of the validator stake the epoch is final and every
///         leaf can be claimed once (minted to the neuron's coldkey, the owner leaf to the owner, or added to the
///         hotkey's stake). The emission schedule (`ratePerBlock`, halving every `halvingInterval` blocks, at
///         most `emissionCap` in all) and the subnet owner's Yuma version live here too.
/// @dev Epoch `e` of subnet `n` covers blocks `[S(e), S(e+1))` (`SubnetRegistry.epochStartBlock`); it is
///      proposed in `[S(e+1), D(e)]`, `D(e) = S(e+2) - 1`, and attested until `D(e)`, so at most one proposal
///      per subnet is ever under attestation: that one lives in a per-subnet `Round` whose slots each new
///      proposal overwrites (cheap non-zero writes); per epoch only the root and the settlement (total,
///      claimed, finalised) stay. The round of the previous proposal is therefore readable until the next one;
///      older proposers, result hashes and stakes are in the events. So a final epoch's results can be
///      recorded in the neuron registry (`recordResults`: each UID's amount as its pruning score) only until the
///      subnet's next proposal; a per-epoch results hash would cost every proposal a fresh slot (~20k gas).
///      The validator set, their stakes and the permits are snapshotted at the proposal (one slot per
///      validator and subnet): attesters are the validators permitted then, each counted with its stake then.
///      An expired proposal is recorded lazily, at the next proposal on the subnet or by anyone through
///      `recordExpiry`: its proposer gets a strike and leaves the draw for the next `SUSPENSION_EPOCHS`
///      epochs, and its emission rolls over; `proposerOf` already counts an expiry not yet recorded, so it
///      answers what the proposal will see.
///      `totalEmitted` grows at finalisation; a proposal's total is capped by `emissionCap - totalEmitted` when
///      proposed, and should another subnet's epoch be final first and leave less, the finalising attestation
///      reverts `EmissionCapExceeded` (the epoch expires and its emission, capped anew, rolls over), so the
///      cap always holds.
///      Stakes are stored as uint112 and epochs as uint32 (SafeCast reverts beyond).
contract EpochConsensus is Ownable {
    using SafeCast for uint256;

    /// @notice The status of an epoch (see docs/epoch.md).
    enum EpochStatus {
        Open,
        Awaiting,
        Proposed,
        Finalised,
        Expired
    }

    /// @notice An epoch as `getEpoch` returns it. Proposer, results hash and stakes are known only while the
    ///         epoch's proposal is the subnet's latest (zero otherwise; see the `EpochProposed` event).
    struct EpochInfo {
        EpochStatus status;
        address proposer;
        bytes32 root;
        bytes32 resultsHash;
        uint256 total;
        uint256 claimed;
        uint256 totalValidatorStake;
        uint256 attestedStake;
        uint256 startBlock;
        uint256 endBlock;
        uint256 exclusiveUntil;
        uint256 deadline;
        uint256 competeFrom;
    }

    // The subnet's latest proposal. Slot 0: who, which epoch, its deadline, flags. Slot 1: results hash.
    // Slot 2: stakes, and the first unsettled epoch as it was before this proposal. Slot 3: the total, the
    // epoch's end `S(epoch + 1)` and the start of unsettled emission before this proposal (blocks).
    struct Round {
        address proposer;
        uint32 epoch;
        uint48 deadline;
        uint8 flags;
        bytes32 resultsHash;
        uint112 attestedStake;
        uint112 totalStake;
        uint32 settledEpoch;
        uint128 total;
        uint64 endBlock;
        uint64 settledUntil;
    }

    // Per (epoch), written when it is final: what claims need.
    struct Settlement {
        uint128 total;
        uint120 claimed;
        bool finalised;
    }

    // Per (subnet, hotkey), one slot: its last proposal or attestation (`attestedEpoch` = epoch + 1: one per
    // epoch) with the fingerprint of the root it voted for (`vote`), the one before (`prevEpoch`, `prevVote`),
    // and its penalties. The two votes are what the Slashing contract reads (`voteOf`): a vote for epoch `e`
    // stays readable until the validator votes on `e + 2`, which it cannot before `S(e + 3)`, at least one
    // tempo after `e`'s deadline.
    struct ValidatorState {
        uint32 attestedEpoch;
        uint32 suspendedUntil;
        uint32 strikes;
        uint32 prevEpoch;
        bytes8 vote;
        bytes8 prevVote;
    }

    // Per (subnet, epoch), one slot: the validator snapshot the epoch's proposals and attestations count.
    // `drawStake` is the stake of those not suspended when it was taken; `flags` SNAPSHOT_TAKEN, or
    // SNAPSHOT_LATE when the first proposal took it (no snapshot during the epoch): then nobody is drawn.
    struct Snapshot {
        uint112 totalStake;
        uint112 drawStake;
        uint16 count;
        uint8 flags;
    }

    // Per (subnet, epoch parity, hotkey), one slot: a validator's entry in the snapshot of epoch
    // `epochPlusOne - 1`; `drawTo` is the cumulative draw stake up to and including it (in `_drawOrder`).
    struct SnapshotEntry {
        uint112 stake;
        uint112 drawTo;
        uint32 epochPlusOne;
    }

    // A competing proposal (not the epoch's first): per (subnet, epoch, root).
    struct Proposal {
        address proposer;
        uint112 attestedStake;
        bytes32 resultsHash;
    }

    uint8 private constant FINALISED = 1;
    uint8 private constant EXPIRY_RECORDED = 2;
    uint8 private constant SNAPSHOT_TAKEN = 1;
    uint8 private constant SNAPSHOT_LATE = 2;

    /// @notice The UID of the subnet owner's leaf.
    /// @return 65535.
    uint16 public constant OWNER_UID = 65_535;
    /// @notice Bytes per entry of a proposal's results.
    /// @return 22.
    uint256 public constant RESULT_ENTRY_BYTES = 22;
    /// @notice Epochs an expired proposal's proposer stays out of the proposer draw.
    /// @return 4.
    uint64 public constant SUSPENSION_EPOCHS = 4;
    /// @notice The Yuma version of a subnet whose owner never set one.
    /// @return 3.
    uint8 public constant DEFAULT_YUMA_VERSION = 3;

    /// @notice The token emission is minted in.
    /// @return The mintable token (this contract must be a minter).
    IMintableToken public immutable token;
    /// @notice The stake ledger (claims to stake; this contract must be its rewarder).
    /// @return The staking contract.
    IStaking public immutable staking;
    /// @notice The subnet registry (epoch schedule, owners).
    /// @return The subnet registry.
    ISubnetRegistry public immutable subnetRegistry;
    /// @notice The neuron registry (permits, stakes, coldkeys).
    /// @return The neuron registry.
    INeuronRegistry public immutable neuronRegistry;
    /// @notice Emission per block of each subnet before the first halving.
    /// @return Tokens per block.
    uint256 public immutable ratePerBlock;
    /// @notice The rate halves at every multiple of this block number.
    /// @return Blocks.
    uint64 public immutable halvingInterval;
    /// @notice All emission together never exceeds this.
    /// @return Tokens.
    uint256 public immutable emissionCap;

    /// @notice Emission of final epochs, all subnets together.
    /// @return Tokens.
    uint256 public totalEmitted;
    mapping(uint16 netuid => Round) private _rounds;
    mapping(uint16 netuid => mapping(uint64 epoch => bytes32 root)) private _roots;
    mapping(uint16 netuid => mapping(uint64 epoch => Settlement)) private _settlements;
    mapping(uint16 netuid => mapping(address hotkey => ValidatorState)) private _validators;
    mapping(uint16 netuid => mapping(uint16 uid => mapping(uint256 word => uint256 bits))) private _claimedBits;
    mapping(uint16 netuid => uint8 version) private _yumaVersions;
    mapping(uint16 netuid => mapping(uint64 epoch => Snapshot)) private _snapshots;
    mapping(uint16 netuid => mapping(uint256 parity => mapping(address hotkey => SnapshotEntry))) private _entries;
    mapping(uint16 netuid => mapping(uint256 parity => mapping(uint256 index => address hotkey))) private _drawOrder;
    mapping(uint16 netuid => mapping(uint64 epoch => mapping(bytes32 root => Proposal))) private _proposals;

    /// @notice The zero address was given where an account or contract is required.
    error ZeroAddress();
    /// @notice The halving interval must be at least one block.
    error InvalidHalvingInterval();
    /// @notice The emission cap must be below 2^128.
    error InvalidEmissionCap(uint256 cap);
    /// @notice No subnet has this netuid (raised by the subnet registry).
    error SubnetNotFound(uint16 netuid);
    /// @notice Only the subnet's owner may do this.
    error NotSubnetOwner(uint16 netuid, address caller);
    /// @notice The Yuma version must be 2 or 3.
    error InvalidYumaVersion(uint8 version);
    /// @notice The results are not a whole number of 22-byte entries.
    error MalformedResults(uint256 length);
    /// @notice `keccak256(results)` is not the given results hash.
    error ResultsHashMismatch(bytes32 expected, bytes32 given);
    /// @notice A zero Merkle root was given.
    error EmptyRoot();
    /// @notice The epoch has not ended: proposals are accepted from block `proposalStart`.
    error EpochNotEnded(uint64 epoch, uint256 proposalStart);
    /// @notice The epoch's proposal window closed at block `deadline`.
    error ProposalWindowClosed(uint64 epoch, uint256 deadline);
    /// @notice The epoch already has a proposal; a competing one (another root) is accepted from `competeFrom`.
    error AlreadyProposed(uint16 netuid, uint64 epoch);
    /// @notice The caller is not in the epoch's validator snapshot.
    error NotPermittedValidator(uint16 netuid, address caller);
    /// @notice The caller is suspended (an expired proposal of its) for epochs below `suspendedUntil`.
    error ProposerSuspended(address caller, uint64 suspendedUntil);
    /// @notice The epoch already has a proposal of this root (attest it instead).
    error RootAlreadyProposed(uint16 netuid, uint64 epoch, bytes32 root);
    /// @notice The epoch is final with `root`; no other root can be proposed or attested.
    error AlreadyFinalised(uint16 netuid, uint64 epoch, bytes32 root);
    /// @notice The current epoch's validator snapshot was already taken.
    error SnapshotTaken(uint16 netuid, uint64 epoch);
    /// @notice Until block `exclusiveUntil` only the drawn `proposer` may propose.
    error NotDrawnProposer(address caller, address proposer, uint256 exclusiveUntil);
    /// @notice The proposal's total is not `epochEmission`.
    error WrongTotal(uint256 expected, uint256 given);
    /// @notice The epoch has no proposal under attestation (or its proposal is not the subnet's latest).
    error NoProposal(uint16 netuid, uint64 epoch);
    /// @notice Attestations closed at block `deadline`.
    error AttestationClosed(uint16 netuid, uint64 epoch, uint256 deadline);
    /// @notice The proposer's stake already counts; it does not attest.
    error ProposerCannotAttest(address proposer);
    /// @notice The validator already attested this epoch.
    error AlreadyAttested(uint16 netuid, uint64 epoch, address validator);
    /// @notice The attested root or results hash differs from the proposal's (`root`, `resultsHash`).
    error WrongRoot(bytes32 root, bytes32 resultsHash);
    /// @notice The epoch's proposal is final, already recorded as expired, or still within its deadline.
    error NotExpired(uint16 netuid, uint64 epoch);
    /// @notice The epoch is not final; nothing can be claimed or recorded.
    error EpochNotFinalised(uint16 netuid, uint64 epoch);
    /// @notice This leaf was already claimed.
    error AlreadyClaimed(uint16 netuid, uint64 epoch, uint16 uid);
    /// @notice The proof does not lead from the leaf to the epoch's root.
    error InvalidProof();
    /// @notice Claims would exceed the epoch's total.
    error ClaimExceedsTotal(uint256 total, uint256 claimed, uint256 amount);
    /// @notice The leaf's hotkey is bound to no coldkey.
    error UnknownHotkey(address hotkey);
    /// @notice Only the hotkey or its coldkey may claim to stake.
    error NotHotkeyOrColdkey(address caller);
    /// @notice The owner leaf has no hotkey to stake to.
    error OwnerLeafCannotStake();
    /// @notice The results do not hash to the epoch's proposal's `resultsHash`.
    error WrongResults(bytes32 resultsHash, bytes32 given);
    /// @notice The epoch's results hash is no longer stored (a later epoch of the subnet was proposed since):
    ///         its results can no longer be recorded.
    error ResultsUnavailable(uint16 netuid, uint64 epoch);
    /// @notice Finalising would take all emission over the cap (another subnet's epoch was final first); the
    ///         epoch expires and its emission, capped anew, rolls over.
    error EmissionCapExceeded(uint256 totalEmitted, uint256 total, uint256 cap);

    /// @notice `proposer` proposed epoch `epoch`: `results` are the 22-byte entries
    ///         (`uid | incentive | dividends | trust | consensus | amount u96`) hashing to `resultsHash`.
    event EpochProposed(
        uint16 indexed netuid,
        uint64 indexed epoch,
        address indexed proposer,
        bytes32 root,
        bytes32 resultsHash,
        uint256 total,
        bytes results
    );
    /// @notice `validator` attested epoch `epoch` with `stake`; `attestedStake` now counts (proposer included).
    event EpochAttested(
        uint16 indexed netuid, uint64 indexed epoch, address indexed validator, uint256 stake, uint256 attestedStake
    );
    /// @notice Epoch `epoch` is final: its leaves under `root`, `total` in all, can be claimed.
    event EpochFinalised(uint16 indexed netuid, uint64 indexed epoch, bytes32 root, uint256 total);
    /// @notice Epoch `epoch`'s proposal expired: `proposer` has `strikes` strikes and stays out of the draw for
    ///         epochs below `suspendedUntil`.
    event EpochExpired(
        uint16 indexed netuid, uint64 indexed epoch, address indexed proposer, uint32 strikes, uint64 suspendedUntil
    );
    /// @notice The leaf of `uid` (`account`, `amount`) of epoch `epoch` was claimed: minted to `recipient`, or
    ///         added to `account`'s stake owned by `recipient` when `toStake`.
    event EmissionClaimed(
        uint16 indexed netuid,
        uint64 indexed epoch,
        uint16 indexed uid,
        address account,
        address recipient,
        uint256 amount,
        bool toStake
    );
    /// @notice The validator snapshot of epoch `epoch` was taken: `count` validators, `totalStake` in all, of
    ///         which `drawStake` (the validators not suspended) is in the proposer draw; `late` when the first
    ///         proposal took it (nobody was drawn).
    event ValidatorsSnapshotted(
        uint16 indexed netuid, uint64 indexed epoch, uint256 count, uint256 totalStake, uint256 drawStake, bool late
    );
    /// @notice The results of final epoch `epoch` were recorded in the neuron registry: `recorded` UIDs got
    ///         their amount as their emission, `skipped` were not registered or held by a newer neuron.
    event ResultsRecorded(uint16 indexed netuid, uint64 indexed epoch, uint256 recorded, uint256 skipped);
    /// @notice The subnet owner set the Yuma version.
    event YumaVersionSet(uint16 indexed netuid, uint8 version);

    /// @notice Deploys the contract; the deployer becomes the owner. Make it a minter of `token_`, the
    ///         rewarder of `staking_` and the emission manager of `neuronRegistry_`.
    /// @param token_ The token emission is minted in.
    /// @param staking_ The stake ledger.
    /// @param subnetRegistry_ The subnet registry.
    /// @param neuronRegistry_ The neuron registry.
    /// @param ratePerBlock_ Emission per block of each subnet before the first halving.
    /// @param halvingInterval_ Blocks between halvings (>= 1).
    /// @param emissionCap_ Cap on all emission (< 2^128).
    constructor(
        IMintableToken token_,
        IStaking staking_,
        ISubnetRegistry subnetRegistry_,
        INeuronRegistry neuronRegistry_,
        uint256 ratePerBlock_,
        uint64 halvingInterval_,
        uint256 emissionCap_
    ) Ownable(msg.sender) {
        if (
            address(token_) == address(0) || address(staking_) == address(0) || address(subnetRegistry_) == address(0)
                || address(neuronRegistry_) == address(0)
        ) revert ZeroAddress();
        if (halvingInterval_ == 0) revert InvalidHalvingInterval();
        if (emissionCap_ > type(uint128).max) revert InvalidEmissionCap(emissionCap_);
        token = token_;
        staking = staking_;
        subnetRegistry = subnetRegistry_;
        neuronRegistry = neuronRegistry_;
        ratePerBlock = ratePerBlock_;
        halvingInterval = halvingInterval_;
        emissionCap = emissionCap_;
    }

    /// @notice Sets the subnet's Yuma version; only the subnet's owner.
    /// @param netuid The subnet.
    /// @param version 2 or 3.
    function setYumaVersion(uint16 netuid, uint8 version) external {
        address subnetOwner = subnetRegistry.subnetOwner(netuid);
        if (msg.sender != subnetOwner) revert NotSubnetOwner(netuid, msg.sender);
        if (version != 2 && version != 3) revert InvalidYumaVersion(version);
        _yumaVersions[netuid] = version;
        emit YumaVersionSet(netuid, version);
    }

    /// @notice Snapshots the subnet's permitted validators for the current epoch `e` (once per epoch; anyone
    ///         may call it, the epoch agents do early in each epoch): each one's stake, and the proposer draw
    ///         over the stake of those not suspended for `e`. The proposals and attestations of `e` (made in
    ///         `[S(e + 1), D(e)]`) count this snapshot only, so stake moved after it changes neither the draw
    ///         nor the attested stake; the draw's seed, `blockhash(B(e))`, is unknown while it can be taken.
    ///         Records an expired earlier proposal first (its proposer is then out of the draw).
    /// @param netuid The subnet.
    /// @return epoch The epoch snapshotted.
    function snapshotValidators(uint16 netuid) external returns (uint64 epoch) {
        epoch = subnetRegistry.currentEpoch(netuid);
        if (_snapshots[netuid][epoch].flags != 0) revert SnapshotTaken(netuid, epoch);
        Round storage round = _rounds[netuid];
        if (round.proposer != address(0) && round.flags == 0 && block.number > round.deadline) {
            _recordExpiry(netuid, round);
        }
        _takeSnapshot(netuid, epoch, SNAPSHOT_TAKEN);
    }

    /// @notice Proposes epoch `epoch` of `netuid`, from `S(epoch + 1)` to `D(epoch)`, by a validator of the
    ///         epoch's snapshot not suspended: in the first `max(1, tempo / 4)` blocks (tempo = `S(epoch + 2) -
    ///         S(epoch + 1)`) only the drawn proposer (by stake, see `proposerOf`), then any. Once the epoch has
    ///         a proposal, another validator may propose a different root from `competeFrom` (two such windows
    ///         after `S(epoch + 1)`) while none has reached two thirds: attestations count per root and the
    ///         first root at two thirds of the snapshot's stake is final. Records an expired earlier proposal
    ///         first. A proposer's stake counts for its own root (it neither attests nor proposes again).
    /// @param netuid The subnet.
    /// @param epoch The epoch (ended, not final).
    /// @param root The Merkle root of the payout leaves (docs/epoch.md).
    /// @param resultsHash `keccak256(results)`.
    /// @param total `epochEmission(netuid, epoch)`, the sum of the leaves.
    /// @param results The 22-byte result entries (emitted, not stored).
    function propose(
        uint16 netuid,
        uint64 epoch,
        bytes32 root,
        bytes32 resultsHash,
        uint256 total,
        bytes calldata results
    ) external {
        if (root == bytes32(0)) revert EmptyRoot();
        _checkResults(results, resultsHash);
        (uint256 proposalStart, uint256 nextStart) = _proposalWindow(netuid, epoch);
        if (_roots[netuid][epoch] != bytes32(0)) {
            _compete(netuid, epoch, root, resultsHash, total, proposalStart, nextStart);
            emit EpochProposed(netuid, epoch, msg.sender, root, resultsHash, total, results);
            return;
        }
        Round memory next;
        (next.settledEpoch, next.settledUntil) = _closePrevious(netuid);
        Snapshot memory snap = _snapshotFor(netuid, epoch);
        uint256 proposerStake = _checkProposer(netuid, epoch, root, snap, proposalStart, nextStart);
        _checkTotal(next.settledUntil, proposalStart, total);

        bool final_ = 3 * proposerStake >= 2 * uint256(snap.totalStake);
        next.proposer = msg.sender;
        next.epoch = uint32(epoch);
        next.deadline = (nextStart - 1).toUint48();
        next.flags = final_ ? FINALISED : 0;
        next.resultsHash = resultsHash;
        next.attestedStake = uint112(proposerStake);
        next.totalStake = snap.totalStake;
        next.total = uint128(total);
        next.endBlock = uint64(proposalStart);
        _rounds[netuid] = next;
        _roots[netuid][epoch] = root;
        emit EpochProposed(netuid, epoch, msg.sender, root, resultsHash, total, results);
        if (final_) _settle(netuid, epoch, total, root);
    }

    /// @notice Attests the proposal of `root` for epoch `epoch`: the caller (a validator of the epoch's snapshot
    ///         that has neither proposed nor attested this epoch) computed the same `root` and `resultsHash`.
    ///         Until `D(epoch)`; the attestation that brings a root's attested stake to two thirds of the
    ///         snapshot's finalises the epoch with that root (a competing root that does strikes the first
    ///         proposer). Once final, only the final root may still be attested.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param root The caller's Merkle root.
    /// @param resultsHash The caller's results hash.
    function attest(uint16 netuid, uint64 epoch, bytes32 root, bytes32 resultsHash) external {
        Round storage round = _rounds[netuid];
        address proposer = round.proposer;
        if (proposer == address(0) || round.epoch != epoch) revert NoProposal(netuid, epoch);
        uint256 deadline = round.deadline;
        if (block.number > deadline) revert AttestationClosed(netuid, epoch, deadline);
        if (msg.sender == proposer) revert ProposerCannotAttest(proposer);
        SnapshotEntry memory entry = _entries[netuid][epoch & 1][msg.sender];
        uint32 epochPlusOne = uint32(epoch) + 1;
        if (entry.epochPlusOne != epochPlusOne) revert NotPermittedValidator(netuid, msg.sender);
        ValidatorState storage state = _validators[netuid][msg.sender];
        if (state.attestedEpoch == epochPlusOne) revert AlreadyAttested(netuid, epoch, msg.sender);
        _recordVote(state, epochPlusOne, root);
        bytes32 leading = _roots[netuid][epoch];
        uint256 stake = entry.stake;
        if (root == leading) {
            if (resultsHash != round.resultsHash) revert WrongRoot(leading, round.resultsHash);
            uint256 attested = uint256(round.attestedStake) + stake;
            round.attestedStake = uint112(attested);
            emit EpochAttested(netuid, epoch, msg.sender, stake, attested);
            if (round.flags & FINALISED == 0 && 3 * attested >= 2 * uint256(round.totalStake)) {
                round.flags = FINALISED;
                _settle(netuid, epoch, round.total, leading);
            }
            return;
        }
        if (round.flags & FINALISED != 0) revert AlreadyFinalised(netuid, epoch, leading);
        Proposal storage p = _proposals[netuid][epoch][root];
        if (p.proposer == address(0) || resultsHash != p.resultsHash) revert WrongRoot(leading, round.resultsHash);
        uint256 attestedStake = uint256(p.attestedStake) + stake;
        p.attestedStake = uint112(attestedStake);
        emit EpochAttested(netuid, epoch, msg.sender, stake, attestedStake);
        if (3 * attestedStake >= 2 * uint256(round.totalStake)) _finaliseCompetitor(netuid, epoch, root, p);
    }

    /// @notice Records that epoch `epoch`'s proposal expired (past its deadline, not final): strikes and
    ///         suspends its proposer and releases its emission. Anyone may call it; the next proposal on the
    ///         subnet does it anyway.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    function recordExpiry(uint16 netuid, uint64 epoch) external {
        Round storage round = _rounds[netuid];
        if (round.proposer == address(0) || round.epoch != epoch) revert NoProposal(netuid, epoch);
        if (round.flags != 0 || block.number <= round.deadline) revert NotExpired(netuid, epoch);
        _recordExpiry(netuid, round);
    }

    /// @notice Claims the leaf `(uid, account, amount)` of final epoch `epoch`: mints `amount` to `account`'s
    ///         coldkey (the owner leaf, uid 65535: to `account`), or, with `toStake` and when the caller is the
    ///         hotkey or its coldkey, adds it to the coldkey's stake on `account` in `netuid`. Anyone may claim.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param uid The leaf's uid.
    /// @param account The leaf's account (the neuron's hotkey, or the owner).
    /// @param amount The leaf's amount.
    /// @param proof The Merkle proof (sorted pairs).
    /// @param toStake Stake the amount instead of paying it out.
    function claim(
        uint16 netuid,
        uint64 epoch,
        uint16 uid,
        address account,
        uint256 amount,
        bytes32[] calldata proof,
        bool toStake
    ) external {
        Settlement storage settlement = _settlements[netuid][epoch];
        uint256 claimed = _checkClaim(netuid, epoch, uid, settlement, amount);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(netuid, epoch, uid, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, _roots[netuid][epoch], leaf)) revert InvalidProof();
        address recipient = _recipient(uid, account, toStake);

        _claimedBits[netuid][uid][epoch >> 8] |= uint256(1) << (epoch & 0xff);
        settlement.claimed = uint120(claimed + amount);
        emit EmissionClaimed(netuid, epoch, uid, account, recipient, amount, toStake);
        if (toStake) {
            token.mint(address(staking), amount);
            staking.creditStake(recipient, netuid, account, amount);
        } else {
            token.mint(recipient, amount);
        }
    }

    /// @notice Records final epoch `epoch`'s results in the neuron registry: each entry's amount becomes its
    ///         UID's `emission` (the pruning score), skipping a UID no neuron holds and one whose neuron
    ///         registered at or after `S(epoch + 1)` (not the neuron the epoch paid). Anyone may call it, until
    ///         the subnet's next proposal (only the latest proposal's results hash is stored; the results are in
    ///         its `EpochProposed` event). Recording twice writes the same values.
    /// @param netuid The subnet.
    /// @param epoch The epoch (final, and the subnet's latest proposal).
    /// @param results The proposal's 22-byte result entries (`keccak256(results)` = its results hash).
    function recordResults(uint16 netuid, uint64 epoch, bytes calldata results) external {
        if (!_settlements[netuid][epoch].finalised) revert EpochNotFinalised(netuid, epoch);
        Round storage round = _rounds[netuid];
        if (round.epoch != epoch) revert ResultsUnavailable(netuid, epoch);
        bytes32 expected = round.resultsHash;
        bytes32 given = keccak256(results);
        if (given != expected) revert WrongResults(expected, given);
        uint256 count = results.length / RESULT_ENTRY_BYTES; // whole entries: the proposal checked the length
        uint16[] memory uids = new uint16[](count);
        uint256[] memory amounts = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 word;
            uint256 offset = i * RESULT_ENTRY_BYTES;
            assembly ("memory-safe") {
                word := calldataload(add(results.offset, offset))
            }
            uids[i] = uint16(word >> 240);
            amounts[i] = (word >> 80) & type(uint96).max;
        }
        uint256 recorded = neuronRegistry.recordEpochEmissions(netuid, round.endBlock, uids, amounts);
        emit ResultsRecorded(netuid, epoch, recorded, count - recorded);
    }

    /// @notice The subnet's Yuma version (2 or 3; 3 until its owner sets one).
    /// @param netuid The subnet.
    /// @return version The version.
    function yumaVersion(uint16 netuid) external view returns (uint8 version) {
        version = _yumaVersions[netuid];
        if (version == 0) version = DEFAULT_YUMA_VERSION;
    }

    /// @notice `A(e)`: the total a proposal of epoch `epoch` must carry: the schedule integrated over
    ///         `[settledUntil(netuid), S(epoch + 1))`, capped by what the cap leaves. Once proposed, the
    ///         proposal's total; 0 for an epoch before the first unsettled one.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return amount Tokens.
    function epochEmission(uint16 netuid, uint64 epoch) external view returns (uint256 amount) {
        Round storage round = _rounds[netuid];
        if (_roots[netuid][epoch] != bytes32(0)) {
            if (round.proposer != address(0) && round.epoch == epoch) return round.total;
            return _settlements[netuid][epoch].total;
        }
        uint32 settled = _settledEpoch(round);
        if (epoch < settled) return 0;
        return _cappedEmission(
            _scheduled(
                subnetRegistry.epochStartBlock(netuid, settled), subnetRegistry.epochStartBlock(netuid, epoch + 1)
            )
        );
    }

    /// @notice The emission schedule integrated over blocks `[fromBlock, toBlock)` (no cap): the sum of
    ///         `ratePerBlock >> (block / halvingInterval)`, in closed form per halving segment.
    /// @param fromBlock First block.
    /// @param toBlock Block after the last.
    /// @return amount Tokens.
    function scheduledEmission(uint256 fromBlock, uint256 toBlock) external view returns (uint256 amount) {
        return _scheduled(fromBlock, toBlock);
    }

    /// @notice The first epoch whose emission is not settled yet: the epoch after the last final one (0 before
    ///         any).
    /// @param netuid The subnet.
    /// @return epoch The epoch.
    function settledEpoch(uint16 netuid) external view returns (uint64 epoch) {
        return _settledEpoch(_rounds[netuid]);
    }

    /// @notice The block from which emission is not settled: `S(settledEpoch)`, the subnet's registration block
    ///         before any final epoch.
    /// @param netuid The subnet.
    /// @return blockNumber The block.
    function settledUntil(uint16 netuid) external view returns (uint256 blockNumber) {
        return subnetRegistry.epochStartBlock(netuid, _settledEpoch(_rounds[netuid]));
    }

    /// @notice The drawn proposer of epoch `epoch`: in the epoch's validator snapshot (taken during the epoch,
    ///         `snapshotValidators`), the validator whose slice of the draw stake (those not suspended then, by
    ///         ascending UID) holds `keccak256(abi.encode(blockhash(B(e)), netuid, epoch)) mod drawStake`
    ///         (`B(e) = S(epoch + 1) - 1`; blockhash is zero before that block and after 256 blocks). Zero when
    ///         there is no snapshot taken during the epoch, no draw stake, or the drawn validator has been
    ///         suspended since (an expiry not recorded yet counts): then any validator of the snapshot not
    ///         suspended may propose from `S(epoch + 1)`.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return proposer The hotkey (zero when none is drawn).
    function proposerOf(uint16 netuid, uint64 epoch) external view returns (address proposer) {
        Snapshot memory snap = _snapshots[netuid][epoch];
        if (snap.flags != SNAPSHOT_TAKEN || snap.drawStake == 0) return address(0);
        proposer = _drawn(netuid, epoch, snap, subnetRegistry.epochStartBlock(netuid, epoch + 1));
        Round storage round = _rounds[netuid];
        // An expiry not recorded yet counts: the proposal of `epoch` records it before checking.
        if (
            round.proposer == proposer && round.flags == 0 && round.epoch < epoch
                && epoch < uint64(round.epoch) + SUSPENSION_EPOCHS + 1
        ) return address(0);
        if (epoch < _validators[netuid][proposer].suspendedUntil) return address(0);
    }

    /// @notice An epoch's validator snapshot (see `snapshotValidators`).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return taken Whether it was taken; `late` when by the first proposal (after the epoch: nobody drawn).
    /// @return late See `taken`.
    /// @return count Validators in it.
    /// @return totalStake Their stake (two thirds of it finalises a root).
    /// @return drawStake The stake of those in the proposer draw.
    function getSnapshot(uint16 netuid, uint64 epoch)
        external
        view
        returns (bool taken, bool late, uint256 count, uint256 totalStake, uint256 drawStake)
    {
        Snapshot memory snap = _snapshots[netuid][epoch];
        return (snap.flags != 0, snap.flags == SNAPSHOT_LATE, snap.count, snap.totalStake, snap.drawStake);
    }

    /// @notice A validator's stake in epoch `epoch`'s snapshot (zero when not in it, or no longer stored: the
    ///         entries of epoch `epoch + 2` replace it).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator's hotkey.
    /// @return stake The stake its attestation counts.
    function snapshotStake(uint16 netuid, uint64 epoch, address hotkey) external view returns (uint256 stake) {
        SnapshotEntry memory entry = _entries[netuid][epoch & 1][hotkey];
        return entry.epochPlusOne == epoch + 1 ? entry.stake : 0;
    }

    /// @notice A proposal of epoch `epoch` by root: the first one while it leads (the round), or a competing
    ///         one. Zero proposer when unknown (or the first one of an epoch that is no longer the latest).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param root The proposed root.
    /// @return proposer Its proposer.
    /// @return resultsHash Its results hash.
    /// @return attestedStake Stake attested to it, its proposer's included.
    function getProposal(uint16 netuid, uint64 epoch, bytes32 root)
        external
        view
        returns (address proposer, bytes32 resultsHash, uint256 attestedStake)
    {
        Round storage round = _rounds[netuid];
        if (root != bytes32(0) && round.epoch == epoch && round.proposer != address(0) && _roots[netuid][epoch] == root) {
            return (round.proposer, round.resultsHash, round.attestedStake);
        }
        Proposal storage p = _proposals[netuid][epoch][root];
        return (p.proposer, p.resultsHash, p.attestedStake);
    }

    /// @notice An epoch's status, proposal and timing.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return info See `EpochInfo`; `endBlock` is `S(epoch + 1)` (proposals from there), `exclusiveUntil` the
    ///         last block reserved to the drawn proposer, `deadline` `D(epoch)`.
    function getEpoch(uint16 netuid, uint64 epoch) external view returns (EpochInfo memory info) {
        info.startBlock = subnetRegistry.epochStartBlock(netuid, epoch);
        info.endBlock = subnetRegistry.epochStartBlock(netuid, epoch + 1);
        uint256 nextStart = subnetRegistry.epochStartBlock(netuid, epoch + 2);
        info.exclusiveUntil = info.endBlock + _exclusiveBlocks(info.endBlock, nextStart) - 1;
        info.competeFrom = info.endBlock + 2 * _exclusiveBlocks(info.endBlock, nextStart);
        info.deadline = nextStart - 1;
        info.root = _roots[netuid][epoch];
        Settlement memory s = _settlements[netuid][epoch];
        info.total = s.total;
        info.claimed = s.claimed;
        Round memory round = _rounds[netuid];
        if (round.proposer != address(0) && round.epoch == epoch) {
            info.proposer = round.proposer;
            info.resultsHash = round.resultsHash;
            info.totalValidatorStake = round.totalStake;
            info.attestedStake = round.attestedStake;
            info.deadline = round.deadline;
            info.total = round.total;
        }
        if (s.finalised) info.status = EpochStatus.Finalised;
        else if (block.number < info.endBlock) info.status = EpochStatus.Open;
        else if (block.number > info.deadline) info.status = EpochStatus.Expired;
        else if (info.root != bytes32(0)) info.status = EpochStatus.Proposed;
        else info.status = EpochStatus.Awaiting;
    }

    /// @notice Whether `hotkey` attested epoch `epoch` (the proposer counts as attesting its own proposal).
    ///         Answers from the hotkey's latest attestation on the subnet: an earlier one is in the
    ///         `EpochAttested` events.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator's hotkey.
    /// @return attested True when it attested.
    function hasAttested(uint16 netuid, uint64 epoch, address hotkey) external view returns (bool attested) {
        if (_validators[netuid][hotkey].attestedEpoch == epoch + 1) return true;
        Round storage round = _rounds[netuid];
        return round.proposer == hotkey && hotkey != address(0) && round.epoch == epoch;
    }

    /// @notice The root epoch `epoch` of `netuid` was finalised with (zero while it is not final).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return root The final root.
    function finalRoot(uint16 netuid, uint64 epoch) external view returns (bytes32 root) {
        if (_settlements[netuid][epoch].finalised) return _roots[netuid][epoch];
        return bytes32(0);
    }

    /// @notice What `hotkey` proposed or attested for epoch `epoch`: the fingerprint (`rootFingerprint`) of the
    ///         root it voted for. Kept for the hotkey's last two votes on the subnet, so a vote for `epoch`
    ///         is readable at least until `S(epoch + 3)`; `known` is false when it did not vote for `epoch`
    ///         or its vote is no longer stored.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param hotkey The validator's hotkey.
    /// @return known Whether a vote for `epoch` is stored.
    /// @return fingerprint The fingerprint of the root it voted for.
    function voteOf(uint16 netuid, uint64 epoch, address hotkey) external view returns (bool known, bytes8 fingerprint) {
        ValidatorState memory s = _validators[netuid][hotkey];
        if (s.attestedEpoch == epoch + 1) return (true, s.vote);
        if (s.prevEpoch == epoch + 1) return (true, s.prevVote);
        return (false, bytes8(0));
    }

    /// @notice The fingerprint `voteOf` stores for a root: the first 8 bytes of `keccak256(root)` (a validator
    ///         would need a second preimage of 64 bits to vote for another root under the final one's print).
    /// @param root The root.
    /// @return The fingerprint.
    function rootFingerprint(bytes32 root) public pure returns (bytes8) {
        return bytes8(keccak256(abi.encode(root)));
    }

    /// @notice Whether the leaf of `uid` of epoch `epoch` was claimed.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @param uid The uid (65535: the owner leaf).
    /// @return claimed True once claimed.
    function isClaimed(uint16 netuid, uint64 epoch, uint16 uid) external view returns (bool claimed) {
        return _claimedBits[netuid][uid][epoch >> 8] & (uint256(1) << (epoch & 0xff)) != 0;
    }

    /// @notice Strikes of a validator's hotkey on a subnet (one per expired proposal of its).
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return count Strikes recorded.
    function strikes(uint16 netuid, address hotkey) external view returns (uint32 count) {
        return _validators[netuid][hotkey].strikes;
    }

    /// @notice The hotkey stays out of the proposer draw of the subnet's epochs below this one (recorded
    ///         strikes only).
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return epoch The first epoch it is drawn for again (0: never suspended).
    function suspendedUntil(uint16 netuid, address hotkey) external view returns (uint64 epoch) {
        return _validators[netuid][hotkey].suspendedUntil;
    }

    // The proposal window of `epoch`: `[S(epoch + 1), S(epoch + 2))`; reverts outside it.
    function _proposalWindow(uint16 netuid, uint64 epoch)
        private
        view
        returns (uint256 proposalStart, uint256 nextStart)
    {
        proposalStart = subnetRegistry.epochStartBlock(netuid, epoch + 1);
        if (block.number < proposalStart) revert EpochNotEnded(epoch, proposalStart);
        nextStart = subnetRegistry.epochStartBlock(netuid, epoch + 2);
        if (block.number >= nextStart) revert ProposalWindowClosed(epoch, nextStart - 1);
    }

    function _checkResults(bytes calldata results, bytes32 resultsHash) private pure {
        if (results.length % RESULT_ENTRY_BYTES != 0) revert MalformedResults(results.length);
        bytes32 computed = keccak256(results);
        if (computed != resultsHash) revert ResultsHashMismatch(computed, resultsHash);
    }

    // A proposal's total must be the schedule from the first unsettled epoch to its end, capped.
    function _checkTotal(uint256 settledUntil_, uint256 proposalStart, uint256 total) private view {
        uint256 expected = _cappedEmission(_scheduled(settledUntil_, proposalStart));
        if (total != expected) revert WrongTotal(expected, total);
    }

    // Records the previous proposal's expiry when it is neither final nor recorded yet; returns the first
    // unsettled epoch and its start block.
    function _closePrevious(uint16 netuid) private returns (uint32 settled, uint64 settledBlock) {
        Round storage round = _rounds[netuid];
        settled = _settledEpoch(round);
        if (round.proposer == address(0)) {
            settledBlock = uint64(subnetRegistry.epochStartBlock(netuid, 0));
        } else if (round.flags & FINALISED != 0) {
            settledBlock = round.endBlock;
        } else {
            settledBlock = round.settledUntil;
            if (round.flags == 0) _recordExpiry(netuid, round);
        }
    }

    // The snapshot of `epoch`; the first proposal takes it (late: nobody drawn) when none was taken during it.
    function _snapshotFor(uint16 netuid, uint64 epoch) private returns (Snapshot memory snap) {
        snap = _snapshots[netuid][epoch];
        if (snap.flags == 0) snap = _takeSnapshot(netuid, epoch, SNAPSHOT_LATE);
    }

    // Writes the permitted validators' entries (stake, cumulative draw stake of those not suspended for
    // `epoch`) in the parity slots of `epoch` and the draw order. The permits come from the neuron registry
    // in O(V log V); this contract adds O(V) writes.
    function _takeSnapshot(uint16 netuid, uint64 epoch, uint8 flags) private returns (Snapshot memory snap) {
        INeuronRegistry.PermittedValidator[] memory validators = neuronRegistry.getPermittedValidators(netuid);
        uint256 parity = epoch & 1;
        mapping(address hotkey => SnapshotEntry) storage entries = _entries[netuid][parity];
        mapping(uint256 index => address hotkey) storage order = _drawOrder[netuid][parity];
        mapping(address hotkey => ValidatorState) storage states = _validators[netuid];
        uint32 epochPlusOne = uint256(epoch + 1).toUint32();
        uint256 total = 0;
        uint256 draw = 0;
        for (uint256 i = 0; i < validators.length; ++i) {
            address hotkey = validators[i].hotkey;
            uint256 stake = validators[i].stake;
            total += stake;
            if (epoch >= states[hotkey].suspendedUntil) draw += stake;
            entries[hotkey] = SnapshotEntry(stake.toUint112(), draw.toUint112(), epochPlusOne);
            order[i] = hotkey;
        }
        snap = Snapshot(total.toUint112(), uint112(draw), uint16(validators.length), flags);
        _snapshots[netuid][epoch] = snap;
        _emitSnapshot(netuid, epoch, snap);
    }

    function _emitSnapshot(uint16 netuid, uint64 epoch, Snapshot memory snap) private {
        emit ValidatorsSnapshotted(
            netuid, epoch, snap.count, snap.totalStake, snap.drawStake, snap.flags == SNAPSHOT_LATE
        );
    }

    // The validator holding the draw of `epoch` (binary search over the cumulative draw stake: O(log V)).
    function _drawn(uint16 netuid, uint64 epoch, Snapshot memory snap, uint256 proposalStart)
        private
        view
        returns (address)
    {
        uint256 r = uint256(keccak256(abi.encode(blockhash(proposalStart - 1), netuid, epoch))) % snap.drawStake;
        uint256 parity = epoch & 1;
        mapping(address hotkey => SnapshotEntry) storage entries = _entries[netuid][parity];
        mapping(uint256 index => address hotkey) storage order = _drawOrder[netuid][parity];
        uint256 lo = 0;
        uint256 hi = snap.count - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (entries[order[mid]].drawTo > r) hi = mid;
            else lo = mid + 1;
        }
        return order[lo];
    }

    // Checks the caller may make the epoch's first proposal now: in the snapshot, not suspended, and in the
    // exclusive window the drawn proposer (unless it has been suspended since). Returns its stake.
    function _checkProposer(
        uint16 netuid,
        uint64 epoch,
        bytes32 root,
        Snapshot memory snap,
        uint256 proposalStart,
        uint256 nextStart
    ) private returns (uint256 stake) {
        SnapshotEntry memory entry = _checkSnapshotValidator(netuid, epoch, root);
        stake = entry.stake;
        uint256 exclusiveEnd = proposalStart + _exclusiveBlocks(proposalStart, nextStart);
        if (block.number >= exclusiveEnd || snap.flags != SNAPSHOT_TAKEN || snap.drawStake == 0) return stake;
        uint256 r = uint256(keccak256(abi.encode(blockhash(proposalStart - 1), netuid, epoch))) % snap.drawStake;
        // The caller's slice of the draw is [drawTo - stake, drawTo) (it is not suspended now, so it was not
        // when the snapshot was taken: suspensions only grow).
        if (r < entry.drawTo && r + stake >= entry.drawTo) return stake;
        address drawn = _drawn(netuid, epoch, snap, proposalStart);
        if (epoch >= _validators[netuid][drawn].suspendedUntil) {
            revert NotDrawnProposer(msg.sender, drawn, exclusiveEnd - 1);
        }
    }

    // The caller's entry in `epoch`'s snapshot; reverts when it is not in it, is suspended, or already proposed
    // or attested the epoch (then records its vote for `root`).
    function _checkSnapshotValidator(uint16 netuid, uint64 epoch, bytes32 root)
        private
        returns (SnapshotEntry memory entry)
    {
        entry = _entries[netuid][epoch & 1][msg.sender];
        uint32 epochPlusOne = uint32(epoch) + 1;
        if (entry.epochPlusOne != epochPlusOne) revert NotPermittedValidator(netuid, msg.sender);
        ValidatorState storage state = _validators[netuid][msg.sender];
        if (epoch < state.suspendedUntil) revert ProposerSuspended(msg.sender, state.suspendedUntil);
        if (state.attestedEpoch == epochPlusOne) revert AlreadyAttested(netuid, epoch, msg.sender);
        _recordVote(state, epochPlusOne, root);
    }

    // Records a proposal or attestation of `root` for epoch `epochPlusOne - 1`, keeping the previous vote.
    function _recordVote(ValidatorState storage state, uint32 epochPlusOne, bytes32 root) private {
        (state.prevEpoch, state.prevVote) = (state.attestedEpoch, state.vote);
        (state.attestedEpoch, state.vote) = (epochPlusOne, rootFingerprint(root));
    }

    // A competing proposal of an epoch that has one: from `competeFrom`, while none is final, a root not yet
    // proposed, the same total; final at once when the proposer alone holds two thirds.
    function _compete(
        uint16 netuid,
        uint64 epoch,
        bytes32 root,
        bytes32 resultsHash,
        uint256 total,
        uint256 proposalStart,
        uint256 nextStart
    ) private {
        Round storage round = _rounds[netuid];
        bytes32 leading = _roots[netuid][epoch];
        if (round.flags & FINALISED != 0) revert AlreadyFinalised(netuid, epoch, leading);
        if (block.number < proposalStart + 2 * _exclusiveBlocks(proposalStart, nextStart)) {
            revert AlreadyProposed(netuid, epoch);
        }
        Proposal storage p = _proposals[netuid][epoch][root];
        if (root == leading || p.proposer != address(0)) revert RootAlreadyProposed(netuid, epoch, root);
        if (total != round.total) revert WrongTotal(round.total, total);
        uint256 stake = _checkSnapshotValidator(netuid, epoch, root).stake;
        p.proposer = msg.sender;
        p.attestedStake = uint112(stake);
        p.resultsHash = resultsHash;
        if (3 * stake >= 2 * uint256(round.totalStake)) _finaliseCompetitor(netuid, epoch, root, p);
    }

    // A competing root reached two thirds: it becomes the round's proposal and the epoch's root; the first
    // proposer, whose root lost, is struck and suspended.
    function _finaliseCompetitor(uint16 netuid, uint64 epoch, bytes32 root, Proposal storage p) private {
        Round storage round = _rounds[netuid];
        _strike(netuid, epoch, round.proposer);
        round.proposer = p.proposer;
        round.resultsHash = p.resultsHash;
        round.attestedStake = p.attestedStake;
        round.flags = FINALISED;
        _roots[netuid][epoch] = root;
        _settle(netuid, epoch, round.total, root);
    }

    // Checks that the epoch is final, the leaf unclaimed and `amount` within the total; returns the claimed sum.
    function _checkClaim(uint16 netuid, uint64 epoch, uint16 uid, Settlement storage settlement, uint256 amount)
        private
        view
        returns (uint256 claimed)
    {
        Settlement memory s = settlement;
        if (!s.finalised) revert EpochNotFinalised(netuid, epoch);
        if (_claimedBits[netuid][uid][epoch >> 8] & (uint256(1) << (epoch & 0xff)) != 0) {
            revert AlreadyClaimed(netuid, epoch, uid);
        }
        claimed = s.claimed;
        if (claimed + amount > s.total) revert ClaimExceedsTotal(s.total, claimed, amount);
    }

    // Who receives a claim: the owner leaf's account, else the hotkey's coldkey (who, with the hotkey, alone
    // may claim to stake).
    function _recipient(uint16 uid, address account, bool toStake) private view returns (address recipient) {
        if (uid == OWNER_UID) {
            if (toStake) revert OwnerLeafCannotStake();
            return account;
        }
        recipient = neuronRegistry.hotkeyColdkey(account);
        if (recipient == address(0)) revert UnknownHotkey(account);
        if (toStake && msg.sender != account && msg.sender != recipient) revert NotHotkeyOrColdkey(msg.sender);
    }

    // Records a final epoch's settlement (what claims read) and counts its emission.
    function _settle(uint16 netuid, uint64 epoch, uint256 total, bytes32 root) private {
        uint256 emitted = totalEmitted;
        if (emitted + total > emissionCap) revert EmissionCapExceeded(emitted, total, emissionCap);
        totalEmitted = emitted + total;
        _settlements[netuid][epoch] = Settlement(uint128(total), 0, true);
        emit EpochFinalised(netuid, epoch, root, total);
    }

    // Strikes and suspends the proposer of a proposal that expired.
    function _recordExpiry(uint16 netuid, Round storage round) private {
        round.flags = EXPIRY_RECORDED;
        _strike(netuid, round.epoch, round.proposer);
    }

    // One strike to the proposer of a root of `epoch` that did not become final; out of the draw (and unable
    // to propose) until `epoch + SUSPENSION_EPOCHS + 1`.
    function _strike(uint16 netuid, uint64 epoch, address proposer) private {
        ValidatorState storage state = _validators[netuid][proposer];
        uint32 count = state.strikes + 1;
        uint32 until = uint32(epoch + SUSPENSION_EPOCHS + 1);
        state.strikes = count;
        if (until > state.suspendedUntil) state.suspendedUntil = until;
        emit EpochExpired(netuid, epoch, proposer, count, until);
    }

    // The first unsettled epoch: after the round's epoch when it is final, else as it was before the round.
    function _settledEpoch(Round storage round) private view returns (uint32) {
        if (round.proposer == address(0)) return 0;
        if (round.flags & FINALISED != 0) return round.epoch + 1;
        return round.settledEpoch;
    }

    function _cappedEmission(uint256 scheduled) private view returns (uint256) {
        uint256 left = emissionCap - totalEmitted;
        return scheduled < left ? scheduled : left;
    }

    // max(1, tempo / 4), tempo being the length of the epoch in which the proposal is made.
    function _exclusiveBlocks(uint256 proposalStart, uint256 nextStart) private pure returns (uint256) {
        uint256 blocks = (nextStart - proposalStart) / 4;
        return blocks == 0 ? 1 : blocks;
    }

    function _scheduled(uint256 fromBlock, uint256 toBlock) private view returns (uint256 amount) {
        uint256 interval = halvingInterval;
        uint256 rate = ratePerBlock;
        uint256 halvings = fromBlock / interval;
        while (fromBlock < toBlock && halvings < 256) {
            uint256 segmentRate = rate >> halvings;
            if (segmentRate == 0) break;
            uint256 segmentEnd = (halvings + 1) * interval;
            if (segmentEnd > toBlock) segmentEnd = toBlock;
            amount += (segmentEnd - fromBlock) * segmentRate;
            fromBlock = segmentEnd;
            ++halvings;
        }
    }
}
