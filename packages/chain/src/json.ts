/**
 * JSON views of chain values (for the Engine API and `--json` output): bigints become decimal strings,
 * roles are named, multiaddrs split. Shapes match `NeuronSchema` / `SubnetSchema` in the Engine API.
 */
import type { Metagraph, NeuronInfo, SubnetInfo } from './types.js';

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
  };
}

export function metagraphToJson(m: Metagraph) {
  return { netuid: m.netuid, block: Number(m.block), neurons: m.neurons.map(neuronToJson) };
}

export function subnetToJson(s: SubnetInfo) {
  const p = s.params;
  return {
    netuid: s.netuid,
    owner: s.owner,
    name: s.name,
    description: s.description,
    active: s.active,
    registeredAt: Number(s.registeredAt),
    lockedAmount: s.lockedAmount.toString(),
    params: {
      tempo: Number(p.tempo),
      maxAllowedUids: p.maxAllowedUids,
      maxValidators: p.maxValidators,
      immunityPeriod: Number(p.immunityPeriod),
      minStake: p.minStake.toString(),
      registrationBurn: p.registrationBurn.toString(),
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
    },
  };
}
