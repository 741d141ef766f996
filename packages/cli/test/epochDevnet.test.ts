/**
 * Issue 7 end to end, as `npm start` runs it: the devnet's three validators score the miners (challenges,
 * redundancy, logprob audits against their reference model), commit and reveal weights, settle each epoch
 * with Yuma, propose and attest it on chain, and the proposer claims every leaf. One miner cheats: it serves
 * a cheaper model under the advertised id. Within a few short epochs its share of the miners' emission falls
 * below 5 % while the honest miners hold at least 95 %, and the honest miners' coldkeys are paid.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineApi,
  type EngineClient,
  engineApi,
  loadOrCreateJwtSecret,
} from '@subnet/engine-api';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));
const TEMPO = 10;

interface NodesInfo {
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string }[];
}

async function firstLine(proc: ChildProcess): Promise<string> {
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`subnet devnet exited with ${code} before it was ready:\n${stderr}`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => line as string), exited]);
  } finally {
    lines.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('epochs on the devnet: three validators, one dishonest miner', { timeout: 240_000 }, () => {
  let dir: string;
  let proc: ChildProcess;
  let info: NodesInfo;
  let engine: EngineClient<EngineApi>;
  const p2pBasePort = 30_000 + Math.floor(Math.random() * 2000) * 10;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-epoch-devnet-'));
    proc = spawn(process.execPath, [BIN, '--json', 'devnet', '--port', '0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SUBNET_DEVNET__GATEWAY_PORT: '0',
        SUBNET_DEVNET__P2P_BASE_PORT: String(p2pBasePort),
        SUBNET_DEVNET__DISHONEST_MINERS: '1',
        SUBNET_DEVNET__TEMPO: String(TEMPO),
      },
    });
    info = JSON.parse(await firstLine(proc)) as NodesInfo;
    const validator = info.nodes.find((n) => n.wallet === 'validator2');
    assert.ok(validator !== undefined);
    const secret = await loadOrCreateJwtSecret(join(dir, '.subnet', 'engine-jwt.hex'));
    engine = createEngineClient(
      engineApi,
      createHttpTransport({
        url: validator.url,
        token: createTokenSigner(secret, { subject: 'test', lifetimeS: 60 }),
      }),
    );
  });
  after(async () => {
    await engine?.close();
    if (proc !== undefined && proc.exitCode === null) {
      proc.kill('SIGINT');
      await once(proc, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('settles three epochs with miner emission; the cheat gets < 5 % of it and is paid nothing', async () => {
    assert.deepEqual(
      info.nodes.map((n) => [n.wallet, n.role, n.uid]),
      [
        ['validator1', 'validator', 0],
        ['validator2', 'validator', 1],
        ['validator3', 'validator', 2],
        ['miner1', 'miner', 3],
        ['miner2', 'miner', 4],
        ['miner3', 'miner', 5],
      ],
    );
    const cheat = 5;
    const honest = [3, 4];
    // Epochs whose miners' pool went to miners (weights revealed): the first ones pay only the owner.
    const paid: { epoch: number; byUid: Map<number, bigint>; validators: Map<number, number> }[] = [];
    const seen = new Set<number>();
    const deadline = Date.now() + 200_000;
    while (paid.length < 3) {
      assert.ok(Date.now() < deadline, `only ${paid.length} epochs paid miners in time (saw ${[...seen]})`);
      const status = await engine.call('chain_getEpochV1', { netuid: 1 });
      for (let e = Math.max(0, status.epoch - 3); e <= status.epoch; e++) {
        if (seen.has(e)) continue;
        const view = await engine.call('chain_getEpochV1', { netuid: 1, epoch: e });
        if (view.status === 'expired') seen.add(e);
        if (view.status !== 'finalised') continue;
        seen.add(e);
        const r = await engine.call('chain_getEpochResultsV1', { netuid: 1, epoch: e });
        const byUid = new Map(r.results.map((x) => [x.uid, BigInt(x.emission)]));
        const miners = [...honest, cheat].reduce((a, uid) => a + (byUid.get(uid) ?? 0n), 0n);
        if (miners > 0n) {
          paid.push({ epoch: e, byUid, validators: new Map(r.results.map((x) => [x.uid, x.dividends])) });
        }
      }
      await sleep(1000);
    }
    paid.sort((a, b) => a.epoch - b.epoch);
    const third = paid[2] as (typeof paid)[number];
    const total = [...honest, cheat].reduce((a, uid) => a + (third.byUid.get(uid) ?? 0n), 0n);
    const cheatShare = Number(((third.byUid.get(cheat) ?? 0n) * 10_000n) / total) / 10_000;
    assert.ok(
      cheatShare < 0.05,
      `the dishonest miner holds ${cheatShare} of epoch ${third.epoch}'s miner emission`,
    );
    const honestShare = Number(((total - (third.byUid.get(cheat) ?? 0n)) * 10_000n) / total) / 10_000;
    assert.ok(honestShare >= 0.95, `honest miners hold ${honestShare}`);
    for (const uid of honest) assert.ok((third.byUid.get(uid) ?? 0n) > 0n, `honest uid ${uid} earns`);
    // Every validator earns dividends (each set weights; Yuma 3 bonds grow from its first reveal on).
    const d = [0, 1, 2].map((uid) => third.validators.get(uid) ?? 0);
    assert.ok(
      d.every((x) => x > 0.1),
      `dividends ${d}`,
    );

    // The validators caught it the way the issue asks: audits (and the majority) fail the cheat.
    const { verifications } = await engine.call('consensus_listVerificationsV1', { uid: cheat, limit: 20 });
    const verdicts = verifications.flatMap((v) =>
      v.miners.filter((m) => m.uid === cheat).map((m) => m.verdict),
    );
    assert.ok(verdicts.includes('fail') && !verdicts.includes('pass'), `cheat verdicts ${verdicts}`);
    const withReceipt = verifications.flatMap((v) => v.miners).filter((m) => m.receipt !== null);
    assert.ok(withReceipt.length > 0, 'verification records keep the miners’ signed receipts');

    // The metagraph shows the results; and claims land: the proposer claims every leaf of the epoch.
    const metagraph = await engine.call('chain_getMetagraphV1', { netuid: 1 });
    const cheatNeuron = metagraph.neurons.find((n) => n.uid === cheat);
    assert.equal(cheatNeuron?.incentive, 0);
    for (const uid of honest) assert.ok((metagraph.neurons.find((n) => n.uid === uid)?.incentive ?? 0) > 0.3);
    const claimDeadline = Date.now() + 60_000;
    for (;;) {
      const view = await engine.call('chain_getEpochV1', { netuid: 1, epoch: third.epoch });
      if (view.proposal !== null && view.claimed === view.proposal.total) break;
      assert.ok(
        Date.now() < claimDeadline,
        `epoch ${third.epoch}: claimed ${view.claimed} of ${view.proposal?.total}`,
      );
      await sleep(1000);
    }
    const agent = await engine.call('consensus_getEpochV1', {});
    assert.equal(agent.agent.enabled, true);
    assert.equal(agent.agent.mismatches, 0, 'every proposal equalled this validator’s own settlement');
    assert.ok(agent.agent.proposed + agent.agent.attested > 0);
  });
});
