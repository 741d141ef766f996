// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";

/// @title Pricing
/// @notice Inference prices on chain: per subnet and model, a price per million prompt tokens and per million
///         completion tokens in the payment token's units, set by the subnet's owner.
/// @dev A model is keyed by `modelId = keccak256(bytes(name))`; its name is stored on first use and listed by
///      `getModels`. A price change takes effect at the next epoch boundary of the subnet (like
///      hyperparameters in SubnetRegistry), never in the epoch under way, and every past price is kept:
///      `priceAt(netuid, modelId, block)` is the price in effect at any block, so a request is charged at the
///      price in effect at the block it started at even if the owner changes the price while it runs. A second
///      change in the same epoch replaces the pending one. A price of 0 means free. Must never let anyone but
///      the subnet's owner (SubnetRegistry.subnetOwner) change a price, nor change one already in effect.
///      The same holds for the subnet's revenue split (`setSplit` / `splitAt`): the shares of a settled payment
///      (PaymentEscrow.settle) that go to the validator (the gateway), the subnet owner and the burn, in basis
///      points; the miners get the rest. A subnet that never set one has the default 1000 / 1000 / 500 (miners
///      7500).
contract Pricing {
    /// @notice From block `fromBlock` on (until the next point), these prices apply.
    struct PricePoint {
        uint64 fromBlock;
        uint96 promptPerMillion;
        uint96 completionPerMillion;
    }

    /// @notice From block `fromBlock` on (until the next point), this revenue split applies.
    struct SplitPoint {
        uint64 fromBlock;
        uint16 validatorBps;
        uint16 ownerBps;
        uint16 burnBps;
    }

    /// @notice Basis points in a whole.
    /// @return 10,000.
    uint16 public constant BPS = 10_000;
    /// @notice The validator's (gateway's) share of a subnet that never set a split.
    /// @return 1000 (10 %).
    uint16 public constant DEFAULT_VALIDATOR_BPS = 1000;
    /// @notice The subnet owner's share of a subnet that never set a split.
    /// @return 1000 (10 %).
    uint16 public constant DEFAULT_OWNER_BPS = 1000;
    /// @notice The burnt share of a subnet that never set a split.
    /// @return 500 (5 %).
    uint16 public constant DEFAULT_BURN_BPS = 500;

    /// @notice Longest model name in bytes.
    /// @return Bytes.
    uint256 public constant MAX_MODEL_NAME_LENGTH = 128;
    /// @notice Prices are per this many tokens.
    /// @return 1,000,000.
    uint256 public constant TOKENS_PER_PRICE = 1_000_000;

    /// @notice The subnet registry (owners and epoch schedules).
    /// @return The registry.
    ISubnetRegistry public immutable subnetRegistry;

    mapping(uint16 netuid => mapping(bytes32 modelId => PricePoint[])) private _prices;
    mapping(uint16 netuid => bytes32[]) private _models;
    mapping(uint16 netuid => mapping(bytes32 modelId => string)) private _modelNames;
    mapping(uint16 netuid => SplitPoint[]) private _splits;

    /// @notice Only the subnet's owner may set its prices.
    error NotSubnetOwner(uint16 netuid, address caller);
    /// @notice The model name must be 1..MAX_MODEL_NAME_LENGTH bytes.
    error InvalidModelName(uint256 length);
    /// @notice The zero address was given where a contract is required.
    error ZeroAddress();
    /// @notice The validator, owner and burn shares must sum to at most BPS (10,000).
    error InvalidSplit(uint16 validatorBps, uint16 ownerBps, uint16 burnBps);

    /// @notice A model's price was set; it applies from `effectiveBlock`, the first block of `effectiveEpoch`.
    event PriceSet(
        uint16 indexed netuid,
        bytes32 indexed modelId,
        string model,
        uint96 promptPerMillion,
        uint96 completionPerMillion,
        uint64 effectiveEpoch,
        uint64 effectiveBlock
    );

    /// @notice A subnet's revenue split was set; it applies from `effectiveBlock`, the first block of
    ///         `effectiveEpoch`.
    event SplitSet(
        uint16 indexed netuid,
        uint16 validatorBps,
        uint16 ownerBps,
        uint16 burnBps,
        uint64 effectiveEpoch,
        uint64 effectiveBlock
    );

    /// @param subnetRegistry_ The subnet registry.
    constructor(ISubnetRegistry subnetRegistry_) {
        if (address(subnetRegistry_) == address(0)) revert ZeroAddress();
        subnetRegistry = subnetRegistry_;
    }

    /// @notice Sets a model's prices from the subnet's next epoch boundary on; only the subnet's owner.
    /// @param netuid The subnet (reverts `SubnetNotFound` from the registry when unknown).
    /// @param model The model name (1..128 bytes); its id is `keccak256(bytes(model))`.
    /// @param promptPerMillion Payment-token units per million prompt tokens.
    /// @param completionPerMillion Payment-token units per million completion tokens.
    /// @return effectiveBlock The block the prices take effect at.
    function setPrice(uint16 netuid, string calldata model, uint96 promptPerMillion, uint96 completionPerMillion)
        external
        returns (uint64 effectiveBlock)
    {
        if (subnetRegistry.subnetOwner(netuid) != msg.sender) revert NotSubnetOwner(netuid, msg.sender);
        uint256 length = bytes(model).length;
        if (length == 0 || length > MAX_MODEL_NAME_LENGTH) revert InvalidModelName(length);
        bytes32 modelId = keccak256(bytes(model));
        PricePoint[] storage points = _prices[netuid][modelId];
        uint256 n = points.length;
        if (n == 0) {
            _models[netuid].push(modelId);
            _modelNames[netuid][modelId] = model;
        }
        uint64 effectiveEpoch = subnetRegistry.currentEpoch(netuid) + 1;
        effectiveBlock = uint64(subnetRegistry.epochStartBlock(netuid, effectiveEpoch));
        PricePoint memory point = PricePoint(effectiveBlock, promptPerMillion, completionPerMillion);
        // The next boundary cannot move within an epoch (a tempo change starts there), so a pending point
        // is always at `effectiveBlock` and is replaced.
        if (n != 0 && points[n - 1].fromBlock >= effectiveBlock) points[n - 1] = point;
        else points.push(point);
        emit PriceSet(netuid, modelId, model, promptPerMillion, completionPerMillion, effectiveEpoch, effectiveBlock);
    }

    /// @notice Sets the subnet's revenue split from its next epoch boundary on; only the subnet's owner. The
    ///         miners get `BPS - validatorBps - ownerBps - burnBps` (and the rounding).
    /// @param netuid The subnet (reverts `SubnetNotFound` from the registry when unknown).
    /// @param validatorBps The validator's (settling gateway's) fee in basis points.
    /// @param ownerBps The subnet owner's fee in basis points.
    /// @param burnBps The burnt share in basis points.
    /// @return effectiveBlock The block the split takes effect at.
    function setSplit(uint16 netuid, uint16 validatorBps, uint16 ownerBps, uint16 burnBps)
        external
        returns (uint64 effectiveBlock)
    {
        if (subnetRegistry.subnetOwner(netuid) != msg.sender) revert NotSubnetOwner(netuid, msg.sender);
        if (uint256(validatorBps) + ownerBps + burnBps > BPS) revert InvalidSplit(validatorBps, ownerBps, burnBps);
        uint64 effectiveEpoch = subnetRegistry.currentEpoch(netuid) + 1;
        effectiveBlock = uint64(subnetRegistry.epochStartBlock(netuid, effectiveEpoch));
        SplitPoint[] storage points = _splits[netuid];
        uint256 n = points.length;
        SplitPoint memory point = SplitPoint(effectiveBlock, validatorBps, ownerBps, burnBps);
        // As for prices: a pending point is always at `effectiveBlock` and is replaced.
        if (n != 0 && points[n - 1].fromBlock >= effectiveBlock) points[n - 1] = point;
        else points.push(point);
        emit SplitSet(netuid, validatorBps, ownerBps, burnBps, effectiveEpoch, effectiveBlock);
    }

    /// @notice The revenue split in effect at `blockNumber` (the default 1000 / 1000 / 500 before the first
    ///         split set takes effect; a future block gives the pending split).
    /// @param netuid The subnet.
    /// @param blockNumber The block.
    /// @return validatorBps The validator's fee in basis points.
    /// @return ownerBps The subnet owner's fee in basis points.
    /// @return burnBps The burnt share in basis points.
    function splitAt(uint16 netuid, uint256 blockNumber)
        external
        view
        returns (uint16 validatorBps, uint16 ownerBps, uint16 burnBps)
    {
        SplitPoint[] storage points = _splits[netuid];
        for (uint256 i = points.length; i != 0;) {
            SplitPoint memory point = points[--i];
            if (point.fromBlock <= blockNumber) return (point.validatorBps, point.ownerBps, point.burnBps);
        }
        return (DEFAULT_VALIDATOR_BPS, DEFAULT_OWNER_BPS, DEFAULT_BURN_BPS);
    }

    /// @notice Every split point of a subnet, oldest first (the last may lie in the future).
    /// @param netuid The subnet.
    /// @return points The split history.
    function getSplitHistory(uint16 netuid) external view returns (SplitPoint[] memory points) {
        return _splits[netuid];
    }

    /// @notice The prices of a model in effect at `blockNumber` (a future block gives the pending prices).
    /// @param netuid The subnet.
    /// @param modelId `keccak256(bytes(model))`.
    /// @param blockNumber The block.
    /// @return set False when no price was in effect at that block (the other values are then 0).
    /// @return promptPerMillion Units per million prompt tokens.
    /// @return completionPerMillion Units per million completion tokens.
    /// @return fromBlock The block these prices took effect at.
    function priceAt(uint16 netuid, bytes32 modelId, uint256 blockNumber)
        public
        view
        returns (bool set, uint96 promptPerMillion, uint96 completionPerMillion, uint64 fromBlock)
    {
        PricePoint[] storage points = _prices[netuid][modelId];
        for (uint256 i = points.length; i != 0;) {
            PricePoint memory point = points[--i];
            if (point.fromBlock <= blockNumber) {
                return (true, point.promptPerMillion, point.completionPerMillion, point.fromBlock);
            }
        }
    }

    /// @notice The prices of a model in effect now.
    /// @param netuid The subnet.
    /// @param modelId `keccak256(bytes(model))`.
    /// @return set False when no price is in effect yet.
    /// @return promptPerMillion Units per million prompt tokens.
    /// @return completionPerMillion Units per million completion tokens.
    /// @return fromBlock The block these prices took effect at.
    function currentPrice(uint16 netuid, bytes32 modelId)
        external
        view
        returns (bool set, uint96 promptPerMillion, uint96 completionPerMillion, uint64 fromBlock)
    {
        return priceAt(netuid, modelId, block.number);
    }

    /// @notice What a request costs at the prices in effect at `blockNumber`, rounded up to the unit:
    ///         `ceil((promptTokens * promptPerMillion + completionTokens * completionPerMillion) / 1e6)`.
    /// @param netuid The subnet.
    /// @param modelId `keccak256(bytes(model))`.
    /// @param blockNumber The block the request started at.
    /// @param promptTokens Prompt tokens.
    /// @param completionTokens Completion tokens.
    /// @return set False when no price was in effect (cost 0).
    /// @return cost Payment-token units.
    function costAt(
        uint16 netuid,
        bytes32 modelId,
        uint256 blockNumber,
        uint256 promptTokens,
        uint256 completionTokens
    ) external view returns (bool set, uint256 cost) {
        (bool known, uint96 prompt, uint96 completion,) = priceAt(netuid, modelId, blockNumber);
        if (!known) return (false, 0);
        uint256 scaled = promptTokens * prompt + completionTokens * completion;
        return (true, (scaled + TOKENS_PER_PRICE - 1) / TOKENS_PER_PRICE);
    }

    /// @notice Every price point of a model, oldest first (the last may lie in the future).
    /// @param netuid The subnet.
    /// @param modelId `keccak256(bytes(model))`.
    /// @return points The price history.
    function getPriceHistory(uint16 netuid, bytes32 modelId) external view returns (PricePoint[] memory points) {
        return _prices[netuid][modelId];
    }

    /// @notice The models a subnet ever priced, in the order first priced, with their names.
    /// @param netuid The subnet.
    /// @return ids Model ids.
    /// @return names Model names.
    function getModels(uint16 netuid) external view returns (bytes32[] memory ids, string[] memory names) {
        ids = _models[netuid];
        names = new string[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            names[i] = _modelNames[netuid][ids[i]];
        }
    }
}
