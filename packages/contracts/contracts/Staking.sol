// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking
/// @notice The stake ledger. A coldkey (the caller) stakes tokens into free stake, allocates free stake to a
///         (subnet, hotkey) pair (this both backs a subnet and delegates to a hotkey), deallocates it back,
///         and unstakes free stake into an unbonding record it can claim after `unbondingPeriod` blocks.
/// @dev Unbonding keeps ONE record per coldkey: each `unstake` adds to its amount and moves its release block
///      to `block.number + unbondingPeriod` (the latest wins), so a new unstake delays the whole record. A
///      period change applies to later unstakes only.
///      Invariant: `token.balanceOf(this) == totalStaked + totalUnbonding` (for a token without transfer
///      fees), where `totalStaked` is free plus allocated stake of every coldkey.
///      Every state-changing function is `nonReentrant`, so a token callback cannot re-enter any of them.
contract Staking is IStaking, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The longest unbonding period the owner may set (~30 days of 12 s blocks).
    /// @return Blocks.
    uint64 public constant MAX_UNBONDING_PERIOD = 216_000;

    /// @notice The unbonding period at deployment (~1 day of 12 s blocks).
    /// @return Blocks.
    uint64 public constant DEFAULT_UNBONDING_PERIOD = 7_200;

    /// @notice The staked token.
    /// @return The ERC-20 token.
    IERC20 public immutable token;

    /// @notice Blocks between `unstake` and the moment the tokens can be claimed.
    /// @return Blocks.
    uint64 public unbondingPeriod;

    /// @notice Sum of free and allocated stake of all coldkeys (unbonding excluded).
    /// @return Tokens.
    uint256 public totalStaked;

    /// @notice Sum of all unbonding records.
    /// @return Tokens.
    uint256 public totalUnbonding;

    /// @notice The only account that may `creditStake` (the epoch consensus contract).
    /// @return The rewarder (zero until set).
    address public rewarder;

    struct Unbonding {
        uint256 amount;
        uint64 releaseBlock;
    }

    mapping(address coldkey => uint256 amount) private _free;
    mapping(address coldkey => uint256 amount) private _allocated;
    mapping(address coldkey => Unbonding record) private _unbonding;
    mapping(address coldkey => mapping(uint16 netuid => mapping(address hotkey => uint256 amount))) private
        _allocation;
    mapping(uint16 netuid => mapping(address hotkey => uint256 amount)) private _hotkeyStake;
    mapping(address hotkey => uint256 amount) private _hotkeyTotalStake;
    mapping(uint16 netuid => uint256 amount) private _subnetStake;

    /// @notice An amount of zero was given.
    error ZeroAmount();
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice Netuid 0 does not exist (netuids start at 1).
    error InvalidNetuid();
    /// @notice The coldkey's free stake (`available`) is below `requested`.
    error InsufficientFreeStake(uint256 available, uint256 requested);
    /// @notice The coldkey's allocation to the pair (`available`) is below `requested`.
    error InsufficientAllocation(uint256 available, uint256 requested);
    /// @notice The coldkey has no unbonding tokens.
    error NothingToClaim();
    /// @notice The unbonding record matures at `releaseBlock`.
    error UnbondingNotMatured(uint64 releaseBlock);
    /// @notice The unbonding period exceeds `max`.
    error UnbondingPeriodTooLong(uint64 period, uint64 max);
    /// @notice Only the rewarder may do this.
    error NotRewarder(address caller);

    /// @notice `coldkey` staked `amount` tokens into free stake.
    event Staked(address indexed coldkey, uint256 amount);
    /// @notice `coldkey` moved `amount` of free stake to unbonding; the record now holds `unbondingAmount`,
    ///         claimable from `releaseBlock`.
    event Unstaked(address indexed coldkey, uint256 amount, uint256 unbondingAmount, uint64 releaseBlock);
    /// @notice `coldkey` claimed `amount` matured tokens.
    event Claimed(address indexed coldkey, uint256 amount);
    /// @notice `coldkey` allocated `amount` of free stake to `hotkey` on `netuid`.
    event Allocated(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);
    /// @notice `coldkey` moved `amount` from `hotkey` on `netuid` back to free stake.
    event Deallocated(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);
    /// @notice The owner set the unbonding period.
    event UnbondingPeriodSet(uint64 period);
    /// @notice The owner set the rewarder.
    event RewarderSet(address indexed rewarder);
    /// @notice The rewarder credited `amount` tokens (already transferred here) to `coldkey`'s allocation to
    ///         `hotkey` on `netuid`.
    event StakeCredited(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);

    /// @notice Deploys the ledger for `token_`; the deployer becomes the owner.
    /// @param token_ The staked token.
    constructor(IERC20 token_) Ownable(msg.sender) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        unbondingPeriod = DEFAULT_UNBONDING_PERIOD;
        emit UnbondingPeriodSet(DEFAULT_UNBONDING_PERIOD);
    }

    /// @notice Pulls `amount` tokens from the caller (approval needed) into the caller's free stake.
    /// @param amount Tokens to stake.
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _free[msg.sender] += amount;
        totalStaked += amount;
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves `amount` of the caller's free stake into its unbonding record.
    /// @param amount Tokens to unbond.
    /// @return releaseBlock The block from which the whole record can be claimed.
    function unstake(uint256 amount) external nonReentrant returns (uint64 releaseBlock) {
        if (amount == 0) revert ZeroAmount();
        uint256 free = _free[msg.sender];
        if (amount > free) revert InsufficientFreeStake(free, amount);
        _free[msg.sender] = free - amount;
        totalStaked -= amount;
        totalUnbonding += amount;
        Unbonding storage record = _unbonding[msg.sender];
        uint256 total = record.amount + amount;
        releaseBlock = uint64(block.number) + unbondingPeriod;
        record.amount = total;
        record.releaseBlock = releaseBlock;
        emit Unstaked(msg.sender, amount, total, releaseBlock);
    }

    /// @notice Sends the caller's matured unbonding record back to it.
    /// @return amount Tokens sent.
    function claim() external nonReentrant returns (uint256 amount) {
        Unbonding memory record = _unbonding[msg.sender];
        if (record.amount == 0) revert NothingToClaim();
        if (block.number < record.releaseBlock) revert UnbondingNotMatured(record.releaseBlock);
        amount = record.amount;
        delete _unbonding[msg.sender];
        totalUnbonding -= amount;
        emit Claimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Allocates `amount` of the caller's free stake to `hotkey` on subnet `netuid`.
    /// @param netuid The subnet (>= 1; existence is not checked here, the registries read the result).
    /// @param hotkey The hotkey backed by the stake.
    /// @param amount Tokens to allocate.
    function allocate(uint16 netuid, address hotkey, uint256 amount) external nonReentrant {
        _checkPair(netuid, hotkey, amount);
        uint256 free = _free[msg.sender];
        if (amount > free) revert InsufficientFreeStake(free, amount);
        _free[msg.sender] = free - amount;
        _allocated[msg.sender] += amount;
        _allocation[msg.sender][netuid][hotkey] += amount;
        _hotkeyStake[netuid][hotkey] += amount;
        _hotkeyTotalStake[hotkey] += amount;
        _subnetStake[netuid] += amount;
        emit Allocated(msg.sender, netuid, hotkey, amount);
    }

    /// @notice Moves `amount` of the caller's allocation to (`netuid`, `hotkey`) back to its free stake.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @param amount Tokens to deallocate.
    function deallocate(uint16 netuid, address hotkey, uint256 amount) external nonReentrant {
        _checkPair(netuid, hotkey, amount);
        uint256 current = _allocation[msg.sender][netuid][hotkey];
        if (amount > current) revert InsufficientAllocation(current, amount);
        _allocation[msg.sender][netuid][hotkey] = current - amount;
        _allocated[msg.sender] -= amount;
        _free[msg.sender] += amount;
        _hotkeyStake[netuid][hotkey] -= amount;
        _hotkeyTotalStake[hotkey] -= amount;
        _subnetStake[netuid] -= amount;
        emit Deallocated(msg.sender, netuid, hotkey, amount);
    }

    /// @inheritdoc IStaking
    /// @dev The tokens must already be held by this contract (the rewarder mints or transfers them first);
    ///      the invariant `balance == totalStaked + totalUnbonding` then still holds.
    function creditStake(address coldkey, uint16 netuid, address hotkey, uint256 amount) external nonReentrant {
        if (msg.sender != rewarder) revert NotRewarder(msg.sender);
        if (coldkey == address(0)) revert ZeroAddress();
        _checkPair(netuid, hotkey, amount);
        totalStaked += amount;
        _allocated[coldkey] += amount;
        _allocation[coldkey][netuid][hotkey] += amount;
        _hotkeyStake[netuid][hotkey] += amount;
        _hotkeyTotalStake[hotkey] += amount;
        _subnetStake[netuid] += amount;
        emit StakeCredited(coldkey, netuid, hotkey, amount);
    }

    /// @notice Sets the account allowed to `creditStake`; only the owner. `deployContracts` calls it once and
    ///         then hands ownership to the `AdminTimelock`, so any later change waits out the timelock's delay.
    /// @param rewarder_ The rewarder (the epoch consensus contract).
    function setRewarder(address rewarder_) external onlyOwner {
        if (rewarder_ == address(0)) revert ZeroAddress();
        rewarder = rewarder_;
        emit RewarderSet(rewarder_);
    }

    /// @notice Sets the unbonding period for later unstakes; only the owner.
    /// @param period Blocks, at most `MAX_UNBONDING_PERIOD`.
    function setUnbondingPeriod(uint64 period) external onlyOwner {
        if (period > MAX_UNBONDING_PERIOD) revert UnbondingPeriodTooLong(period, MAX_UNBONDING_PERIOD);
        unbondingPeriod = period;
        emit UnbondingPeriodSet(period);
    }

    /// @notice A coldkey's free (unallocated, not unbonding) stake.
    /// @param coldkey The coldkey.
    /// @return amount Tokens.
    function freeStake(address coldkey) external view returns (uint256 amount) {
        return _free[coldkey];
    }

    /// @notice A coldkey's allocated stake, summed over all pairs.
    /// @param coldkey The coldkey.
    /// @return amount Tokens.
    function allocatedStake(address coldkey) external view returns (uint256 amount) {
        return _allocated[coldkey];
    }

    /// @notice A coldkey's free plus allocated stake (unbonding excluded).
    /// @param coldkey The coldkey.
    /// @return amount Tokens.
    function totalStake(address coldkey) external view returns (uint256 amount) {
        return _free[coldkey] + _allocated[coldkey];
    }

    /// @notice A coldkey's unbonding record.
    /// @param coldkey The coldkey.
    /// @return amount Tokens unbonding.
    /// @return releaseBlock The block from which they can be claimed (0 when there is no record).
    function unbonding(address coldkey) external view returns (uint256 amount, uint64 releaseBlock) {
        Unbonding memory record = _unbonding[coldkey];
        return (record.amount, record.releaseBlock);
    }

    /// @notice What a coldkey allocated to `hotkey` on `netuid`.
    /// @param coldkey The coldkey.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount Tokens.
    function allocation(address coldkey, uint16 netuid, address hotkey) external view returns (uint256 amount) {
        return _allocation[coldkey][netuid][hotkey];
    }

    /// @inheritdoc IStaking
    function hotkeyStake(uint16 netuid, address hotkey) external view returns (uint256 amount) {
        return _hotkeyStake[netuid][hotkey];
    }

    /// @notice Stake allocated to a hotkey across all subnets.
    /// @param hotkey The hotkey.
    /// @return amount Tokens.
    function hotkeyTotalStake(address hotkey) external view returns (uint256 amount) {
        return _hotkeyTotalStake[hotkey];
    }

    /// @notice Stake allocated to any hotkey on a subnet.
    /// @param netuid The subnet.
    /// @return amount Tokens.
    function subnetStake(uint16 netuid) external view returns (uint256 amount) {
        return _subnetStake[netuid];
    }

    function _checkPair(uint16 netuid, address hotkey, uint256 amount) private pure {
        if (amount == 0) revert ZeroAmount();
        if (netuid == 0) revert InvalidNetuid();
        if (hotkey == address(0)) revert ZeroAddress();
    }
}
