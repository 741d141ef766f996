/**
 * The validator loop end to end on loopback: a devnet chain, one validator node (chain, network, app with
 * the reference model, consensus) and four miners serving the model id `bigram` — three with the reference
 * weights, one with a bigram model of another corpus (a cheaper, different model under the same id).
 *
 * Shows: challenges reach the miners, the dishonest miner fails the logprob audit while the honest ones pass
 * it (a real llama.cpp teacher-forced audit), its weight stays far below the
 * honest miners', weights are committed and then revealed on chain (the `WeightsRevealed` event), and the
 * verification records carry receipts that verify.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateModel } from '@subnet/app';
import { type Devnet, startDevnet } from '@subnet/chain';
import { loadConfig } from '@subnet/config';
import { type EngineApi, type EngineClient, engineApi } from '@subnet/engine-api';
import { verifyReceipt } from '@subnet/network';
import { freePortRange, silentLogger, waitFor } from '@subnet/utils';
import { createPublicClient, type Hex, hexToBytes, http, parseAbiItem } from 'viem';
import { type SubnetNode, startNode } from '../src/index.js';
import { clientOf } from './client.js';

const MINERS = 4;
const DISHONEST = `miner${MINERS}`;
const MODEL = 'bigram';

const unpackU16 = (packed: Hex): number[] => {
  const b = hexToBytes(packed);
  return Array.from(
    { length: b.length / 2 },
    (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number),
  );
};

describe('the validator loop on a devnet with one dishonest miner', { timeout: 120_000 }, () => {
  let dir: string;
  let devnet: Devnet;
  const nodes = new Map<string, { node: SubnetNode; client: EngineClient<EngineApi> }>();
  const validator = () => nodes.get('validator1')?.client as EngineClient<EngineApi>;
  const neuron = (name: string) => devnet.network.neurons?.find((n) => n.wallet === name);
  const uidOf = (name: string) => neuron(name)?.uid as number;

  async function launch(name: string, model: string | undefined, consensus: boolean): Promise<void> {
    const n = neuron(name);
    const [tcp, ws] = (n?.multiaddrs ?? []).map((a) => Number(a.split('/')[4]));
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: dir,
        log: { level: 'silent' },
        node: {
          port: 0,
          stacks: [
            { name: 'chain', module: '@subnet/chain/stack' },
            { name: 'network', module: '@subnet/network/stack' },
            ...(model === undefined ? [] : [{ name: 'app', module: '@subnet/app/stack' }]),
            ...(consensus ? [{ name: 'consensus', module: '@subnet/consensus/stack' }] : []),
          ],
        },
        chain: {
          rpcUrl: devnet.anvil.rpcUrl,
          wallet: name,
          passwordFile: join(dir, 'devnet', 'wallet-password'),
          pollIntervalMs: 200,
        },
        network: {
          listen: [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${ws}/ws`],
          heartbeatIntervalMs: 1000,
          synapse: { receiptIntervalMs: 200 },
        },
        ...(model === undefined
          ? {}
          : {
              app: {
                models: [{ id: MODEL, backend: 'llama.cpp', path: join(dir, model), contextLength: 256 }],
              },
            }),
        consensus: {
          challengeIntervalMs: 500,
          maxTokens: 24,
          challengeTimeoutMs: 10_000,
          receiptTimeoutMs: 10_000,
          ewmaAlpha: 0.3,
        },
      },
    });
    const node = await startNode(config, { logger: silentLogger() });
    nodes.set(name, { node, client: await clientOf(node, config, engineApi) });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-node-validator-'));
    writeFileSync(
      join(dir, 'honest.gguf'),
      generateModel({ kind: 'bigram', corpus: 'the quick brown fox jumps over the lazy dog. '.repeat(40) }),
    );
    writeFileSync(
      join(dir, 'cheap.gguf'),
      generateModel({
        kind: 'bigram',
        corpus: 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(40),
      }),
    );
    devnet = await startDevnet({
      dataDir: dir,
      port: 0,
      blockTimeS: 1,
      validators: 1,
      miners: MINERS,
      p2pBasePort: await freePortRange(2 * (MINERS + 1)),
    });
    await Promise.all([
      launch('validator1', 'honest.gguf', true),
      ...Array.from({ length: MINERS }, (_, i) =>
        launch(`miner${i + 1}`, `miner${i + 1}` === DISHONEST ? 'cheap.gguf' : 'honest.gguf', false),
      ),
    ]);
  });

  after(async () => {
    await Promise.allSettled(
      [...nodes.values()].map(async (r) => {
        await r.client.close();
        await r.node.stop();
      }),
    );
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the dishonest miner fails the audit; honest miners pass it', async () => {
    const cheat = uidOf(DISHONEST);
    // Challenges are drawn like organic traffic (chat and completion, greedy and sampled): wait for an
    // audited answer of the cheat and audited answers of honest miners.
    const audited = (v: { miners: { uid: number; audit: unknown }[] }, honest: boolean) =>
      v.miners.some((m) => m.audit !== null && (m.uid === cheat) !== honest);
    const { verifications } = await waitFor(
      async () => {
        const r = await validator().call('consensus_listVerificationsV1', { limit: 200 });
        return r.verifications.some((v) => audited(v, false)) && r.verifications.some((v) => audited(v, true))
          ? r
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'audited answers of the dishonest and the honest miners' },
    );
    for (const v of verifications) {
      for (const m of v.miners) {
        if (m.audit === null) continue;
        if (m.uid === cheat) {
          assert.equal(m.verdict, 'fail', JSON.stringify(m));
          assert.equal(m.audit.passed, false);
        } else {
          assert.equal(m.verdict, 'pass', JSON.stringify(m));
          assert.ok(m.audit.passed && m.audit.tokens > 0, JSON.stringify(m.audit));
          if (v.majority !== null) assert.equal(m.text, v.majority, 'honest miners agree');
        }
      }
    }
  });

  it('weights are committed, then revealed on chain, with the dishonest miner far below the honest ones', async () => {
    const status = await waitFor(
      async () => {
        const s = await validator().call('consensus_getStatusV1', {});
        return s.weights.commits > 0 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a weight commit' },
    );
    assert.equal(status.uid, uidOf('validator1'));
    assert.equal(status.hotkey, neuron('validator1')?.hotkey.toLowerCase());
    const commitEpoch = status.weights.lastCommit?.epoch as number;
    // Move the chain to the reveal epoch instead of waiting a whole tempo of 1 s blocks.
    const subnet = await validator().call('chain_getSubnetV1', { netuid: 1 });
    const rpc = createPublicClient({ transport: http(devnet.anvil.rpcUrl) });
    await rpc.request({
      method: 'anvil_mine' as never,
      params: [`0x${(subnet.params.tempo * subnet.params.commitRevealPeriod).toString(16)}`] as never,
    });
    const revealed = await waitFor(
      async () => {
        const s = await validator().call('consensus_getStatusV1', {});
        return s.weights.reveals > 0 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the weight reveal' },
    );
    // The reveal of that commit, or of a later one: on a busy machine the 1 s blocks may have carried the
    // validator through more epochs (and commits) before the status was read.
    const revealEpoch = revealed.weights.lastReveal?.epoch as number;
    assert.ok(revealEpoch >= commitEpoch, `revealed epoch ${revealEpoch}, committed ${commitEpoch}`);
    const logs = await rpc.getLogs({
      address: devnet.network.contracts.weights,
      event: parseAbiItem(
        'event WeightsRevealed(uint16 indexed netuid, uint16 indexed uid, uint64 epoch, bytes uids, bytes weights)',
      ),
      fromBlock: 0n,
    });
    const log = logs.find((l) => l.args.uid === uidOf('validator1') && Number(l.args.epoch) === revealEpoch);
    assert.ok(log !== undefined, 'a WeightsRevealed event of the validator');
    const uids = unpackU16(log.args.uids as Hex);
    const weights = unpackU16(log.args.weights as Hex);
    const sum = weights.reduce((a, b) => a + b, 0);
    const weightOf = (name: string) => weights[uids.indexOf(uidOf(name))] ?? 0;
    assert.ok(weightOf(DISHONEST) < 0.05 * sum, `dishonest weight ${weightOf(DISHONEST)} of ${sum}`);
    assert.ok(weightOf('miner1') + weightOf('miner2') + weightOf('miner3') > 0.95 * sum);
    const scores = new Map(revealed.miners.map((m) => [m.uid, m]));
    const cheat = scores.get(uidOf(DISHONEST));
    assert.ok(cheat !== undefined && cheat.failed > 0 && cheat.passed === 0, JSON.stringify(cheat));
  });

  it('verification records carry receipts signed by the miners that verify', async () => {
    const { verifications } = await waitFor(
      async () => {
        const r = await validator().call('consensus_listVerificationsV1', { limit: 50 });
        return r.verifications.some((v) => v.miners.some((m) => m.receipt !== null)) ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'a receipt in the verification records' },
    );
    const hotkeys = new Map(devnet.network.neurons?.map((n) => [n.uid, n.hotkey.toLowerCase()]));
    let checked = 0;
    for (const v of verifications) {
      for (const m of v.miners) {
        if (m.receipt === null) continue;
        assert.equal(m.receipt.requestId, m.requestId);
        assert.equal(m.receipt.miner, hotkeys.get(m.uid));
        assert.equal(await verifyReceipt(m.receipt as never), true);
        checked += 1;
      }
    }
    assert.ok(checked >= 2, `${checked} receipts checked`);
  });
});
