/**
 * The dashboard's HTTP handler, mounted by the gateway on its port: the JSON API under `/api/` (defined in
 * `api.ts`), live snapshots over server-sent events, and the built web app at `/`. Read-only routes are
 * public, but answer the public without this validator's live scores and verdicts (`redact.ts`: they give
 * its weights away before the reveal) and the operator (admin token) with them; the key and node routes
 * need `Authorization: Bearer <admin token>`. A browser's `EventSource` cannot send that header, so the
 * operator's view of `/api/events` opens with `?ticket=`, a single-use ticket of a few seconds that
 * `POST /api/events/ticket` gives for the admin token (`streamTickets.ts`): the token itself never goes in a
 * URL. It reaches the subnet only
 * through the Engine API (the collector, the gateway's `gateway_*Key*` methods, the managed nodes'
 * `app_*`), never by importing a stack. It must never answer a state-changing request without a valid
 * admin token, read more than 64 KiB of a body, or serve a file outside the web app's build directory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type EngineApi, type EngineClient, loadOrCreateJwtSecret } from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import { z } from 'zod';
import { isAdmin, loadOrCreateAdminToken } from './adminToken.js';
import { CreateKeyBodySchema, LoadModelBodySchema, type Snapshot } from './api.js';
import { createCollector } from './collector.js';
import { DashboardError, DashboardErrorCode } from './errors.js';
import { parseBody, readBody, sendFailure, sendJson } from './http.js';
import { createNodeManager, type ManagedNode } from './nodes.js';
import { createPaymentsView } from './payments.js';
import { publicNeuronDetail, publicSnapshot } from './redact.js';
import { createStaticHandler } from './static.js';
import { type RedeemResult, TicketStore } from './streamTickets.js';

/** Where the built web app lies: `packages/dashboard/dist/web`, next to this file's `dist/src`. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/** The dashboard's options: the slice of `gateway.dashboard` and the files it reads. */
export interface DashboardOpts {
  /** The subnet shown. */
  netuid: number;
  /** The admin token itself, or the file holding it (created 0600 with a random token when missing). */
  adminToken?: string;
  adminTokenFile?: string;
  /** Nodes whose models the dashboard loads and unloads, by their Engine API URLs. */
  nodes?: readonly ManagedNode[];
  /** The JWT secret file shared with the managed nodes (hex, as `engine.jwtSecretFile`). */
  jwtSecretFile?: string;
  /** The built web app (default {@link DEFAULT_STATIC_DIR}). */
  staticDir?: string;
  /** Least time between two snapshots on `/api/events` (default 1000 ms). */
  eventIntervalMs?: number;
  /** How long a stream ticket of `POST /api/events/ticket` is good for (default 10 s). */
  streamTicketTtlMs?: number;
}

export interface DashboardModules {
  /** Client of the node's Engine API. */
  engine: EngineClient<EngineApi>;
  logger: Logger;
}

export interface Dashboard {
  /** Answers `req` when it is the dashboard's (anything but `/v1/…`); true when it did. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends event streams and stops collecting. Idempotent. */
  close(): Promise<void>;
}

const SSE_KEEPALIVE_MS = 15_000;
const MAX_EVENT_CLIENTS = 256;
/** Why a stream ticket was refused, and what to do (the answer is a 401). */
const TICKET_REFUSED: Record<Exclude<RedeemResult, 'ok'>, string> = {
  unknown: 'Unknown stream ticket; get one with POST /api/events/ticket and the admin token.',
  expired: 'This stream ticket expired; get a new one with POST /api/events/ticket (they last seconds).',
  replayed:
    'This stream ticket was already used; get a new one with POST /api/events/ticket for each stream.',
};
const KeyIdSchema = z.string().regex(/^key_[a-z0-9]{8,32}$/, 'a key id such as key_1a2b3c4d');
const UidSchema = z.coerce.number().int().min(0).max(65_535);
const AddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte hex address');

type Method = 'GET' | 'POST' | 'DELETE';
interface Route {
  pattern: RegExp;
  admin: boolean;
  methods: Partial<Record<Method, (x: Exchange, params: string[]) => Promise<void> | void>>;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  signal: AbortSignal;
}

