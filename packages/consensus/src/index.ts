export { type ChainView, createChainView } from './chainView.js';
export { ConsensusError, ConsensusErrorCode, type ConsensusErrorMeta } from './errors.js';
export type { Loop } from './loop.js';
export { AuditFailure } from './validator/audit.js';
export { mulberry32, newSeed } from './validator/prompt.js';
export { auditGenerateWithReference, type ReferenceAuditOpts } from './validator/reference.js';
export {
  combineScore,
  createScoreboard,
  ewma,
  type MinerScore,
  type Scoreboard,
} from './validator/scores.js';
export { majority } from './validator/verify.js';
export { checkWeights, normalizeWeights, type WeightRules, type WeightVector } from './validator/weights.js';
export { YUMA_DEFAULTS, type YumaInput, type YumaOutput, type YumaParams, yuma } from './yuma.js';
