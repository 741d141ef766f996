export { ConsensusError, ConsensusErrorCode, type ConsensusErrorMeta } from './errors.js';
export { YUMA_DEFAULTS, type YumaInput, type YumaOutput, type YumaParams, yuma } from './yuma.js';
