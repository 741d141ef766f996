/**
 * Epoch inputs are read at the epoch's last block `B(e)`, so they are final only as long as that block is:
 * a reorg that replaces `B(e)` (or any block before it) changes them. This module holds the two defences:
 * the confirmation depth `B(e)` must reach before its inputs are read at all (a default per chain), and a
 * small cache keyed by `B(e)`'s hash, so a read of a replaced block is never served again. It never reads the
 * chain itself.
 */
import type { Hash } from 'viem';
import type { EpochInputs } from './actions/getEpochInputs.js';

/** Chain ids of local development chains (anvil, Hardhat, Ganache): they never reorg on their own. */
const LOCAL_CHAIN_IDS: ReadonlySet<number> = new Set([31_337, 1_337]);

/**
 * Blocks that must be mined on top of `B(e)` by default before epoch `e`'s inputs are read (`chain.confirmations`
 * overrides it): 0 on a local development chain (31337, 1337), 12 anywhere else (a public chain's reorgs are
 * a few blocks deep; keep it below a quarter tempo, the drawn proposer's exclusive window).
 */
export function defaultConfirmations(chainId: number): number {
  return LOCAL_CHAIN_IDS.has(chainId) ? 0 : 12;
}

/** Read epoch inputs by `(netuid, epoch, hash of B(e))`; bounded, the oldest entry leaves first. */
export class EpochInputsCache {
  readonly #entries = new Map<string, EpochInputs>();
  readonly #max: number;

  /** @param max most entries kept (a settlement window is 8 epochs; the default covers several subnets). */
  constructor(max = 64) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('EpochInputsCache: max must be >= 1');
    this.#max = max;
  }

  static #key(netuid: number, epoch: bigint, endBlockHash: Hash): string {
    return `${netuid}:${epoch}:${endBlockHash.toLowerCase()}`;
  }

  /** The inputs read at this very `B(e)`, if any. */
  get(netuid: number, epoch: bigint, endBlockHash: Hash): EpochInputs | undefined {
    return this.#entries.get(EpochInputsCache.#key(netuid, epoch, endBlockHash));
  }

  /** Keeps `inputs` under its own `endBlockHash`, dropping any read of the same epoch at another hash. */
  set(inputs: EpochInputs): void {
    const prefix = `${inputs.netuid}:${inputs.epoch}:`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
    this.#entries.set(EpochInputsCache.#key(inputs.netuid, inputs.epoch, inputs.endBlockHash), inputs);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
