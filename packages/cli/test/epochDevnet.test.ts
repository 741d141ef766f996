/**
 * Issue 7 end to end, as `npm start` runs it: the devnet's three validators score the miners (challenges,
 * redundancy, logprob audits against their reference model), commit and reveal weights, settle each epoch
 * with Yuma, propose and attest it on chain, and the proposer claims every leaf. One miner cheats: it serves
 * a cheaper model under the advertised id to everything it does not take for a challenge
 * (`SUBNET_DEVNET__DISHONEST_MINERS=1`, examples/adversaries/challengeSpotter.mjs). Within a few short
 * epochs its share of the miners' emission falls below 5 % while the honest miners hold at least 95 %, and every leaf is claimed. A fourth validator with
 * under 1/3 of the stake, registered by the test through the CLI, reports skewed weights (everything on the
 * cheat): it earns far lower dividends per stake than the honest validators. Each epoch's proposer records its
 * results in NeuronRegistry, so the honest miners' pruning score is non-zero and the cheat's zero.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSubnetClient, loadNetwork } from '@subnet/chain';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { freePortRange } from '@subnet/utils';

import {
  type CliRun,
  devnetEngine,
  devnetPids,
  firstLine,
  runCli,
  setEthBalance,
  spawnDevnet,
  stopDevnet,
} from './devnetProcess.js';

const TEMPO = 10;

interface NodesInfo {
  anvilPid: number;
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `subnet …` in `cwd` against the devnet at `rpcUrl`. */
const cli = (args: string[], cwd: string, rpcUrl: string) =>
  runCli(args, cwd, rpcUrl, 'skewed-validator-password');

