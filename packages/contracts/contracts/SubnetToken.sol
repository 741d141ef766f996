// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @title SubnetToken
/// @notice The base token of the subnet framework ("Subnet Token", SUB, 18 decimals). Stake, subnet lock
///         costs and neuron registration burns are paid in it. Minters (later the emission schedule) create
///         new supply; a rate-limited faucet hands out tokens on devnets and stays off unless the owner
///         turns it on.
/// @dev Must never mint except through `mint` (minters), `faucet` (when enabled) and the constructor.
contract SubnetToken is ERC20, ERC20Burnable, Ownable {
    /// @notice Whether an address may call `mint`.
    /// @return allowed True when the account may mint.
    mapping(address account => bool allowed) public isMinter;

    /// @notice Whether `faucet` hands out tokens.
    /// @return The faucet switch.
    bool public faucetEnabled;

    /// @notice Blocks an address must wait between two faucet drips.
    /// @return Blocks between drips per address.
    uint64 public faucetCooldownBlocks;

    /// @notice Tokens minted by one faucet drip.
    /// @return Tokens per drip.
    uint256 public faucetAmount;

    /// @notice First block at which an address may use the faucet again (0: never used).
    /// @return blockNumber The first block of the next allowed drip.
    mapping(address account => uint256 blockNumber) public nextFaucetBlock;

    /// @notice The caller is not an allowed minter.
    error NotMinter(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The faucet is turned off.
    error FaucetDisabled();
    /// @notice The caller used the faucet too recently; it may again from `nextBlock`.
    error FaucetCooldown(uint256 nextBlock);
    /// @notice An enabled faucet must hand out a non-zero amount.
    error InvalidFaucetAmount();

    /// @notice A minter was allowed or disallowed.
    event MinterSet(address indexed minter, bool allowed);
    /// @notice The faucet was reconfigured.
    event FaucetConfigured(bool enabled, uint256 amount, uint64 cooldownBlocks);
    /// @notice The faucet minted `amount` to `to`, who may use it again from `nextBlock`.
    event FaucetDripped(address indexed to, uint256 amount, uint256 nextBlock);

    /// @notice Deploys the token and mints `initialSupply` to the deployer, who becomes the owner.
    /// @param initialSupply Tokens (18 decimals) minted to the deployer.
    constructor(uint256 initialSupply) ERC20("Subnet Token", "SUB") Ownable(msg.sender) {
        _mint(msg.sender, initialSupply);
    }

    /// @notice Allows or disallows `minter` to mint new supply (e.g. the emission schedule); only the owner.
    ///         `deployContracts` calls it once and then hands ownership to the `AdminTimelock`, so a new minter
    ///         waits out the timelock's delay.
    /// @param minter The account.
    /// @param allowed True to allow, false to revoke.
    function setMinter(address minter, bool allowed) external onlyOwner {
        if (minter == address(0)) revert ZeroAddress();
        isMinter[minter] = allowed;
        emit MinterSet(minter, allowed);
    }

    /// @notice Mints `amount` new tokens to `to`; only minters.
    /// @param to The receiver.
    /// @param amount Tokens to mint.
    function mint(address to, uint256 amount) external {
        if (!isMinter[msg.sender]) revert NotMinter(msg.sender);
        _mint(to, amount);
    }

    /// @notice Configures the devnet faucet.
    /// @param enabled Whether `faucet` works.
    /// @param amount Tokens per drip (non-zero when enabled).
    /// @param cooldownBlocks Blocks an address waits between drips (0: no wait).
    function setFaucet(bool enabled, uint256 amount, uint64 cooldownBlocks) external onlyOwner {
        if (enabled && amount == 0) revert InvalidFaucetAmount();
        faucetEnabled = enabled;
        faucetAmount = amount;
        faucetCooldownBlocks = cooldownBlocks;
        emit FaucetConfigured(enabled, amount, cooldownBlocks);
    }

    /// @notice Mints `faucetAmount` to the caller, at most once per `faucetCooldownBlocks` per address.
    /// @return amount The tokens minted.
    function faucet() external returns (uint256 amount) {
        if (!faucetEnabled) revert FaucetDisabled();
        uint256 next = nextFaucetBlock[msg.sender];
        if (block.number < next) revert FaucetCooldown(next);
        amount = faucetAmount;
        next = block.number + faucetCooldownBlocks;
        nextFaucetBlock[msg.sender] = next;
        emit FaucetDripped(msg.sender, amount, next);
        _mint(msg.sender, amount);
    }
}
