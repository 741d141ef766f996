export { BoundedQueue, type BoundedQueueOpts } from './boundedQueue.js';
export { errorMessage, hasCode, SubnetError, type SubnetErrorOptions } from './errors.js';
export { preparePrivateFile } from './files.js';
export { type FromPushOpts, fromPush } from './fromPush.js';
export { createLogger, type Logger, type LoggerOpts, type LogLevel, silentLogger } from './logger.js';
export { freePortRange } from './ports.js';
export { randomHex, randomUint32 } from './random.js';
export { type ReopenOpts, reopen, sleep, waitFor, withTimeout } from './signal.js';
export { VERSION } from './version.js';
