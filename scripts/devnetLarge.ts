/**
 * `npm run devnet:large`: the devnet at size (issue 21). Starts `subnet devnet` with 32 miners and 3
 * validators on the lightweight backend (the generated bigram chat model only: `devnet.embeddings` false),
 * waits for ten epochs to be finalised on chain after the nodes are ready, and asserts that every miner was
 * paid: its emission in those epochs' results (read from the chain through validator1's chain stack) is above
 * zero. Prints one JSON document on stdout: the epochs, per-miner payment and challenges (audited answers, from
 * every validator's scores), resident memory per role (min / mean / max, now and at its peak), CPU seconds per
 * process and the wall time. Exits 1 when a miner was not paid or the epochs did not come in time. Stops every
 * process it started (the devnet stops its nodes and anvil on SIGINT; their process groups are killed past a
 * grace), also on failure or Ctrl-C. Progress goes to stderr.
 *
 * Kept out of `npm test`: on a 2-core machine it runs for several minutes. Knobs (env):
 * DEVNET_LARGE_MINERS (32), DEVNET_LARGE_VALIDATORS (3), DEVNET_LARGE_EPOCHS (10), DEVNET_LARGE_TEMPO (blocks
 * per epoch, 20 at one block a second), DEVNET_LARGE_TIMEOUT_S (whole run, 900), DEVNET_LARGE_KEEP=1 keeps the
 * data dir.
 */
import type { EngineApi, EngineClient } from '../packages/engine-api/dist/src/index.js';
import {
  cpuSecondsOf,
  type DevnetNodeRow,
  memoryOf,
  round,
  spread,
  startDevnetProcess,
} from './bench/devnetProcs.ts';

const MINERS = Number(process.env.DEVNET_LARGE_MINERS ?? 32);
const VALIDATORS = Number(process.env.DEVNET_LARGE_VALIDATORS ?? 3);
const EPOCHS = Number(process.env.DEVNET_LARGE_EPOCHS ?? 10);
const TEMPO = Number(process.env.DEVNET_LARGE_TEMPO ?? 20);
const TIMEOUT_S = Number(process.env.DEVNET_LARGE_TIMEOUT_S ?? 900);
const KEEP = process.env.DEVNET_LARGE_KEEP === '1';
/** Finalised epochs that paid no miner at all, skipped at the start (weights are committed, then revealed). */
const MAX_WARMUP = 4;

