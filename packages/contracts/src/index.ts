/**
 * @subnet/contracts: the subnet contract suite (typed `as const` ABIs and bytecode generated from
 * contracts/ by scripts/compile.ts), its deployer, the weight-vector helpers matching Weights.sol, the epoch
 * tree and results helpers matching EpochConsensus.sol, the hotkey-consent typed data matching
 * NeuronRegistry.sol, the epoch-statement typed data matching Slashing.sol, the payment typed data matching
 * PaymentEscrow.sol and PaymentToken.sol (EIP-712 spending authorizations, EIP-3009, EIP-2612), and the anvil
 * launcher.
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
  type DeployedPayments,
  type DeployPaymentsOpts,
  type DeployWalletClient,
  deployContracts,
  deployPayments,
} from './deploy.js';
export {
  buildEpochTree,
  countedReveals,
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
  cancelAuthorizationTypedData,
  cancelAuthorizationTypes,
  DEFAULT_REVENUE_SPLIT,
  type MinerShare,
  type MinerWeight,
  minerShares,
  modelId,
  PAYMENT_ESCROW_EIP712,
  PAYMENT_TOKEN_DECIMALS,
  PAYMENT_TOKEN_EIP712,
  permitTypedData,
  permitTypes,
  type ReceiptKey,
  type RevenueParts,
  type RevenueSplit,
  randomNonce,
  receiptKeyTypedData,
  receiptKeyTypes,
  receiveWithAuthorizationTypedData,
  receiveWithAuthorizationTypes,
  requestIdHash,
  type SignedUsageReceipt,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  spendingAuthorizationTypes,
  splitRevenue,
  type TokenDomain,
  type TransferAuthorization,
  transferWithAuthorizationTypedData,
  transferWithAuthorizationTypes,
  USAGE_RECEIPT_EIP712,
  type UsageReceipt,
  usageReceiptDigest,
  usageReceiptTypedData,
  usageReceiptTypes,
  verifyUsageReceipt,
} from './payments.js';
export {
  packU16,
  unpackU16,
  type WeightsCommitParameters,
  WeightsErrorCode,
  weightsCommitHash,
} from './weights.js';
