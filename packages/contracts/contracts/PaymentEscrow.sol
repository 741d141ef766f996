// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";
import {Pricing} from "./Pricing.sol";

/// @title PaymentEscrow
/// @notice Prepaid inference accounts. A client deposits payment tokens into its account with a gateway (a
///         validator's hotkey address) and signs an EIP-712 `SpendingAuthorization {client, gateway, cap,
///         expiry, nonce}`; the gateway collects what the client's requests cost against it, never more than
///         `cap` in total and only before `expiry`. The client withdraws what is unspent: `requestWithdrawal`
///         starts a notice period during which the gateway can still collect for requests it already served,
///         `completeWithdrawal` pays out afterwards.
/// @dev Collecting: the gateway submits the authorization, the client's signature and the CUMULATIVE amount
///      it has charged under that authorization so far (its own metering, which the client can check against
///      the signed usage receipts it got); the contract pays out the increase over what was already collected
///      under it. The client signs only the authorization, not each request, so an API-key client (the
///      `openai` library) can pay; the cap is the most the gateway could ever take with it. Re-submitting a
///      total already collected (a retried or replayed settlement) is refused, so nothing is collected twice.
///      An authorization is identified by its EIP-712 digest: two with the same fields are one; the nonce lets
///      a client sign several otherwise equal ones. There is no revocation: a client limits its exposure by
///      `cap`, `expiry` and by withdrawing.
///      Withdrawals: a second request replaces the pending one and restarts the notice; the payout is the
///      requested amount or what is left after the gateway's collections, whichever is less. A gateway must
///      collect within `noticePeriod` of a `WithdrawalRequested` for what it served, and should not serve more
///      than `spendable` (balance less the pending withdrawal).
///      Settling (`settle`): a gateway collects its vouchers and adds `direct` revenue (x402 payments it
///      received) in one transaction and splits the total T at the subnet's revenue split in effect at the
///      block (Pricing.splitAt): the validator's fee `T*v/10000` to the gateway, the owner's fee `T*o/10000`
///      to the subnet owner, the burn `T*b/10000` to BURN_ADDRESS (a generic ERC-20 cannot be burnt), and the
///      rest (the rounding included) to the miners the gateway names, credited as earnings they claim with
///      `claimEarnings` (one slot write per miner, no transfer). The gateway computes the miners' shares
///      (payments.ts `minerShares`); their sum must be the miners' total exactly.
///      Conservation: for every account, deposits (`deposit`, `depositWithPermit`, `depositFor`) = collected
///      + withdrawn + balance; the contract's token balance is the sum of the account balances plus the sum of
///      the unclaimed earnings (the token must be a plain ERC-20: no fee on transfer); for every settlement,
///      total = validator fee + owner fee + burn + miners, to the unit.
///      Must never pay a gateway beyond an authorization's cap, after its expiry, for a total already paid, or
///      from another client's or another gateway's account, nor credit miners more than a settlement's
///      miners' total.
contract PaymentEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice What a client signs: `gateway` may collect up to `cap` in total from the client's account with
    ///         it, until `expiry` (a timestamp, exclusive).
    struct SpendingAuthorization {
        address client;
        address gateway;
        uint256 cap;
        uint256 expiry;
        bytes32 nonce;
    }

    /// @notice One collection: an authorization, the client's signature of it and the cumulative total.
    struct Voucher {
        SpendingAuthorization authorization;
        bytes signature;
        uint256 cumulative;
    }

    /// @notice A miner's part of a settlement's miners' total.
    struct MinerShare {
        address miner;
        uint256 amount;
    }

    /// @notice A miner's earnings: credited by settlements and not yet claimed, and claimed so far.
    struct Earnings {
        uint256 unclaimed;
        uint256 claimed;
    }

    /// @notice A client's account with one gateway.
    struct Account {
        uint128 balance;
        uint128 pendingWithdrawal;
        uint64 withdrawableAt;
    }

    /// @notice EIP-712 typehash of `SpendingAuthorization`.
    /// @return The typehash.
    bytes32 public constant SPENDING_AUTHORIZATION_TYPEHASH = keccak256(
        "SpendingAuthorization(address client,address gateway,uint256 cap,uint256 expiry,bytes32 nonce)"
    );

    /// @notice Where the burnt share of a settlement goes (a generic ERC-20 cannot be burnt).
    /// @return 0x…dEaD.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    /// @notice The payment token.
    /// @return The ERC-20.
    IERC20 public immutable token;
    /// @notice Seconds between a withdrawal request and its completion.
    /// @return Seconds.
    uint64 public immutable noticePeriod;
    /// @notice Prices and revenue splits (Pricing.splitAt).
    /// @return The Pricing contract.
    Pricing public immutable pricing;
    /// @notice The subnet registry (subnet owners), Pricing's.
    /// @return The registry.
    ISubnetRegistry public immutable subnetRegistry;

    /// @notice Settlements so far (the last settlement's id).
    /// @return The count.
    uint256 public settlementCount;

    mapping(address client => mapping(address gateway => Account)) private _accounts;
    mapping(bytes32 digest => uint256 total) private _collected;
    mapping(address miner => Earnings) private _earnings;

    /// @notice The zero address was given where an account or contract is required.
    error ZeroAddress();
    /// @notice The amount must be > 0.
    error ZeroAmount();
    /// @notice The account holds less than the operation needs.
    error InsufficientBalance(uint256 balance, uint256 needed);
    /// @notice An account balance cannot exceed 2^128 - 1 units.
    error BalanceOverflow();
    /// @notice Only the authorization's gateway may collect under it.
    error NotGateway(address caller, address gateway);
    /// @notice The authorization expired (`block.timestamp >= expiry`).
    error AuthorizationExpired(uint256 expiry, uint256 timestamp);
    /// @notice The cumulative total exceeds the authorization's cap.
    error OverCap(uint256 cap, uint256 cumulative);
    /// @notice This cumulative total (or a larger one) was already collected under the authorization.
    error AlreadyCollected(uint256 collected, uint256 cumulative);
    /// @notice The signature is not the client's over this authorization.
    error InvalidSignature();
    /// @notice No withdrawal is pending for this account.
    error NoWithdrawalPending();
    /// @notice The notice period runs until `withdrawableAt`.
    error WithdrawalNotReady(uint64 withdrawableAt, uint256 timestamp);
    /// @notice An empty batch.
    error EmptyBatch();
    /// @notice A settlement with no vouchers' increase and no direct revenue.
    error EmptySettlement();
    /// @notice The miners' shares must sum to the settlement's miners' total exactly.
    error MinerTotalMismatch(uint256 minerTotal, uint256 sharesTotal);
    /// @notice A miner share with the zero address or a zero amount, at `index`.
    error InvalidMinerShare(uint256 index);

    /// @notice `client` deposited `amount` into its account with `gateway`.
    event Deposited(address indexed client, address indexed gateway, uint256 amount, uint256 balance);
    /// @notice `gateway` collected `amount` from `client`'s account under the authorization `digest`, whose
    ///         collected total is now `cumulative`.
    event Collected(
        address indexed client, address indexed gateway, bytes32 indexed digest, uint256 amount, uint256 cumulative
    );
    /// @notice `client` asked to withdraw `amount` from its account with `gateway`, payable from `withdrawableAt`.
    event WithdrawalRequested(address indexed client, address indexed gateway, uint256 amount, uint64 withdrawableAt);
    /// @notice `client` cancelled its pending withdrawal.
    event WithdrawalCancelled(address indexed client, address indexed gateway);
    /// @notice `client` withdrew `amount` from its account with `gateway`.
    event Withdrawn(address indexed client, address indexed gateway, uint256 amount);

    /// @notice `gateway` settled `total` on subnet `netuid`: `validatorFee` to it, `ownerFee` to the subnet
    ///         owner, `burned` to BURN_ADDRESS and `minerTotal` credited to miners (`MinerCredited`).
    event Settled(
        uint256 indexed settlementId,
        address indexed gateway,
        uint16 indexed netuid,
        uint256 total,
        uint256 validatorFee,
        uint256 ownerFee,
        uint256 burned,
        uint256 minerTotal
    );
    /// @notice Settlement `settlementId` credited `amount` to `miner`'s earnings.
    event MinerCredited(uint256 indexed settlementId, address indexed miner, uint256 amount);
    /// @notice `miner` claimed `amount` of its earnings.
    event EarningsClaimed(address indexed miner, uint256 amount);

    /// @param token_ The payment token.
    /// @param noticePeriod_ Seconds between a withdrawal request and its completion.
    /// @param pricing_ The Pricing contract (revenue splits; its registry gives the subnet owners).
    constructor(IERC20 token_, uint64 noticePeriod_, Pricing pricing_) EIP712("SubnetPaymentEscrow", "1") {
        if (address(token_) == address(0) || address(pricing_) == address(0)) revert ZeroAddress();
        token = token_;
        noticePeriod = noticePeriod_;
        pricing = pricing_;
        subnetRegistry = pricing_.subnetRegistry();
    }

    /// @notice Deposits `amount` into the caller's account with `gateway` (approval needed).
    /// @param gateway The gateway (validator hotkey) the account is with.
    /// @param amount Units.
    function deposit(address gateway, uint256 amount) external nonReentrant {
        _deposit(msg.sender, gateway, amount);
    }

    /// @notice Deposits `amount` from the caller (approval needed) into `client`'s account with `gateway`:
    ///         anyone may fund anyone's account (how a gateway gives back an x402 overpayment).
    /// @param client The client whose account is credited.
    /// @param gateway The gateway the account is with.
    /// @param amount Units.
    function depositFor(address client, address gateway, uint256 amount) external nonReentrant {
        _deposit(client, gateway, amount);
    }

    /// @notice `deposit` with an EIP-2612 permit instead of an approval (a permit already used, e.g.
    ///         front-run, is ignored when the allowance is there).
    /// @param gateway The gateway the account is with.
    /// @param amount Units (also the permit's value).
    /// @param deadline The permit's deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function depositWithPermit(address gateway, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(msg.sender, gateway, amount);
    }

    /// @notice Collects the increase of `cumulative` over what was already collected under the authorization;
    ///         only its gateway, before its expiry, up to its cap.
    /// @param authorization The client's authorization.
    /// @param signature The client's EIP-712 signature of it (65-byte ECDSA or ERC-1271).
    /// @param cumulative The total charged under the authorization so far.
    /// @return amount The units paid to the gateway.
    function collect(SpendingAuthorization calldata authorization, bytes calldata signature, uint256 cumulative)
        external
        nonReentrant
        returns (uint256 amount)
    {
        amount = _collect(authorization, signature, cumulative);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice `collect` for many vouchers (of any clients) in one transaction and one transfer; every voucher
    ///         must be the caller's and valid, or nothing is collected.
    /// @param vouchers The vouchers.
    /// @return total The units paid to the gateway.
    function collectBatch(Voucher[] calldata vouchers) external nonReentrant returns (uint256 total) {
        if (vouchers.length == 0) revert EmptyBatch();
        for (uint256 i; i < vouchers.length; ++i) {
            Voucher calldata voucher = vouchers[i];
            total += _collect(voucher.authorization, voucher.signature, voucher.cumulative);
        }
        token.safeTransfer(msg.sender, total);
    }

    /// @notice Settles the caller's (a gateway's) revenue on subnet `netuid` in one transaction: collects the
    ///         vouchers like `collectBatch` (same checks and errors), pulls `direct` from the caller (approval
    ///         needed), and splits the total T at `pricing.splitAt(netuid, block.number)`: the validator's fee
    ///         to the caller, the owner's fee to the subnet owner, the burn to BURN_ADDRESS (each floored) and
    ///         the rest to the miners' earnings by `shares`, which must sum to it exactly.
    /// @param netuid The subnet whose split applies.
    /// @param vouchers The caller's vouchers (may be empty when `direct` > 0).
    /// @param direct Revenue the caller received outside the escrow (x402), in units.
    /// @param shares The miners' parts of the miners' total (no zero address, no zero amount).
    /// @return settlementId The settlement's id (a counter from 1).
    function settle(uint16 netuid, Voucher[] calldata vouchers, uint256 direct, MinerShare[] calldata shares)
        external
        nonReentrant
        returns (uint256 settlementId)
    {
        uint256 total = direct + _collectAll(vouchers);
        if (total == 0) revert EmptySettlement();
        settlementId = ++settlementCount;
        // Effects first: the miners' credits, then the transfers (all under the reentrancy guard).
        (uint256 validatorFee, uint256 ownerFee, uint256 burned) = _fees(netuid, total);
        uint256 minerTotal = total - validatorFee - ownerFee - burned;
        _credit(settlementId, shares, minerTotal);
        emit Settled(settlementId, msg.sender, netuid, total, validatorFee, ownerFee, burned, minerTotal);
        _payOut(netuid, direct, validatorFee, ownerFee, burned);
    }

    /// @notice Pays the caller its unclaimed earnings (miners' shares of settlements).
    /// @return amount The units paid.
    function claimEarnings() external nonReentrant returns (uint256 amount) {
        Earnings storage earnings = _earnings[msg.sender];
        amount = earnings.unclaimed;
        if (amount == 0) revert ZeroAmount();
        earnings.unclaimed = 0;
        earnings.claimed += amount;
        emit EarningsClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice A miner's earnings.
    /// @param miner The miner (the address the settling gateway credited: its hotkey).
    /// @return unclaimed Units credited and not yet claimed.
    /// @return claimed Units claimed so far.
    function earningsOf(address miner) external view returns (uint256 unclaimed, uint256 claimed) {
        Earnings storage earnings = _earnings[miner];
        return (earnings.unclaimed, earnings.claimed);
    }

    /// @notice Starts the notice period for withdrawing `amount` from the caller's account with `gateway`;
    ///         replaces a pending request.
    /// @param gateway The gateway the account is with.
    /// @param amount Units (at most the balance).
    /// @return withdrawableAt When `completeWithdrawal` can pay out.
    function requestWithdrawal(address gateway, uint256 amount) external returns (uint64 withdrawableAt) {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[msg.sender][gateway];
        uint256 balance = account.balance;
        if (amount > balance) revert InsufficientBalance(balance, amount);
        withdrawableAt = uint64(block.timestamp) + noticePeriod;
        account.pendingWithdrawal = uint128(amount);
        account.withdrawableAt = withdrawableAt;
        emit WithdrawalRequested(msg.sender, gateway, amount, withdrawableAt);
    }

    /// @notice Cancels the caller's pending withdrawal from its account with `gateway`.
    /// @param gateway The gateway the account is with.
    function cancelWithdrawal(address gateway) external {
        Account storage account = _accounts[msg.sender][gateway];
        if (account.pendingWithdrawal == 0) revert NoWithdrawalPending();
        account.pendingWithdrawal = 0;
        account.withdrawableAt = 0;
        emit WithdrawalCancelled(msg.sender, gateway);
    }

    /// @notice Pays out the caller's pending withdrawal once its notice period is over: the requested amount,
    ///         or the balance when the gateway collected in between and less is left.
    /// @param gateway The gateway the account is with.
    /// @return amount The units paid.
    function completeWithdrawal(address gateway) external nonReentrant returns (uint256 amount) {
        Account storage account = _accounts[msg.sender][gateway];
        uint256 pending = account.pendingWithdrawal;
        if (pending == 0) revert NoWithdrawalPending();
        uint64 withdrawableAt = account.withdrawableAt;
        if (block.timestamp < withdrawableAt) revert WithdrawalNotReady(withdrawableAt, block.timestamp);
        uint256 balance = account.balance;
        amount = pending < balance ? pending : balance;
        account.balance = uint128(balance - amount);
        account.pendingWithdrawal = 0;
        account.withdrawableAt = 0;
        emit Withdrawn(msg.sender, gateway, amount);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    /// @notice A client's account with a gateway.
    /// @param client The client.
    /// @param gateway The gateway.
    /// @return account Balance, pending withdrawal and when it can complete (0: none).
    function getAccount(address client, address gateway) external view returns (Account memory account) {
        return _accounts[client][gateway];
    }

    /// @notice What a gateway can still serve the client for: the balance less the pending withdrawal.
    /// @param client The client.
    /// @param gateway The gateway.
    /// @return units Units.
    function spendable(address client, address gateway) external view returns (uint256 units) {
        Account storage account = _accounts[client][gateway];
        uint256 balance = account.balance;
        uint256 pending = account.pendingWithdrawal;
        return pending < balance ? balance - pending : 0;
    }

    /// @notice The total collected so far under an authorization.
    /// @param authorization The authorization.
    /// @return total Units.
    function collected(SpendingAuthorization calldata authorization) external view returns (uint256 total) {
        return _collected[authorizationDigest(authorization)];
    }

    /// @notice The total collected so far under an authorization digest.
    /// @param digest `authorizationDigest(authorization)`.
    /// @return total Units.
    function collectedByDigest(bytes32 digest) external view returns (uint256 total) {
        return _collected[digest];
    }

    /// @notice The EIP-712 digest the client signs for `authorization` (this contract's domain).
    /// @param authorization The authorization.
    /// @return digest The digest.
    function authorizationDigest(SpendingAuthorization calldata authorization) public view returns (bytes32 digest) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SPENDING_AUTHORIZATION_TYPEHASH,
                    authorization.client,
                    authorization.gateway,
                    authorization.cap,
                    authorization.expiry,
                    authorization.nonce
                )
            )
        );
    }

    // Credits `client`'s account with `gateway` and pulls the amount from the caller.
    function _deposit(address client, address gateway, uint256 amount) private {
        if (client == address(0) || gateway == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[client][gateway];
        uint256 balance = uint256(account.balance) + amount;
        if (balance > type(uint128).max) revert BalanceOverflow();
        account.balance = uint128(balance);
        emit Deposited(client, gateway, amount, balance);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // Collects every voucher (the caller's) and returns the sum of the increases.
    function _collectAll(Voucher[] calldata vouchers) private returns (uint256 total) {
        for (uint256 i; i < vouchers.length; ++i) {
            Voucher calldata voucher = vouchers[i];
            total += _collect(voucher.authorization, voucher.signature, voucher.cumulative);
        }
    }

    // The validator's, owner's and burnt parts of `total` at the subnet's split in effect now (floors).
    function _fees(uint16 netuid, uint256 total)
        private
        view
        returns (uint256 validatorFee, uint256 ownerFee, uint256 burned)
    {
        (uint16 v, uint16 o, uint16 b) = pricing.splitAt(netuid, block.number);
        return (total * v / 10_000, total * o / 10_000, total * b / 10_000);
    }

    // Pulls the direct revenue from the gateway and pays the fees and the burn.
    function _payOut(uint16 netuid, uint256 direct, uint256 validatorFee, uint256 ownerFee, uint256 burned) private {
        if (direct != 0) token.safeTransferFrom(msg.sender, address(this), direct);
        if (validatorFee != 0) token.safeTransfer(msg.sender, validatorFee);
        if (ownerFee != 0) token.safeTransfer(subnetRegistry.subnetOwner(netuid), ownerFee);
        if (burned != 0) token.safeTransfer(BURN_ADDRESS, burned);
    }

    // Credits the miners' shares of a settlement, which must sum to `minerTotal`.
    function _credit(uint256 settlementId, MinerShare[] calldata shares, uint256 minerTotal) private {
        uint256 sharesTotal;
        for (uint256 i; i < shares.length; ++i) {
            MinerShare calldata share = shares[i];
            address miner = share.miner;
            uint256 amount = share.amount;
            if (miner == address(0) || amount == 0) revert InvalidMinerShare(i);
            sharesTotal += amount;
            _earnings[miner].unclaimed += amount;
            emit MinerCredited(settlementId, miner, amount);
        }
        if (sharesTotal != minerTotal) revert MinerTotalMismatch(minerTotal, sharesTotal);
    }

    // Checks a voucher and debits the client's account; the caller transfers the amount.
    function _collect(SpendingAuthorization calldata authorization, bytes calldata signature, uint256 cumulative)
        private
        returns (uint256 amount)
    {
        address gateway = authorization.gateway;
        if (msg.sender != gateway) revert NotGateway(msg.sender, gateway);
        if (block.timestamp >= authorization.expiry) revert AuthorizationExpired(authorization.expiry, block.timestamp);
        if (cumulative > authorization.cap) revert OverCap(authorization.cap, cumulative);
        bytes32 digest = authorizationDigest(authorization);
        uint256 previous = _collected[digest];
        if (cumulative <= previous) revert AlreadyCollected(previous, cumulative);
        address client = authorization.client;
        if (!SignatureChecker.isValidSignatureNowCalldata(client, digest, signature)) revert InvalidSignature();
        amount = cumulative - previous;
        Account storage account = _accounts[client][gateway];
        uint256 balance = account.balance;
        if (amount > balance) revert InsufficientBalance(balance, amount);
        account.balance = uint128(balance - amount);
        _collected[digest] = cumulative;
        emit Collected(client, gateway, digest, amount, cumulative);
    }
}
