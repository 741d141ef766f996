/**
 * JSON views of chain values (for the Engine API and `--json` output): bigints become decimal strings,
 * roles are named, multiaddrs split. Shapes match `NeuronSchema` / `SubnetSchema` in the Engine API.
 */
import type { EpochState } from './actions/getEpoch.js';
import type { EpochInputs } from './actions/getEpochInputs.js';
import type { EpochResults } from './actions/getEpochResults.js';
import type { Hyperparams, Metagraph, NeuronInfo, SubnetInfo } from './types.js';

export function neuronToJson(n: NeuronInfo) {
  return {
    uid: n.uid,
    hotkey: n.hotkey,
    coldkey: n.coldkey,
    role: n.isValidator ? ('validator' as const) : ('miner' as const),
    stake: n.stake.toString(),
    validatorPermit: n.validatorPermit,
    peerId: n.peerId,
    multiaddrs: n.multiaddrs === '' ? [] : n.multiaddrs.split(','),
    metadata: n.metadata,
    registeredAt: Number(n.registeredAt),
    lastUpdate: Number(n.lastUpdate),
    emission: n.emission.toString(),
    incentive: n.incentive,
    dividends: n.dividends,
    trust: n.trust,
    consensus: n.consensus,
  };
}

export function metagraphToJson(m: Metagraph) {
  return { netuid: m.netuid, block: Number(m.block), neurons: m.neurons.map(neuronToJson) };
}

export function subnetToJson(s: SubnetInfo) {
  return {
    netuid: s.netuid,
    owner: s.owner,
    name: s.name,
    description: s.description,
    active: s.active,
    registeredAt: Number(s.registeredAt),
    lockedAmount: s.lockedAmount.toString(),
    params: paramsToJson(s.params),
    epochSchedule: s.epochSchedule.map((a) => ({
      epoch: Number(a.epoch),
      startBlock: Number(a.startBlock),
      tempo: Number(a.tempo),
    })),
  };
}

/** Hyperparameters as JSON (amounts as decimal strings), the Engine API's `HyperparamsSchema` shape. */
export function paramsToJson(p: Hyperparams) {
  return {
    tempo: Number(p.tempo),
    maxAllowedUids: p.maxAllowedUids,
    maxValidators: p.maxValidators,
    immunityPeriod: Number(p.immunityPeriod),
    minStake: p.minStake.toString(),
    registrationBurn: p.registrationBurn.toString(),
    maxRegistrationBurn: p.maxRegistrationBurn.toString(),
    kappa: p.kappa,
    bondsMovingAverage: p.bondsMovingAverage,
    ownerSplit: p.ownerSplit,
    minerSplit: p.minerSplit,
    validatorSplit: p.validatorSplit,
    commitRevealPeriod: p.commitRevealPeriod,
    weightsRateLimit: Number(p.weightsRateLimit),
    minAllowedWeights: p.minAllowedWeights,
    maxWeightLimit: p.maxWeightLimit,
    weightsVersionKey: Number(p.weightsVersionKey),
    registrationAllowed: p.registrationAllowed,
    burnAdjustmentInterval: Number(p.burnAdjustmentInterval),
  };
}

export function epochInputsToJson(x: EpochInputs) {
  return {
    netuid: x.netuid,
    epoch: Number(x.epoch),
    startBlock: Number(x.startBlock),
    endBlock: Number(x.endBlock),
    endBlockHash: x.endBlockHash,
    deadline: Number(x.deadline),
    owner: x.owner,
    params: paramsToJson(x.params),
    yumaVersion: x.yumaVersion,
    emission: x.emission.toString(),
    neurons: x.neurons.map((n) => ({
      ...n,
      stake: n.stake.toString(),
      registeredAt: Number(n.registeredAt),
    })),
    reveals: x.reveals.map((r) => ({ ...r, block: Number(r.block), epoch: Number(r.epoch) })),
  };
}

export function epochToJson(e: EpochState) {
  const p = e.proposal;
  return {
    netuid: e.netuid,
    epoch: Number(e.epoch),
    currentEpoch: Number(e.currentEpoch),
    currentBlock: Number(e.currentBlock),
    startBlock: Number(e.startBlock),
    endBlock: Number(e.endBlock),
    endBlockHash: e.endBlockHash,
    deadline: Number(e.deadline),
    status: e.status,
    proposer: e.proposer,
    proposal:
      p === null
        ? null
        : {
            proposer: p.proposer,
            root: p.root,
            resultsHash: p.resultsHash,
            total: p.total.toString(),
            totalStake: p.totalStake.toString(),
            attestedStake: p.attestedStake.toString(),
            attestations: p.attestations.map((a) => ({
              hotkey: a.hotkey,
              stake: a.stake.toString(),
              block: Number(a.block),
            })),
            block: Number(p.block),
          },
    emission: e.emission.toString(),
    claimed: e.claimed.toString(),
    yumaVersion: e.yumaVersion,
  };
}

export function epochResultsToJson(r: EpochResults) {
  return {
    netuid: r.netuid,
    epoch: Number(r.epoch),
    root: r.root,
    resultsHash: r.resultsHash,
    total: r.total.toString(),
    block: Number(r.block),
    results: r.results.map(({ amount, ...rest }) => ({ ...rest, emission: amount.toString() })),
  };
}
