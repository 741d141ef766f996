/**
 * The dashboard's handler on a real HTTP server, over a real Engine API server answering the chain,
 * consensus, network and gateway methods (`fakeNode.ts`), and a managed node's real Engine API over HTTP
 * with JWT auth: the static web app (types, caching, traversal refused, the 503 page when not built), the
 * public JSON routes and their shapes (checked with the schemas of `api.ts`), live snapshots over SSE,
 * admin auth (401 without or with a wrong token), the operator's event stream by single-use ticket (a replayed,
 * forged or expired ticket refused, a ticket no login elsewhere, the public stream still redacted), key creation and revocation, body limits (400 naming the
 * field, 413), 404 and 405, and loading and unloading a managed node's models.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  app_listModelsV1,
  app_loadModelV1,
  app_unloadModelV1,
  appErrors,
  createEngineServer,
  createTokenVerifier,
  defineApi,
  EngineError,
  type EngineHttpServer,
  type Handlers,
  startEngineHttpServer,
} from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import {
  AdminSchema,
  CreatedKeySchema,
  createDashboard,
  type Dashboard,
  EmissionsSchema,
  KeysSchema,
  LoadedModelSchema,
  ModelsSchema,
  NeuronDetailSchema,
  NodesSchema,
  PaymentAccountSchema,
  PaymentKeysSchema,
  PaymentsSchema,
  RevokedKeySchema,
  SnapshotSchema,
  StreamTicketSchema,
  UnloadedModelSchema,
} from '../src/index.js';
import { type FakeNode, GATEWAY, NETUID, PAYMENT_TOKEN, startFakeNode } from './fakeNode.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const SECRET_HEX = 'ab'.repeat(32);

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A GET with a raw path (fetch would normalise `..` away). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads server-sent events until `count` snapshot events came, or fails past `timeoutMs`. */
async function snapshots(
  url: string,
  count: number,
  onFirst?: () => void,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<unknown[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url, { signal: ac.signal, headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const out: unknown[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf('\n\n');
      while (i >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event === 'snapshot' && data !== undefined) {
          out.push(JSON.parse(data));
          if (out.length === 1) onFirst?.();
          if (out.length >= count) return out;
        }
        i = buf.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

describe('dashboard server', () => {
  let dir: string;
  let fake: FakeNode;
  let dashboard: Dashboard;
  let http: { server: Server; url: string };
  let managed: EngineHttpServer;
  const loaded = new Map<string, string>([['devnet-chat', 'llama.cpp']]);
  const admin = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-dashboard-'));
    const web = join(dir, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>dash</title><div id="root"></div>');
    writeFileSync(join(web, 'assets', 'index-abc123.js'), 'console.log(1);');
    writeFileSync(join(web, 'assets', 'index-abc123.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'do not serve');
    const secretFile = join(dir, 'engine-jwt.hex');
    writeFileSync(secretFile, `${SECRET_HEX}\n`);

    // A managed node: the app methods behind a real Engine API HTTP server with JWT auth.
    const nodeApi = defineApi([app_listModelsV1, app_loadModelV1, app_unloadModelV1]);
    const info = (id: string, backend: string) => ({
      id,
      backend: backend as 'llama.cpp',
      taskTypes: ['chat' as const],
      contextLength: 512,
      modelType: 'llm',
    });
    const nodeHandlers: Handlers<typeof nodeApi> = {
      app_listModelsV1: () => ({ models: [...loaded].map(([id, b]) => info(id, b)) }),
      app_loadModelV1: (p) => {
        const replaced = loaded.has(p.id);
        loaded.set(p.id, p.backend);
        return { model: info(p.id, p.backend), replaced };
      },
      app_unloadModelV1: ({ id }) => {
        if (!loaded.delete(id)) throw EngineError.of(appErrors.UNKNOWN_MODEL, `model "${id}" is not loaded`);
        return { unloaded: true };
      },
    };
    const nodeServer = createEngineServer({ maxStreams: 8, streamDeadlineMs: 60_000 });
    nodeServer.register(nodeApi, nodeHandlers);
    managed = await startEngineHttpServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20 },
      {
        server: nodeServer,
        verifier: createTokenVerifier(Buffer.from(SECRET_HEX, 'hex'), { maxLifetimeS: 120 }),
        logger: silentLogger(),
      },
    );

    fake = startFakeNode();
    dashboard = await createDashboard(
      {
        netuid: NETUID,
        adminToken: TOKEN,
        staticDir: web,
        jwtSecretFile: secretFile,
        nodes: [
          { name: 'miner1', url: managed.url },
          { name: 'down', url: 'http://127.0.0.1:1' },
        ],
      },
      { engine: fake.engine, logger: silentLogger() },
    );
    http = await listen((req, res) => {
      if (!dashboard.handle(req, res)) res.writeHead(418).end();
    });
    fake.block(25);
    // Wait until the collector read the chain once.
    for (let i = 0; i < 100; i++) {
      const s = SnapshotSchema.parse(
        await (await fetch(`${http.url}/api/snapshot`, { headers: admin })).json(),
      );
      if (s.epoch !== null && s.neurons.length === 4 && s.subnet !== null && s.neurons[1]?.score !== null)
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    await dashboard.close();
    http.server.closeAllConnections();
    await new Promise((r) => http.server.close(r));
    await managed.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the web app', () => {
    it('serves index.html at / and for app routes, uncached', async () => {
      for (const path of ['/', '/index.html', '/neurons/3', '/keys']) {
        const res = await fetch(`${http.url}${path}`);
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(res.headers.get('cache-control'), 'no-cache');
        assert.match(await res.text(), /<div id="root">/);
      }
    });

    it('serves hashed assets with their types and an immutable cache', async () => {
      const js = await fetch(`${http.url}/assets/index-abc123.js`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.match(js.headers.get('cache-control') ?? '', /immutable/);
      assert.equal(await js.text(), 'console.log(1);');
      const css = await fetch(`${http.url}/assets/index-abc123.css`);
      assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
      await css.arrayBuffer();
      const missing = await fetch(`${http.url}/assets/nope.js`);
      assert.equal(missing.status, 404);
      await missing.arrayBuffer();
    });

    it('refuses paths that leave the build directory', async () => {
      for (const path of [
        '/../secret.txt',
        '/assets/../../secret.txt',
        '/%2e%2e/secret.txt',
        '/assets/%2E%2E%2F..%2Fsecret.txt',
        '/..%5csecret.txt',
      ]) {
        const r = await rawGet(http.url, path);
        assert.equal(r.status, 400, path);
        assert.doesNotMatch(r.body, /do not serve/);
      }
    });

    it('answers only GET and HEAD', async () => {
      const r = await fetch(`${http.url}/`, { method: 'POST', body: 'x' });
      assert.equal(r.status, 405);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
    });

    it('says how to build the app when it is not built', async () => {
      const other = await createDashboard(
        { netuid: NETUID, adminToken: TOKEN, staticDir: join(dir, 'missing') },
        { engine: fake.engine, logger: silentLogger() },
      );
      const h = await listen((req, res) => void other.handle(req, res));
      try {
        const r = await fetch(`${h.url}/`);
        assert.equal(r.status, 503);
        assert.match(await r.text(), /npm run build/);
      } finally {
        await other.close();
        await new Promise((r) => h.server.close(r));
      }
    });

    it('leaves /v1 to the OpenAI API', async () => {
      const r = await fetch(`${http.url}/v1/models`);
      assert.equal(r.status, 418);
      await r.arrayBuffer();
    });
  });

  describe('public JSON', () => {
    it('/api/snapshot: the subnet, block, epoch, counts and one row per neuron', async () => {
      fake.outcome({ uid: 1, ok: true, latencyMs: 100 });
      fake.outcome({ uid: 1, ok: true, latencyMs: 300 });
      fake.outcome({ uid: 1, ok: false, latencyMs: 5 });
      fake.outcome({ uid: 2, ok: false, latencyMs: 5, errorCode: 'CANCELLED' });
      await new Promise((r) => setTimeout(r, 50));
      const res = await fetch(`${http.url}/api/snapshot`, { headers: admin });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const s = SnapshotSchema.parse(await res.json());
      assert.equal(s.subnet?.name, 'testnet');
      assert.equal(s.subnet?.params.tempo, 10);
      assert.equal(s.block?.number, 25);
      assert.equal(s.block?.timestamp, (1_700_000_000 + 50) * 1000);
      assert.deepEqual(s.counts, { miners: 3, validators: 1 });
      assert.equal(s.epoch?.current, 2);
      assert.equal(s.epoch?.nextStartBlock, 30);
      assert.equal(s.epoch?.blocksLeft, 5);
      assert.deepEqual(s.epoch?.latestEnded, { epoch: 1, status: 'finalised' });
      assert.equal(s.epoch?.lastFinalised, 1);
      assert.equal(s.requestsPerSecond, 0.4, 'four requests in the last 10 s');
      const m1 = s.neurons.find((n) => n.uid === 1);
      assert.equal(m1?.score, 0.1);
      assert.equal(m1?.latencyP50Ms, 200, 'median of the successful ones');
      assert.equal(Math.round((m1?.successRate ?? 0) * 3), 2);
      assert.deepEqual(m1?.models, ['devnet-chat']);
      assert.equal(m1?.connected, true);
      const m2 = s.neurons.find((n) => n.uid === 2);
      assert.equal(m2?.successRate, null, 'a cancelled request counts against no one');
      assert.equal(s.neurons.find((n) => n.uid === 3)?.connected, false);
      assert.equal(s.neurons.find((n) => n.uid === 0)?.score, null, 'validators have no score');
    });

    it('the public sees no live scores, score history or verdicts; the operator (admin token) does', async () => {
      const pub = SnapshotSchema.parse(await (await fetch(`${http.url}/api/snapshot`)).json());
      const op = SnapshotSchema.parse(
        await (await fetch(`${http.url}/api/snapshot`, { headers: admin })).json(),
      );
      assert.equal(pub.neurons.length, 4);
      assert.deepEqual(
        pub.neurons.map((n) => n.score),
        [null, null, null, null],
      );
      assert.equal(op.neurons.find((n) => n.uid === 1)?.score, 0.1);
      // Everything else is public.
      assert.deepEqual(
        pub.neurons.map(({ score: _, ...rest }) => rest),
        op.neurons.map(({ score: _, ...rest }) => rest),
      );
      const wrong = SnapshotSchema.parse(
        await (
          await fetch(`${http.url}/api/snapshot`, { headers: { authorization: 'Bearer wrong' } })
        ).json(),
      );
      assert.equal(wrong.neurons.find((n) => n.uid === 1)?.score, null, 'a wrong token is the public');

      const [pubEvent] = await snapshots(`${http.url}/api/events`, 1);
      const [opEvent] = await snapshots(`${http.url}/api/events`, 1, undefined, 10_000, admin);
      assert.equal(SnapshotSchema.parse(pubEvent).neurons.find((n) => n.uid === 1)?.score, null);
      assert.equal(SnapshotSchema.parse(opEvent).neurons.find((n) => n.uid === 1)?.score, 0.1);

      const pubDetail = NeuronDetailSchema.parse(await (await fetch(`${http.url}/api/neurons/2`)).json());
      assert.equal(pubDetail.neuron.score, null);
      assert.deepEqual(pubDetail.history, []);
      assert.deepEqual(pubDetail.verifications, []);
      assert.equal(pubDetail.emissions.length, 2, 'emissions are on chain: public');
      const opDetail = NeuronDetailSchema.parse(
        await (await fetch(`${http.url}/api/neurons/2`, { headers: admin })).json(),
      );
      assert.equal(opDetail.neuron.score, 0.2);
      assert.ok(opDetail.history.length >= 1);
      assert.equal(opDetail.verifications.length, 1);
    });

    it('/api/events: a snapshot at once, then one per new block', async () => {
      const got = await snapshots(`${http.url}/api/events`, 2, () => fake.block(26));
      const [first, second] = got.map((s) => SnapshotSchema.parse(s));
      assert.equal(first?.block?.number, 25);
      assert.equal(second?.block?.number, 26);
    });

    it('/api/events keeps each stream on its own view as snapshots follow', async () => {
      const [pubStream, opStream] = await Promise.all([
        snapshots(`${http.url}/api/events`, 2, () => fake.block(27)),
        snapshots(`${http.url}/api/events`, 2, () => fake.block(28), 10_000, admin),
      ]);
      for (const s of pubStream.map((x) => SnapshotSchema.parse(x)))
        assert.ok(s.neurons.every((n) => n.score === null));
      const last = SnapshotSchema.parse(opStream[1]);
      assert.equal(last.neurons.find((n) => n.uid === 1)?.score, 0.1);
    });

    it('/api/neurons/:uid: history, emissions per epoch and verifications', async () => {
      const res = await fetch(`${http.url}/api/neurons/2`, { headers: admin });
      assert.equal(res.status, 200);
      const d = NeuronDetailSchema.parse(await res.json());
      assert.equal(d.neuron.uid, 2);
      assert.ok(d.history.length >= 1);
      assert.equal(d.history[0]?.score, 0.2);
      assert.equal(d.history[0]?.latencyMs, 200);
      assert.deepEqual(d.emissions, [
        { epoch: 0, amount: '100' },
        { epoch: 1, amount: '101' },
      ]);
      assert.equal(d.verifications.length, 1);
      assert.deepEqual(
        { verdict: d.verifications[0]?.verdict, majority: d.verifications[0]?.majority },
        { verdict: 'pass', majority: true },
      );
      const missing = await fetch(`${http.url}/api/neurons/77`);
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as { error: { message: string } }).error.message, /uid 77/);
      const bad = await fetch(`${http.url}/api/neurons/abc`);
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /'uid'/);
    });

    it('/api/emissions: owner, miners and validators per finalised epoch', async () => {
      const e = EmissionsSchema.parse(await (await fetch(`${http.url}/api/emissions`)).json());
      assert.deepEqual(e.epochs[1], {
        epoch: 1,
        total: '1000',
        owner: '297',
        miners: '303',
        validators: '400',
      });
    });

    it('/api/models: models and the miners serving them', async () => {
      const m = ModelsSchema.parse(await (await fetch(`${http.url}/api/models`)).json());
      assert.deepEqual(m.models, [{ id: 'devnet-chat', miners: [1, 2, 3] }]);
    });

    it('unknown /api paths are a JSON 404; a wrong method a 405 with Allow', async () => {
      const r = await fetch(`${http.url}/api/nope`);
      assert.equal(r.status, 404);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
      const m = await fetch(`${http.url}/api/snapshot`, { method: 'POST', body: '{}' });
      assert.equal(m.status, 405);
      assert.equal(m.headers.get('allow'), 'GET');
      await m.arrayBuffer();
      const k = await fetch(`${http.url}/api/keys`, { method: 'PUT', headers: admin, body: '{}' });
      assert.equal(k.status, 405);
      assert.equal(k.headers.get('allow'), 'GET, POST');
      await k.arrayBuffer();
    });
  });

  describe('payments', () => {
    const hex = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

    it('/api/payments: token, prices, split and each miner’s earnings, read once per interval', async () => {
      const before = fake.payments.calls.get('chain_getPaymentsV1') ?? 0;
      const p = PaymentsSchema.parse(await (await fetch(`${http.url}/api/payments`)).json());
      assert.ok(p.enabled);
      assert.deepEqual(p.token, { address: PAYMENT_TOKEN, name: 'Subnet USD', symbol: 'sUSD', decimals: 6 });
      assert.equal(p.gateway, GATEWAY);
      assert.deepEqual(p.split, { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 });
      assert.deepEqual(
        p.models.map((m) => [
          m.model,
          m.promptPerMillion,
          m.completionPerMillion,
          m.pending?.promptPerMillion,
        ]),
        [['devnet-chat', '100000', '400000', '150000']],
      );
      // Every miner of the metagraph (uids 1-3), not the validator; one with no earnings shows 0.
      assert.deepEqual(p.miners, [
        { uid: 1, hotkey: hex(0x101), unclaimed: '1238', claimed: '0' },
        { uid: 2, hotkey: hex(0x102), unclaimed: '400', claimed: '2500000' },
        { uid: 3, hotkey: hex(0x103), unclaimed: '0', claimed: '0' },
      ]);
      // Cached: a second read within the interval asks the chain stack nothing.
      const again = PaymentsSchema.parse(await (await fetch(`${http.url}/api/payments`)).json());
      assert.deepEqual(again, p);
      assert.ok((fake.payments.calls.get('chain_getPaymentsV1') ?? 0) - before <= 1);
    });

    it('/api/payments/accounts/:address: balance, pending withdrawal, spendable and wallet balance', async () => {
      const a = PaymentAccountSchema.parse(
        await (await fetch(`${http.url}/api/payments/accounts/${hex(0xc1)}`)).json(),
      );
      assert.ok(a.enabled);
      assert.equal(a.client, hex(0xc1));
      assert.equal(a.gateway, GATEWAY);
      assert.deepEqual(
        [a.balance, a.pendingWithdrawal, a.spendable, a.walletBalance, a.withdrawableAt],
        ['5000000', '1000000', '4000000', '123456789', 1_700_003_600],
      );
      assert.equal(a.token.decimals, 6);
      const none = PaymentAccountSchema.parse(
        await (await fetch(`${http.url}/api/payments/accounts/${hex(0xc2)}`)).json(),
      );
      assert.ok(none.enabled);
      assert.deepEqual([none.balance, none.spendable, none.walletBalance], ['0', '0', '0']);
    });

    it('refuses a bad address with 400 naming the field, asking the chain nothing', async () => {
      const before = fake.payments.calls.get('chain_getPaymentAccountV1') ?? 0;
      for (const bad of ['0x123', 'alice', `0x${'g'.repeat(40)}`, `${hex(0xc1)}00`, '%E0%A4%A']) {
        const r = await fetch(`${http.url}/api/payments/accounts/${bad}`);
        assert.equal(r.status, 400, bad);
        const body = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'bad_request');
        assert.match(body.error.message, /'address'/);
      }
      assert.equal(fake.payments.calls.get('chain_getPaymentAccountV1') ?? 0, before);
    });

    it('/api/payments/keys (admin): spend per key, cost per miner with its uid, settlements', async () => {
      const r = await fetch(`${http.url}/api/payments/keys`);
      assert.equal(r.status, 401);
      await r.arrayBuffer();
      const k = PaymentKeysSchema.parse(
        await (await fetch(`${http.url}/api/payments/keys`, { headers: admin })).json(),
      );
      assert.ok(k.enabled);
      assert.equal(k.token.symbol, 'sUSD');
      assert.deepEqual(k.keys, fake.payments.report.keys);
      assert.deepEqual(k.miners, [{ miner: hex(0x101), uid: 1, served: '2205', settled: '1650' }]);
      assert.deepEqual(k.settlements, fake.payments.report.settlements);
      assert.deepEqual(k.totals, fake.payments.report.totals);
      assert.equal(k.x402, undefined);
    });
  });

  describe('admin', () => {
    const routes: [string, string][] = [
      ['GET', '/api/admin'],
      ['GET', '/api/keys'],
      ['POST', '/api/keys'],
      ['DELETE', '/api/keys/key_00000001'],
      ['GET', '/api/nodes'],
      ['POST', '/api/nodes/miner1/models'],
      ['DELETE', '/api/nodes/miner1/models/devnet-chat'],
      ['POST', '/api/events/ticket'],
      ['GET', '/api/payments/keys'],
    ];

    it('refuses every admin route without the token or with a wrong one (401), changing nothing', async () => {
      const before = fake.keys.size;
      for (const headers of [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: TOKEN },
      ]) {
        for (const [method, path] of routes) {
          const r = await fetch(`${http.url}${path}`, {
            method,
            headers: { ...headers, 'content-type': 'application/json' },
            ...(method === 'POST' ? { body: JSON.stringify({ name: 'x', id: 'm', backend: 'use' }) } : {}),
          });
          assert.equal(r.status, 401, `${method} ${path}`);
          assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
          assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthorized');
        }
      }
      assert.equal(fake.keys.size, before);
      assert.equal(loaded.has('m'), false);
    });

    it("the operator's event stream opens with a single-use ticket, never the token in a URL", async () => {
      const ticket = async () => {
        const r = await fetch(`${http.url}/api/events/ticket`, { method: 'POST', headers: admin });
        assert.equal(r.status, 201);
        assert.equal(r.headers.get('cache-control'), 'no-store');
        return StreamTicketSchema.parse(await r.json());
      };
      const refused = async (path: string, message: RegExp) => {
        const r = await fetch(`${http.url}${path}`);
        assert.equal(r.status, 401, path);
        const body = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'unauthorized');
        assert.match(body.error.message, message);
      };
      const t = await ticket();
      assert.equal(t.ttlMs, 10_000);
      assert.ok(t.expiresAt > Date.now() && t.expiresAt <= Date.now() + 10_000);
      const [opEvent] = await snapshots(`${http.url}/api/events?ticket=${t.ticket}`, 1);
      assert.equal(SnapshotSchema.parse(opEvent).neurons.find((n) => n.uid === 1)?.score, 0.1);
      // Replayed (the browser's own retry, or someone who read the URL in a log): refused.
      await refused(`/api/events?ticket=${t.ticket}`, /already used/);
      // Forged, or too long to be one.
      await refused(`/api/events?ticket=${'A'.repeat(43)}`, /Unknown stream ticket/);
      await refused(`/api/events?ticket=${'A'.repeat(2000)}`, /Unknown stream ticket/);
      // A ticket opens the event stream alone: elsewhere it is no login.
      const other = await ticket();
      const snap = SnapshotSchema.parse(
        await (await fetch(`${http.url}/api/snapshot?ticket=${other.ticket}`)).json(),
      );
      assert.equal(snap.neurons.find((n) => n.uid === 1)?.score, null);
      assert.equal((await fetch(`${http.url}/api/keys?ticket=${other.ticket}`)).status, 401);
      // The public stream is still redacted.
      const [pubEvent] = await snapshots(`${http.url}/api/events`, 1);
      assert.ok(SnapshotSchema.parse(pubEvent).neurons.every((n) => n.score === null));
    });

    it('an expired stream ticket is refused', async () => {
      const short = await createDashboard(
        { netuid: NETUID, adminToken: TOKEN, staticDir: dir, streamTicketTtlMs: 30 },
        { engine: fake.engine, logger: silentLogger() },
      );
      const s = await listen((req, res) => {
        if (!short.handle(req, res)) res.writeHead(418).end();
      });
      try {
        const r = await fetch(`${s.url}/api/events/ticket`, { method: 'POST', headers: admin });
        const t = StreamTicketSchema.parse(await r.json());
        assert.equal(t.ttlMs, 30);
        await new Promise((done) => setTimeout(done, 80));
        const late = await fetch(`${s.url}/api/events?ticket=${t.ticket}`);
        assert.equal(late.status, 401);
        assert.match(((await late.json()) as { error: { message: string } }).error.message, /expired/);
      } finally {
        await short.close();
        s.server.closeAllConnections();
        await new Promise((r) => s.server.close(r));
      }
    });

    it('/api/admin answers with the token', async () => {
      const r = await fetch(`${http.url}/api/admin`, { headers: admin });
      assert.deepEqual(AdminSchema.parse(await r.json()), { admin: true, nodes: ['miner1', 'down'] });
    });

    it('creates, lists and revokes a key', async () => {
      const created = await fetch(`${http.url}/api/keys`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'alice', requestsPerMinute: 5 }),
      });
      assert.equal(created.status, 201);
      const key = CreatedKeySchema.parse(await created.json());
      assert.equal(key.name, 'alice');
      assert.equal(key.limits.requestsPerMinute, 5);
      assert.match(key.secret, /^sk-sub-/);
      const list = KeysSchema.parse(await (await fetch(`${http.url}/api/keys`, { headers: admin })).json());
      assert.ok(list.keys.some((k) => k.id === key.id && k.revokedAt === null));
      assert.equal(JSON.stringify(list).includes(key.secret), false, 'the secret is never listed');
      const revoked = await fetch(`${http.url}/api/keys/${key.id}`, { method: 'DELETE', headers: admin });
      assert.deepEqual(RevokedKeySchema.parse(await revoked.json()), { id: key.id, revoked: true });
      const again = await fetch(`${http.url}/api/keys/${key.id}`, { method: 'DELETE', headers: admin });
      assert.deepEqual(await again.json(), { id: key.id, revoked: false });
      const unknown = await fetch(`${http.url}/api/keys/key_99999999`, { method: 'DELETE', headers: admin });
      assert.equal(unknown.status, 404);
      await unknown.arrayBuffer();
      const bad = await fetch(`${http.url}/api/keys/nope`, { method: 'DELETE', headers: admin });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /'id'/);
    });

    it('refuses a bad body with 400 naming the field', async () => {
      const cases: [string, RegExp][] = [
        [JSON.stringify({ name: '' }), /'name'/],
        [JSON.stringify({ name: 'x', requestsPerMinute: 0 }), /'requestsPerMinute'/],
        [JSON.stringify({ name: 'x', extra: 1 }), /'extra'/],
        [JSON.stringify({}), /'name'/],
        ['{not json', /not valid JSON/],
        ['', /empty/],
      ];
      for (const [body, field] of cases) {
        const r = await fetch(`${http.url}/api/keys`, { method: 'POST', headers: admin, body });
        assert.equal(r.status, 400, body);
        const e = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(e.error.code, 'bad_request');
        assert.match(e.error.message, field);
      }
    });

    it('refuses a body over 64 KiB with 413', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
      const r = await fetch(`${http.url}/api/keys`, { method: 'POST', headers: admin, body: big });
      assert.equal(r.status, 413);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'too_large');
      // Chunked, without a Content-Length.
      const chunks = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(8 * 1024).fill(0x20));
          c.close();
        },
      });
      const s = await fetch(`${http.url}/api/keys`, {
        method: 'POST',
        headers: admin,
        body: chunks,
        duplex: 'half',
      } as RequestInit);
      assert.equal(s.status, 413);
      await s.arrayBuffer();
      assert.equal(fake.keys.size > 0, true);
    });

    it('lists the managed nodes, a down one as unreachable', async () => {
      const r = NodesSchema.parse(await (await fetch(`${http.url}/api/nodes`, { headers: admin })).json());
      assert.deepEqual(r.nodes, [
        { name: 'miner1', uid: null, reachable: true, models: [{ id: 'devnet-chat', backend: 'llama.cpp' }] },
        { name: 'down', uid: null, reachable: false, models: [] },
      ]);
    });

    it('loads and unloads a model on a managed node', async () => {
      const load = await fetch(`${http.url}/api/nodes/miner1/models`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: 'embed', backend: 'use' }),
      });
      assert.equal(load.status, 200);
      assert.deepEqual(LoadedModelSchema.parse(await load.json()), {
        node: 'miner1',
        model: { id: 'embed', backend: 'use' },
        replaced: false,
      });
      assert.equal(loaded.get('embed'), 'use');
      const invalid = await fetch(`${http.url}/api/nodes/miner1/models`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: 'x', backend: 'llama.cpp' }),
      });
      assert.equal(invalid.status, 400, 'llama.cpp needs a path');
      await invalid.arrayBuffer();
      const unload = await fetch(`${http.url}/api/nodes/miner1/models/embed`, {
        method: 'DELETE',
        headers: admin,
      });
      assert.deepEqual(UnloadedModelSchema.parse(await unload.json()), {
        node: 'miner1',
        id: 'embed',
        unloaded: true,
      });
      assert.equal(loaded.has('embed'), false);
      const gone = await fetch(`${http.url}/api/nodes/miner1/models/embed`, {
        method: 'DELETE',
        headers: admin,
      });
      assert.equal(gone.status, 404);
      await gone.arrayBuffer();
      const noNode = await fetch(`${http.url}/api/nodes/ghost/models/embed`, {
        method: 'DELETE',
        headers: admin,
      });
      assert.equal(noNode.status, 404);
      await noNode.arrayBuffer();
      const down = await fetch(`${http.url}/api/nodes/down/models/embed`, {
        method: 'DELETE',
        headers: admin,
      });
      assert.equal(down.status, 502);
      await down.arrayBuffer();
    });
  });
});

