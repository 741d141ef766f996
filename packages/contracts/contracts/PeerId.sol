// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// The hotkey a libp2p peer id names. A neuron's hotkey (a secp256k1 key) is also its libp2p identity, and
// its peer id embeds the compressed public key: the string is base58btc of the identity multihash
// 0x00 0x25 | 0x08 0x02 0x12 0x21 | 33-byte compressed key (protobuf: key type secp256k1, 33 bytes of data),
// so it is always 53 characters starting "16Uiu2". Recovering the key here lets the registry refuse a peer
// id that is not the registrant's own (one that would route another neuron's work to its UID).
// Never accepts two strings for one key: the encoding must be the canonical one.

/// @dev The secp256k1 field prime.
uint256 constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
/// @dev (p + 1) / 4: for p = 3 mod 4, a^((p+1)/4) is a square root of a whenever a has one.
uint256 constant SECP256K1_SQRT_EXPONENT = 0x3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFBFFFFF0C;
/// @dev Characters in a secp256k1 peer id: '1' (the multihash code 0x00) and 52 base58 digits.
uint256 constant SECP256K1_PEER_ID_LENGTH = 53;

// Base58btc digit of each byte value 0x20-0x7f, one byte each (0xff: not a digit; a digit is < 0x40); every
// other byte value is not a digit either.
uint256 constant B58_DIGITS_1 = 0xffffffffffffffffffffffffffffffffff000102030405060708ffffffffffff;
uint256 constant B58_DIGITS_2 = 0xff090a0b0c0d0e0f10ff1112131415ff161718191a1b1c1d1e1f20ffffffffff;
uint256 constant B58_DIGITS_3 = 0xff2122232425262728292a2bff2c2d2e2f30313233343536373839ffffffffff;
// 58^26: the 52 digits are read as two halves of 26 (each below 2^153): value = high * 58^26 + low.
uint256 constant B58_POW_26 = 0x00013cd125f2165f8510dba46008014a08a4000000;
// The first six of the 38 bytes after the leading 0x00: multihash length 0x25, the protobuf header
// 0x08 0x02 0x12 0x21, and the compressed-point prefix 0x02 (even y) or 0x03 (odd y).
uint256 constant SECP256K1_HEADER_EVEN = 0x250802122102;
uint256 constant SECP256K1_HEADER_ODD = 0x250802122103;

/// @notice The EVM address of the secp256k1 key a libp2p peer id names, or zero when the string is not the
///         canonical peer id of a secp256k1 key (wrong length or prefix, a non-base58 character, a value
///         out of range, a coordinate off the curve). ~9.5k gas: 52 base58 digits (~4.8k, two a step), one
///         modexp (~4.1k since EIP-7883), one keccak.
/// @param peerId The peer id string.
/// @return hotkey The address (last 20 bytes of keccak256(x ‖ y)), or zero.
function hotkeyOfPeerId(string calldata peerId) view returns (address hotkey) {
    if (bytes(peerId).length != SECP256K1_PEER_ID_LENGTH) return address(0);
    // The 38 bytes after the leading zero, a 304-bit number: header (its top 48 bits) and x (the rest).
    uint256 header;
    uint256 x;
    bool ok;
    assembly ("memory-safe") {
        // The digit table in scratch memory past the free pointer, indexed by the character itself.
        let table := mload(0x40)
        mstore(table, not(0))
        mstore(add(table, 0x20), B58_DIGITS_1)
        mstore(add(table, 0x40), B58_DIGITS_2)
        mstore(add(table, 0x60), B58_DIGITS_3)
        mstore(add(table, 0x80), not(0))
        mstore(add(table, 0xa0), not(0))
        mstore(add(table, 0xc0), not(0))
        mstore(add(table, 0xe0), not(0))
        let at := peerId.offset
        let word := calldataload(at)
        // Exactly one leading '1': a second one would be a second zero byte (or a non-canonical digit).
        ok := and(eq(byte(0, word), 0x31), iszero(eq(byte(1, word), 0x31)))
        let seen := 0 // the OR of every digit: bit 7 is set if any character is not base58
        let high := 0
        for { let i := 1 } lt(i, 27) { i := add(i, 2) } {
            let d := byte(0, mload(add(table, byte(i, word))))
            let e := byte(0, mload(add(table, byte(add(i, 1), word))))
            seen := or(seen, or(d, e))
            high := add(mul(high, 3364), add(mul(d, 58), e))
        }
        let low := 0
        word := calldataload(add(at, 27))
        for { let i := 0 } lt(i, 26) { i := add(i, 2) } {
            let d := byte(0, mload(add(table, byte(i, word))))
            let e := byte(0, mload(add(table, byte(add(i, 1), word))))
            seen := or(seen, or(d, e))
            low := add(mul(low, 3364), add(mul(d, 58), e))
        }
        ok := and(ok, iszero(and(seen, 0x80)))
        // value = high * 58^26 + low as a 512-bit (hi, lo) pair (the mulmod trick for the full product).
        let lo := mul(high, B58_POW_26)
        let mm := mulmod(high, B58_POW_26, not(0))
        let hi := sub(sub(mm, lo), lt(mm, lo))
        x := add(lo, low)
        header := add(hi, lt(x, lo))
    }
    if (!ok) return address(0);
    if (header != SECP256K1_HEADER_EVEN && header != SECP256K1_HEADER_ODD) return address(0);
    if (x >= SECP256K1_P) return address(0);
    uint256 rhs = addmod(mulmod(mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P);
    uint256 y;
    assembly ("memory-safe") {
        // modexp(rhs, (p+1)/4, p) through the precompile at 0x05, in scratch memory past the free pointer.
        let m := mload(0x40)
        mstore(m, 32)
        mstore(add(m, 0x20), 32)
        mstore(add(m, 0x40), 32)
        mstore(add(m, 0x60), rhs)
        mstore(add(m, 0x80), SECP256K1_SQRT_EXPONENT)
        mstore(add(m, 0xa0), SECP256K1_P)
        ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
        y := mload(m)
    }
    // No square root: x is not on the curve.
    if (!ok || mulmod(y, y, SECP256K1_P) != rhs) return address(0);
    if ((y & 1) != (header & 1)) y = SECP256K1_P - y;
    hotkey = address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
}