async function ok(run: Promise<CliRun>, what: string): Promise<string> {
  const r = await run;
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

describe('epochs on the devnet: three validators, one dishonest miner', { timeout: 420_000 }, () => {
  let dir: string;
  let proc: ChildProcess;
  let info: NodesInfo;
  let engine: EngineClient<EngineApi>;
  const validators: EngineClient<EngineApi>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-epoch-devnet-'));
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(await freePortRange(40)),
      SUBNET_DEVNET__DISHONEST_MINERS: '1',
      SUBNET_DEVNET__TEMPO: String(TEMPO),
    });
    info = JSON.parse(await firstLine(proc)) as NodesInfo;
    const validator = info.nodes.find((n) => n.wallet === 'validator2');
    assert.ok(validator !== undefined);
    engine = await devnetEngine(dir, validator.url);
    for (const n of info.nodes.filter((x) => x.role === 'validator'))
      validators.push(await devnetEngine(dir, n.url));
  });
  after(
    async () => {
      await engine?.close();
      await Promise.all(validators.map((v) => v.close()));
      if (proc !== undefined) await stopDevnet(proc, devnetPids(info));
      rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

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
    const rpcUrl = (
      JSON.parse(readFileSync(join(dir, '.subnet', 'devnet.json'), 'utf8')) as { rpcUrl: string }
    ).rpcUrl;
    const run = (args: string[], what: string) => ok(cli(args, dir, rpcUrl), what);

    // The skewed validator: a new wallet (gas from anvil, SUB from the faucet), 500 SUB of 3,500 staked (1/7).
    await run(['wallet', 'create', 'skewed', '--kdf', 'light'], 'wallet create');
    const shown = JSON.parse(await run(['--json', 'wallet', 'show', 'skewed'], 'wallet show')) as {
      coldkey: { address: string };
      hotkeys: { name: string; address: string }[];
    };
    const skewedHotkey = shown.hotkeys[0]?.address as string;
    for (const address of [shown.coldkey.address, skewedHotkey]) {
      await setEthBalance(rpcUrl, address);
    }
    await run(['faucet', '--wallet', 'skewed'], 'faucet');
    await run(['stake', 'add', '--amount', '500', '--wallet', 'skewed'], 'stake add');
    await run(
      ['stake', 'allocate', '--amount', '500', '--netuid', '1', '--wallet', 'skewed'],
      'stake allocate',
    );
    await run(
      ['neuron', 'register', '--netuid', '1', '--role', 'validator', '--wallet', 'skewed'],
      'register',
    );
    const skewed = (await engine.call('chain_getNeuronV1', { netuid: 1, hotkey: skewedHotkey })).uid;

    // It commits all its weight on the cheat each epoch and reveals it in the next (commitRevealPeriod 1).
    const stopSkew = new AbortController();
    const skewing = (async () => {
      let pending: number | undefined;
      while (!stopSkew.signal.aborted) {
        try {
          const { currentEpoch } = await engine.call('chain_getEpochV1', { netuid: 1 });
          if (pending === undefined) {
            const args = [
              'weights',
              'commit',
              '--netuid',
              '1',
              '--uids',
              String(cheat),
              '--weights',
              '65535',
            ];
            const r = await cli([...args, '--wallet', 'skewed'], dir, rpcUrl);
            if (r.code === 0) pending = currentEpoch;
          } else if (currentEpoch > pending) {
            await cli(['weights', 'reveal', '--netuid', '1', '--wallet', 'skewed'], dir, rpcUrl);
            pending = undefined;
          }
        } catch {
          // A transient read failure: try again on the next round.
        }
        await sleep(1000);
      }
    })();

    // Epochs whose miners' pool went to miners (weights revealed): the first ones pay only the owner.
    const paid: { epoch: number; byUid: Map<number, bigint>; validators: Map<number, number> }[] = [];
    const seen = new Set<number>();
    // The first finalised epoch that counted a reveal of the skewed validator.
    let skewedEpoch: { epoch: number; dividends: Map<number, number> } | undefined;
    // The epoch in which every validator had caught the cheat (the weights it set last give the cheat 0:
    // correctness under the routing threshold, or a repeat offender on probation). Those weights are revealed in
    // the next epoch and count from the one after: the share is asserted on the first paid epoch from detection + 2, waiting
    // for the event rather than assuming a number of epochs (a saturated CI machine judges fewer challenges).
    let detectedAt: number | undefined;
    const judgedEpoch = () =>
      detectedAt === undefined
        ? undefined
        : paid.filter((p) => p.epoch >= (detectedAt as number) + 2).sort((a, b) => a.epoch - b.epoch)[0];
    const deadline = Date.now() + 300_000;
    while (paid.length < 3 || skewedEpoch === undefined || judgedEpoch() === undefined) {
      assert.ok(
        Date.now() < deadline,
        `only ${paid.length} epochs paid miners in time (saw ${[...seen]}; cheat caught in epoch ${detectedAt})`,
      );
      const status = await engine.call('chain_getEpochV1', { netuid: 1 });
      if (detectedAt === undefined) {
        const views = await Promise.all(validators.map((v) => v.call('consensus_getStatusV1', {})));
        // Caught: the weights each validator committed last (some miner has one) give the cheat nothing.
        const caught = views.every(
          (v) =>
            v.miners.some((x) => (x.weight ?? 0) > 0) &&
            (v.miners.find((x) => x.uid === cheat)?.weight ?? 0) === 0,
        );
        if (caught) detectedAt = status.epoch;
      }
      for (let e = Math.max(0, status.epoch - 3); e <= status.epoch; e++) {
        if (seen.has(e)) continue;
        const view = await engine.call('chain_getEpochV1', { netuid: 1, epoch: e });
        if (view.status === 'expired') seen.add(e);
        if (view.status !== 'finalised') continue;
        seen.add(e);
        const r = await engine.call('chain_getEpochResultsV1', { netuid: 1, epoch: e });
        const byUid = new Map(r.results.map((x) => [x.uid, BigInt(x.emission)]));
        if (skewedEpoch === undefined) {
          const inputs = await engine.call('chain_getEpochInputsV1', { netuid: 1, epoch: e });
          if (inputs.reveals.some((x) => x.uid === skewed)) {
            skewedEpoch = { epoch: e, dividends: new Map(r.results.map((x) => [x.uid, x.dividends])) };
          }
        }
        const miners = [...honest, cheat].reduce((a, uid) => a + (byUid.get(uid) ?? 0n), 0n);
        if (miners > 0n) {
          paid.push({ epoch: e, byUid, validators: new Map(r.results.map((x) => [x.uid, x.dividends])) });
        }
      }
      await sleep(1000);
    }
    stopSkew.abort();
    await skewing;
    paid.sort((a, b) => a.epoch - b.epoch);
    const third = judgedEpoch() as (typeof paid)[number];
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

    // Under 1/3 of the stake, the skewed validator's weight on the cheat is clipped away: its bonds earn
    // nothing, so its dividends per unit of stake fall far below the honest validators'.
    const perStake = (uid: number, stake: number) => (skewedEpoch?.dividends.get(uid) ?? 0) / stake;
    for (const uid of [0, 1, 2]) {
      assert.ok(
        perStake(skewed, 500) < perStake(uid, 1000) / 2,
        `epoch ${skewedEpoch?.epoch}: skewed uid ${skewed} dividends ${skewedEpoch?.dividends.get(skewed)} vs uid ${uid} ${skewedEpoch?.dividends.get(uid)}`,
      );
    }

    // The validators caught it the way the issue asks: reference audits fail the cheap answers. The cheat
    // (examples/adversaries/challengeSpotter.mjs) serves the real model to what it takes for challenges (greedy
    // completions, short greedy prompts with logprobs), so its answers to those pass; this devnet has no
    // organic traffic, so challenges follow the documented prior mix, and how many of them the cheat guesses
    // right varies from run to run (one CI run: 9 of 33 failed; others, over a third). What sinks it: every cheap
    // answer it serves fails, and its correctness is the least over its models.
    const { verifications } = await engine.call('consensus_listVerificationsV1', { uid: cheat, limit: 100 });
    const verdicts = verifications.flatMap((v) =>
      v.miners.filter((m) => m.uid === cheat).map((m) => m.verdict),
    );
    assert.ok(verdicts.filter((v) => v === 'fail').length >= 3, `cheat verdicts ${verdicts}`);
    const { miners: scored } = await engine.call('consensus_getStatusV1', {});
    const cheatScore = scored.find((m) => m.uid === cheat);
    // Below routingMinCorrectness (0.5) a miner is not routed and gets no weight (0.21 in one CI run).
    assert.ok((cheatScore?.correctness ?? 1) < 0.5, `cheat correctness ${cheatScore?.correctness}`);
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
    // Each finalised epoch's proposer records its results in NeuronRegistry, where they feed the pruning
    // score (a moving average of recorded emission): once recorded, the honest miners' score is > 0 and the
    // cheat's a small fraction of theirs (it is 0 from the first epoch it earned nothing in, decaying to it).
    const network = await loadNetwork(join(dir, '.subnet', 'devnet.json'));
    const sdk = createSubnetClient({ rpcUrl, chainId: network.chainId, contracts: network.contracts });
    const recordDeadline = Date.now() + 60_000;
    for (;;) {
      const recorded = new Map((await sdk.getSubnetNeurons(1)).map((n) => [n.uid, n.recordedEmission]));
      const least = honest.reduce<bigint | undefined>((m, uid) => {
        const r = recorded.get(uid) ?? 0n;
        return m === undefined || r < m ? r : m;
      }, undefined);
      if (least !== undefined && least > 0n && (recorded.get(cheat) ?? 0n) * 10n < least) break;
      assert.ok(
        Date.now() < recordDeadline,
        `pruning scores: honest ${honest.map((u) => recorded.get(u))}, the cheat ${recorded.get(cheat)}`,
      );
      await sleep(1000);
    }
    const agent = await engine.call('consensus_getEpochV1', {});
    assert.equal(agent.agent.enabled, true);
    assert.equal(agent.agent.mismatches, 0, 'every proposal equalled this validator’s own settlement');
    assert.ok(agent.agent.proposed + agent.agent.attested > 0);
  });
});
