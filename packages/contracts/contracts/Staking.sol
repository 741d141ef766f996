// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @notice What `slash` needs of the staked token: an ERC-20 burn of the caller's own tokens
///         (`ERC20Burnable.burn`, as SubnetToken has).
interface IBurnableToken {
    /// @notice Burns `amount` of the caller's tokens.
    /// @param amount Tokens.
    function burn(uint256 amount) external;
}

/// @title Staking
/// @notice The stake ledger. A coldkey (the caller) stakes tokens into free stake, allocates free stake to a
///         (subnet, hotkey) pair (this both backs a subnet and delegates to a hotkey), deallocates it into a
///         per-pair deallocation record it moves back to free stake with `withdrawAllocation` after
///         `deallocationPeriod` blocks, and unstakes free stake into an unbonding record it can claim after
///         `unbondingPeriod` blocks. Allocated and deallocating stake is at risk: the slasher (the Slashing
///         contract) can `slash` a share of a pair's stake, burning it.
/// @dev Each (subnet, hotkey) pair keeps two share pools, one for its allocations and one for its deallocating
///      stake: a coldkey holds shares of each, worth `shares * pool.tokens / pool.shares`, so a slash lowers
///      `pool.tokens` once and every delegating coldkey loses the same share, in O(1). Without slashes a share
///      is worth one token. A pool with shares always holds tokens (a slash takes at most half, rounded down;
///      a partial exit leaves at least the exact remainder), so the price never divides by zero.
///      Unbonding keeps ONE record per coldkey and deallocation one per (coldkey, subnet, hotkey): each
///      `unstake` / `deallocate` adds to it and moves its release block to `block.number + period` (the latest
///      wins), so a new one delays the whole record. A period change applies to later records only.
///      Invariant: `token.balanceOf(this) == totalStaked + totalDeallocating + totalUnbonding` (for a token
///      without transfer fees), where `totalStaked` is free plus allocated stake of every coldkey (the pools'
///      tokens, after slashes) and `totalDeallocating` the deallocation pools' tokens.
///      Every state-changing function is `nonReentrant`, so a token callback cannot re-enter any of them.
contract Staking is IStaking, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The longest unbonding period the owner may set (~30 days of 12 s blocks).
    /// @return Blocks.
    uint64 public constant MAX_UNBONDING_PERIOD = 216_000;

    /// @notice The unbonding period at deployment (~1 day of 12 s blocks).
    /// @return Blocks.
    uint64 public constant DEFAULT_UNBONDING_PERIOD = 7_200;

    /// @notice The deallocation period at deployment (~1 day of 12 s blocks); it should stay longer than the
    ///         time misbehaviour takes to be proven (a few tempos, see docs/epoch.md).
    /// @return Blocks.
    uint64 public constant DEFAULT_DEALLOCATION_PERIOD = 7_200;

    /// @notice The largest share of a pair's stake one slash may take.
    /// @return Basis points (50 %).
    uint256 public constant MAX_SLASH_BPS = 5_000;

    /// @notice Basis points in a whole.
    /// @return 10,000.
    uint256 public constant BPS = 10_000;

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

    /// @notice Sum of all deallocating stake (the deallocation pools' tokens).
    /// @return Tokens.
    uint256 public totalDeallocating;

    /// @notice Blocks between `deallocate` and the moment the stake can be withdrawn to free stake.
    /// @return Blocks.
    uint64 public deallocationPeriod;

    /// @notice The only account that may `creditStake` (the epoch consensus contract).
    /// @return The rewarder (zero until set).
    address public rewarder;

    /// @notice The only account that may `slash` (the Slashing contract).
    /// @return The slasher (zero until set).
    address public slasher;

    struct Unbonding {
        uint256 amount;
        uint64 releaseBlock;
    }

    // A share pool: `tokens` held for `shares` (both zero, or both non-zero).
    struct Pool {
        uint256 tokens;
        uint256 shares;
    }

    // A coldkey's allocation to a pair: its shares of the pair's pool and what it put in (`principal`, the
    // allocated amount net of deallocations, at face value: slashes lower the shares' worth, not this).
    struct Position {
        uint256 shares;
        uint256 principal;
    }

    // A coldkey's deallocating stake of a pair: shares of the pair's deallocation pool.
    struct Deallocation {
        uint256 shares;
        uint64 releaseBlock;
    }

    mapping(address coldkey => uint256 amount) private _free;
    mapping(address coldkey => uint256 amount) private _allocated;
    mapping(address coldkey => Unbonding record) private _unbonding;
    mapping(address coldkey => mapping(uint16 netuid => mapping(address hotkey => Position))) private _positions;
    mapping(address coldkey => mapping(uint16 netuid => mapping(address hotkey => Deallocation))) private
        _deallocations;
    mapping(uint16 netuid => mapping(address hotkey => Pool)) private _pools;
    mapping(uint16 netuid => mapping(address hotkey => Pool)) private _deallocPools;
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
    /// @notice Only the slasher may do this.
    error NotSlasher(address caller);
    /// @notice A slash share above `max` basis points.
    error SlashShareTooHigh(uint256 shareBps, uint256 max);
    /// @notice The deallocation period exceeds `max`.
    error DeallocationPeriodTooLong(uint64 period, uint64 max);
    /// @notice The coldkey has no deallocating stake on the pair.
    error NothingToWithdraw(uint16 netuid, address hotkey);

    /// @notice `coldkey` staked `amount` tokens into free stake.
    event Staked(address indexed coldkey, uint256 amount);
    /// @notice `coldkey` moved `amount` of free stake to unbonding; the record now holds `unbondingAmount`,
    ///         claimable from `releaseBlock`.
    event Unstaked(address indexed coldkey, uint256 amount, uint256 unbondingAmount, uint64 releaseBlock);
    /// @notice `coldkey` claimed `amount` matured tokens.
    event Claimed(address indexed coldkey, uint256 amount);
    /// @notice `coldkey` allocated `amount` of free stake to `hotkey` on `netuid`.
    event Allocated(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);
    /// @notice `coldkey` moved `amount` from `hotkey` on `netuid` to deallocating stake, which can be withdrawn
    ///         to free stake from `releaseBlock` (the pair's whole deallocation record, now worth `pending`).
    event Deallocated(
        address indexed coldkey,
        uint16 indexed netuid,
        address indexed hotkey,
        uint256 amount,
        uint256 pending,
        uint64 releaseBlock
    );
    /// @notice `coldkey` moved its matured deallocating stake of `hotkey` on `netuid`, `amount`, to free stake.
    event AllocationWithdrawn(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);
    /// @notice The slasher took `shareBps` of `hotkey`'s stake on `netuid`: `allocated` from its allocations and
    ///         `deallocating` from their pending deallocations, burnt.
    event Slashed(
        uint16 indexed netuid, address indexed hotkey, uint256 shareBps, uint256 allocated, uint256 deallocating
    );
    /// @notice The owner set the unbonding period.
    event UnbondingPeriodSet(uint64 period);
    /// @notice The owner set the deallocation period.
    event DeallocationPeriodSet(uint64 period);
    /// @notice The owner set the rewarder.
    event RewarderSet(address indexed rewarder);
    /// @notice The owner set the slasher.
    event SlasherSet(address indexed slasher);
    /// @notice The rewarder credited `amount` tokens (already transferred here) to `coldkey`'s allocation to
    ///         `hotkey` on `netuid`.
    event StakeCredited(address indexed coldkey, uint16 indexed netuid, address indexed hotkey, uint256 amount);

    /// @notice Deploys the ledger for `token_`; the deployer becomes the owner.
    /// @param token_ The staked token.
    constructor(IERC20 token_) Ownable(msg.sender) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        unbondingPeriod = DEFAULT_UNBONDING_PERIOD;
        deallocationPeriod = DEFAULT_DEALLOCATION_PERIOD;
        emit UnbondingPeriodSet(DEFAULT_UNBONDING_PERIOD);
        emit DeallocationPeriodSet(DEFAULT_DEALLOCATION_PERIOD);
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
        _addAllocation(msg.sender, netuid, hotkey, amount);
        emit Allocated(msg.sender, netuid, hotkey, amount);
    }

    /// @notice Moves `amount` of the caller's allocation to (`netuid`, `hotkey`) into its deallocation record of
    ///         the pair: it stops counting for the hotkey's stake at once, stays slashable, and can be withdrawn
    ///         to free stake with `withdrawAllocation` from the returned block.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @param amount Tokens to deallocate (at most `allocation(caller, netuid, hotkey)`).
    /// @return releaseBlock The block from which the pair's whole deallocation record can be withdrawn.
    function deallocate(uint16 netuid, address hotkey, uint256 amount)
        external
        nonReentrant
        returns (uint64 releaseBlock)
    {
        _checkPair(netuid, hotkey, amount);
        _removeAllocation(msg.sender, netuid, hotkey, amount);
        totalStaked -= amount;
        totalDeallocating += amount;
        uint256 pending;
        (pending, releaseBlock) = _addDeallocation(msg.sender, netuid, hotkey, amount);
        emit Deallocated(msg.sender, netuid, hotkey, amount, pending, releaseBlock);
    }

    /// @notice Moves the caller's matured deallocation record of (`netuid`, `hotkey`) to its free stake (what
    ///         is left of it after any slash).
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount Tokens moved to free stake.
    function withdrawAllocation(uint16 netuid, address hotkey) external nonReentrant returns (uint256 amount) {
        Deallocation memory record = _deallocations[msg.sender][netuid][hotkey];
        if (record.shares == 0) revert NothingToWithdraw(netuid, hotkey);
        if (block.number < record.releaseBlock) revert UnbondingNotMatured(record.releaseBlock);
        Pool storage dpool = _deallocPools[netuid][hotkey];
        amount = _worth(record.shares, dpool);
        dpool.tokens -= amount;
        dpool.shares -= record.shares;
        delete _deallocations[msg.sender][netuid][hotkey];
        totalDeallocating -= amount;
        totalStaked += amount;
        _free[msg.sender] += amount;
        emit AllocationWithdrawn(msg.sender, netuid, hotkey, amount);
    }

    /// @notice Takes `shareBps` of `hotkey`'s stake on `netuid` (its allocations and their pending
    ///         deallocations, pro rata across every delegating coldkey) and burns it; only the slasher.
    /// @param netuid The subnet.
    /// @param hotkey The slashed hotkey.
    /// @param shareBps The share, at most `MAX_SLASH_BPS`.
    /// @return amount Tokens burnt.
    function slash(uint16 netuid, address hotkey, uint256 shareBps) external nonReentrant returns (uint256 amount) {
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        if (netuid == 0) revert InvalidNetuid();
        if (hotkey == address(0)) revert ZeroAddress();
        if (shareBps > MAX_SLASH_BPS) revert SlashShareTooHigh(shareBps, MAX_SLASH_BPS);
        Pool storage pool = _pools[netuid][hotkey];
        uint256 allocated = pool.tokens * shareBps / BPS;
        pool.tokens -= allocated;
        _hotkeyTotalStake[hotkey] -= allocated;
        _subnetStake[netuid] -= allocated;
        totalStaked -= allocated;
        Pool storage dpool = _deallocPools[netuid][hotkey];
        uint256 deallocating = dpool.tokens * shareBps / BPS;
        dpool.tokens -= deallocating;
        totalDeallocating -= deallocating;
        amount = allocated + deallocating;
        emit Slashed(netuid, hotkey, shareBps, allocated, deallocating);
        if (amount != 0) IBurnableToken(address(token)).burn(amount);
    }

    /// @inheritdoc IStaking
    /// @dev The tokens must already be held by this contract (the rewarder mints or transfers them first);
    ///      the invariant `balance == totalStaked + totalDeallocating + totalUnbonding` then still holds.
    function creditStake(address coldkey, uint16 netuid, address hotkey, uint256 amount) external nonReentrant {
        if (msg.sender != rewarder) revert NotRewarder(msg.sender);
        if (coldkey == address(0)) revert ZeroAddress();
        _checkPair(netuid, hotkey, amount);
        totalStaked += amount;
        _addAllocation(coldkey, netuid, hotkey, amount);
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

    /// @notice Sets the account allowed to `slash`; only the owner. `deployContracts` calls it once (the Slashing
    ///         contract) and then hands ownership to the `AdminTimelock`.
    /// @param slasher_ The slasher.
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert ZeroAddress();
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    /// @notice Sets the deallocation period for later deallocations; only the owner.
    /// @param period Blocks, at most `MAX_UNBONDING_PERIOD`.
    function setDeallocationPeriod(uint64 period) external onlyOwner {
        if (period > MAX_UNBONDING_PERIOD) revert DeallocationPeriodTooLong(period, MAX_UNBONDING_PERIOD);
        deallocationPeriod = period;
        emit DeallocationPeriodSet(period);
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

    /// @notice A coldkey's allocated stake, summed over all pairs, at face value: what it allocated (and was
    ///         credited) net of what it deallocated; a slash lowers `allocation` of the pair, not this sum.
    /// @param coldkey The coldkey.
    /// @return amount Tokens.
    function allocatedStake(address coldkey) external view returns (uint256 amount) {
        return _allocated[coldkey];
    }

    /// @notice A coldkey's free plus allocated stake (face value; deallocating and unbonding excluded).
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

    /// @notice What a coldkey's allocation to `hotkey` on `netuid` is worth now (after any slash).
    /// @param coldkey The coldkey.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount Tokens.
    function allocation(address coldkey, uint16 netuid, address hotkey) external view returns (uint256 amount) {
        return _worth(_positions[coldkey][netuid][hotkey].shares, _pools[netuid][hotkey]);
    }

    /// @notice A coldkey's deallocation record of `hotkey` on `netuid`.
    /// @param coldkey The coldkey.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount What it is worth now (after any slash).
    /// @return releaseBlock The block from which `withdrawAllocation` moves it to free stake (0: no record).
    function deallocation(address coldkey, uint16 netuid, address hotkey)
        external
        view
        returns (uint256 amount, uint64 releaseBlock)
    {
        Deallocation memory record = _deallocations[coldkey][netuid][hotkey];
        return (_worth(record.shares, _deallocPools[netuid][hotkey]), record.releaseBlock);
    }

    /// @inheritdoc IStaking
    function hotkeyStake(uint16 netuid, address hotkey) external view returns (uint256 amount) {
        return _pools[netuid][hotkey].tokens;
    }

    /// @notice Stake leaving a hotkey on a subnet (deallocated, not yet withdrawn): no longer counted, still
    ///         slashable.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return amount Tokens.
    function hotkeyDeallocating(uint16 netuid, address hotkey) external view returns (uint256 amount) {
        return _deallocPools[netuid][hotkey].tokens;
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

    // Adds `amount` (already counted in `totalStaked`) to `coldkey`'s allocation to the pair.
    function _addAllocation(address coldkey, uint16 netuid, address hotkey, uint256 amount) private {
        Pool storage pool = _pools[netuid][hotkey];
        uint256 minted = _sharesFor(amount, pool);
        pool.tokens += amount;
        pool.shares += minted;
        Position storage position = _positions[coldkey][netuid][hotkey];
        position.shares += minted;
        position.principal += amount;
        _allocated[coldkey] += amount;
        _hotkeyTotalStake[hotkey] += amount;
        _subnetStake[netuid] += amount;
    }

    // Takes `amount` out of `coldkey`'s allocation to the pair (reverts beyond what it is worth).
    function _removeAllocation(address coldkey, uint16 netuid, address hotkey, uint256 amount) private {
        Position storage position = _positions[coldkey][netuid][hotkey];
        Pool storage pool = _pools[netuid][hotkey];
        uint256 held = position.shares;
        uint256 value = _worth(held, pool);
        if (amount > value) revert InsufficientAllocation(value, amount);
        // All the position's shares when it leaves entirely, else the shares `amount` is worth, rounded up.
        uint256 burnt = amount == value ? held : Math.mulDiv(amount, pool.shares, pool.tokens, Math.Rounding.Ceil);
        uint256 principal = position.principal;
        uint256 principalOut = burnt == held ? principal : Math.mulDiv(principal, burnt, held);
        position.shares = held - burnt;
        position.principal = principal - principalOut;
        _allocated[coldkey] -= principalOut;
        pool.tokens -= amount;
        pool.shares -= burnt;
        _hotkeyTotalStake[hotkey] -= amount;
        _subnetStake[netuid] -= amount;
    }

    // Adds `amount` to `coldkey`'s deallocation record of the pair and restarts its wait; returns what the
    // record is worth and its release block.
    function _addDeallocation(address coldkey, uint16 netuid, address hotkey, uint256 amount)
        private
        returns (uint256 pending, uint64 releaseBlock)
    {
        Pool storage dpool = _deallocPools[netuid][hotkey];
        uint256 minted = _sharesFor(amount, dpool);
        dpool.tokens += amount;
        dpool.shares += minted;
        Deallocation storage record = _deallocations[coldkey][netuid][hotkey];
        uint256 shares = record.shares + minted;
        releaseBlock = uint64(block.number) + deallocationPeriod;
        record.shares = shares;
        record.releaseBlock = releaseBlock;
        pending = _worth(shares, dpool);
    }

    // Shares `amount` buys in `pool` (one per token in an empty pool; a share is never worth more than one
    // token, so at least `amount`).
    function _sharesFor(uint256 amount, Pool storage pool) private view returns (uint256) {
        uint256 shares = pool.shares;
        return shares == 0 ? amount : Math.mulDiv(amount, shares, pool.tokens);
    }

    // What `shares` of `pool` are worth, rounded down (all of its tokens for all of its shares).
    function _worth(uint256 shares, Pool storage pool) private view returns (uint256) {
        if (shares == 0) return 0;
        uint256 total = pool.shares;
        return shares == total ? pool.tokens : Math.mulDiv(shares, pool.tokens, total);
    }

    function _checkPair(uint16 netuid, address hotkey, uint256 amount) private pure {
        if (amount == 0) revert ZeroAmount();
        if (netuid == 0) revert InvalidNetuid();
        if (hotkey == address(0)) revert ZeroAddress();
    }
}
