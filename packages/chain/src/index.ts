/**
 * @subnet/chain: the chain stack. viem actions (one per file, each naming the contract function it calls),
 * the `SubnetClient` SDK, the metagraph, network files, devnet bootstrap and the `chain_*` Engine API stack.
 * The only package that talks to an EVM node.
 */

export type { PreparedWeightsCommit, WeightsCommit } from './actions/commitWeights.js';
export type { PairStake } from './actions/getDeallocation.js';
export {
  EPOCH_STATUSES,
  type EpochAttestation,
  type EpochProposal,
  type EpochState,
  type EpochStatus,
} from './actions/getEpoch.js';
export type { EpochBlocks } from './actions/getEpochBlocks.js';
export {
  countedReveals,
  type EpochInputs,
  type EpochNeuron,
  type EpochReveal,
  type GetEpochInputsParameters,
} from './actions/getEpochInputs.js';
export type { EpochResults } from './actions/getEpochResults.js';
export type { PendingSubnetParams } from './actions/getPendingSubnetParams.js';
export type { PendingWeightsCommit } from './actions/getPendingWeightsCommit.js';
export type { StakeInfo } from './actions/getStakeInfo.js';
export { CONSENT_VALIDITY_S, type RegisterNeuronParameters } from './actions/registerNeuron.js';
export {
  type SignedAttestation,
  slashingAddress,
} from './actions/slashingAddress.js';
export type { WrongRootSlash } from './actions/slashWrongRoots.js';
export type { SnapshotValidatorsResult } from './actions/snapshotValidators.js';
export { type ChainClient, type ChainClientOpts, createChainClient, requireWallet } from './client.js';
export {
  DEVNET_CLIENT,
  DEVNET_PRICES,
  DEVNET_SUBNET_PARAMS,
  type Devnet,
  type DevnetOpts,
  devnetPaths,
  startDevnet,
} from './devnet.js';
export { defaultConfirmations, EpochInputsCache } from './epochInputsCache.js';
export { ChainError, ChainErrorCode, type ChainErrorMeta, toChainError } from './errors.js';
export {
  epochInputsToJson,
  epochResultsToJson,
  epochToJson,
  metagraphToJson,
  neuronToJson,
  paramsToJson,
  subnetToJson,
} from './json.js';
export { fetchMetagraph, watchMetagraph } from './metagraph.js';
export { type ContractAddresses, loadNetwork, type Network, NetworkSchema } from './network.js';
export {
  AuthorizationError,
  type AuthorizationProblem,
  cancelPaymentWithdrawal,
  checkAuthorization,
  claimMinerEarnings,
  completePaymentWithdrawal,
  depositFor,
  depositPayment,
  getMinerEarnings,
  getModelPrices,
  getPaymentAccount,
  getPaymentTerms,
  getPendingSplit,
  getRevenueSplit,
  type ModelPrice,
  type PaymentAccount,
  type PaymentTerms,
  type PaymentVoucher,
  paymentContracts,
  type RevenueSplit,
  requestPaymentWithdrawal,
  type SettlementResult,
  setModelPrice,
  setRevenueSplit,
  settlementShares,
  settlePayments,
  signUsageReceipt,
} from './payments.js';
export { createSubnetClient, type SubnetClient } from './subnetClient.js';
export type { EpochResult, Hyperparams, Metagraph, NeuronInfo, SubnetInfo } from './types.js';
export { checkAddress, parseSub } from './validate.js';
export {
  createX402Facilitator,
  type X402Facilitator,
  type X402FacilitatorOpts,
  X402Reason,
  type X402SettleResult,
  type X402VerifyResult,
} from './x402.js';
