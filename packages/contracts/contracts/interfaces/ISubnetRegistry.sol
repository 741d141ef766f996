// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISubnetRegistry
/// @notice The subnet registry as the other subnet contracts see it: hyperparameters, activation and the
///         epoch schedule of a subnet.
interface ISubnetRegistry {
    /// @notice Owner-tunable parameters of a subnet.
    /// @dev Splits are basis points summing to 10000; `kappa` and `maxWeightLimit` are fractions of 65535;
    ///      `bondsMovingAverage` is per million; `commitRevealPeriod` counts epochs (>= 1); block counts are
    ///      blocks of the chain the contracts run on.
    struct Hyperparams {
        uint64 tempo;
        uint16 maxAllowedUids;
        uint16 maxValidators;
        uint64 immunityPeriod;
        uint256 minStake;
        uint256 registrationBurn;
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
    }

    /// @notice What a neuron registration needs to know about a subnet, read in one call.
    struct RegistrationInfo {
        bool active;
        bool registrationAllowed;
        uint16 maxAllowedUids;
        uint64 immunityPeriod;
        uint256 minStake;
        uint256 registrationBurn;
    }

    /// @notice The hyperparameters of a subnet; reverts `SubnetNotFound` for an unknown netuid.
    /// @param netuid The subnet.
    /// @return params Its current hyperparameters.
    function getHyperparams(uint16 netuid) external view returns (Hyperparams memory params);

    /// @notice The subset of a subnet's state a neuron registration needs; reverts `SubnetNotFound` for an
    ///         unknown netuid.
    /// @param netuid The subnet.
    /// @return info Activation, registration switch, UID limit, immunity period, validator minimum stake and
    ///         registration burn.
    function getRegistrationInfo(uint16 netuid) external view returns (RegistrationInfo memory info);

    /// @notice What a validator permit depends on, read in one call; reverts `SubnetNotFound` for an unknown
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
