// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IMintableToken
/// @notice The subnet token as the epoch consensus contract sees it: an ERC-20 it may mint (it must be a minter).
interface IMintableToken is IERC20 {
    /// @notice Mints `amount` new tokens to `to`; only minters.
    /// @param to The receiver.
    /// @param amount Tokens to mint.
    function mint(address to, uint256 amount) external;
}
