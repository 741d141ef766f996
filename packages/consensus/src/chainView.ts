/**
 * What every loop of the consensus stack reads from the chain, followed once and shared: the subnet's
 * metagraph (`chain_watchMetagraphV1`), new blocks (`chain_watchBlocksV1`), the subnet's hyperparameters
 * (`chain_getSubnetV1`, refreshed every epoch) and this node's hotkey (`chain_getStatusV1`). Streams that end
 * or fail (the chain stack restarting) are reopened with backoff. Reaches the chain only through the Engine
 * API; never writes.
 */
import type { EngineApi, EngineClient, MetagraphSchema, SubnetSchema } from '@subnet/engine-api';
import { errorMessage, type Logger, reopen, sleep } from '@subnet/utils';
import type { z } from 'zod';

export type Metagraph = z.output<typeof MetagraphSchema>;
export type Subnet = z.output<typeof SubnetSchema>;
export interface Block {
  number: number;
  hash: string;
  timestamp: number;
}

export interface ChainViewOpts {
  netuid: number;
}

export interface ChainViewModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
}

export interface ChainView {
  readonly netuid: number;
  metagraph(): Metagraph | undefined;
  subnet(): Subnet | undefined;
  block(): Block | undefined;
  /** The hotkey the chain stack signs with (lower case), null when read-only, undefined until known. */
  hotkey(): string | null | undefined;
  /** This node's uid in the metagraph, or null. */
  uid(): number | null;
  /**
   * The epoch of `block` as `SubnetRegistry.currentEpoch` counts it, from the subnet's epoch schedule (exact
   * across tempo changes the view has read). Undefined before the subnet is read.
   */
  epochOf(block: number): number | undefined;
  /** Called with every new block, after the view is updated. Returns an unsubscribe function. */
  onBlock(fn: (b: Block) => void): () => void;
  /** Called with every new metagraph snapshot. Returns an unsubscribe function. */
  onMetagraph(fn: (m: Metagraph) => void): () => void;
  /** Re-reads the subnet's hyperparameters now. */
  refreshSubnet(opts: { signal: AbortSignal }): Promise<Subnet | undefined>;
  start(): void;
  stop(): Promise<void>;
}

/** Follows a stream with {@link reopen}: reopened with backoff when it ends or fails, failures logged. */
function follow(
  what: string,
  open: (run: { signal: AbortSignal; healthy: () => void }) => Promise<void>,
  ctx: { signal: AbortSignal; logger: Logger },
): Promise<void> {
  return reopen(open, {
    signal: ctx.signal,
    onError: (err, retryInMs) => {
      ctx.logger.warn({ err: errorMessage(err), retryInMs }, `${what} stream failed; retrying`);
      return undefined;
    },
  });
}

export function createChainView(opts: ChainViewOpts, modules: ChainViewModules): ChainView {
  const { engine, logger } = modules;
  const abort = new AbortController();
  const signal = abort.signal;
  let metagraph: Metagraph | undefined;
  let subnet: Subnet | undefined;
  let block: Block | undefined;
  let hotkey: string | null | undefined;
  let subnetEpoch: number | undefined;
  const blockFns = new Set<(b: Block) => void>();
  const metagraphFns = new Set<(m: Metagraph) => void>();
  const running: Promise<void>[] = [];

  const epochOf = (n: number): number | undefined => {
    // The chain's own schedule (SubnetRegistry.currentEpoch): the last anchor at or before n, then every tempo.
    const anchors = subnet?.epochSchedule ?? [];
    const anchor = anchors.findLast((a) => a.startBlock <= n) ?? anchors[0];
    if (anchor === undefined || anchor.tempo <= 0) return undefined;
    return anchor.epoch + Math.floor(Math.max(0, n - anchor.startBlock) / anchor.tempo);
  };

  async function refreshSubnet(o: { signal: AbortSignal }): Promise<Subnet | undefined> {
    try {
      subnet = await engine.call(
        'chain_getSubnetV1',
        { netuid: opts.netuid },
        { signal: o.signal, timeoutMs: 10_000 },
      );
    } catch (err) {
      if (!o.signal.aborted) logger.warn({ err: errorMessage(err) }, 'reading the subnet failed');
    }
    return subnet;
  }

  async function readHotkey(): Promise<void> {
    let delayMs = 250;
    while (!signal.aborted && hotkey === undefined) {
      try {
        const s = await engine.call('chain_getStatusV1', {}, { signal, timeoutMs: 10_000 });
        hotkey = s.hotkey?.toLowerCase() ?? null;
        return;
      } catch (err) {
        if (signal.aborted) return;
        logger.debug({ err: errorMessage(err) }, 'chain status not available yet');
      }
      await sleep(delayMs, { signal }).catch(() => {});
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }

  const emit = <T>(fns: Set<(v: T) => void>, v: T) => {
    for (const fn of fns) {
      try {
        fn(v);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'a chain view listener failed');
      }
    }
  };

  return {
    netuid: opts.netuid,
    metagraph: () => metagraph,
    subnet: () => subnet,
    block: () => block,
    hotkey: () => hotkey,
    uid: () => {
      if (hotkey === undefined || hotkey === null || metagraph === undefined) return null;
      return metagraph.neurons.find((n) => n.hotkey.toLowerCase() === hotkey)?.uid ?? null;
    },
    epochOf,
    onBlock(fn) {
      blockFns.add(fn);
      return () => blockFns.delete(fn);
    },
    onMetagraph(fn) {
      metagraphFns.add(fn);
      return () => metagraphFns.delete(fn);
    },
    refreshSubnet,
    start() {
      if (running.length > 0) return;
      const ctx = { signal, logger };
      running.push(
        readHotkey(),
        follow(
          'metagraph',
          async ({ signal: s, healthy }) => {
            const stream = await engine.stream(
              'chain_watchMetagraphV1',
              { netuid: opts.netuid },
              { signal: s },
            );
            for await (const m of stream) {
              healthy();
              metagraph = m;
              emit(metagraphFns, m);
            }
          },
          ctx,
        ),
        follow(
          'blocks',
          async ({ signal: s, healthy }) => {
            const stream = await engine.stream('chain_watchBlocksV1', {}, { signal: s });
            for await (const b of stream) {
              healthy();
              if (block !== undefined && b.number <= block.number) continue;
              block = b;
              // The hyperparameters are re-read once per epoch (and until the first read succeeds).
              const epoch = epochOf(b.number);
              if (subnet === undefined || epoch !== subnetEpoch) {
                subnetEpoch = epoch;
                await refreshSubnet({ signal: s });
                subnetEpoch = epochOf(b.number);
              }
              emit(blockFns, b);
            }
          },
          ctx,
        ),
      );
    },
    async stop() {
      abort.abort();
      await Promise.allSettled(running);
    },
  };
}
