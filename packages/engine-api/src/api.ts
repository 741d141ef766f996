/**
 * The catalogue: every namespace's methods in one API object. Later stacks add their namespace file under
 * `methods/` and list it here; the docs generator and `rpc.discover` read this object.
 */
import { defineApi } from './define.js';
import { appMethods } from './methods/app.js';
import { chainMethods } from './methods/chain.js';
import { chainPaymentMethods } from './methods/chainPayments.js';
import { consensusMethods } from './methods/consensus.js';
import { engineMethods } from './methods/engine.js';
import { gatewayMethods } from './methods/gateway.js';
import { networkMethods } from './methods/network.js';
import { nodeMethods } from './methods/node.js';

/** Version of the Engine API catalogue (bumped when a method is added or changed). */
export const ENGINE_API_VERSION = '1.4.0';

export const engineApi = defineApi([
  ...engineMethods,
  ...nodeMethods,
  ...chainMethods,
  ...chainPaymentMethods,
  ...appMethods,
  ...networkMethods,
  ...gatewayMethods,
  ...consensusMethods,
]);
export type EngineApi = typeof engineApi;
