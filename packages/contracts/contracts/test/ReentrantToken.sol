// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @title ReentrantToken
/// @notice TEST ONLY. An ERC-20 whose `transfer`, `transferFrom` and `burnFrom` first call `target` with
///         `payload` (once per outer call) and bubble up its revert, to prove that token movements in the
///         subnet contracts cannot be re-entered.
contract ReentrantToken is ERC20, ERC20Burnable {
    /// @notice The contract to call back into (zero: no callback).
    /// @return The target (zero: none).
    address public target;
    /// @notice The calldata of the callback.
    /// @return The calldata.
    bytes public payload;
    bool private _inCallback;

    /// @notice The callback target and payload changed.
    event Armed(address indexed target, bytes payload);

    /// @notice Mints `supply` to the deployer.
    /// @param supply Tokens to mint.
    constructor(uint256 supply) ERC20("Reentrant Token", "RENT") {
        _mint(msg.sender, supply);
    }

    /// @notice Sets the callback (zero target: none).
    /// @param target_ The contract to call back into.
    /// @param payload_ The calldata.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        emit Armed(target_, payload_);
    }

    /// @notice ERC-20 transfer, after the callback.
    /// @param to The receiver.
    /// @param value Tokens.
    /// @return ok Always true (reverts on failure).
    function transfer(address to, uint256 value) public override returns (bool ok) {
        _callback();
        return super.transfer(to, value);
    }

    /// @notice ERC-20 transferFrom, after the callback.
    /// @param from The owner.
    /// @param to The receiver.
    /// @param value Tokens.
    /// @return ok Always true (reverts on failure).
    function transferFrom(address from, address to, uint256 value) public override returns (bool ok) {
        _callback();
        return super.transferFrom(from, to, value);
    }

    /// @notice ERC-20 burnFrom, after the callback.
    /// @param account The owner.
    /// @param value Tokens.
    function burnFrom(address account, uint256 value) public override {
        _callback();
        super.burnFrom(account, value);
    }

    function _callback() private {
        address t = target;
        if (t == address(0) || _inCallback) return;
        _inCallback = true;
        (bool ok, bytes memory ret) = t.call(payload);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        _inCallback = false;
    }
}
