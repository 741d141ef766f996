/**
 * What the public sees: the dashboard's snapshot and neuron detail without this validator's live consensus
 * view of the miners (scores, the score and latency history, challenge verdicts). Weights follow from scores
 * deterministically, so showing them before the weights are revealed on chain would let another validator
 * copy them; they stay the operator's (admin token) alone. Pure; the server picks the view per request.
 */
import type { NeuronDetail, NeuronRow, Snapshot } from './api.js';

/** A neuron row without the consensus score. */
export function publicNeuronRow(row: NeuronRow): NeuronRow {
  return row.score === null ? row : { ...row, score: null };
}

/** A snapshot with every neuron's score withheld. */
export function publicSnapshot(s: Snapshot): Snapshot {
  return { ...s, neurons: s.neurons.map(publicNeuronRow) };
}

/** A neuron's detail without its score history or this validator's verdicts on it. */
export function publicNeuronDetail(d: NeuronDetail): NeuronDetail {
  return { ...d, neuron: publicNeuronRow(d.neuron), history: [], verifications: [] };
}
