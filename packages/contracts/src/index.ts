export { type Anvil, AnvilErrorCode, type AnvilOpts, anvilBinary, startAnvil } from './anvil.js';
