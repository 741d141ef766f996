/**
 * watchMetagraph owns its polling: it sees changes, survives an RPC outage by reporting errors, and after its
 * signal aborts (even while the RPC is failing) it sends nothing more. A fault-injecting proxy sits between
 * the watcher and a real anvil and counts what reaches it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '@subnet/utils';
import {
  createSubnetClient,
  type Devnet,
  type Metagraph,
  startDevnet,
  watchMetagraph,
} from '../src/index.js';

describe('watchMetagraph', () => {
  let dir: string;
  let devnet: Devnet;
  let proxy: Server;
  let proxyUrl: string;
  let requests = 0;
  let failing = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-watch-'));
    devnet = await startDevnet({ dataDir: dir, port: 0, blockTimeS: 60, validators: 1, miners: 1 });
    const target = new URL(devnet.anvil.rpcUrl);
    proxy = createServer((req, res) => {
      requests += 1;
      if (failing) {
        res.writeHead(503).end('down');
        return;
      }
      const up = request(
        { host: target.hostname, port: target.port, path: '/', method: 'POST', headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('emits a snapshot, reports an outage, and sends nothing once aborted during it', async () => {
    const sdk = createSubnetClient({
      rpcUrl: proxyUrl,
      chainId: devnet.network.chainId,
      contracts: devnet.network.contracts,
      pollingIntervalMs: 50,
      retryCount: 0,
    });
    const seen: Metagraph[] = [];
    const errors: Error[] = [];
    const ac = new AbortController();
    watchMetagraph(
      sdk.chain,
      { netuid: 1 },
      { onChange: (m) => seen.push(m), onError: (e) => errors.push(e), signal: ac.signal },
    );
    await waitFor(() => (seen.length >= 1 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the first snapshot',
    });
    assert.equal(seen[0]?.neurons.length, 2);

    failing = true;
    await waitFor(() => (errors.length >= 2 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'errors during the outage',
    });
    assert.match(errors[0]?.message ?? '', /watching metagraph events/);
    ac.abort();
    await sleep(200);
    const after = requests;
    await sleep(500);
    assert.equal(requests, after, 'no request reaches the RPC once the watch is aborted');
    failing = false;
  });
});
