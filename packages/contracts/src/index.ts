/**
 * @subnet/contracts: the subnet contract suite (typed `as const` ABIs and bytecode generated from
 * contracts/ by scripts/compile.ts), its deployer, the weight-vector helpers matching Weights.sol, the epoch
 * tree and results helpers matching EpochConsensus.sol, the hotkey-consent typed data matching
 * NeuronRegistry.sol, the epoch-statement typed data matching Slashing.sol, and the anvil launcher.
 */
export { type Anvil, AnvilErrorCode, type AnvilOpts, anvilBinary, startAnvil } from './anvil.js';
export {
  type AttestationParameters,
  attestationTypedData,
  attestationTypes,
  SLASHING_EIP712,
} from './attestation.js';
export {
  type HotkeyBindingParameters,
  type HotkeyConsent,
  hotkeyBindingTypedData,
  hotkeyBindingTypes,
  NEURON_REGISTRY_EIP712,
  NO_CONSENT,
} from './consent.js';
export {
  DEVNET_TIMELOCK_DELAY_S,
  type DeployAdmin,
  type DeployContractsOpts,
  DeployErrorCode,
  type DeployedContracts,
  type DeployWalletClient,
  deployContracts,
} from './deploy.js';
export {
  buildEpochTree,
  decodeResults,
  EpochErrorCode,
  type EpochLeaf,
  type EpochLeafParameters,
  type EpochTree,
  encodeResults,
  epochLeafHash,
  OWNER_UID,
  RESULT_ENTRY_BYTES,
  type ResultEntry,
  resultsHash,
} from './epoch.js';
export * from './generated/index.js';
export {
  packU16,
  unpackU16,
  type WeightsCommitParameters,
  WeightsErrorCode,
  weightsCommitHash,
} from './weights.js';
