/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a running devnet
 * (`subnet devnet` with its nodes; one validator serving the gateway and the dashboard, three miners, short
 * epochs): the overview loads, the leaderboard lists the three miners and sorting changes the order, the
 * emissions chart renders once an epoch is final, a neuron's page shows its charts, creating a key is refused
 * without the admin login and works with it (the new key then works on /v1), and a logged-in admin sees the
 * miners' live scores over the event stream (opened with a single-use ticket, never the token in a URL; the
 * public view has none). A screenshot of each page (and
 * of the leaderboard on a phone-sized screen) is saved under `artifacts/dashboard/`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePortRange } from '@subnet/utils';
import { type Browser, chromium, type Page } from 'playwright-core';
import { devnetPids, firstLine, spawnDevnet, stopDevnet } from './devnetProcess.js';

const ARTIFACTS = fileURLToPath(new URL('../../../../artifacts/dashboard/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

interface DevnetInfo {
  dashboardUrl: string;
  adminToken: string;
  gatewayUrl: string;
  anvilPid: number;
  nodes: { wallet: string; role: string; uid: number; pid: number }[];
}

describe('the dashboard in Chromium against a devnet', { timeout: 240_000 }, () => {
  let dir: string;
  let proc: ChildProcess;
  let info: DevnetInfo;
  let browser: Browser;
  let page: Page;

  const shot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };
  const open = async (hash: string, testid: string) => {
    await page.goto(`${info.dashboardUrl.replace(/\/$/, '')}/#${hash}`);
    await page.getByTestId(testid).waitFor({ timeout: 20_000 });
  };
  const miners = async () =>
    page.$$eval('[data-testid="leaderboard-row"]', (rows) =>
      rows.map((r) => ({ uid: Number(r.getAttribute('data-uid')), text: r.textContent ?? '' })),
    );

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium); .ci/run does`,
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'subnet-dashboard-'));
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(await freePortRange(40)),
      SUBNET_DEVNET__VALIDATORS: '1',
      SUBNET_DEVNET__TEMPO: '10',
    });
    info = JSON.parse(await firstLine(proc)) as DevnetInfo;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(
    async () => {
      await browser?.close();
      if (proc !== undefined) await stopDevnet(proc, devnetPids(info));
      rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  it('the overview loads with the subnet, its block and epoch', async () => {
    await open('/', 'page-overview');
    await page.getByText('devnet-llm').first().waitFor({ timeout: 20_000 });
    // Live: the block number on the page moves as blocks arrive over server-sent events.
    const block = page.getByTestId('overview-block');
    const first = Number((await block.textContent())?.replace(/\D/g, ''));
    await page.waitForFunction(
      `Number(document.querySelector('[data-testid="overview-block"]')?.textContent?.replace(/\\D/g, '')) > ${first}`,
      undefined,
      { timeout: 15_000 },
    );
    await shot('overview');
  });

  it('the leaderboard lists the three miners; sorting changes the order; search filters', async () => {
    await open('/leaderboard', 'page-leaderboard');
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid="leaderboard-row"]')].filter((r) => /miner/.test(r.textContent ?? '')).length === 3`,
      undefined,
      { timeout: 30_000 },
    );
    const rows = await miners();
    assert.deepEqual(
      rows.filter((r) => /miner/.test(r.text)).map((r) => r.uid),
      [1, 2, 3],
    );
    const before = rows.map((r) => r.uid);
    await page.getByTestId('sort-uid').click();
    await page.getByTestId('sort-uid').click();
    const after = (await miners()).map((r) => r.uid);
    assert.deepEqual(
      after,
      [...before].sort((a, b) => b - a),
    );
    assert.notDeepEqual(after, before, 'sorting by uid descending reversed the order');
    await page.getByTestId('leaderboard-search').fill('validator');
    const filtered = await miners();
    assert.ok(filtered.length >= 1 && filtered.every((r) => /validator/.test(r.text)));
    await page.getByTestId('leaderboard-search').fill('');
    await shot('leaderboard');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('leaderboard-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('a neuron page shows its charts and verifications; the emissions chart renders per epoch', async () => {
    await open('/neurons/1', 'page-neuron');
    await page.locator('[data-testid^="chart-"]').first().waitFor({ timeout: 20_000 });
    await shot('neuron');
    await open('/emissions', 'page-emissions');
    // The chart has a bar per finalised epoch: wait for the first one (tempo 10 blocks).
    await page.waitForFunction(
      `document.querySelectorAll('[data-testid="chart-emissions"] rect').length > 0`,
      undefined,
      { timeout: 90_000 },
    );
    await shot('emissions');
    await open('/models', 'page-models');
    await page.getByText('devnet-chat').first().waitFor({ timeout: 20_000 });
    await shot('models');
  });

  it('the payments page shows the prices and looks up the funded client’s balance', async () => {
    const file = JSON.parse(readFileSync(join(dir, '.subnet', 'devnet.json'), 'utf8')) as {
      payments: { client: string };
    };
    await open('/payments', 'page-payments');
    await page.getByTestId('price-row').filter({ hasText: 'devnet-chat' }).waitFor({ timeout: 20_000 });
    await page.getByTestId('payments-address').fill(file.payments.client);
    await page.getByTestId('payments-lookup').click();
    const account = page.getByTestId('payments-account');
    await account.waitFor({ timeout: 20_000 });
    // The devnet funds client1 with 1,000 sUSD in its wallet; nothing is deposited yet.
    await account.getByText('1,000.000000 sUSD').waitFor({ timeout: 10_000 });
    await shot('payments');
  });

  it('creating a key is refused without the admin login and works with it', async () => {
    await open('/keys', 'page-keys');
    // Without a login the server refuses, whatever the page shows.
    const refused = await page.evaluate(async () => {
      const res = await fetch('/api/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'sneaky' }),
      });
      return res.status;
    });
    assert.equal(refused, 401);
    const wrong = await page.evaluate(async () => {
      const res = await fetch('/api/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer not-the-token' },
        body: JSON.stringify({ name: 'sneaky' }),
      });
      return res.status;
    });
    assert.equal(wrong, 401);
    await shot('keys-logged-out');

    await page.getByTestId('login-token').fill('not-the-token');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('error').first().waitFor({ timeout: 10_000 });
    await page.getByTestId('login-token').fill(info.adminToken);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('key-name').fill('from-the-dashboard');
    await page.getByTestId('key-create').click();
    const secret = (await page.getByTestId('key-secret').textContent({ timeout: 10_000 }))?.trim() ?? '';
    assert.match(secret, /^sk-sub-/);
    await page.getByTestId('key-row').filter({ hasText: 'from-the-dashboard' }).waitFor({ timeout: 10_000 });
    await shot('keys');
    const models = await fetch(`${info.gatewayUrl.replace(/\/$/, '')}/v1/models`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(models.status, 200, 'the key created in the dashboard works on the OpenAI API');
  });

  it('a logged-in admin sees the live scores over the event stream; the token never goes in a URL', async () => {
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    const scores = () =>
      page.$$eval('[data-testid="leaderboard-row"][data-role="miner"] td[data-label="Score"]', (cells) =>
        cells.map((c) => c.textContent?.trim() ?? ''),
      );
    // Logged out: the public view has no scores.
    await page.getByTestId('logout').click();
    await open('/leaderboard', 'page-leaderboard');
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid="leaderboard-row"][data-role="miner"] td[data-label="Score"]')].map((c) => c.textContent.trim()).join() === '—,—,—'`,
      undefined,
      { timeout: 20_000 },
    );
    // Logged in: the page trades the token for a stream ticket and shows the miners' scores.
    await page.getByTestId('login-token').fill(info.adminToken);
    await page.getByTestId('login-submit').click();
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid="leaderboard-row"][data-role="miner"] td[data-label="Score"]')].some((c) => /^[0-9.]+$/.test(c.textContent.trim()))`,
      undefined,
      { timeout: 30_000 },
    );
    assert.ok((await scores()).some((t) => /^[0-9.]+$/.test(t)));
    await shot('leaderboard-admin');
    assert.ok(
      urls.some((u) => /\/api\/events\?ticket=[A-Za-z0-9_-]{43}$/.test(u)),
      'the stream opened with a ticket',
    );
    assert.ok(!urls.some((u) => u.includes(info.adminToken)), 'no URL carries the admin token');
    // The browser's own EventSource: a ticket opens the operator's stream once; its replay is refused.
    const seen = await page.evaluate(async (token) => {
      const r = await fetch('/api/events/ticket', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const { ticket } = (await r.json()) as { ticket: string };
      const url = `/api/events?ticket=${encodeURIComponent(ticket)}`;
      const first = await new Promise<string>((resolve) => {
        const source = new EventSource(url);
        source.addEventListener('snapshot', (e) => {
          source.close();
          resolve((e as unknown as { data: string }).data);
        });
        source.addEventListener('error', () => {
          source.close();
          resolve('error');
        });
      });
      const replay = await fetch(url);
      return { first, replay: replay.status };
    }, info.adminToken);
    const snapshot = JSON.parse(seen.first) as { neurons: { role: string; score: number | null }[] };
    assert.ok(
      snapshot.neurons.some((n) => n.role === 'miner' && n.score !== null),
      'scores on the stream',
    );
    assert.equal(seen.replay, 401, 'a spent ticket is refused');
  });
});