const progress = (m: string) => process.stderr.write(`devnet:large: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const started = Date.now();
  const deadline = started + TIMEOUT_S * 1000;
  progress(`${MINERS} miners, ${VALIDATORS} validators, tempo ${TEMPO}`);
  const run = await startDevnetProcess({
    miners: MINERS,
    validators: VALIDATORS,
    settings: { SUBNET_DEVNET__TEMPO: String(TEMPO), SUBNET_DEVNET__EMBEDDINGS: 'false' },
    timeoutMs: deadline - Date.now(),
    onProgress: progress,
    keepOnFailure: KEEP,
  }).catch((err: unknown) => {
    progress(`FAIL: ${(err as Error).message}`);
    return undefined;
  });
  if (run === undefined) return 1;
  const { ready, proc } = run;
  const clients: EngineClient<EngineApi>[] = [];
  const onSignal = () => {
    progress('interrupted: stopping the devnet');
    void run.stop({ keep: KEEP }).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const readyAt = Date.now();
    progress(`ready in ${round(ready.readyMs / 1000)} s: ${ready.nodes.length} nodes (data in ${run.dir})`);
    const validators = ready.nodes.filter((n) => n.role === 'validator');
    const miners = ready.nodes.filter((n) => n.role === 'miner');
    for (const v of validators) clients.push(run.client(v.url));
    const chain = clients[0] as EngineClient<EngineApi>;

    // Epochs that start after the nodes are ready: the first EPOCHS of them that settle (finalised or expired).
    const first = (await chain.call('chain_getEpochV1', { netuid: 1 })).currentEpoch + 1;
    const settled = new Map<number, { status: string; emission: Map<number, bigint>; claimed: bigint }>();
    const paid = new Map<number, { total: bigint; epochs: number }>(
      miners.map((m) => [m.uid, { total: 0n, epochs: 0 }]),
    );
    let finalised = 0;
    let everyMinerPaidEpochs = 0;
    const warmup: number[] = [];
    let epoch = first;
    while (finalised < EPOCHS) {
      if (Date.now() > deadline)
        throw new Error(`only ${finalised} of ${EPOCHS} epochs finalised in ${TIMEOUT_S} s`);
      if (proc.exitCode !== null)
        throw new Error(`the devnet exited with ${proc.exitCode}:\n${run.stderr()}`);
      const view = await chain.call('chain_getEpochV1', { netuid: 1, epoch }).catch(() => undefined);
      if (view?.status === 'expired') {
        settled.set(epoch, { status: 'expired', emission: new Map(), claimed: 0n });
        progress(`epoch ${epoch} expired unsettled`);
        epoch++;
        continue;
      }
      if (view?.status !== 'finalised') {
        await sleep(1000);
        continue;
      }
      const r = await chain.call('chain_getEpochResultsV1', { netuid: 1, epoch });
      const emission = new Map(r.results.map((x) => [x.uid, BigInt(x.emission)]));
      const minersPaid = miners.filter((m) => (emission.get(m.uid) ?? 0n) > 0n).length;
      if (finalised === 0 && minersPaid === 0 && warmup.length < MAX_WARMUP) {
        // Before the validators' first weights are revealed an epoch pays only the subnet owner.
        warmup.push(epoch);
        progress(`epoch ${epoch} finalised before any weights counted (warm-up)`);
        epoch++;
        continue;
      }
      for (const m of miners) {
        const e = emission.get(m.uid) ?? 0n;
        const p = paid.get(m.uid) as { total: bigint; epochs: number };
        p.total += e;
        if (e > 0n) p.epochs++;
      }
      if (minersPaid === miners.length) everyMinerPaidEpochs++;
      settled.set(epoch, { status: 'finalised', emission, claimed: BigInt(view.claimed) });
      finalised++;
      progress(
        `epoch ${epoch} finalised (${finalised}/${EPOCHS}): ${minersPaid} of ${miners.length} miners paid`,
      );
      epoch++;
    }
    // Claims (the proposer claims every leaf): wait a little for the last epoch's.
    const last = epoch - 1;
    const claimDeadline = Date.now() + 60_000;
    let claims = await chain.call('chain_getEpochV1', { netuid: 1, epoch: last });
    while (
      (claims.proposal === null || claims.claimed !== claims.proposal.total) &&
      Date.now() < claimDeadline
    ) {
      await sleep(1000);
      claims = await chain.call('chain_getEpochV1', { netuid: 1, epoch: last });
    }
    const challenged = new Map<number, number>(miners.map((m) => [m.uid, 0]));
    for (const c of clients) {
      const status = await c.call('consensus_getStatusV1', {});
      for (const m of status.miners) challenged.set(m.uid, (challenged.get(m.uid) ?? 0) + m.challenges);
    }
    // Memory and CPU of every process, before stopping anything.
    const proc_ = (n: DevnetNodeRow) => ({
      wallet: n.wallet,
      pid: n.pid,
      ...memoryOf(n.pid),
      cpuS: cpuSecondsOf(n.pid),
    });
    const rows = ready.nodes.map(proc_);
    const byRole = (role: string) => rows.filter((_, i) => ready.nodes[i]?.role === role);
    const roleStats = (role: string) => ({
      rssMiB: spread(byRole(role).map((r) => r.rssMiB)),
      peakRssMiB: spread(byRole(role).map((r) => r.peakMiB)),
      cpuS: spread(byRole(role).map((r) => r.cpuS)),
    });
    const runS = (Date.now() - readyAt) / 1000;
    const unpaid = miners.filter((m) => (paid.get(m.uid)?.total ?? 0n) === 0n).map((m) => m.wallet);
    const report = {
      miners: MINERS,
      validators: VALIDATORS,
      tempo: TEMPO,
      backend: 'llama.cpp, the generated bigram chat model (devnet-chat, 1.7 MB), no embedding model',
      readyS: round(ready.readyMs / 1000),
      epochs: {
        first,
        last,
        warmup,
        finalised,
        everyMinerPaid: everyMinerPaidEpochs,
        expired: [...settled.values()].filter((s) => s.status === 'expired').length,
        lastClaimed: claims.proposal !== null && claims.claimed === claims.proposal.total,
      },
      perMiner: miners.map((m) => ({
        wallet: m.wallet,
        uid: m.uid,
        emission: String(paid.get(m.uid)?.total ?? 0n),
        epochsPaid: paid.get(m.uid)?.epochs ?? 0,
        challenges: challenged.get(m.uid) ?? 0,
      })),
      everyMinerPaid: unpaid.length === 0,
      unpaid,
      memory: {
        miner: roleStats('miner'),
        validator: roleStats('validator'),
        anvil: memoryOf(ready.anvilPid),
      },
      cpu: {
        anvilS: cpuSecondsOf(ready.anvilPid),
        nodesS: round(rows.reduce((a, r) => a + r.cpuS, 0)),
        runS: round(runS),
        coresUsed: round(rows.reduce((a, r) => a + r.cpuS, 0) / ((Date.now() - started) / 1000), 2),
        perProcess: rows.map((r) => ({ wallet: r.wallet, cpuS: r.cpuS, rssMiB: r.rssMiB })),
      },
      wallS: round((Date.now() - started) / 1000),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (unpaid.length > 0) progress(`FAIL: not paid in ${finalised} epochs: ${unpaid.join(', ')}`);
    return unpaid.length === 0 ? 0 : 1;
  } catch (err) {
    progress(`FAIL: ${(err as Error).message}`);
    return 1;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    progress('stopping the devnet');
    await run.stop({ keep: KEEP });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (KEEP) progress(`kept ${run.dir}`);
  }
}

process.exitCode = await main();
