// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";

/// @title SubnetRegistry
/// @notice Registers subnets (netuids from 1) against a lock of tokens, lets each subnet's owner activate it,
///         tune its hyperparameters and hand it over, and keeps each subnet's epoch schedule.
/// @dev Lock cost (Bittensor style): after a registration that paid `c`, the cost jumps to
///      `max(2c, minLockCost)` and decays linearly to `minLockCost` over `lockReductionInterval` blocks.
///      Locked tokens stay in this contract, recorded per subnet (`lockedAmount`).
///      Epochs: `currentEpoch = (block.number - registeredAt) / tempo` while the tempo never changed. The
///      schedule is a list of anchors (`getEpochSchedule`); a tempo change adds one at the next epoch boundary
///      (the current epoch keeps its length, so no round's deadline moves), with the new tempo from there on.
///      Hyperparameter changes take effect from the next epoch boundary too: `setHyperparams` stores them as
///      pending with the block they take effect at (`getPendingHyperparams`); every reader returns the values
///      in effect at the current block, so an owner cannot shrink the permit set or shorten a round under way.
///      `maxAllowedUids` can never be lowered: the neuron registry hands out UIDs below it and would otherwise
///      hold UIDs above the new maximum. `minStake` must be > 0: a permit set with no stake would finalise any
///      root (`3 * 0 >= 2 * 0`).
contract SubnetRegistry is ISubnetRegistry, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice A subnet as returned by `getSubnet`.
    struct SubnetInfo {
        address owner;
        string name;
        string description;
        bool active;
        uint64 registeredAt;
        uint256 lockedAmount;
    }

    /// @notice From `startBlock` on, epoch `epoch + k` starts at `startBlock + k * tempo`.
    struct EpochAnchor {
        uint64 startBlock;
        uint64 epoch;
        uint64 tempo;
    }

    // Slot 0 is all that a registration's read needs: owner, activation and when pending hyperparameters
    // take effect (0: none pending).
    struct Subnet {
        address owner;
        bool active;
        uint64 pendingFrom;
        uint64 registeredAt;
        uint192 lockedAmount;
        string name;
        string description;
    }

    /// @notice Longest subnet name in bytes.
    /// @return Bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice Longest subnet description in bytes.
    /// @return Bytes.
    uint256 public constant MAX_DESCRIPTION_LENGTH = 1024;
    /// @notice Largest tempo (blocks per epoch).
    /// @return Blocks.
    uint64 public constant MAX_TEMPO = 100_000;
    /// @notice Largest `maxAllowedUids`.
    /// @return UIDs.
    uint16 public constant MAX_UIDS = 4096;
    /// @notice Largest commit-reveal period in epochs.
    /// @return Epochs.
    uint16 public constant MAX_COMMIT_REVEAL_PERIOD = 100;
    /// @notice Largest immunity period in blocks.
    /// @return Blocks.
    uint64 public constant MAX_IMMUNITY_PERIOD = 1_000_000;
    /// @notice `bondsMovingAverage` is per million.
    /// @return The scale (1e6).
    uint32 public constant BONDS_MOVING_AVERAGE_SCALE = 1_000_000;
    /// @notice The emission splits sum to this many basis points.
    /// @return Basis points (10000).
    uint256 public constant SPLIT_TOTAL = 10_000;
    /// @notice Largest `burnAdjustmentInterval` in blocks.
    /// @return Blocks.
    uint64 public constant MAX_BURN_ADJUSTMENT_INTERVAL = 1_000_000;

    /// @notice The token subnets lock.
    /// @return The ERC-20 token.
    IERC20 public immutable token;

    /// @notice Floor of the lock cost.
    /// @return Tokens.
    uint256 public minLockCost;
    /// @notice Blocks over which the lock cost decays from its last peak to `minLockCost`.
    /// @return Blocks.
    uint64 public lockReductionInterval;
    /// @notice The lock cost right after the last registration (or deployment).
    /// @return Tokens.
    uint256 public lockCostPeak;
    /// @notice The block of the last registration (or deployment).
    /// @return The block number.
    uint64 public lockCostPeakBlock;
    /// @notice Number of registered subnets; netuids are 1..subnetCount.
    /// @return The number of subnets.
    uint16 public subnetCount;

    mapping(uint16 netuid => Subnet) private _subnets;
    mapping(uint16 netuid => Hyperparams) private _hyperparams;
    mapping(uint16 netuid => Hyperparams) private _pendingHyperparams;
    mapping(uint16 netuid => EpochAnchor[]) private _anchors;

    /// @notice No subnet has this netuid.
    error SubnetNotFound(uint16 netuid);
    /// @notice Only the subnet's owner may do this.
    error NotSubnetOwner(uint16 netuid, address caller);
    /// @notice The subnet is already active.
    error SubnetAlreadyActive(uint16 netuid);
    /// @notice The name must be 1..MAX_NAME_LENGTH bytes.
    error InvalidNameLength(uint256 length);
    /// @notice The description exceeds MAX_DESCRIPTION_LENGTH bytes.
    error DescriptionTooLong(uint256 length);
    /// @notice The hyperparameter `name` is out of bounds.
    error InvalidHyperparameter(string name);
    /// @notice `maxAllowedUids` can only grow.
    error CannotLowerMaxAllowedUids(uint16 current, uint16 requested);
    /// @notice All 65535 netuids are taken.
    error TooManySubnets();
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice `lockReductionInterval` must be at least 1 block.
    error InvalidLockReductionInterval();
    /// @notice The lock cost does not fit the 192 bits a subnet's locked amount is stored in.
    error InvalidLockCost(uint256 cost);

    /// @notice A subnet was registered; `lockedAmount` was locked and the next lock cost peaks at `nextLockCost`.
    event SubnetRegistered(
        uint16 indexed netuid, address indexed owner, string name, uint256 lockedAmount, uint256 nextLockCost
    );
    /// @notice A subnet's hyperparameters were set (at registration or by its owner); they take effect at
    ///         `effectiveBlock`, the first block of epoch `effectiveEpoch` (at once at registration).
    event HyperparamsSet(uint16 indexed netuid, uint64 effectiveEpoch, uint64 effectiveBlock, Hyperparams params);
    /// @notice A subnet's tempo changes: from `startBlock` on, epoch `epoch` and later ones last `tempo` blocks.
    event EpochScheduleChanged(uint16 indexed netuid, uint64 startBlock, uint64 epoch, uint64 tempo);
    /// @notice A subnet was activated.
    event SubnetActivated(uint16 indexed netuid);
    /// @notice A subnet changed hands.
    event SubnetOwnershipTransferred(uint16 indexed netuid, address indexed previousOwner, address indexed newOwner);
    /// @notice The owner set the lock cost floor and decay interval.
    event LockParamsSet(uint256 minLockCost, uint64 lockReductionInterval);

    /// @notice Deploys the registry; the deployer becomes the owner (who tunes the lock cost).
    /// @param token_ The token subnets lock.
    /// @param initialLockCost The lock cost at deployment (it decays from there like after a registration).
    /// @param minLockCost_ Floor of the lock cost.
    /// @param lockReductionInterval_ Blocks over which the cost decays to the floor (>= 1).
    constructor(IERC20 token_, uint256 initialLockCost, uint256 minLockCost_, uint64 lockReductionInterval_)
        Ownable(msg.sender)
    {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        _setLockParams(minLockCost_, lockReductionInterval_);
        lockCostPeak = initialLockCost < minLockCost_ ? minLockCost_ : initialLockCost;
        lockCostPeakBlock = uint64(block.number);
    }

    /// @dev Reverts `SubnetNotFound` for an unknown netuid and `NotSubnetOwner` unless the caller owns it.
    modifier onlySubnetOwner(uint16 netuid) {
        _requireExists(netuid);
        if (_subnets[netuid].owner != msg.sender) revert NotSubnetOwner(netuid, msg.sender);
        _;
    }

    /// @notice Registers a subnet owned by the caller, who pays `lockCost()` (approval needed); it starts
    ///         inactive.
    /// @param name 1..64 bytes.
    /// @param description At most 1024 bytes.
    /// @param params Its hyperparameters (validated, see `InvalidHyperparameter`).
    /// @return netuid The new subnet's id.
    function registerSubnet(string calldata name, string calldata description, Hyperparams calldata params)
        external
        nonReentrant
        returns (uint16 netuid)
    {
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_LENGTH) {
            revert InvalidNameLength(bytes(name).length);
        }
        if (bytes(description).length > MAX_DESCRIPTION_LENGTH) revert DescriptionTooLong(bytes(description).length);
        _validate(params);
        uint16 count = subnetCount;
        if (count == type(uint16).max) revert TooManySubnets();
        netuid = count + 1;

        uint256 cost = lockCost();
        if (cost > type(uint192).max) revert InvalidLockCost(cost);
        uint256 nextPeak = cost * 2;
        if (nextPeak < minLockCost) nextPeak = minLockCost;
        lockCostPeak = nextPeak;
        lockCostPeakBlock = uint64(block.number);
        subnetCount = netuid;

        Subnet storage subnet = _subnets[netuid];
        subnet.owner = msg.sender;
        subnet.registeredAt = uint64(block.number);
        subnet.lockedAmount = uint192(cost);
        subnet.name = name;
        subnet.description = description;
        _hyperparams[netuid] = params;
        _anchors[netuid].push(EpochAnchor(uint64(block.number), 0, params.tempo));

        emit SubnetRegistered(netuid, msg.sender, name, cost, nextPeak);
        emit HyperparamsSet(netuid, 0, uint64(block.number), params);
        emit EpochScheduleChanged(netuid, uint64(block.number), 0, params.tempo);
        if (cost != 0) token.safeTransferFrom(msg.sender, address(this), cost);
    }

    /// @notice Activates a subnet so neurons can register; only its owner.
    /// @param netuid The subnet.
    function activateSubnet(uint16 netuid) external onlySubnetOwner(netuid) {
        Subnet storage subnet = _subnets[netuid];
        if (subnet.active) revert SubnetAlreadyActive(netuid);
        subnet.active = true;
        emit SubnetActivated(netuid);
    }

    /// @notice Replaces a subnet's hyperparameters from the next epoch boundary on; only its owner. Until then
    ///         the values in effect stay (a second change in the same epoch replaces the pending one);
    ///         `maxAllowedUids` cannot be lowered; a tempo change starts at that boundary too (see the
    ///         contract notes).
    /// @param netuid The subnet.
    /// @param params The new hyperparameters.
    function setHyperparams(uint16 netuid, Hyperparams calldata params) external onlySubnetOwner(netuid) {
        _validate(params);
        Subnet storage subnet = _subnets[netuid];
        uint64 pendingFrom = subnet.pendingFrom;
        if (pendingFrom != 0 && block.number >= pendingFrom) {
            // The pending values are in effect: they become the current ones.
            _hyperparams[netuid] = _pendingHyperparams[netuid];
            pendingFrom = 0;
        }
        Hyperparams storage latest = pendingFrom != 0 ? _pendingHyperparams[netuid] : _hyperparams[netuid];
        if (params.maxAllowedUids < latest.maxAllowedUids) {
            revert CannotLowerMaxAllowedUids(latest.maxAllowedUids, params.maxAllowedUids);
        }
        (uint64 startBlock, uint64 epoch) = _scheduleTempo(netuid, params.tempo);
        _pendingHyperparams[netuid] = params;
        subnet.pendingFrom = startBlock;
        emit HyperparamsSet(netuid, epoch, startBlock, params);
    }

    /// @notice Hands a subnet to `newOwner`; only its owner.
    /// @param netuid The subnet.
    /// @param newOwner The new owner.
    function transferSubnetOwnership(uint16 netuid, address newOwner) external onlySubnetOwner(netuid) {
        if (newOwner == address(0)) revert ZeroAddress();
        emit SubnetOwnershipTransferred(netuid, msg.sender, newOwner);
        _subnets[netuid].owner = newOwner;
    }

    /// @notice Sets the lock cost floor and its decay interval; only the registry owner. The current peak
    ///         is kept.
    /// @param minLockCost_ Floor of the lock cost.
    /// @param lockReductionInterval_ Blocks over which the cost decays to the floor (>= 1).
    function setLockParams(uint256 minLockCost_, uint64 lockReductionInterval_) external onlyOwner {
        _setLockParams(minLockCost_, lockReductionInterval_);
    }

    /// @notice The tokens a subnet registration locks at the current block.
    /// @return cost Tokens.
    function lockCost() public view returns (uint256 cost) {
        uint256 floor = minLockCost;
        uint256 peak = lockCostPeak;
        if (peak <= floor) return floor;
        uint256 elapsed = block.number - lockCostPeakBlock;
        uint256 interval = lockReductionInterval;
        if (elapsed >= interval) return floor;
        return peak - ((peak - floor) * elapsed) / interval;
    }

    /// @notice A subnet's record; reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return info Owner, name, description, active flag, registration block and locked tokens.
    function getSubnet(uint16 netuid) external view returns (SubnetInfo memory info) {
        _requireExists(netuid);
        Subnet storage subnet = _subnets[netuid];
        return SubnetInfo(
            subnet.owner, subnet.name, subnet.description, subnet.active, subnet.registeredAt, subnet.lockedAmount
        );
    }

    /// @notice A subnet's owner; reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return owner_ The owner.
    function subnetOwner(uint16 netuid) external view returns (address owner_) {
        _requireExists(netuid);
        return _subnets[netuid].owner;
    }

    /// @inheritdoc ISubnetRegistry
    function getHyperparams(uint16 netuid) external view returns (Hyperparams memory params) {
        _requireExists(netuid);
        return _effective(netuid, _subnets[netuid]);
    }

    /// @notice The hyperparameters an owner's change scheduled and not yet in effect; reverts `SubnetNotFound`
    ///         for an unknown netuid.
    /// @param netuid The subnet.
    /// @return pending True when a change waits for its epoch boundary.
    /// @return effectiveBlock The block it takes effect at (0 when none).
    /// @return params The pending hyperparameters (the values in effect when none).
    function getPendingHyperparams(uint16 netuid)
        external
        view
        returns (bool pending, uint64 effectiveBlock, Hyperparams memory params)
    {
        _requireExists(netuid);
        Subnet storage subnet = _subnets[netuid];
        effectiveBlock = subnet.pendingFrom;
        pending = effectiveBlock > block.number;
        if (!pending) effectiveBlock = 0;
        params = _effective(netuid, subnet);
        if (pending) params = _pendingHyperparams[netuid];
    }

    /// @inheritdoc ISubnetRegistry
    function getRegistrationInfo(uint16 netuid) external view returns (RegistrationInfo memory info) {
        _requireExists(netuid);
        Subnet storage subnet = _subnets[netuid];
        Hyperparams storage params = _effective(netuid, subnet);
        return RegistrationInfo({
            active: subnet.active,
            registrationAllowed: params.registrationAllowed,
            maxAllowedUids: params.maxAllowedUids,
            immunityPeriod: params.immunityPeriod,
            minStake: params.minStake,
            registrationBurn: params.registrationBurn,
            maxRegistrationBurn: params.maxRegistrationBurn,
            burnAdjustmentInterval: params.burnAdjustmentInterval
        });
    }

    /// @inheritdoc ISubnetRegistry
    function validatorPermitParams(uint16 netuid) external view returns (uint256 minStake, uint16 maxValidators) {
        _requireExists(netuid);
        Hyperparams storage params = _effective(netuid, _subnets[netuid]);
        return (params.minStake, params.maxValidators);
    }

    /// @inheritdoc ISubnetRegistry
    function isActive(uint16 netuid) external view returns (bool active) {
        return _subnets[netuid].active;
    }

    /// @notice Whether a netuid is registered.
    /// @param netuid The subnet.
    /// @return exists True for 1..subnetCount.
    function subnetExists(uint16 netuid) public view returns (bool exists) {
        return netuid != 0 && netuid <= subnetCount;
    }

    /// @inheritdoc ISubnetRegistry
    function currentEpoch(uint16 netuid) public view returns (uint64 epoch) {
        _requireExists(netuid);
        EpochAnchor memory anchor = _anchorNow(_anchors[netuid]);
        return anchor.epoch + (uint64(block.number) - anchor.startBlock) / anchor.tempo;
    }

    /// @notice The first block of an epoch (future epochs assume the current tempo stays).
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return startBlock Its first block.
    function epochStartBlock(uint16 netuid, uint64 epoch) external view returns (uint256 startBlock) {
        _requireExists(netuid);
        EpochAnchor[] storage anchors = _anchors[netuid];
        uint256 i = anchors.length;
        // Anchors are sorted by epoch and the first one is epoch 0, so the loop always returns.
        while (true) {
            EpochAnchor memory anchor = anchors[--i];
            if (anchor.epoch <= epoch) {
                return uint256(anchor.startBlock) + uint256(epoch - anchor.epoch) * anchor.tempo;
            }
        }
    }

    /// @notice The subnet's epoch schedule: one anchor at registration plus one per tempo change (the last
    ///         one may start at the next epoch boundary, in the future).
    /// @param netuid The subnet.
    /// @return anchors The anchors, oldest first.
    function getEpochSchedule(uint16 netuid) external view returns (EpochAnchor[] memory anchors) {
        _requireExists(netuid);
        return _anchors[netuid];
    }

    // The anchor in effect at the current block: the last one, or the one before when the last starts at the
    // next epoch boundary (at most one anchor lies in the future).
    function _anchorNow(EpochAnchor[] storage anchors) private view returns (EpochAnchor memory anchor) {
        uint256 lastIndex = anchors.length - 1;
        anchor = anchors[lastIndex];
        if (anchor.startBlock > block.number) anchor = anchors[lastIndex - 1];
    }

    // The next epoch boundary (its block and epoch), where a change made now takes effect; sets the tempo from
    // there on (an anchor there, replaced or dropped when a change already made one).
    function _scheduleTempo(uint16 netuid, uint64 tempo) private returns (uint64 startBlock, uint64 epoch) {
        EpochAnchor[] storage anchors = _anchors[netuid];
        uint256 lastIndex = anchors.length - 1;
        EpochAnchor memory last = anchors[lastIndex];
        if (last.startBlock > block.number) {
            (startBlock, epoch) = (last.startBlock, last.epoch);
            if (tempo == last.tempo) return (startBlock, epoch);
            if (tempo == anchors[lastIndex - 1].tempo) anchors.pop();
            else anchors[lastIndex].tempo = tempo;
        } else {
            epoch = last.epoch + (uint64(block.number) - last.startBlock) / last.tempo + 1;
            startBlock = last.startBlock + (epoch - last.epoch) * last.tempo;
            if (tempo == last.tempo) return (startBlock, epoch);
            anchors.push(EpochAnchor(startBlock, epoch, tempo));
        }
        emit EpochScheduleChanged(netuid, startBlock, epoch, tempo);
    }

    // The hyperparameters in effect: the pending ones from their boundary on.
    function _effective(uint16 netuid, Subnet storage subnet) private view returns (Hyperparams storage) {
        uint64 pendingFrom = subnet.pendingFrom;
        if (pendingFrom != 0 && block.number >= pendingFrom) return _pendingHyperparams[netuid];
        return _hyperparams[netuid];
    }

    function _setLockParams(uint256 minLockCost_, uint64 lockReductionInterval_) private {
        if (lockReductionInterval_ == 0) revert InvalidLockReductionInterval();
        minLockCost = minLockCost_;
        lockReductionInterval = lockReductionInterval_;
        emit LockParamsSet(minLockCost_, lockReductionInterval_);
    }

    function _requireExists(uint16 netuid) private view {
        if (!subnetExists(netuid)) revert SubnetNotFound(netuid);
    }

    function _validate(Hyperparams calldata p) private pure {
        if (p.tempo == 0 || p.tempo > MAX_TEMPO) revert InvalidHyperparameter("tempo");
        if (p.maxAllowedUids == 0 || p.maxAllowedUids > MAX_UIDS) revert InvalidHyperparameter("maxAllowedUids");
        if (p.maxValidators == 0 || p.maxValidators > p.maxAllowedUids) {
            revert InvalidHyperparameter("maxValidators");
        }
        if (p.immunityPeriod > MAX_IMMUNITY_PERIOD) revert InvalidHyperparameter("immunityPeriod");
        if (p.minStake == 0) revert InvalidHyperparameter("minStake");
        if (p.maxRegistrationBurn < p.registrationBurn) revert InvalidHyperparameter("maxRegistrationBurn");
        if (p.burnAdjustmentInterval == 0 || p.burnAdjustmentInterval > MAX_BURN_ADJUSTMENT_INTERVAL) {
            revert InvalidHyperparameter("burnAdjustmentInterval");
        }
        if (p.bondsMovingAverage > BONDS_MOVING_AVERAGE_SCALE) revert InvalidHyperparameter("bondsMovingAverage");
        if (uint256(p.ownerSplit) + p.minerSplit + p.validatorSplit != SPLIT_TOTAL) {
            revert InvalidHyperparameter("splits");
        }
        if (p.commitRevealPeriod == 0 || p.commitRevealPeriod > MAX_COMMIT_REVEAL_PERIOD) {
            revert InvalidHyperparameter("commitRevealPeriod");
        }
        if (p.minAllowedWeights > p.maxAllowedUids) revert InvalidHyperparameter("minAllowedWeights");
        if (p.maxWeightLimit == 0) revert InvalidHyperparameter("maxWeightLimit");
    }
}
