/**
 * Discovery: finding and keeping the subnet's other neurons, and finding the miners that serve a model.
 * - Bootstrap and keep-alive: dial the addresses each member registered on chain (or, lacking any, its
 *   peer id, which the DHT resolves) and the configured bootnodes; redial lost members with exponential
 *   backoff and jitter; stop dialling members that leave the metagraph and hang up on them.
 * - Model advertisement: a miner provides on the DHT one CID per model it serves (the sha256 of
 *   `/subnet/<netuid>/model/<modelId>`), again when its model set changes, when it gains peers, and
 *   periodically.
 * - `findProviders`: DHT providers and peers whose latest heartbeat lists the model, filtered to
 *   registered miners and joined with the peer table.
 * It never admits anyone: the connection gate does (libp2p.ts).
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { errorMessage, type Logger, withTimeout } from '@subnet/utils';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { addressOfPeerId } from './identity.js';
import { onPeerEvents, type SubnetLibp2p } from './libp2p.js';
import type { Membership } from './membership.js';
import type { NetworkPeer, PeerTable } from './peers.js';

export interface DiscoveryOpts {
  netuid: number;
  /** Multiaddrs (with `/p2p/<peerId>`) dialled besides the members' registered addresses. */
  bootnodes?: readonly string[];
  /** First redial delay after a failure or a disconnect (default 500 ms); doubles per failure. */
  minBackoffMs?: number;
  /** Longest redial delay (default 30 s). */
  maxBackoffMs?: number;
  /** Deadline of one dial (default 10 s). */
  dialTimeoutMs?: number;
  /** Most dials in flight at once (default 16). */
  maxParallelDials?: number;
  /** How often provider records of the served models are renewed (default 10 min). */
  reprovideIntervalMs?: number;
  /** A heartbeat older than this no longer says what a peer serves (default 30 s). */
  heartbeatTtlMs?: number;
}

export interface DiscoveryModules {
  libp2p: SubnetLibp2p;
  membership: Membership;
  peers: PeerTable;
  logger?: Logger;
}

export interface FindProvidersOpts {
  signal?: AbortSignal;
  /** How long the DHT is searched (default 3 s); what was found by then is returned. */
  timeoutMs?: number;
}

export interface Discovery {
  /** Starts dialling members and bootnodes and advertising models. Idempotent. */
  start(): void;
  /** Stops dialling and advertising (connections stay). Idempotent. */
  stop(): void;
  /** Sets the models this node serves: provided on the DHT now and periodically. */
  setModels(modelIds: readonly string[]): void;
  /** The registered miners that serve `model`, as peer-table rows by uid; NOT_READY without a metagraph. */
  findProviders(model: string, opts?: FindProvidersOpts): Promise<NetworkPeer[]>;
}

/** The DHT key string of a model in a subnet. */
export function modelKey(netuid: number, modelId: string): string {
  return `/subnet/${netuid}/model/${modelId}`;
}

/** The CID a model is provided under: CIDv1, raw codec, sha256 of {@link modelKey}. */
export async function modelCid(netuid: number, modelId: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(modelKey(netuid, modelId)));
  return CID.createV1(raw.code, digest);
}

