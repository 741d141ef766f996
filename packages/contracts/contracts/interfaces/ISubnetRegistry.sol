// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISubnetRegistry
/// @notice The subnet registry as the other subnet contracts see it: hyperparameters, activation and the
///         epoch schedule of a subnet.
interface ISubnetRegistry {
    /// @notice Owner-tunable parameters of a subnet.
    /// @dev Splits are basis points summing to 10000; `kappa` and `maxWeightLimit` are fractions of 65535;
    ///      `bondsMovingAverage` is per million; `commitRevealPeriod` counts epochs (>= 1); block counts are
    ///      blocks of the chain the contracts run on. `minStake` is > 0. The registration burn is priced by
    ///      demand between `registrationBurn` (the floor) and `maxRegistrationBurn` (the cap): each
    ///      registration raises it by half, and each `burnAdjustmentInterval` blocks without one halves what
    ///      lies above the floor (`NeuronRegistry.registrationBurn`).
    struct Hyperparams {
        uint64 tempo;
        uint16 maxAllowedUids;
        uint16 maxValidators;
        uint64 immunityPeriod;
        uint256 minStake;
        uint128 registrationBurn;
        uint128 maxRegistrationBurn;
        uint16 kappa;
        uint32 bondsMovingAverage;
        uint16 ownerSplit;
        uint16 minerSplit;
        uint16 validatorSplit;
        uint16 commitRevealPeriod;
        uint64 weightsRateLimit;
        uint16 minAllowedWeights;
        uint16 maxWeightLimit;
        uint64 weightsVersionKey;
        bool registrationAllowed;
        uint64 burnAdjustmentInterval;
    }

    /// @notice What a neuron registration needs to know about a subnet, read in one call.
    struct RegistrationInfo {
        bool active;
        bool registrationAllowed;
        uint16 maxAllowedUids;
        uint64 immunityPeriod;
        uint256 minStake;
        uint128 registrationBurn;
        uint128 maxRegistrationBurn;
        uint64 burnAdjustmentInterval;
    }

    /// @notice The hyperparameters in effect for a subnet (an owner's change takes effect at the next epoch
    ///         boundary); reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return params Its hyperparameters in effect at the current block.
    function getHyperparams(uint16 netuid) external view returns (Hyperparams memory params);

    /// @notice The subset of a subnet's state a neuron registration needs; reverts `SubnetNotFound` for an
    ///         unknown netuid.
    /// @param netuid The subnet.
    /// @return info Activation, registration switch, UID limit, immunity period, validator minimum stake and
    ///         registration burn bounds and decay interval (the values in effect).
    function getRegistrationInfo(uint16 netuid) external view returns (RegistrationInfo memory info);

    /// @notice What a validator permit depends on (the values in effect), read in one call; reverts `SubnetNotFound` for an unknown
    ///         netuid.
    /// @param netuid The subnet.
    /// @return minStake The validator minimum stake.
    /// @return maxValidators The number of validator permits.
    function validatorPermitParams(uint16 netuid) external view returns (uint256 minStake, uint16 maxValidators);

    /// @notice Whether a subnet has been activated by its owner (neurons register only in active subnets).
    /// @param netuid The subnet.
    /// @return active True once activated; false for unknown or inactive subnets.
    function isActive(uint16 netuid) external view returns (bool active);

    /// @notice The subnet's current epoch; reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return epoch The epoch number at the current block.
    function currentEpoch(uint16 netuid) external view returns (uint64 epoch);

    /// @notice The first block of an epoch (future epochs assume the current tempo stays); reverts
    ///         `SubnetNotFound` for an unknown netuid. Epoch 0 starts at the subnet's registration block.
    /// @param netuid The subnet.
    /// @param epoch The epoch.
    /// @return startBlock Its first block.
    function epochStartBlock(uint16 netuid, uint64 epoch) external view returns (uint256 startBlock);

    /// @notice A subnet's owner; reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return owner_ The owner.
    function subnetOwner(uint16 netuid) external view returns (address owner_);
}
