export { loadStack, NodeErrorCode } from './loadStack.js';
export { type NodeModules, type SubnetNode, startNode } from './node.js';
export type { StackHandle, StackInfo } from './stackHandle.js';
export { restartDelay } from './stackHandle.js';