function notFound(path: string): DashboardError {
  return new DashboardError(
    DashboardErrorCode.NOT_FOUND,
    `No API route ${path}; see packages/dashboard/src/api.ts.`,
  );
}

function param<S extends z.ZodType>(schema: S, raw: string, name: string): z.output<S> {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new DashboardError(
      DashboardErrorCode.BAD_REQUEST,
      `Invalid field '${name}': bad percent-encoding.`,
    );
  }
  const r = schema.safeParse(value);
  if (!r.success)
    throw new DashboardError(
      DashboardErrorCode.BAD_REQUEST,
      `Invalid field '${name}': ${r.error.issues[0]?.message ?? 'invalid value'}.`,
    );
  return r.data;
}

/** Creates the dashboard and starts collecting; resolves once the admin token (and JWT secret) are read. */
export async function createDashboard(opts: DashboardOpts, modules: DashboardModules): Promise<Dashboard> {
  const { engine, logger } = modules;
  let adminToken = opts.adminToken;
  if (adminToken === undefined) {
    if (opts.adminTokenFile === undefined)
      throw new TypeError('createDashboard needs adminToken or adminTokenFile');
    adminToken = await loadOrCreateAdminToken(opts.adminTokenFile);
  }
  const token = adminToken;
  const nodeList = opts.nodes ?? [];
  const secret =
    nodeList.length > 0 && opts.jwtSecretFile !== undefined
      ? await loadOrCreateJwtSecret(opts.jwtSecretFile)
      : undefined;
  const collector = createCollector({ netuid: opts.netuid }, { engine, logger });
  const nodes = createNodeManager(nodeList, secret, (hotkey) => collector.uidOf(hotkey));
  const payments = createPaymentsView({ netuid: opts.netuid }, { engine, miners: () => collector.miners() });
  const serveStatic = createStaticHandler(opts.staticDir ?? DEFAULT_STATIC_DIR);
  const eventIntervalMs = opts.eventIntervalMs ?? 1000;
  const tickets = new TicketStore(
    opts.streamTicketTtlMs === undefined ? {} : { ttlMs: opts.streamTicketTtlMs },
  );

  // Server-sent events: one snapshot per change, at most one per eventIntervalMs, built once per view
  // (admin, public). Each client is marked admin or not when it connects.
  const clients = new Map<ServerResponse, boolean>();
  let lastSentAt = 0;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;
  const keepalive = setInterval(() => {
    for (const res of clients.keys()) if (!res.writableNeedDrain) res.write(': keepalive\n\n');
  }, SSE_KEEPALIVE_MS);
  keepalive.unref();

  function frame(s: Snapshot): string {
    return `event: snapshot\ndata: ${JSON.stringify(s)}\n\n`;
  }

  function broadcast(): void {
    pending = undefined;
    if (clients.size === 0 || closed) return;
    lastSentAt = Date.now();
    const full = collector.snapshot();
    const frames = new Map<boolean, string>();
    for (const [res, isAdminClient] of clients) {
      // A reader that has not taken the last snapshot skips this one rather than piling them up.
      if (res.writableNeedDrain) continue;
      let data = frames.get(isAdminClient);
      if (data === undefined) {
        data = frame(isAdminClient ? full : publicSnapshot(full));
        frames.set(isAdminClient, data);
      }
      res.write(data);
    }
  }

  collector.onChange(() => {
    if (pending !== undefined || clients.size === 0) return;
    const wait = Math.max(0, lastSentAt + eventIntervalMs - Date.now());
    pending = setTimeout(broadcast, wait);
  });
  collector.start();

  /** Whether the request carries the admin token (public routes answer the operator with more). */
  const asAdmin = (x: Exchange): boolean => isAdmin(x.req.headers.authorization, token);
  const snapshotFor = (admin: boolean): Snapshot => {
    const full = collector.snapshot();
    return admin ? full : publicSnapshot(full);
  };

  /**
   * Whether an event stream is the operator's: with `?ticket=` the ticket must be good (a bad one is a 401,
   * never the public view, so the web app knows to get a new one); without, the Authorization header decides.
   */
  function streamIsAdmin(x: Exchange): boolean {
    const ticket = new URL(x.req.url ?? '/', 'http://dashboard').searchParams.get('ticket');
    if (ticket === null) return asAdmin(x);
    const result = ticket.length > 128 ? 'unknown' : tickets.redeem(ticket);
    if (result === 'ok') return true;
    throw new DashboardError(DashboardErrorCode.UNAUTHORIZED, TICKET_REFUSED[result]);
  }

  function events(x: Exchange): void {
    if (clients.size >= MAX_EVENT_CLIENTS)
      throw new DashboardError(DashboardErrorCode.NOT_READY, 'Too many open event streams; retry later.');
    const admin = streamIsAdmin(x);
    const { req, res } = x;
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(`retry: 2000\n\n${frame(snapshotFor(admin))}`);
    clients.set(res, admin);
    res.once('close', () => clients.delete(res));
  }

  async function body(x: Exchange): Promise<string> {
    try {
      return await readBody(x.req);
    } catch (err) {
      // The rest of an oversized body is not read: close the connection after answering.
      x.res.shouldKeepAlive = false;
      x.res.setHeader('connection', 'close');
      throw err;
    }
  }

  const routes: Route[] = [
    {
      pattern: /^\/api\/snapshot$/,
      admin: false,
      methods: { GET: (x) => sendJson(x.res, 200, snapshotFor(asAdmin(x))) },
    },
    { pattern: /^\/api\/events$/, admin: false, methods: { GET: events } },
    {
      pattern: /^\/api\/events\/ticket$/,
      admin: true,
      methods: {
        POST: (x) => {
          const issued = tickets.issue();
          if (issued === undefined)
            throw new DashboardError(
              DashboardErrorCode.NOT_READY,
              'Too many stream tickets outstanding; retry in a few seconds.',
            );
          sendJson(x.res, 201, { ...issued, ttlMs: tickets.ttlMs });
        },
      },
    },
    {
      pattern: /^\/api\/neurons\/([^/]+)$/,
      admin: false,
      methods: {
        GET: async (x, [uid]) => {
          const detail = await collector.neuron(param(UidSchema, uid ?? '', 'uid'), x.signal);
          sendJson(x.res, 200, asAdmin(x) ? detail : publicNeuronDetail(detail));
        },
      },
    },
    {
      pattern: /^\/api\/emissions$/,
      admin: false,
      methods: { GET: (x) => sendJson(x.res, 200, collector.emissions()) },
    },
    {
      pattern: /^\/api\/models$/,
      admin: false,
      methods: { GET: (x) => sendJson(x.res, 200, collector.models()) },
    },
    {
      pattern: /^\/api\/payments$/,
      admin: false,
      methods: { GET: async (x) => sendJson(x.res, 200, await payments.info(x.signal)) },
    },
    {
      pattern: /^\/api\/payments\/accounts\/([^/]+)$/,
      admin: false,
      methods: {
        GET: async (x, [raw]) => {
          const address = param(AddressSchema, raw ?? '', 'address');
          sendJson(x.res, 200, await payments.account(address, x.signal));
        },
      },
    },
    {
      pattern: /^\/api\/payments\/keys$/,
      admin: true,
      methods: { GET: async (x) => sendJson(x.res, 200, await payments.keys(x.signal)) },
    },
    {
      pattern: /^\/api\/admin$/,
      admin: true,
      methods: { GET: (x) => sendJson(x.res, 200, { admin: true, nodes: nodeList.map((n) => n.name) }) },
    },
    {
      pattern: /^\/api\/keys$/,
      admin: true,
      methods: {
        GET: async (x) => {
          const r = await engine.call('gateway_listKeysV1', { includeRevoked: true }, { signal: x.signal });
          sendJson(x.res, 200, { keys: r.keys });
        },
        POST: async (x) => {
          const b = parseBody(await body(x), CreateKeyBodySchema);
          const r = await engine.call(
            'gateway_createKeyV1',
            {
              name: b.name,
              ...(b.requestsPerMinute === undefined ? {} : { requestsPerMinute: b.requestsPerMinute }),
              ...(b.tokensPerMinute === undefined ? {} : { tokensPerMinute: b.tokensPerMinute }),
            },
            { signal: x.signal },
          );
          logger.info({ id: r.info.id, name: r.info.name }, 'dashboard: API key created');
          sendJson(x.res, 201, { ...r.info, secret: r.key });
        },
      },
    },
    {
      pattern: /^\/api\/keys\/([^/]+)$/,
      admin: true,
      methods: {
        DELETE: async (x, [raw]) => {
          const id = param(KeyIdSchema, raw ?? '', 'id');
          const r = await engine.call('gateway_revokeKeyV1', { id }, { signal: x.signal });
          logger.info({ id }, 'dashboard: API key revoked');
          sendJson(x.res, 200, { id, revoked: r.revoked });
        },
      },
    },
    {
      pattern: /^\/api\/nodes$/,
      admin: true,
      methods: { GET: async (x) => sendJson(x.res, 200, await nodes.list(x.signal)) },
    },
    {
      pattern: /^\/api\/nodes\/([^/]+)\/models$/,
      admin: true,
      methods: {
        POST: async (x, [raw]) => {
          const name = param(z.string().min(1), raw ?? '', 'name');
          const b = parseBody(await body(x), LoadModelBodySchema);
          const r = await nodes.load(name, b, x.signal);
          logger.info({ node: name, model: r.model.id }, 'dashboard: model loaded');
          sendJson(x.res, 200, r);
        },
      },
    },
    {
      pattern: /^\/api\/nodes\/([^/]+)\/models\/([^/]+)$/,
      admin: true,
      methods: {
        DELETE: async (x, [rawName, rawId]) => {
          const name = param(z.string().min(1), rawName ?? '', 'name');
          const id = param(z.string().min(1).max(256), rawId ?? '', 'id');
          const r = await nodes.unload(name, id, x.signal);
          logger.info({ node: name, model: id }, 'dashboard: model unloaded');
          sendJson(x.res, 200, r);
        },
      },
    },
  ];

  async function api(x: Exchange, path: string): Promise<void> {
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (m === null) continue;
      const method = (x.req.method ?? '') as Method;
      const fn = route.methods[method];
      if (fn === undefined) {
        const allow = Object.keys(route.methods);
        throw new DashboardError(
          DashboardErrorCode.METHOD_NOT_ALLOWED,
          `${x.req.method ?? ''} is not allowed on ${path}; use ${allow.join(' or ')}.`,
          { meta: { allow } },
        );
      }
      if (route.admin && !isAdmin(x.req.headers.authorization, token))
        throw new DashboardError(
          DashboardErrorCode.UNAUTHORIZED,
          x.req.headers.authorization === undefined
            ? 'This needs the admin token: send Authorization: Bearer <token> (`subnet gateway admin-token` prints it).'
            : 'Wrong admin token; `subnet gateway admin-token` prints the right one.',
        );
      await fn(x, m.slice(1));
      return;
    }
    throw notFound(path);
  }

  return {
    handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (path === '/v1' || path.startsWith('/v1/')) return false;
      if (path === '/api' || path.startsWith('/api/')) {
        const controller = new AbortController();
        res.once('close', () => controller.abort(new Error('the client closed the connection')));
        const x: Exchange = { req, res, signal: controller.signal };
        api(x, path).catch((err: unknown) => {
          if (res.headersSent) {
            res.end();
            return;
          }
          if (!(err instanceof DashboardError))
            logger.warn({ err: errorMessage(err), path }, 'dashboard: request failed');
          if (err instanceof DashboardError && err.code === DashboardErrorCode.UNAUTHORIZED)
            res.setHeader('www-authenticate', 'Bearer realm="subnet-dashboard"');
          sendFailure(res, err);
        });
        return true;
      }
      serveStatic(req, res, path);
      return true;
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keepalive);
      clearTimeout(pending);
      for (const res of clients.keys()) res.end();
      clients.clear();
      await collector.close();
      await nodes.close();
    },
  };
}