describe('dashboard payments on a chain without payments', () => {
  for (const mode of ['not-deployed', 'absent'] as const) {
    it(`answers { enabled: false } on every payments route (${mode === 'absent' ? 'METHOD_NOT_FOUND' : 'PAYMENTS_NOT_DEPLOYED'})`, async () => {
      const fake = startFakeNode({ payments: mode });
      const dashboard = await createDashboard(
        { netuid: NETUID, adminToken: TOKEN, staticDir: tmpdir() },
        { engine: fake.engine, logger: silentLogger() },
      );
      const http = await listen((req, res) => {
        if (!dashboard.handle(req, res)) res.writeHead(418).end();
      });
      try {
        const admin = { authorization: `Bearer ${TOKEN}` };
        for (const [path, headers] of [
          ['/api/payments', {}],
          [`/api/payments/accounts/0x${'c1'.repeat(20)}`, {}],
          ['/api/payments/keys', admin],
        ] as const) {
          const r = await fetch(`${http.url}${path}`, { headers });
          assert.equal(r.status, 200, path);
          assert.deepEqual(await r.json(), { enabled: false }, path);
        }
        const bad = await fetch(`${http.url}/api/payments/accounts/0x12`);
        assert.equal(bad.status, 400);
        await bad.arrayBuffer();
        const noToken = await fetch(`${http.url}/api/payments/keys`);
        assert.equal(noToken.status, 401);
        await noToken.arrayBuffer();
      } finally {
        await dashboard.close();
        http.server.closeAllConnections();
        await new Promise((r) => http.server.close(r));
        await fake.close();
      }
    });
  }
});
