/**
 * The chain stack's value types, derived from the contract ABIs (never re-declared field by field):
 * what views return, plus the enriched neuron the metagraph is made of.
 */
import type { neuronRegistryAbi, subnetRegistryAbi } from '@subnet/contracts';
import type { ContractFunctionReturnType } from 'viem';

/** `SubnetRegistry.Hyperparams`. */
export type Hyperparams = ContractFunctionReturnType<typeof subnetRegistryAbi, 'view', 'getHyperparams'>;
/** `SubnetRegistry.SubnetInfo`. */
export type SubnetRecord = ContractFunctionReturnType<typeof subnetRegistryAbi, 'view', 'getSubnet'>;
/** `SubnetRegistry.EpochAnchor`: from `startBlock` on, epoch `epoch + k` starts at `startBlock + k · tempo`. */
export type EpochAnchor = ContractFunctionReturnType<
  typeof subnetRegistryAbi,
  'view',
  'getEpochSchedule'
>[number];
/** `NeuronRegistry.Neuron`. */
export type NeuronRecord = ContractFunctionReturnType<typeof neuronRegistryAbi, 'view', 'getNeuronInfo'>;

/** A subnet with its netuid and hyperparameters. */
export interface SubnetInfo extends SubnetRecord {
  netuid: number;
  params: Hyperparams;
  /** The epoch schedule: one anchor at registration plus one per tempo change. */
  epochSchedule: readonly EpochAnchor[];
}

/**
 * One uid's line of an epoch's results (docs/epoch.md): the u16 values as fractions `value / 65535`, and the
 * amount it was paid.
 */
export interface EpochResult {
  uid: number;
  incentive: number;
  dividends: number;
  trust: number;
  consensus: number;
  amount: bigint;
}

/**
 * A neuron as the metagraph shows it: the record plus its stake in the subnet and its permit, and its line of
 * the latest finalised epoch's results (`emission` is that epoch's amount; all zero when it is not in them).
 */
export interface NeuronInfo extends NeuronRecord {
  netuid: number;
  /**
   * `NeuronRegistry`'s own `emission` (the pruning score): the moving average of the amounts of the epochs whose
   * results were recorded (`EpochConsensus.recordResults`; the first sets it, each later one moves it a quarter
   * of the way); 0 until one is. SDK only: not in the Engine API's JSON.
   */
  recordedEmission: bigint;
  stake: bigint;
  validatorPermit: boolean;
  incentive: number;
  dividends: number;
  trust: number;
  consensus: number;
}

/** Every neuron of a subnet at one block. */
export interface Metagraph {
  netuid: number;
  block: bigint;
  neurons: NeuronInfo[];
}
