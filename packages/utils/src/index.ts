export { SubnetError, hasCode, errorMessage, type SubnetErrorOptions } from './errors.js';
export { createLogger, silentLogger, type Logger, type LoggerOpts, type LogLevel } from './logger.js';
export { withTimeout, sleep, waitFor } from './signal.js';
export { BoundedQueue, type BoundedQueueOpts } from './boundedQueue.js';
export { VERSION } from './version.js';
