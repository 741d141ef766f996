/**
 * The dashboard on the gateway's port, with the real gateway stack behind a real Engine API server (no
 * chain, network or consensus stack: the dashboard shows an empty subnet and keeps asking): the admin
 * token file is created 0600, `/api/` and the web app answer while `/v1` stays the OpenAI API, and a key
 * created and revoked through the dashboard goes through the real key store (it authenticates at `/v1`,
 * then is refused). With `gateway.dashboard.enabled: false` only `/v1` answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '@subnet/config';
import { CreatedKeySchema, KeysSchema, SnapshotSchema } from '@subnet/dashboard';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  type EngineApi,
  type EngineClient,
  type EngineServer,
  engineApi,
  type StackInstance,
} from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { Registry } from 'prom-client';
import gatewayStack, { type gatewayApi } from '../src/stack.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

interface Running {
  url: string;
  server: EngineServer;
  engine: EngineClient<EngineApi>;
  stack: StackInstance<typeof gatewayApi>;
  abort: AbortController;
}

async function startGateway(dataDir: string, dashboard: { enabled: boolean }): Promise<Running> {
  const port = await freePort();
  const server = createEngineServer({ maxStreams: 64, streamDeadlineMs: 3_600_000 });
  const engine = createEngineClient(engineApi, createInProcessTransport(server));
  const abort = new AbortController();
  const config = ConfigSchema.parse({ dataDir, gateway: { port, dashboard } });
  const stack = await gatewayStack.create(
    { dataDir, gateway: config.gateway, netuid: 1 },
    { logger: silentLogger(), registry: new Registry(), engine, signal: abort.signal },
  );
  server.register(gatewayStack.api, stack.handlers);
  return { url: `http://127.0.0.1:${port}`, server, engine, stack, abort };
}

async function stop(r: Running): Promise<void> {
  r.abort.abort();
  await r.stack.stop?.();
  await r.engine.close();
  await r.server.close();
}

describe('the dashboard on the gateway', () => {
  let dir: string;
  let gw: Running;
  let token: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-gateway-dashboard-'));
    gw = await startGateway(dir, { enabled: true });
    token = readFileSync(join(dir, 'gateway-admin-token'), 'utf8').trim();
  });

  after(async () => {
    await stop(gw);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the admin token file, 0600, with a random token', () => {
    assert.equal(statSync(join(dir, 'gateway-admin-token')).mode & 0o777, 0o600);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  });

  it('serves /api/ and the web app, and leaves /v1 to the OpenAI API', async () => {
    const snap = await fetch(`${gw.url}/api/snapshot`);
    assert.equal(snap.status, 200);
    const s = SnapshotSchema.parse(await snap.json());
    assert.deepEqual(s.neurons, [], 'no chain stack: an empty subnet');
    const page = await fetch(`${gw.url}/`);
    assert.ok(
      page.status === 200 || page.status === 503,
      `the app or the page saying to build it: ${page.status}`,
    );
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    await page.arrayBuffer();
    const v1 = await fetch(`${gw.url}/v1/models`);
    assert.equal(v1.status, 401);
    const body = (await v1.json()) as { error: { type: string } };
    assert.equal(body.error.type, 'invalid_request_error', "OpenAI's error shape");
  });

  it('creates and revokes a key in the real key store, with the admin token only', async () => {
    const refused = await fetch(`${gw.url}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sneaky' }),
    });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${gw.url}/api/keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'alice', tokensPerMinute: 1000 }),
    });
    assert.equal(created.status, 201);
    const key = CreatedKeySchema.parse(await created.json());
    assert.equal(key.limits.tokensPerMinute, 1000);
    const list = KeysSchema.parse(await (await fetch(`${gw.url}/api/keys`, { headers: admin })).json());
    assert.deepEqual(
      list.keys.map((k) => k.name),
      ['alice'],
      'the refused request created nothing',
    );

    const ok = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key.secret}` } });
    assert.notEqual(ok.status, 401, 'the new key authenticates at /v1');
    await ok.arrayBuffer();
    const revoked = await fetch(`${gw.url}/api/keys/${key.id}`, { method: 'DELETE', headers: admin });
    assert.deepEqual(await revoked.json(), { id: key.id, revoked: true });
    const gone = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key.secret}` } });
    assert.equal(gone.status, 401, 'a revoked key is refused');
    await gone.arrayBuffer();
  });

  it('serves only /v1 when the dashboard is disabled', async () => {
    const off = await startGateway(mkdtempSync(join(tmpdir(), 'subnet-gateway-nodash-')), { enabled: false });
    try {
      const r = await fetch(`${off.url}/api/snapshot`);
      assert.equal(r.status, 404);
      await r.arrayBuffer();
    } finally {
      await stop(off);
    }
  });
});
