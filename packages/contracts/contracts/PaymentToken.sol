// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title PaymentToken
/// @notice The devnet's USDC-like stablecoin that clients pay for inference with ("Subnet USD", sUSD,
///         6 decimals): EIP-2612 `permit` and EIP-3009 `transferWithAuthorization`,
///         `receiveWithAuthorization` and `cancelAuthorization`, with USDC's typehashes and semantics (an
///         authorization is valid while `validAfter < block.timestamp < validBefore`; nonces are random
///         `bytes32`, each usable once per authorizer, used or cancelled). Each of the three takes the
///         signature as `v, r, s` (EIP-3009) or as `bytes` (USDC v2.2; also ERC-1271 contract wallets).
///         The owner mints; production deployments name another ERC-20 (USDC) instead of this one.
/// @dev Devnet only: the owner can mint without limit. Must never move tokens on an authorization whose
///      signature, time window or nonce does not check.
contract PaymentToken is ERC20, ERC20Permit, Ownable {
    /// @notice EIP-3009 `TransferWithAuthorization` typehash.
    /// @return The typehash.
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    /// @notice EIP-3009 `ReceiveWithAuthorization` typehash.
    /// @return The typehash.
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    /// @notice EIP-3009 `CancelAuthorization` typehash.
    /// @return The typehash.
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationStates;

    /// @notice The signature is not the authorizer's over this message.
    error InvalidAuthorizationSignature();
    /// @notice The authorization is not valid yet (`block.timestamp <= validAfter`).
    error AuthorizationNotYetValid(uint256 validAfter, uint256 timestamp);
    /// @notice The authorization has expired (`block.timestamp >= validBefore`).
    error AuthorizationExpired(uint256 validBefore, uint256 timestamp);
    /// @notice The nonce was already used or cancelled by this authorizer.
    error AuthorizationAlreadyUsed(address authorizer, bytes32 nonce);
    /// @notice `receiveWithAuthorization` must be called by the payee.
    error CallerNotPayee(address caller, address payee);

    /// @notice An authorization was used (EIP-3009).
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice An authorization was cancelled (EIP-3009).
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice Deploys the token and mints `initialSupply` to the deployer, who becomes the owner (minter).
    /// @param initialSupply Units (6 decimals) minted to the deployer.
    constructor(uint256 initialSupply) ERC20("Subnet USD", "sUSD") ERC20Permit("Subnet USD") Ownable(msg.sender) {
        _mint(msg.sender, initialSupply);
    }

    /// @notice 6, like USDC.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`; only the owner (devnet funding).
    /// @param to The recipient.
    /// @param amount Units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Whether `authorizer` has used or cancelled `nonce` (EIP-3009).
    /// @param authorizer The signer.
    /// @param nonce The authorization's nonce.
    /// @return used True once used or cancelled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool used) {
        return _authorizationStates[authorizer][nonce];
    }

    /// @notice Moves `value` from `from` to `to` on `from`'s signed authorization; anyone may submit it.
    /// @param from The payer (signer).
    /// @param to The payee.
    /// @param value Units.
    /// @param validAfter Valid strictly after this timestamp.
    /// @param validBefore Valid strictly before this timestamp.
    /// @param nonce A unique random nonce.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            abi.encodePacked(r, s, v)
        );
    }

    /// @notice `transferWithAuthorization` with a `bytes` signature (65-byte ECDSA or ERC-1271).
    /// @param from The payer (signer).
    /// @param to The payee.
    /// @param value Units.
    /// @param validAfter Valid strictly after this timestamp.
    /// @param validBefore Valid strictly before this timestamp.
    /// @param nonce A unique random nonce.
    /// @param signature The signature.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /// @notice Like `transferWithAuthorization`, but only the payee `to` may submit it (no front-running of
    ///         a deposit into a contract).
    /// @param from The payer (signer).
    /// @param to The payee, who must be the caller.
    /// @param value Units.
    /// @param validAfter Valid strictly after this timestamp.
    /// @param validBefore Valid strictly before this timestamp.
    /// @param nonce A unique random nonce.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (to != msg.sender) revert CallerNotPayee(msg.sender, to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice `receiveWithAuthorization` with a `bytes` signature (65-byte ECDSA or ERC-1271).
    /// @param from The payer (signer).
    /// @param to The payee, who must be the caller.
    /// @param value Units.
    /// @param validAfter Valid strictly after this timestamp.
    /// @param validBefore Valid strictly before this timestamp.
    /// @param nonce A unique random nonce.
    /// @param signature The signature.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        if (to != msg.sender) revert CallerNotPayee(msg.sender, to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /// @notice Cancels an unused authorization of `authorizer` (who signed the cancellation).
    /// @param authorizer The signer of the authorization.
    /// @param nonce Its nonce.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice `cancelAuthorization` with a `bytes` signature (65-byte ECDSA or ERC-1271).
    /// @param authorizer The signer of the authorization.
    /// @param nonce Its nonce.
    /// @param signature The signature.
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    function _transferWithAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter) revert AuthorizationNotYetValid(validAfter, block.timestamp);
        if (block.timestamp >= validBefore) revert AuthorizationExpired(validBefore, block.timestamp);
        _consumeAuthorization(from, nonce);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)));
        if (!SignatureChecker.isValidSignatureNow(from, digest, signature)) revert InvalidAuthorizationSignature();
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) private {
        _consumeAuthorization(authorizer, nonce);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)));
        if (!SignatureChecker.isValidSignatureNow(authorizer, digest, signature)) {
            revert InvalidAuthorizationSignature();
        }
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _consumeAuthorization(address authorizer, bytes32 nonce) private {
        if (_authorizationStates[authorizer][nonce]) revert AuthorizationAlreadyUsed(authorizer, nonce);
        _authorizationStates[authorizer][nonce] = true;
    }
}
