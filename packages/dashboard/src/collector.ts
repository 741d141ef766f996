/**
 * The dashboard's view of the subnet, gathered through the Engine API only: the subnet and its
 * hyperparameters, new blocks and the metagraph (streams, reopened with backoff), the latest ended epoch
 * and the results of finalised ones (cached per epoch), the consensus stack's scores and verification
 * records, the network stack's peers (models, connections) and the gateway's organic outcomes (latency
 * and success per miner, requests per second). Stacks the node does not run (`METHOD_NOT_FOUND`) are
 * asked again a minute later. It keeps bounded memory: rings of outcomes and samples per uid, at most
 * `MAX_EPOCHS` epochs of results. It never writes to the chain or to any stack.
 */
import type { EngineApi, EngineClient, EventOf, ResultOf } from '@subnet/engine-api';
import { errorMessage, hasCode, type Logger, reopen } from '@subnet/utils';
import type { Emissions, Models, NeuronDetail, NeuronRow, Snapshot, Verification } from './api.js';
import { DashboardError, DashboardErrorCode } from './errors.js';
import {
  emissionSplit,
  median,
  msPerBlock,
  nextEpochStart,
  Ring,
  requestsPerSecond,
  TimeWindow,
} from './stats.js';

type Subnet = ResultOf<EngineApi['chain_getSubnetV1']>;
type Metagraph = ResultOf<EngineApi['chain_getMetagraphV1']>;
type EpochInfo = ResultOf<EngineApi['chain_getEpochV1']>;
type EpochResults = ResultOf<EngineApi['chain_getEpochResultsV1']>;
type ConsensusStatus = ResultOf<EngineApi['consensus_getStatusV1']>;
type Peer = ResultOf<EngineApi['network_listPeersV1']>['peers'][number];
type Outcome = EventOf<EngineApi['gateway_watchOutcomesV1']>;
type WireVerification = ResultOf<EngineApi['consensus_listVerificationsV1']>['verifications'][number];

/** Outcomes kept per miner uid (latency p50 and success rate are over these). */
export const OUTCOMES_PER_UID = 200;
/** History samples kept per uid, taken at most every `SAMPLE_EVERY_MS`. */
export const HISTORY_PER_UID = 360;
export const SAMPLE_EVERY_MS = 5000;
/** Finalised epochs whose results are kept. */
export const MAX_EPOCHS = 64;
/** How far back the first read looks for finalised epochs. */
const BACKFILL_EPOCHS = 32;
const POLL_MS = 2000;
const ABSENT_RETRY_MS = 60_000;
const CALL_TIMEOUT_MS = 10_000;
const RPS_WINDOW_MS = 10_000;
/** Block interval assumed before two blocks were seen. */
const DEFAULT_MS_PER_BLOCK = 12_000;

export interface CollectorOpts {
  /** The subnet to show. */
  netuid: number;
}

export interface CollectorModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
  /** Clock (Unix ms); tests may pass their own. */
  now?: () => number;
}

export interface Collector {
  /** Starts following the chain and polling the stacks; idempotent. */
  start(): void;
  /** Stops every stream and loop and waits for them. Idempotent. */
  close(): Promise<void>;
  snapshot(): Snapshot;
  /** One neuron with its history, emissions and recent verifications (asked of the consensus stack now). */
  neuron(uid: number, signal: AbortSignal): Promise<NeuronDetail>;
  emissions(): Emissions;
  models(): Models;
  /** The uid of a hotkey in the metagraph, if registered. */
  uidOf(hotkey: string): number | undefined;
  /** The metagraph's miners (uid and hotkey), by uid; empty before the first metagraph. */
  miners(): { uid: number; hotkey: string }[];
  /** Calls `fn` after each new block (and after the first metagraph); returns the unsubscribe function. */
  onChange(fn: () => void): () => void;
}

