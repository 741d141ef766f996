/**
 * Worker thread body for {@link scryptLocal}: derives one key with @noble/hashes' scrypt and posts it
 * back. Runs off the main thread so the event loop stays free and an abort can terminate it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { scrypt } from '@noble/hashes/scrypt.js';

const d = workerData as {
  password: Uint8Array;
  salt: Uint8Array;
  N: number;
  r: number;
  p: number;
  dkLen: number;
  maxmem: number;
};
parentPort?.postMessage(
  scrypt(d.password, d.salt, { N: d.N, r: d.r, p: d.p, dkLen: d.dkLen, maxmem: d.maxmem }),
);
