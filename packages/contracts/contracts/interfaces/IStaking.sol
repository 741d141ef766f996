// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IStaking
/// @notice The staking ledger as the registries and the epoch consensus contract see it.
interface IStaking {
    /// @notice Stake allocated to a hotkey on a subnet, summed over all coldkeys.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount The allocated stake in token units.
    function hotkeyStake(uint16 netuid, address hotkey) external view returns (uint256 amount);

    /// @notice Adds `amount` tokens, already transferred to the staking contract, to `coldkey`'s allocation to
    ///         `hotkey` on `netuid`, exactly as if the coldkey had staked and allocated them; only the rewarder
    ///         (the epoch consensus contract, for emissions claimed to stake).
    /// @param coldkey The coldkey credited.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey the stake backs.
    /// @param amount Tokens credited.
    function creditStake(address coldkey, uint16 netuid, address hotkey, uint256 amount) external;
}
