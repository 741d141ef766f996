/**
 * Memory per node (issue 21), measured on a devnet started in this run: `subnet devnet` with 3 validators and 3
 * miners on the generated chat model (`devnet.embeddings` false: no Universal Sentence Encoder), 200 chat
 * completions through validator1's gateway (concurrency 8), then a wait of BENCH_MEMORY_SETTLE_S (default 30 s)
 * of challenges and heartbeats, then the resident memory (VmRSS) and its peak (VmHWM) of every node process.
 * Targets: every miner under 200 MiB and every validator under 150 MiB resident. Prints one JSON document;
 * exits 0 whether or not the targets are met (`pass` says), 1 when the devnet fails. Stops everything it started.
 */
import { Pool } from 'undici';
import { memoryOf, round, spread, startDevnetProcess } from './devnetProcs.ts';

const MINER_TARGET_MIB = 200;
const VALIDATOR_TARGET_MIB = 150;
const REQUESTS = 200;
const CONCURRENCY = 8;
const SETTLE_S = Number(process.env.BENCH_MEMORY_SETTLE_S ?? 30);

const progress = (m: string) => process.stderr.write(`bench memory: ${m}\n`);

async function main(): Promise<void> {
  const run = await startDevnetProcess({
    miners: 3,
    validators: 3,
    settings: { SUBNET_DEVNET__EMBEDDINGS: 'false' },
    timeoutMs: 300_000,
    onProgress: progress,
  });
  try {
    const { ready } = run;
    if (ready.gatewayUrl === undefined || ready.apiKey === undefined)
      throw new Error('the devnet has no gateway');
    const url = new URL(ready.gatewayUrl);
    const pool = new Pool(url.origin, { connections: CONCURRENCY });
    const body = JSON.stringify({
      model: 'devnet-chat',
      messages: [{ role: 'user', content: 'What is a subnet?' }],
      max_tokens: 32,
    });
    let ok = 0;
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        next++;
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ready.apiKey}` },
          body,
        });
        await res.body.text();
        if (res.statusCode === 200) ok++;
      }
    };
    progress(`${REQUESTS} chat completions through ${ready.gatewayUrl}`);
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pool.close();
    progress(`${ok} answered 200; ${SETTLE_S} s of challenges and heartbeats`);
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const of = (role: string) =>
      ready.nodes.filter((n) => n.role === role).map((n) => ({ wallet: n.wallet, ...memoryOf(n.pid) }));
    const miners = of('miner');
    const validators = of('validator');
    const minerMax = Math.max(...miners.map((m) => m.rssMiB));
    const validatorMax = Math.max(...validators.map((v) => v.rssMiB));
    const targets = {
      minerRss: {
        description: `every miner (generated chat model) < ${MINER_TARGET_MIB} MiB resident`,
        value: minerMax,
        target: MINER_TARGET_MIB,
        met: minerMax < MINER_TARGET_MIB,
      },
      validatorRss: {
        description: `every validator < ${VALIDATOR_TARGET_MIB} MiB resident`,
        value: validatorMax,
        target: VALIDATOR_TARGET_MIB,
        met: validatorMax < VALIDATOR_TARGET_MIB,
      },
    };
    process.stdout.write(
      `${JSON.stringify({
        bench: 'memory',
        note: `VmRSS of each node process of a 3-validator, 3-miner devnet (generated chat model, no embedding model) after ${REQUESTS} chat completions through a gateway and ${SETTLE_S} s more; the baseline before issue 21 was 460-480 MiB per miner and 490-520 MiB per validator (with the embedding model, V8 and glibc defaults). docs/architecture.md, "Memory per node", says where it goes.`,
        requests: { sent: REQUESTS, ok },
        miner: { rssMiB: spread(miners.map((m) => m.rssMiB)), peakMiB: spread(miners.map((m) => m.peakMiB)) },
        validator: {
          rssMiB: spread(validators.map((v) => v.rssMiB)),
          peakMiB: spread(validators.map((v) => v.peakMiB)),
        },
        nodes: [...validators, ...miners].map((n) => ({ ...n, rssMiB: round(n.rssMiB) })),
        targets,
        pass: targets.minerRss.met && targets.validatorRss.met,
      })}\n`,
    );
  } finally {
    await run.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench memory failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
