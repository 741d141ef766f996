/**
 * The real chain stack under the node, in split mode, against a devnet: its namespace is served from
 * its own process, reads and streams pass through the supervisor, and it survives being killed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Devnet, startDevnet } from '@subnet/chain';
import { loadConfig } from '@subnet/config';
import { type EngineApi, type EngineClient, engineApi } from '@subnet/engine-api';
import { silentLogger, waitFor } from '@subnet/utils';
import { type SubnetNode, startNode } from '../src/index.js';
import { clientOf } from './client.js';

describe('chain stack in split mode', () => {
  let dataDir: string;
  let devnet: Devnet;
  let node: SubnetNode;
  let client: EngineClient<EngineApi>;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'subnet-node-chain-'));
    devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 3 });
    const config = loadConfig({
      env: {},
      flags: {
        dataDir,
        log: { level: 'silent' },
        node: {
          processMode: 'split',
          port: 0,
          stacks: [{ name: 'chain', module: '@subnet/chain/stack' }],
          restart: { initialDelayMs: 50, maxDelayMs: 500, resetAfterMs: 30_000 },
        },
        chain: {
          rpcUrl: devnet.anvil.rpcUrl,
          wallet: 'validator1',
          passwordFile: join(dataDir, 'devnet', 'wallet-password'),
          pollIntervalMs: 100,
        },
      },
    });
    node = await startNode(config, { logger: silentLogger() });
    client = await clientOf(node, config, engineApi);
  });
  after(async () => {
    await client.close();
    await node.stop();
    await devnet.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves chain_* from its own process with the validator hotkey unlocked', async () => {
    const [chain] = node.stacks();
    assert.equal(chain?.status, 'running');
    assert.notEqual(chain?.pid, process.pid);
    const status = await client.call('chain_getStatusV1', {});
    assert.equal(status.chainId, 31337);
    const validator = devnet.network.neurons?.find((n) => n.role === 'validator');
    assert.equal(status.hotkey, validator?.hotkey);
    const m = await client.call('chain_getMetagraphV1', { netuid: 1 });
    assert.deepEqual(
      m.neurons.map((n) => n.role),
      ['validator', 'miner', 'miner', 'miner'],
    );
    assert.ok(readFileSync(join(dataDir, 'devnet.json'), 'utf8').includes('"netuid": 1'));
  });

  it('relays a metagraph stream, and comes back after its process is killed', async () => {
    const stream = await client.stream('chain_watchMetagraphV1', { netuid: 1 });
    for await (const m of stream) {
      assert.equal(m.neurons.length, 4);
      break;
    }
    const pid = node.stacks()[0]?.pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      () => (node.stacks()[0]?.status === 'running' && node.stacks()[0]?.pid !== pid ? true : undefined),
      {
        timeoutMs: 15_000,
        what: 'the chain stack to restart',
      },
    );
    assert.equal((await client.call('chain_getStatusV1', {})).chainId, 31337);
  });
});