interface EpochEntry {
  epoch: number;
  split: { total: string; owner: string; miners: string; validators: string };
  amounts: Map<number, string>;
}

interface Sample {
  at: number;
  block: number;
  score: number | null;
  latencyMs: number | null;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return hasCode(err) && codes.includes(err.code);
}

/** Creates the collector; nothing runs until `start()`. */
export function createCollector(opts: CollectorOpts, modules: CollectorModules): Collector {
  const { engine, logger } = modules;
  const now = modules.now ?? Date.now;
  const netuid = opts.netuid;
  const abort = new AbortController();
  const signal = abort.signal;
  const running: Promise<void>[] = [];
  const listeners = new Set<() => void>();

  let subnet: Subnet | undefined;
  let subnetReadAt = 0;
  let block: { number: number; timestamp: number } | undefined;
  const blockSamples = new Ring<{ number: number; timestamp: number }>(16);
  let metagraph: Metagraph | undefined;
  let epochInfo: EpochInfo | undefined;
  let epochBlock = -1;
  let lastFinalised: number | null = null;
  let resultsKey = '';
  const epochs = new Map<number, EpochEntry>();
  const missingEpochs = new Set<number>();
  let consensus: ConsensusStatus | undefined;
  let peers: Peer[] = [];
  const absentUntil = new Map<string, number>();
  const outcomes = new Map<number, Ring<{ ok: boolean; latencyMs: number }>>();
  /** Outcomes of the rate window (65,536 at most: 6,500 requests/s over 10 s). */
  const recent = new TimeWindow<{ requestId: string; at: number }>(RPS_WINDOW_MS, 65_536);
  const history = new Map<number, Ring<Sample>>();
  let wake: (() => void) | undefined;
  const warned = new Map<string, string>();

  /** Logs a failure once per distinct message and source, so a stopped stack does not flood the log. */
  function warnOnce(what: string, err: unknown): void {
    const msg = errorMessage(err);
    if (warned.get(what) === msg) return;
    warned.set(what, msg);
    // A stack that is starting or restarting is expected to answer shortly.
    if (isCode(err, 'UNAVAILABLE')) logger.debug({ err: msg }, `dashboard: ${what} unavailable; retrying`);
    else logger.warn({ err: msg }, `dashboard: ${what} failed; retrying`);
  }

  function emit(): void {
    for (const fn of listeners) {
      try {
        fn();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'dashboard listener failed');
      }
    }
  }

  /**
   * Runs `open` until the collector closes, reopening it with backoff ({@link reopen}); a stack the node does
   * not run is asked again a minute later.
   */
  function follow(what: string, open: (healthy: () => void) => Promise<void>): Promise<void> {
    return reopen(({ healthy }) => open(healthy), {
      signal,
      onError: (err) => {
        if (isCode(err, 'METHOD_NOT_FOUND')) return ABSENT_RETRY_MS;
        warnOnce(what, err);
        return undefined;
      },
    });
  }

  async function followBlocks(healthy: () => void): Promise<void> {
    const s = await engine.stream('chain_watchBlocksV1', {}, { signal });
    for await (const b of s) {
      healthy();
      if (block !== undefined && b.number <= block.number) continue;
      const timestamp = b.timestamp < 1e12 ? b.timestamp * 1000 : b.timestamp;
      block = { number: b.number, timestamp };
      blockSamples.push(block);
      warned.delete('block stream');
      wake?.();
      emit();
    }
  }

  async function followMetagraph(healthy: () => void): Promise<void> {
    const s = await engine.stream('chain_watchMetagraphV1', { netuid }, { signal });
    for await (const m of s) {
      healthy();
      const first = metagraph === undefined;
      metagraph = m;
      warned.delete('metagraph stream');
      if (first) emit();
    }
  }

  /** Calls a method of a stack that may be absent; undefined while it is (asked again a minute later). */
  async function optional<T>(namespace: string, call: () => Promise<T>): Promise<T | undefined> {
    if ((absentUntil.get(namespace) ?? 0) > now()) return undefined;
    try {
      const r = await call();
      warned.delete(namespace);
      return r;
    } catch (err) {
      if (signal.aborted) throw err;
      if (isCode(err, 'METHOD_NOT_FOUND')) absentUntil.set(namespace, now() + ABSENT_RETRY_MS);
      else warnOnce(namespace, err);
      return undefined;
    }
  }

  const callOpts = () => ({ signal, timeoutMs: CALL_TIMEOUT_MS });

  function storeResults(r: EpochResults): void {
    const roleOf = (uid: number) => metagraph?.neurons.find((n) => n.uid === uid)?.role;
    epochs.set(r.epoch, {
      epoch: r.epoch,
      split: emissionSplit(r.total, r.results, roleOf),
      amounts: new Map(r.results.map((x) => [x.uid, x.emission])),
    });
    if (lastFinalised === null || r.epoch > lastFinalised) lastFinalised = r.epoch;
    while (epochs.size > MAX_EPOCHS) {
      const oldest = Math.min(...epochs.keys());
      epochs.delete(oldest);
      missingEpochs.add(oldest);
    }
  }

  /** The latest finalised epoch's results, then the ones before it not read yet (back to BACKFILL_EPOCHS). */
  async function refreshResults(): Promise<void> {
    let latest: EpochResults;
    try {
      latest = await engine.call('chain_getEpochResultsV1', { netuid }, callOpts());
    } catch (err) {
      if (isCode(err, 'NOT_FOUND')) return; // nothing finalised yet
      throw err;
    }
    storeResults(latest);
    for (let e = latest.epoch - 1; e >= Math.max(0, latest.epoch - BACKFILL_EPOCHS); e--) {
      if (epochs.has(e) || missingEpochs.has(e)) continue;
      try {
        storeResults(await engine.call('chain_getEpochResultsV1', { netuid, epoch: e }, callOpts()));
      } catch (err) {
        if (!isCode(err, 'NOT_FOUND')) throw err;
        missingEpochs.add(e); // expired, or never proposed
      }
    }
  }

  async function refreshChain(): Promise<void> {
    if (subnet === undefined || now() - subnetReadAt > 60_000) {
      subnet = await engine.call('chain_getSubnetV1', { netuid }, callOpts());
      subnetReadAt = now();
    }
    if (block === undefined || block.number === epochBlock) return;
    const at = block.number;
    const info = await engine.call('chain_getEpochV1', { netuid }, callOpts());
    epochInfo = info;
    epochBlock = at;
    if (info.status === 'finalised' && (lastFinalised === null || info.epoch > lastFinalised))
      lastFinalised = info.epoch;
    const key = `${info.epoch}:${info.status}`;
    if (key !== resultsKey) {
      await refreshResults();
      resultsKey = key;
    }
  }

  function sampleHistory(): void {
    if (consensus === undefined) return;
    const t = now();
    const at = block?.number ?? consensus.block ?? 0;
    for (const m of consensus.miners) {
      let ring = history.get(m.uid);
      if (ring === undefined) {
        ring = new Ring<Sample>(HISTORY_PER_UID);
        history.set(m.uid, ring);
      }
      const last = ring.last();
      if (last !== undefined && t - last.at < SAMPLE_EVERY_MS) continue;
      ring.push({ at: t, block: at, score: m.score, latencyMs: m.latencyMs });
    }
  }

  async function poll(): Promise<void> {
    while (!signal.aborted) {
      if ((absentUntil.get('chain') ?? 0) <= now()) {
        try {
          await refreshChain();
          warned.delete('chain read');
        } catch (err) {
          if (signal.aborted) return;
          if (isCode(err, 'METHOD_NOT_FOUND')) absentUntil.set('chain', now() + ABSENT_RETRY_MS);
          else warnOnce('chain read', err);
        }
      }
      const status = await optional('consensus', () =>
        engine.call('consensus_getStatusV1', {}, callOpts()),
      ).catch(() => undefined);
      if (status !== undefined) {
        consensus = status;
        sampleHistory();
      } else if ((absentUntil.get('consensus') ?? 0) > now()) consensus = undefined;
      const p = await optional('network', () => engine.call('network_listPeersV1', {}, callOpts())).catch(
        () => undefined,
      );
      if (p !== undefined) peers = p.peers;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  async function followOutcomes(healthy: () => void): Promise<void> {
    const s = await engine.stream('gateway_watchOutcomesV1', {}, { signal });
    for await (const o of s) {
      healthy();
      record(o);
    }
  }

  function record(o: Outcome): void {
    const t = now();
    recent.push({ requestId: o.requestId, at: o.at }, t);
    // A request the client cancelled says nothing about the miner.
    if (o.uid === null || (!o.ok && o.errorCode === 'CANCELLED')) return;
    let ring = outcomes.get(o.uid);
    if (ring === undefined) {
      ring = new Ring(OUTCOMES_PER_UID);
      outcomes.set(o.uid, ring);
    }
    ring.push({ ok: o.ok, latencyMs: o.latencyMs });
  }

  /**
   * The neurons' rows. The consensus scores and the peers are indexed once per call, not searched per
   * neuron: a snapshot (every block, every request) builds all of them.
   */
  function rows(neurons: readonly Metagraph['neurons'][number][]): NeuronRow[] {
    const scores = new Map(consensus?.miners.map((m) => [m.uid, m.score]));
    const peerByUid = new Map<number, Peer>();
    const peerById = new Map<string, Peer>();
    for (const p of peers) {
      if (p.uid !== null && !peerByUid.has(p.uid)) peerByUid.set(p.uid, p);
      if (!peerById.has(p.peerId)) peerById.set(p.peerId, p);
    }
    return neurons.map((n) =>
      row(
        n,
        n.role === 'miner' ? (scores.get(n.uid) ?? null) : null,
        peerByUid.get(n.uid) ?? peerById.get(n.peerId),
      ),
    );
  }

  function row(n: Metagraph['neurons'][number], score: number | null, peer: Peer | undefined): NeuronRow {
    const seen = outcomes.get(n.uid)?.toArray() ?? [];
    const ok = seen.filter((o) => o.ok);
    return {
      uid: n.uid,
      hotkey: n.hotkey,
      coldkey: n.coldkey,
      role: n.role,
      stake: n.stake,
      validatorPermit: n.validatorPermit,
      score,
      incentive: n.incentive,
      dividends: n.dividends,
      trust: n.trust,
      consensus: n.consensus,
      emission: n.emission,
      latencyP50Ms: median(ok.map((o) => o.latencyMs)),
      successRate: seen.length === 0 ? null : ok.length / seen.length,
      models: peer?.models.map((m) => m.id) ?? [],
      connected: peer?.connected ?? false,
    };
  }

  function epochView(): Snapshot['epoch'] {
    const info = epochInfo;
    if (info === undefined) return null;
    const tempo = subnet?.params.tempo ?? info.endBlock - info.startBlock + 1;
    const current = Math.max(info.currentBlock, block?.number ?? 0);
    const nextStartBlock = nextEpochStart(info.endBlock, info.epoch, info.currentEpoch, tempo);
    const blocksLeft = Math.max(0, nextStartBlock - current);
    const ms = msPerBlock(blockSamples.toArray()) ?? DEFAULT_MS_PER_BLOCK;
    return {
      current: info.currentEpoch,
      nextStartBlock,
      blocksLeft,
      secondsLeft: Math.round((blocksLeft * ms) / 100) / 10,
      latestEnded: info.status === 'open' ? null : { epoch: info.epoch, status: info.status },
      lastFinalised,
    };
  }

  function toVerification(v: WireVerification, uid: number): Verification | undefined {
    const m = v.miners.find((x) => x.uid === uid);
    if (m === undefined) return undefined;
    return {
      at: v.at,
      model: v.model,
      verdict: m.verdict,
      reason: m.reason,
      majority: v.majority === null ? null : m.text === v.majority,
      audit: m.audit,
      latencyMs: m.latencyMs,
      receipt: m.receipt !== null,
    };
  }

  return {
    start() {
      if (running.length > 0 || signal.aborted) return;
      running.push(
        follow('block stream', followBlocks),
        follow('metagraph stream', followMetagraph),
        follow('outcome stream', followOutcomes),
        poll(),
      );
    },

    async close() {
      abort.abort(new Error('the dashboard is closing'));
      listeners.clear();
      await Promise.allSettled(running);
    },

    snapshot() {
      const neurons = rows(metagraph?.neurons ?? []);
      return {
        at: now(),
        subnet:
          subnet === undefined
            ? null
            : {
                netuid: subnet.netuid,
                name: subnet.name,
                description: subnet.description,
                owner: subnet.owner,
                params: { ...subnet.params },
              },
        block: block ?? null,
        epoch: epochView(),
        counts: {
          miners: neurons.filter((n) => n.role === 'miner').length,
          validators: neurons.filter((n) => n.role === 'validator').length,
        },
        requestsPerSecond: requestsPerSecond(recent.toArray(), now(), RPS_WINDOW_MS),
        neurons,
      };
    },

    async neuron(uid, reqSignal) {
      if (metagraph === undefined)
        throw new DashboardError(
          DashboardErrorCode.NOT_READY,
          'The metagraph has not been read yet (is the chain stack running?); retry shortly.',
        );
      const n = metagraph.neurons.find((x) => x.uid === uid);
      if (n === undefined)
        throw new DashboardError(
          DashboardErrorCode.NOT_FOUND,
          `No neuron with uid ${uid} in subnet ${netuid}.`,
        );
      let verifications: Verification[] = [];
      if (n.role === 'miner') {
        const r = await optional('consensus', () =>
          engine.call(
            'consensus_listVerificationsV1',
            { uid, limit: 20 },
            { signal: AbortSignal.any([signal, reqSignal]), timeoutMs: CALL_TIMEOUT_MS },
          ),
        );
        verifications = (r?.verifications ?? []).flatMap((v) => toVerification(v, uid) ?? []);
      }
      const emissions = [...epochs.values()]
        .sort((a, b) => a.epoch - b.epoch)
        .map((e) => ({ epoch: e.epoch, amount: e.amounts.get(uid) ?? '0' }));
      const [neuron] = rows([n]) as [NeuronRow];
      return { neuron, history: history.get(uid)?.toArray() ?? [], emissions, verifications };
    },

    emissions() {
      return {
        epochs: [...epochs.values()]
          .sort((a, b) => a.epoch - b.epoch)
          .map((e) => ({ epoch: e.epoch, ...e.split })),
      };
    },

    models() {
      const byModel = new Map<string, Set<number>>();
      for (const p of peers) {
        if (p.uid === null || p.role === 'validator') continue;
        for (const m of p.models) {
          const set = byModel.get(m.id) ?? new Set<number>();
          set.add(p.uid);
          byModel.set(m.id, set);
        }
      }
      return {
        models: [...byModel.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, uids]) => ({ id, miners: [...uids].sort((a, b) => a - b) })),
      };
    },

    uidOf(hotkey) {
      const h = hotkey.toLowerCase();
      return metagraph?.neurons.find((n) => n.hotkey.toLowerCase() === h)?.uid;
    },

    miners() {
      return (metagraph?.neurons ?? [])
        .filter((n) => n.role === 'miner')
        .map((n) => ({ uid: n.uid, hotkey: n.hotkey }))
        .sort((a, b) => a.uid - b.uid);
    },

    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
