// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {INeuronRegistry} from "./interfaces/INeuronRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ISubnetRegistry} from "./interfaces/ISubnetRegistry.sol";
import {hotkeyOfPeerId} from "./PeerId.sol";

/// @title NeuronRegistry
/// @notice Registers neurons (miners and validators) on subnets: each holds a UID below the subnet's
///         `maxAllowedUids`, a hotkey (its on-chain and libp2p identity), the coldkey that registered it, and
///         its service info (libp2p peer id, comma-separated multiaddrs, free-form metadata).
/// @dev UIDs: a freed UID is reused (lowest first) before a new one is handed out; when every UID is taken,
///      the non-immune neuron with the lowest `emission` (ties: the oldest registration, then the lowest
///      UID) is pruned and its UID goes to the newcomer. A neuron is immune while
///      `block.number < registeredAt + immunityPeriod`. Pruning scans the subnet's UIDs (one storage read
///      each), so a registration into a full subnet costs ~2.2k gas more per UID.
///      A hotkey is bound for good to the first coldkey that registers it, on any subnet; the neuron's
///      `coldkey` is always that binding. The first registration needs the hotkey's consent: its EIP-712
///      signature of `HotkeyBinding(hotkey, coldkey, deadline)` (domain: this contract on this chain), so
///      nobody binds a hotkey they do not hold, and a signature copied from the mempool binds it only to the
///      coldkey it names.
///      The registration burn is priced by demand (`registrationBurn`): each registration raises the price
///      by half (up to the subnet's `maxRegistrationBurn`), each `burnAdjustmentInterval` blocks without a
///      registration halves what lies above the floor (`registrationBurn` hyperparameter), so a burst of N
///      registrations costs geometrically more than N single ones.
///      `emission` is the pruning score: a moving average of the neuron's recorded epoch emissions (the
///      first record sets it; each later one moves it a quarter of the way to the new amount), recorded by
///      the emission manager (EpochConsensus, from a final epoch's results: `recordResults`), so one bad
///      epoch does not put an honest neuron first in line. `lastUpdate` is the registration block until the
///      weights contract marks a weight reveal.
contract NeuronRegistry is INeuronRegistry, Ownable, ReentrancyGuardTransient, EIP712 {
    using SafeCast for uint256;

    /// @notice A neuron as the views return it.
    struct Neuron {
        uint16 uid;
        address hotkey;
        address coldkey;
        bool isValidator;
        string peerId;
        string multiaddrs;
        string metadata;
        uint64 registeredAt;
        uint64 lastUpdate;
        uint256 emission;
    }

    // Storage layout: slot 0 is all that pruning reads; slot 1 is all that permits read. The three
    // service-info strings share one packed byte string (see `_packServiceInfo`): one length slot and
    // ceil(bytes / 32) data slots instead of three of each, which keeps a registration under 300k gas.
    struct NeuronRecord {
        uint64 registeredAt;
        uint64 lastUpdate;
        uint128 emission;
        address hotkey;
        bool isValidator;
        uint16 validatorIndex;
        bool emissionRecorded;
        bytes serviceInfo;
    }

    /// @notice A hotkey's consent to be bound to the registering coldkey: the hotkey's EIP-712 signature of
    ///         `HotkeyBinding(address hotkey,address coldkey,uint256 deadline)`, valid until block timestamp
    ///         `deadline`. Needed only at the hotkey's first registration (empty otherwise).
    struct HotkeyConsent {
        uint256 deadline;
        bytes signature;
    }

    // Per subnet, one slot: UIDs below `nextUid` were handed out at least once; `count` neurons hold one;
    // `freeWordMask` bit w is set when word w of the free-UID bitmap has a free UID; `validatorCount` is the
    // length of the subnet's validator list; `burn` is the registration price right after the last
    // registration, at block `burnBlock` (it decays from there, see `registrationBurn`).
    struct UidState {
        uint16 nextUid;
        uint16 count;
        uint16 freeWordMask;
        uint16 validatorCount;
        uint128 burn;
        uint64 burnBlock;
    }

    /// @notice Longest peer id in bytes.
    /// @return Bytes.
    uint256 public constant MAX_PEER_ID_LENGTH = 128;
    /// @notice Longest multiaddrs string in bytes.
    /// @return Bytes.
    uint256 public constant MAX_MULTIADDRS_LENGTH = 1024;
    /// @notice Longest metadata string in bytes.
    /// @return Bytes.
    uint256 public constant MAX_METADATA_LENGTH = 1024;
    /// @notice The EIP-712 type a hotkey signs to consent to its binding.
    /// @return The type hash.
    bytes32 public constant HOTKEY_BINDING_TYPEHASH =
        keccak256("HotkeyBinding(address hotkey,address coldkey,uint256 deadline)");

    /// @notice The token registration burns are paid in.
    /// @return The burnable ERC-20 token.
    ERC20Burnable public immutable token;
    /// @notice The stake ledger (validator stake).
    /// @return The staking contract.
    IStaking public immutable staking;
    /// @notice The subnet registry (hyperparameters, activation).
    /// @return The subnet registry.
    ISubnetRegistry public immutable subnetRegistry;
    /// @notice The only account that may record emissions (the epoch consensus contract).
    /// @return The emission manager (zero until set).
    address public emissionManager;
    /// @notice The only account that may mark weight updates (set once).
    /// @return The weights contract (zero until set).
    address public weights;

    mapping(address hotkey => address coldkey) private _hotkeyColdkey;
    mapping(uint16 netuid => UidState) private _uidState;
    mapping(uint16 netuid => mapping(uint16 uid => NeuronRecord)) private _neurons;
    mapping(uint16 netuid => mapping(address hotkey => uint16 uidPlusOne)) private _uidPlusOne;
    mapping(uint16 netuid => mapping(uint256 word => uint256 bits)) private _freeUids;
    // Validator-role UIDs in no particular order, 16 per slot; the length is `UidState.validatorCount`.
    mapping(uint16 netuid => uint16[4096] uids) private _validatorUids;

    /// @notice No subnet has this netuid (raised by the subnet registry).
    error SubnetNotFound(uint16 netuid);
    /// @notice The subnet has not been activated.
    error SubnetNotActive(uint16 netuid);
    /// @notice The subnet's owner has closed registration.
    error RegistrationDisabled(uint16 netuid);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The hotkey is bound to another coldkey.
    error HotkeyOwnedByAnotherColdkey(address hotkey, address coldkey);
    /// @notice The hotkey already holds a UID on this subnet.
    error HotkeyAlreadyRegistered(uint16 netuid, address hotkey);
    /// @notice A validator's hotkey stake on the subnet is below `minStake`.
    error InsufficientStake(uint256 stake, uint256 minStake);
    /// @notice Every UID is taken and every neuron is still immune.
    error AllNeuronsImmune(uint16 netuid);
    /// @notice The hotkey holds no UID on this subnet.
    error NotRegistered(uint16 netuid, address hotkey);
    /// @notice No neuron holds this UID.
    error UidNotRegistered(uint16 netuid, uint16 uid);
    /// @notice Only the neuron's coldkey may do this.
    error NotColdkey(address caller);
    /// @notice Only the neuron's hotkey or coldkey may do this.
    error NotHotkeyOrColdkey(address caller);
    /// @notice A service-info field exceeds its limit.
    error FieldTooLong(string field, uint256 length, uint256 max);
    /// @notice Only the emission manager may do this.
    error NotEmissionManager(address caller);
    /// @notice Only the weights contract may do this.
    error NotWeightsContract(address caller);
    /// @notice The weights contract is already set.
    error WeightsAlreadySet();
    /// @notice Array arguments differ in length.
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice The hotkey's first registration carries no valid consent signature from the hotkey for this
    ///         coldkey, chain and contract (`signer` is who signed, zero when nobody could be recovered).
    error InvalidHotkeyConsent(address hotkey, address signer);
    /// @notice The hotkey's consent expired at block timestamp `deadline`.
    error HotkeyConsentExpired(uint256 deadline);
    /// @notice The peer id is not the canonical secp256k1 libp2p peer id of the hotkey (another key's, an
    ///         ed25519 one, or not a peer id at all).
    error PeerIdNotHotkey(string peerId, address hotkey);

    /// @notice A neuron took `uid` on `netuid`.
    event NeuronRegistered(
        uint16 indexed netuid,
        uint16 indexed uid,
        address indexed hotkey,
        address coldkey,
        bool isValidator,
        string peerId,
        string multiaddrs
    );
    /// @notice Its coldkey deregistered a neuron; the UID is free.
    event NeuronDeregistered(uint16 indexed netuid, uint16 indexed uid, address indexed hotkey, address coldkey);
    /// @notice A neuron was pruned to make room; its UID went to the next `NeuronRegistered`.
    event NeuronPruned(uint16 indexed netuid, uint16 indexed uid, address indexed hotkey, uint256 emission);
    /// @notice A neuron's service info changed.
    event ServiceInfoUpdated(
        uint16 indexed netuid, uint16 indexed uid, string peerId, string multiaddrs, string metadata
    );
    /// @notice The emission manager recorded the last epoch's emissions (`recordEpochEmissions`: the UIDs it
    ///         recorded, not those it skipped).
    event EmissionsRecorded(uint16 indexed netuid, uint16[] uids, uint256[] amounts);
    /// @notice The weights contract marked a weight update.
    event NeuronUpdated(uint16 indexed netuid, uint16 indexed uid, uint64 blockNumber);
    /// @notice The owner set the emission manager.
    event EmissionManagerSet(address indexed emissionManager);
    /// @notice The owner set the weights contract.
    event WeightsContractSet(address indexed weights);

    /// @notice Deploys the registry; the deployer becomes the owner.
    /// @param token_ The token registration burns are paid in.
    /// @param staking_ The stake ledger.
    /// @param subnetRegistry_ The subnet registry.
    constructor(ERC20Burnable token_, IStaking staking_, ISubnetRegistry subnetRegistry_)
        Ownable(msg.sender)
        EIP712("NeuronRegistry", "1")
    {
        if (address(token_) == address(0) || address(staking_) == address(0) || address(subnetRegistry_) == address(0))
        {
            revert ZeroAddress();
        }
        token = token_;
        staking = staking_;
        subnetRegistry = subnetRegistry_;
    }

    /// @notice Registers `hotkey` on `netuid` for the caller (its coldkey), burning the current
    ///         `registrationBurn(netuid)` from the caller (approval needed). Validators need
    ///         `staking.hotkeyStake(netuid, hotkey) >= minStake`. May prune a neuron (see the contract notes).
    /// @param netuid The subnet (must exist, be active and allow registration).
    /// @param hotkey The neuron's hotkey (bound to the caller on first use).
    /// @param asValidator True to register as a validator, false as a miner.
    /// @param peerId The hotkey's libp2p peer id, or empty.
    /// @param multiaddrs Comma-separated multiaddrs (<= 1024 bytes).
    /// @param metadata Free-form metadata (<= 1024 bytes).
    /// @param consent The hotkey's signed consent to its binding to the caller; read only when the hotkey
    ///        is bound to no coldkey yet.
    /// @return uid The UID taken.
    function registerNeuron(
        uint16 netuid,
        address hotkey,
        bool asValidator,
        string calldata peerId,
        string calldata multiaddrs,
        string calldata metadata,
        HotkeyConsent calldata consent
    ) external nonReentrant returns (uint16 uid) {
        _checkServiceInfo(peerId, multiaddrs, metadata);
        uint256 burn;
        (uid, burn) =
            _register(netuid, hotkey, asValidator, _packServiceInfo(peerId, multiaddrs, metadata), consent);
        _checkPeerId(peerId, hotkey);
        emit NeuronRegistered(netuid, uid, hotkey, msg.sender, asValidator, peerId, multiaddrs);
        if (burn != 0) token.burnFrom(msg.sender, burn);
    }

    /// @notice Deregisters a neuron and frees its UID; only its coldkey.
    /// @param netuid The subnet.
    /// @param uid The neuron's UID.
    function deregisterNeuron(uint16 netuid, uint16 uid) external {
        NeuronRecord storage record = _neurons[netuid][uid];
        address hotkey = record.hotkey;
        if (hotkey == address(0)) revert UidNotRegistered(netuid, uid);
        address coldkey = _hotkeyColdkey[hotkey];
        if (msg.sender != coldkey) revert NotColdkey(msg.sender);
        UidState memory state = _loadUidState(netuid);
        _evict(netuid, state, record);
        delete _neurons[netuid][uid];
        state.count -= 1;
        uint256 word = uid >> 8;
        _freeUids[netuid][word] |= uint256(1) << (uid & 0xff);
        state.freeWordMask |= uint16(1 << word);
        _storeUidState(netuid, state);
        emit NeuronDeregistered(netuid, uid, hotkey, coldkey);
    }

    /// @notice Replaces a neuron's service info; only its hotkey or coldkey.
    /// @param netuid The subnet.
    /// @param uid The neuron's UID.
    /// @param peerId The hotkey's libp2p peer id, or empty.
    /// @param multiaddrs Comma-separated multiaddrs (<= 1024 bytes).
    /// @param metadata Free-form metadata (<= 1024 bytes).
    function updateServiceInfo(
        uint16 netuid,
        uint16 uid,
        string calldata peerId,
        string calldata multiaddrs,
        string calldata metadata
    ) external {
        _checkServiceInfo(peerId, multiaddrs, metadata);
        NeuronRecord storage record = _neurons[netuid][uid];
        address hotkey = record.hotkey;
        if (hotkey == address(0)) revert UidNotRegistered(netuid, uid);
        if (msg.sender != hotkey && msg.sender != _hotkeyColdkey[hotkey]) revert NotHotkeyOrColdkey(msg.sender);
        _checkPeerId(peerId, hotkey);
        record.serviceInfo = _packServiceInfo(peerId, multiaddrs, metadata);
        emit ServiceInfoUpdated(netuid, uid, peerId, multiaddrs, metadata);
    }

    /// @notice Sets the account allowed to record emissions; only the owner.
    /// @param manager The emission manager (the epoch consensus contract).
    function setEmissionManager(address manager) external onlyOwner {
        if (manager == address(0)) revert ZeroAddress();
        emissionManager = manager;
        emit EmissionManagerSet(manager);
    }

    /// @notice Sets the weights contract, once; only the owner.
    /// @param weights_ The weights contract.
    function setWeights(address weights_) external onlyOwner {
        if (weights_ == address(0)) revert ZeroAddress();
        if (weights != address(0)) revert WeightsAlreadySet();
        weights = weights_;
        emit WeightsContractSet(weights_);
    }

    /// @notice Records each listed neuron's emission in the last epoch (its pruning score); only the
    ///         emission manager. Reverts on a UID no neuron holds (`recordEpochEmissions` skips it instead).
    /// @param netuid The subnet.
    /// @param uids Registered UIDs.
    /// @param amounts Their emissions (token units, < 2^128), same length as `uids`.
    function recordEmissions(uint16 netuid, uint16[] calldata uids, uint256[] calldata amounts) external {
        if (msg.sender != emissionManager) revert NotEmissionManager(msg.sender);
        if (uids.length != amounts.length) revert LengthMismatch(uids.length, amounts.length);
        mapping(uint16 uid => NeuronRecord) storage neurons = _neurons[netuid];
        for (uint256 i = 0; i < uids.length; ++i) {
            NeuronRecord storage record = neurons[uids[i]];
            if (record.hotkey == address(0)) revert UidNotRegistered(netuid, uids[i]);
            _recordEmission(record, amounts[i]);
        }
        emit EmissionsRecorded(netuid, uids, amounts);
    }

    /// @inheritdoc INeuronRegistry
    function recordEpochEmissions(
        uint16 netuid,
        uint256 registeredBefore,
        uint16[] calldata uids,
        uint256[] calldata amounts
    ) external returns (uint256 recorded) {
        if (msg.sender != emissionManager) revert NotEmissionManager(msg.sender);
        if (uids.length != amounts.length) revert LengthMismatch(uids.length, amounts.length);
        mapping(uint16 uid => NeuronRecord) storage neurons = _neurons[netuid];
        uint16[] memory recordedUids = new uint16[](uids.length);
        uint256[] memory recordedAmounts = new uint256[](uids.length);
        for (uint256 i = 0; i < uids.length; ++i) {
            NeuronRecord storage record = neurons[uids[i]];
            if (record.hotkey == address(0) || record.registeredAt >= registeredBefore) continue;
            _recordEmission(record, amounts[i]);
            recordedUids[recorded] = uids[i];
            recordedAmounts[recorded] = amounts[i];
            ++recorded;
        }
        assembly ("memory-safe") {
            mstore(recordedUids, recorded)
            mstore(recordedAmounts, recorded)
        }
        emit EmissionsRecorded(netuid, recordedUids, recordedAmounts);
    }

    /// @inheritdoc INeuronRegistry
    function markUpdated(uint16 netuid, uint16 uid) external {
        if (msg.sender != weights) revert NotWeightsContract(msg.sender);
        NeuronRecord storage record = _neurons[netuid][uid];
        if (record.hotkey == address(0)) revert UidNotRegistered(netuid, uid);
        record.lastUpdate = uint64(block.number);
        emit NeuronUpdated(netuid, uid, uint64(block.number));
    }

    /// @inheritdoc INeuronRegistry
    /// @dev A permit needs: validator role, `hotkeyStake >= minStake`, and fewer than `maxValidators` other
    ///      validator-role neurons ranked above it (more stake, or equal stake and a lower UID). O(#validators).
    function hasValidatorPermit(uint16 netuid, uint16 uid) external view returns (bool permitted) {
        NeuronRecord storage record = _neurons[netuid][uid];
        address hotkey = record.hotkey;
        if (hotkey == address(0) || !record.isValidator) return false;
        ISubnetRegistry.Hyperparams memory hp = subnetRegistry.getHyperparams(netuid);
        uint256 stake = staking.hotkeyStake(netuid, hotkey);
        if (stake < hp.minStake) return false;
        uint256 count = _uidState[netuid].validatorCount;
        if (count <= hp.maxValidators) return true;
        uint16[4096] storage validators = _validatorUids[netuid];
        mapping(uint16 uid => NeuronRecord) storage neurons = _neurons[netuid];
        uint256 above = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint16 other = validators[i];
            if (other == uid) continue;
            uint256 otherStake = staking.hotkeyStake(netuid, neurons[other].hotkey);
            if (otherStake > stake || (otherStake == stake && other < uid)) {
                if (++above >= hp.maxValidators) return false;
            }
        }
        return true;
    }

    /// @inheritdoc INeuronRegistry
    /// @dev The same rule as `hasValidatorPermit`, with one hyperparameter read for the whole subnet; the
    ///      ranking (stake descending, then UID ascending) and the sort by UID are heapsorts in memory
    ///      (O(V log V) for V validator-role neurons).
    function getPermittedValidators(uint16 netuid)
        external
        view
        returns (PermittedValidator[] memory validators)
    {
        uint256 count = _uidState[netuid].validatorCount;
        validators = new PermittedValidator[](count);
        if (count == 0) return validators;
        (uint256 minStake, uint256 maxValidators) = subnetRegistry.validatorPermitParams(netuid);
        uint16[4096] storage list = _validatorUids[netuid];
        mapping(uint16 uid => NeuronRecord) storage neurons = _neurons[netuid];
        PermittedValidator[] memory all = new PermittedValidator[](count);
        // Rank keys: stake (< 2^200), then the complement of the UID (ties: lower UID first), then the index.
        uint256[] memory keys = new uint256[](count);
        uint256 n = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint16 uid = list[i];
            address hotkey = neurons[uid].hotkey;
            uint256 stake = staking.hotkeyStake(netuid, hotkey);
            all[i] = PermittedValidator(uid, hotkey, stake);
            if (stake < minStake) continue;
            keys[n++] = (Math.min(stake, type(uint200).max) << 32) | (uint256(0xffff - uid) << 16) | i;
        }
        assembly ("memory-safe") {
            mstore(keys, n)
        }
        if (n > maxValidators) {
            _heapSort(keys);
            // The highest `maxValidators` keys are at the end; move them to the front, in order (each read
            // index, `n - maxValidators + i`, is above every index written so far; a reversing copy would
            // overwrite keys it has yet to read when `n < 2 * maxValidators`).
            uint256 from = n - maxValidators;
            for (uint256 i = 0; i < maxValidators; ++i) keys[i] = keys[from + i];
            n = maxValidators;
            assembly ("memory-safe") {
                mstore(keys, n)
            }
        }
        // By ascending UID.
        for (uint256 i = 0; i < n; ++i) {
            uint256 index = keys[i] & 0xffff;
            keys[i] = (uint256(all[index].uid) << 16) | index;
        }
        _heapSort(keys);
        for (uint256 i = 0; i < n; ++i) validators[i] = all[keys[i] & 0xffff];
        assembly ("memory-safe") {
            mstore(validators, n)
        }
    }

    // Sorts ascending in place (heapsort: O(n log n), no recursion).
    function _heapSort(uint256[] memory a) private pure {
        uint256 n = a.length;
        if (n < 2) return;
        for (uint256 start = n / 2; start > 0; --start) _siftDown(a, start - 1, n);
        for (uint256 end = n - 1; end > 0; --end) {
            (a[0], a[end]) = (a[end], a[0]);
            _siftDown(a, 0, end);
        }
    }

    function _siftDown(uint256[] memory a, uint256 root, uint256 end) private pure {
        while (true) {
            uint256 child = 2 * root + 1;
            if (child >= end) return;
            if (child + 1 < end && a[child] < a[child + 1]) ++child;
            if (a[root] >= a[child]) return;
            (a[root], a[child]) = (a[child], a[root]);
            root = child;
        }
    }

    /// @notice The neuron holding `uid`; reverts `UidNotRegistered` when none does.
    /// @param netuid The subnet.
    /// @param uid The UID.
    /// @return neuron The neuron.
    function getNeuronInfo(uint16 netuid, uint16 uid) external view returns (Neuron memory neuron) {
        NeuronRecord storage record = _neurons[netuid][uid];
        if (record.hotkey == address(0)) revert UidNotRegistered(netuid, uid);
        return _toNeuron(uid, record);
    }

    /// @notice The neuron a hotkey holds on a subnet; reverts `NotRegistered` when none.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return neuron The neuron.
    function getNeuronByHotkey(uint16 netuid, address hotkey) external view returns (Neuron memory neuron) {
        uint16 uid = uidOf(netuid, hotkey);
        return _toNeuron(uid, _neurons[netuid][uid]);
    }

    /// @inheritdoc INeuronRegistry
    function uidOf(uint16 netuid, address hotkey) public view returns (uint16 uid) {
        uint16 uidPlusOne = _uidPlusOne[netuid][hotkey];
        if (uidPlusOne == 0) revert NotRegistered(netuid, hotkey);
        return uidPlusOne - 1;
    }

    /// @notice Whether a hotkey holds a UID on a subnet.
    /// @param netuid The subnet.
    /// @param hotkey The hotkey.
    /// @return registered True when it does.
    function isRegistered(uint16 netuid, address hotkey) external view returns (bool registered) {
        return _uidPlusOne[netuid][hotkey] != 0;
    }

    /// @notice Every neuron of a subnet, by ascending UID.
    /// @param netuid The subnet.
    /// @return neurons The neurons.
    function getSubnetNeurons(uint16 netuid) external view returns (Neuron[] memory neurons) {
        return _collect(netuid, _uidState[netuid].count, 0);
    }

    /// @notice The validator-role neurons of a subnet (permit or not), by ascending UID.
    /// @param netuid The subnet.
    /// @return neurons The neurons.
    function getSubnetValidators(uint16 netuid) external view returns (Neuron[] memory neurons) {
        return _collect(netuid, _uidState[netuid].validatorCount, 1);
    }

    /// @notice The miner-role neurons of a subnet, by ascending UID.
    /// @param netuid The subnet.
    /// @return neurons The neurons.
    function getSubnetMiners(uint16 netuid) external view returns (Neuron[] memory neurons) {
        UidState memory state = _uidState[netuid];
        return _collect(netuid, state.count - state.validatorCount, 2);
    }

    /// @notice Number of neurons on a subnet.
    /// @param netuid The subnet.
    /// @return count Neurons.
    function getNeuronCount(uint16 netuid) external view returns (uint16 count) {
        return _uidState[netuid].count;
    }

    /// @notice Number of validator-role neurons on a subnet.
    /// @param netuid The subnet.
    /// @return count Validators.
    function getValidatorCount(uint16 netuid) external view returns (uint16 count) {
        return _uidState[netuid].validatorCount;
    }

    /// @notice Number of miner-role neurons on a subnet.
    /// @param netuid The subnet.
    /// @return count Miners.
    function getMinerCount(uint16 netuid) external view returns (uint16 count) {
        UidState memory state = _uidState[netuid];
        return state.count - state.validatorCount;
    }

    /// @notice The coldkey a hotkey is bound to (zero when never registered).
    /// @param hotkey The hotkey.
    /// @return coldkey The coldkey.
    function hotkeyColdkey(address hotkey) external view returns (address coldkey) {
        return _hotkeyColdkey[hotkey];
    }

    /// @notice What a registration on `netuid` burns at the current block: the price right after the last
    ///         registration, with what lies above the floor (`registrationBurn` hyperparameter) halved per
    ///         full `burnAdjustmentInterval` since, within [floor, `maxRegistrationBurn`].
    /// @param netuid The subnet (reverts `SubnetNotFound` when unknown).
    /// @return burn Tokens.
    function registrationBurn(uint16 netuid) external view returns (uint256 burn) {
        return _burnPrice(_uidState[netuid], subnetRegistry.getRegistrationInfo(netuid));
    }

    /// @notice The EIP-712 digest a hotkey signs to consent to its binding to `coldkey` (see `HotkeyConsent`).
    /// @param hotkey The hotkey.
    /// @param coldkey The coldkey it consents to.
    /// @param deadline The last block timestamp the consent is valid at.
    /// @return digest The typed-data hash.
    function hotkeyBindingDigest(address hotkey, address coldkey, uint256 deadline)
        public
        view
        returns (bytes32 digest)
    {
        return _hashTypedDataV4(keccak256(abi.encode(HOTKEY_BINDING_TYPEHASH, hotkey, coldkey, deadline)));
    }

    // Checks and effects of `registerNeuron`; returns the UID and the tokens to burn.
    function _register(
        uint16 netuid,
        address hotkey,
        bool asValidator,
        bytes memory serviceInfo,
        HotkeyConsent calldata consent
    ) private returns (uint16 uid, uint256 burn) {
        if (hotkey == address(0)) revert ZeroAddress();
        ISubnetRegistry.RegistrationInfo memory hp = subnetRegistry.getRegistrationInfo(netuid);
        if (!hp.active) revert SubnetNotActive(netuid);
        if (!hp.registrationAllowed) revert RegistrationDisabled(netuid);
        address boundColdkey = _hotkeyColdkey[hotkey];
        if (boundColdkey != address(0) && boundColdkey != msg.sender) {
            revert HotkeyOwnedByAnotherColdkey(hotkey, boundColdkey);
        }
        if (_uidPlusOne[netuid][hotkey] != 0) revert HotkeyAlreadyRegistered(netuid, hotkey);
        if (asValidator) {
            uint256 stake = staking.hotkeyStake(netuid, hotkey);
            if (stake < hp.minStake) revert InsufficientStake(stake, hp.minStake);
        }

        if (boundColdkey == address(0)) {
            _checkConsent(hotkey, consent);
            _hotkeyColdkey[hotkey] = msg.sender;
        }
        UidState memory state = _loadUidState(netuid);
        uid = _takeUid(netuid, state, hp.maxAllowedUids, hp.immunityPeriod);
        NeuronRecord storage record = _neurons[netuid][uid];
        record.registeredAt = uint64(block.number);
        record.lastUpdate = uint64(block.number);
        record.emission = 0;
        record.hotkey = hotkey;
        record.isValidator = asValidator;
        if (asValidator) {
            record.validatorIndex = state.validatorCount;
            _validatorUids[netuid][state.validatorCount] = uid;
            state.validatorCount += 1;
        } else {
            record.validatorIndex = 0;
        }
        record.serviceInfo = serviceInfo;
        burn = _burnPrice(state, hp);
        uint256 next = burn + burn / 2;
        state.burn = uint128(next < hp.maxRegistrationBurn ? next : hp.maxRegistrationBurn);
        state.burnBlock = uint64(block.number);
        _storeUidState(netuid, state);
        _uidPlusOne[netuid][hotkey] = uid + 1;
    }

    // `_uidState[netuid]` in one storage read (the struct copy reads the slot once per member).
    function _loadUidState(uint16 netuid) private view returns (UidState memory state) {
        UidState storage stored = _uidState[netuid];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(stored.slot)
        }
        state.nextUid = uint16(word);
        state.count = uint16(word >> 16);
        state.freeWordMask = uint16(word >> 32);
        state.validatorCount = uint16(word >> 48);
        state.burn = uint128(word >> 64);
        state.burnBlock = uint64(word >> 192);
    }

    // `_uidState[netuid] = state` in one storage write (members packed from the low-order bytes up, as
    // Solidity lays them out).
    function _storeUidState(uint16 netuid, UidState memory state) private {
        UidState storage stored = _uidState[netuid];
        uint256 word = uint256(state.nextUid) | (uint256(state.count) << 16) | (uint256(state.freeWordMask) << 32)
            | (uint256(state.validatorCount) << 48) | (uint256(state.burn) << 64) | (uint256(state.burnBlock) << 192);
        assembly ("memory-safe") {
            sstore(stored.slot, word)
        }
    }

    // The current registration price (see `registrationBurn`).
    function _burnPrice(UidState memory state, ISubnetRegistry.RegistrationInfo memory hp)
        private
        view
        returns (uint256 price)
    {
        uint256 floor = hp.registrationBurn;
        price = state.burn;
        if (price <= floor) return floor;
        uint256 windows = (block.number - state.burnBlock) / hp.burnAdjustmentInterval;
        price = windows >= 128 ? floor : floor + ((price - floor) >> windows);
        if (price > hp.maxRegistrationBurn) price = hp.maxRegistrationBurn;
    }

    // Reverts unless `consent` is the hotkey's unexpired signature binding it to the caller.
    function _checkConsent(address hotkey, HotkeyConsent calldata consent) private view {
        if (block.timestamp > consent.deadline) revert HotkeyConsentExpired(consent.deadline);
        (address signer,,) =
            ECDSA.tryRecoverCalldata(hotkeyBindingDigest(hotkey, msg.sender, consent.deadline), consent.signature);
        if (signer != hotkey) revert InvalidHotkeyConsent(hotkey, signer);
    }

    // One epoch's emission into the moving average (the first record sets it).
    function _recordEmission(NeuronRecord storage record, uint256 amount) private {
        uint128 value = amount.toUint128();
        if (record.emissionRecorded) {
            value = uint128((3 * uint256(record.emission) + value) / 4);
        } else {
            record.emissionRecorded = true;
        }
        record.emission = value;
    }

    // Picks the UID for a registration: the lowest free one, else a new one, else a pruned one. Updates
    // `state` in memory; the caller stores it.
    function _takeUid(uint16 netuid, UidState memory state, uint16 maxAllowedUids, uint64 immunityPeriod)
        private
        returns (uint16 uid)
    {
        if (state.freeWordMask != 0) {
            uint256 word = _lowestBit(state.freeWordMask);
            uint256 bits = _freeUids[netuid][word];
            uid = uint16(word * 256 + _lowestBit(bits));
            bits &= bits - 1;
            _freeUids[netuid][word] = bits;
            if (bits == 0) state.freeWordMask &= ~uint16(1 << word);
            state.count += 1;
        } else if (state.nextUid < maxAllowedUids) {
            uid = state.nextUid;
            state.nextUid += 1;
            state.count += 1;
        } else {
            uid = _pruneCandidate(netuid, state.nextUid, immunityPeriod);
            NeuronRecord storage pruned = _neurons[netuid][uid];
            emit NeuronPruned(netuid, uid, pruned.hotkey, pruned.emission);
            _evict(netuid, state, pruned);
            // A free or new UID's record is zero; a pruned one's moving average starts over.
            pruned.emissionRecorded = false;
        }
    }

    // The non-immune neuron with the lowest emission (ties: oldest registration, then lowest UID).
    function _pruneCandidate(uint16 netuid, uint16 uidCount, uint64 immunityPeriod)
        private
        view
        returns (uint16 candidate)
    {
        mapping(uint16 uid => NeuronRecord) storage neurons = _neurons[netuid];
        bool found = false;
        uint128 bestEmission = 0;
        uint64 bestRegisteredAt = 0;
        for (uint16 uid = 0; uid < uidCount; ++uid) {
            NeuronRecord storage record = neurons[uid];
            uint64 registeredAt = record.registeredAt;
            if (block.number < uint256(registeredAt) + immunityPeriod) continue;
            uint128 emission = record.emission;
            if (
                !found || emission < bestEmission
                    || (emission == bestEmission && registeredAt < bestRegisteredAt)
            ) {
                found = true;
                candidate = uid;
                bestEmission = emission;
                bestRegisteredAt = registeredAt;
            }
        }
        if (!found) revert AllNeuronsImmune(netuid);
    }

    // Drops a neuron's hotkey mapping and validator-list entry (swap with the last, then shrink); its record
    // is overwritten or deleted after. Updates `state` in memory; the caller stores it.
    function _evict(uint16 netuid, UidState memory state, NeuronRecord storage record) private {
        delete _uidPlusOne[netuid][record.hotkey];
        if (!record.isValidator) return;
        uint16[4096] storage validators = _validatorUids[netuid];
        uint16 index = record.validatorIndex;
        uint16 lastIndex = state.validatorCount - 1;
        if (index != lastIndex) {
            uint16 moved = validators[lastIndex];
            validators[index] = moved;
            _neurons[netuid][moved].validatorIndex = index;
        }
        state.validatorCount = lastIndex;
    }

    // role: 0 all, 1 validators, 2 miners.
    function _collect(uint16 netuid, uint256 count, uint8 role) private view returns (Neuron[] memory neurons) {
        neurons = new Neuron[](count);
        if (count == 0) return neurons;
        mapping(uint16 uid => NeuronRecord) storage records = _neurons[netuid];
        uint16 nextUid = _uidState[netuid].nextUid;
        uint256 n = 0;
        for (uint16 uid = 0; uid < nextUid && n < count; ++uid) {
            NeuronRecord storage record = records[uid];
            if (record.hotkey == address(0)) continue;
            if (role == 1 && !record.isValidator) continue;
            if (role == 2 && record.isValidator) continue;
            neurons[n++] = _toNeuron(uid, record);
        }
    }

    function _toNeuron(uint16 uid, NeuronRecord storage record) private view returns (Neuron memory neuron) {
        neuron.uid = uid;
        neuron.hotkey = record.hotkey;
        neuron.coldkey = _hotkeyColdkey[record.hotkey];
        neuron.isValidator = record.isValidator;
        (neuron.peerId, neuron.multiaddrs, neuron.metadata) = _unpackServiceInfo(record.serviceInfo);
        neuron.registeredAt = record.registeredAt;
        neuron.lastUpdate = record.lastUpdate;
        neuron.emission = record.emission;
    }

    // uint16 length of peerId, peerId, uint16 length of multiaddrs, multiaddrs, then metadata to the end.
    function _packServiceInfo(string calldata peerId, string calldata multiaddrs, string calldata metadata)
        private
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            uint16(bytes(peerId).length), peerId, uint16(bytes(multiaddrs).length), multiaddrs, metadata
        );
    }

    function _unpackServiceInfo(bytes memory packed)
        private
        pure
        returns (string memory peerId, string memory multiaddrs, string memory metadata)
    {
        uint256 peerIdLength = _readU16(packed, 0);
        peerId = _slice(packed, 2, peerIdLength);
        uint256 multiaddrsAt = 2 + peerIdLength;
        uint256 multiaddrsLength = _readU16(packed, multiaddrsAt);
        multiaddrs = _slice(packed, multiaddrsAt + 2, multiaddrsLength);
        uint256 metadataAt = multiaddrsAt + 2 + multiaddrsLength;
        metadata = _slice(packed, metadataAt, packed.length - metadataAt);
    }

    function _readU16(bytes memory data, uint256 offset) private pure returns (uint256) {
        return (uint256(uint8(data[offset])) << 8) | uint8(data[offset + 1]);
    }

    function _slice(bytes memory data, uint256 start, uint256 length) private pure returns (string memory out) {
        out = new string(length);
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(data, 32), start), length)
        }
    }

    function _checkServiceInfo(string calldata peerId, string calldata multiaddrs, string calldata metadata)
        private
        pure
    {
        if (bytes(peerId).length > MAX_PEER_ID_LENGTH) {
            revert FieldTooLong("peerId", bytes(peerId).length, MAX_PEER_ID_LENGTH);
        }
        if (bytes(multiaddrs).length > MAX_MULTIADDRS_LENGTH) {
            revert FieldTooLong("multiaddrs", bytes(multiaddrs).length, MAX_MULTIADDRS_LENGTH);
        }
        if (bytes(metadata).length > MAX_METADATA_LENGTH) {
            revert FieldTooLong("metadata", bytes(metadata).length, MAX_METADATA_LENGTH);
        }
    }

    // An empty peer id, or the hotkey's own.
    function _checkPeerId(string calldata peerId, address hotkey) private view {
        if (bytes(peerId).length != 0 && hotkeyOfPeerId(peerId) != hotkey) revert PeerIdNotHotkey(peerId, hotkey);
    }

    // Index of the least significant set bit of a non-zero x.
    function _lowestBit(uint256 x) private pure returns (uint256) {
        unchecked {
            return Math.log2(x & (~x + 1));
        }
    }
}
