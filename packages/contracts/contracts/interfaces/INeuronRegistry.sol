// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title INeuronRegistry
/// @notice The neuron registry as the weights and epoch consensus contracts see it.
interface INeuronRegistry {
    /// @notice A validator holding a permit, with its stake on the subnet.
    struct PermittedValidator {
        uint16 uid;
        address hotkey;
        uint256 stake;
    }

    /// @notice The UID of a hotkey on a subnet; reverts `NotRegistered` when it holds none.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return uid Its UID.
    function uidOf(uint16 netuid, address hotkey) external view returns (uint16 uid);

    /// @notice Whether a UID currently holds a validator permit on its subnet.
    /// @param netuid The subnet.
    /// @param uid The UID.
    /// @return permitted True when the neuron may set weights.
    function hasValidatorPermit(uint16 netuid, uint16 uid) external view returns (bool permitted);

    /// @notice Records that a neuron has just set weights (its `lastUpdate`); only the weights contract.
    /// @param netuid The subnet.
    /// @param uid The UID.
    function markUpdated(uint16 netuid, uint16 uid) external;

    /// @notice Records each listed neuron's emission in an epoch (its pruning score), skipping a UID no neuron
    ///         holds and one whose neuron registered at or after `registeredBefore` (a newer holder than the
    ///         epoch's); only the emission manager. Emits `EmissionsRecorded` with the UIDs recorded.
    /// @param netuid The subnet.
    /// @param registeredBefore The block the epoch ended at, `S(epoch + 1)`.
    /// @param uids UIDs.
    /// @param amounts Their emissions (token units, < 2^128), same length as `uids`.
    /// @return recorded How many UIDs were recorded (the others were skipped).
    function recordEpochEmissions(
        uint16 netuid,
        uint256 registeredBefore,
        uint16[] calldata uids,
        uint256[] calldata amounts
    ) external returns (uint256 recorded);

    /// @notice The validators of a subnet that hold a permit now (see `hasValidatorPermit`), by ascending UID,
    ///         each with `Staking.hotkeyStake(netuid, hotkey)`. One hyperparameter read and one stake read per
    ///         validator-role neuron.
    /// @param netuid The subnet.
    /// @return validators The permitted validators.
    function getPermittedValidators(uint16 netuid) external view returns (PermittedValidator[] memory validators);

    /// @notice The coldkey a hotkey is bound to (zero when never registered).
    /// @param hotkey The hotkey.
    /// @return coldkey The coldkey.
    function hotkeyColdkey(address hotkey) external view returns (address coldkey);
}