/** A redial delay: `min · 2^(attempt-1)` capped at `max`, of which a random half is jitter. */
export function backoffMs(attempt: number, min: number, max: number, random = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** The peer id a multiaddr names in its `/p2p/` component, if any. */
function peerIdOfAddr(addr: Multiaddr): string | undefined {
  return addr.getComponents().find((c) => c.name === 'p2p')?.value;
}

interface DialState {
  attempts: number;
  nextAt: number;
  dialling: boolean;
}

interface Advert {
  cid: Promise<CID>;
  nextAt: number;
  lastProvidedAt: number;
  attempts: number;
  providing: boolean;
}

/** Creates the discovery module of a node. */
export function createDiscovery(opts: DiscoveryOpts, modules: DiscoveryModules): Discovery {
  const { libp2p, membership, peers, logger } = modules;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const dialTimeoutMs = opts.dialTimeoutMs ?? 10_000;
  const maxParallel = opts.maxParallelDials ?? 16;
  const reprovideMs = opts.reprovideIntervalMs ?? 600_000;
  const heartbeatTtlMs = opts.heartbeatTtlMs ?? 30_000;
  const self = libp2p.peerId.toString();
  const bootnodes = (opts.bootnodes ?? []).map((a) => multiaddr(a));
  const bootPeers = new Set(bootnodes.map(peerIdOfAddr).filter((p) => p !== undefined));

  const dials = new Map<string, DialState>();
  const adverts = new Map<string, Advert>();
  let inFlight = 0;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe: (() => void)[] = [];

  const isConnected = (peerId: string): boolean =>
    libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId);

  const dialStateOf = (key: string): DialState => {
    let s = dials.get(key);
    if (s === undefined) {
      s = { attempts: 0, nextAt: 0, dialling: false };
      dials.set(key, s);
    }
    return s;
  };

  /** The addresses of a peer: from the peer store, else looked up on the DHT. */
  const resolve = async (id: PeerId, deadline: AbortSignal): Promise<Multiaddr[]> => {
    const known = await libp2p.peerStore.get(id).then(
      (p) => p.addresses.map((a) => a.multiaddr),
      () => [],
    );
    const addrs =
      known.length > 0 ? known : (await libp2p.peerRouting.findPeer(id, { signal: deadline })).multiaddrs;
    if (addrs.length === 0)
      throw new NetworkError(NetworkErrorCode.PEER_NOT_FOUND, `no address known for ${id}`);
    return addrs.map((a) => (peerIdOfAddr(a) === undefined ? a.encapsulate(`/p2p/${id}`) : a));
  };

  const dial = (key: string, target: PeerId | Multiaddr[], signal: AbortSignal): void => {
    const s = dialStateOf(key);
    s.dialling = true;
    inFlight += 1;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)]);
    (async () => {
      // Addresses are resolved here rather than by libp2p's dial queue, whose own lookup can outlive the
      // dial's signal and hold every later dial of that peer.
      const addrs = Array.isArray(target) ? target : await resolve(target, deadline);
      await libp2p.dial(addrs, { signal: deadline });
    })()
      .then(() => {
        s.attempts = 0;
        s.nextAt = 0;
      })
      .catch((err: unknown) => {
        s.attempts += 1;
        s.nextAt = Date.now() + backoffMs(s.attempts, minBackoff, maxBackoff);
        logger?.debug({ target: key, attempts: s.attempts, err: errorMessage(err) }, 'dial failed');
      })
      .finally(() => {
        s.dialling = false;
        inFlight -= 1;
      });
  };

  /** One pass over members and bootnodes: dials those due that are not connected. */
  const keepAlive = (signal: AbortSignal): void => {
    const now = Date.now();
    const due = (key: string): boolean => {
      const s = dials.get(key);
      return inFlight < maxParallel && (s === undefined || (!s.dialling && now >= s.nextAt));
    };
    for (const addr of bootnodes) {
      const key = addr.toString();
      const peerId = peerIdOfAddr(addr);
      if (peerId === self || (peerId !== undefined && isConnected(peerId))) continue;
      if (peerId === undefined && dials.get(key)?.attempts === 0 && dials.get(key)?.nextAt === 0) continue;
      if (due(key)) dial(key, [addr], signal);
    }
    // Members with no registered address are dialled by peer id, which the DHT resolves: only once some
    // peer is connected to ask, and not while a bootnode address of theirs is being tried.
    const canResolve = libp2p.getConnections().length > 0;
    for (const m of membership.members()) {
      if (m.peerId === '' || m.peerId === self || isConnected(m.peerId) || !due(m.peerId)) continue;
      if (m.multiaddrs.length === 0 && (!canResolve || bootPeers.has(m.peerId))) continue;
      let addrs: Multiaddr[] = [];
      try {
        addrs = m.multiaddrs.map((a) => {
          const ma = multiaddr(a);
          return peerIdOfAddr(ma) === undefined ? ma.encapsulate(`/p2p/${m.peerId}`) : ma;
        });
      } catch (err) {
        logger?.debug({ peerId: m.peerId, err: errorMessage(err) }, 'bad registered multiaddr');
      }
      let id: PeerId;
      try {
        id = peerIdFromString(m.peerId);
      } catch {
        continue;
      }
      dial(m.peerId, addrs.length > 0 ? addrs : id, signal);
    }
  };

  const provide = (modelId: string, advert: Advert, signal: AbortSignal): void => {
    advert.providing = true;
    (async () => {
      const cid = await advert.cid;
      await libp2p.contentRouting.provide(cid, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs * 3)]),
      });
    })()
      .then(() => {
        advert.attempts = 0;
        advert.lastProvidedAt = Date.now();
        advert.nextAt = advert.lastProvidedAt + reprovideMs;
      })
      .catch((err: unknown) => {
        advert.attempts += 1;
        advert.nextAt = Date.now() + backoffMs(advert.attempts, minBackoff * 2, maxBackoff);
        logger?.debug({ model: modelId, err: errorMessage(err) }, 'provide failed');
      })
      .finally(() => {
        advert.providing = false;
      });
  };

  const advertise = (signal: AbortSignal): void => {
    const now = Date.now();
    for (const [modelId, advert] of adverts) {
      if (!advert.providing && now >= advert.nextAt) provide(modelId, advert, signal);
    }
  };

  const onConnect = (): void => {
    // More peers may mean closer ones: renew the provider records soon, at most every 10 s.
    const now = Date.now();
    for (const advert of adverts.values()) {
      advert.nextAt = Math.min(advert.nextAt, Math.max(now + 1000, advert.lastProvidedAt + 10_000));
    }
  };

  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString();
    if (membership.byPeer(id) === undefined) return;
    const s = dialStateOf(id);
    s.attempts = Math.max(s.attempts, 1);
    s.nextAt = Date.now() + backoffMs(1, minBackoff, maxBackoff);
  };

  const tickMs = Math.max(50, Math.min(250, minBackoff));

  return {
    start() {
      if (controller !== undefined) return;
      const ctl = new AbortController();
      controller = ctl;
      unsubscribe.push(
        onPeerEvents(libp2p, { connect: onConnect, disconnect: onDisconnect }),
        membership.onChange((removed) => {
          if (removed.length === 0) return;
          // By hotkey, the key the connection authenticated, never by a registered string: a neuron that
          // leaves hangs up on itself only.
          const gone = new Set(removed.map((m) => m.hotkey));
          for (const m of removed) dials.delete(m.peerId);
          for (const c of libp2p.getConnections()) {
            const address = addressOfPeerId(c.remotePeer);
            if (address === null || !gone.has(address)) continue;
            // Aborted, not closed gracefully: a graceful close waits on the peer, which keeps its side open.
            c.abort(new NetworkError(NetworkErrorCode.PEER_NOT_FOUND, 'the peer left the metagraph'));
          }
        }),
      );
      const tick = (): void => {
        keepAlive(ctl.signal);
        advertise(ctl.signal);
      };
      timer = setInterval(tick, tickMs);
      timer.unref();
      tick();
    },
    stop() {
      if (controller === undefined) return;
      controller.abort();
      controller = undefined;
      clearInterval(timer);
      timer = undefined;
      for (const u of unsubscribe.splice(0)) u();
    },
    setModels(modelIds) {
      const wanted = new Set(modelIds);
      for (const [modelId, advert] of adverts) {
        if (wanted.has(modelId)) continue;
        adverts.delete(modelId);
        void advert.cid.then((cid) => libp2p.contentRouting.cancelReprovide(cid)).catch(() => {});
      }
      for (const modelId of wanted) {
        if (adverts.has(modelId)) continue;
        adverts.set(modelId, {
          cid: modelCid(opts.netuid, modelId),
          nextAt: 0,
          lastProvidedAt: 0,
          attempts: 0,
          providing: false,
        });
      }
      if (controller !== undefined) advertise(controller.signal);
    },
    async findProviders(model, findOpts = {}) {
      if (membership.block === null) {
        throw new NetworkError(NetworkErrorCode.NOT_READY, 'no metagraph yet: is the chain stack reachable?');
      }
      const { signal } = findOpts;
      const found = new Set<string>();
      const query = withTimeout(signal, findOpts.timeoutMs ?? 3000);
      try {
        const cid = await modelCid(opts.netuid, model);
        for await (const p of libp2p.contentRouting.findProviders(
          cid,
          query === undefined ? {} : { signal: query },
        )) {
          found.add(p.id.toString());
        }
      } catch (err) {
        if (signal?.aborted === true) {
          throw new NetworkError(NetworkErrorCode.CANCELLED, 'findProviders was cancelled', { cause: err });
        }
        // The deadline passed or the query failed: keep what was found.
        logger?.debug({ model, err: errorMessage(err) }, 'DHT provider search ended early');
      }
      const now = Date.now();
      const fresh = (peerId: string) => {
        const hb = peers.heartbeat(peerId);
        return hb !== undefined && now - hb.receivedAt <= heartbeatTtlMs ? hb.heartbeat : undefined;
      };
      for (const row of peers.rows()) {
        if (fresh(row.peerId)?.models.some((m) => m.id === model) === true) found.add(row.peerId);
      }
      const out: NetworkPeer[] = [];
      for (const peerId of found) {
        const member = membership.byPeer(peerId);
        if (member === undefined || member.role !== 'miner' || peerId === self) continue;
        // A fresh heartbeat that no longer lists the model outranks an older provider record.
        const hb = fresh(peerId);
        if (hb !== undefined && !hb.models.some((m) => m.id === model)) continue;
        const row = peers.get(member.peerId);
        if (row !== undefined) out.push(row);
      }
      return out.sort((a, b) => (a.uid ?? 0) - (b.uid ?? 0));
    },
  };
}
