export { startNode, type SubnetNode, type NodeModules } from './node.js';
export { loadStack, NodeErrorCode } from './loadStack.js';
export type { StackHandle, StackInfo } from './stackHandle.js';
export { restartDelay } from './stackHandle.js';
