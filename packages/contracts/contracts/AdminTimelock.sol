// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title AdminTimelock
/// @notice Owns every admin role of the suite once it is deployed (`deployContracts` wires the roles, then
///         hands each contract's ownership here): the token's minters and faucet, the staking rewarder and
///         unbonding period, the registries' lock parameters and emission manager. A change must be scheduled
///         by a proposer and can be executed only `getMinDelay()` seconds later, so everyone sees it coming
///         (and can unstake) before it acts. It is its own admin: there is no account that can skip the delay,
///         and a change of proposers or of the delay goes through the delay too.
/// @dev OpenZeppelin's `TimelockController` with no optional admin and a non-zero minimum delay.
contract AdminTimelock is TimelockController {
    /// @notice A zero delay would announce nothing.
    error ZeroDelay();

    /// @notice Deploys the timelock.
    /// @param minDelay Seconds between scheduling and executing a change (> 0).
    /// @param proposers Accounts that may schedule (and cancel) changes.
    /// @param executors Accounts that may execute ready changes (`address(0)`: anyone).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {
        if (minDelay == 0) revert ZeroDelay();
    }
}
