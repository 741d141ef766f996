// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title INeuronRegistry
/// @notice The neuron registry as the weights contract sees it.
interface INeuronRegistry {
    /// @notice The UID of a hotkey on a subnet; reverts `NotRegistered` when it holds none.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return uid Its UID.
    function uidOf(uint16 netuid, address hotkey) external view returns (uint16 uid);

    /// @notice Whether a UID currently holds a validator permit on its subnet.
    /// @param netuid The subnet.
    /// @param uid The UID.
    /// @return permitted True when the neuron may set weights.
    function hasValidatorPermit(uint16 netuid, uint16 uid) external view returns (bool permitted);

    /// @notice Records that a neuron has just set weights (its `lastUpdate`); only the weights contract.
    /// @param netuid The subnet.
    /// @param uid The UID.
    function markUpdated(uint16 netuid, uint16 uid) external;
}
