// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IStaking
/// @notice The staking ledger as the registries see it.
interface IStaking {
    /// @notice Stake allocated to a hotkey on a subnet, summed over all coldkeys.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount The allocated stake in token units.
    function hotkeyStake(uint16 netuid, address hotkey) external view returns (uint256 amount);
}
