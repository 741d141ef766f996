/**
 * The app stack's part of `npm run bench`: framework overhead against node-llama-cpp called directly on
 * the same generated model (greedy, same prompt and token count), and a 4× overload of the scheduler.
 * Runs in a forked process of its own (llama.cpp's threads would disturb the Engine API figures) and
 * prints one JSON object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppError,
  createLlamaCppModule,
  createScheduler,
  generateModel,
} from '../../packages/app/dist/src/index.js';

const TOKENS = Number(process.env.BENCH_APP_TOKENS ?? 128);
const ROUNDS = Number(process.env.BENCH_APP_ROUNDS ?? 6);
const PROMPT = 'the quick ';

function corpus(): string {
  const root = new URL('../../', import.meta.url);
  return ['README.md', 'docs/architecture.md'].map((f) => readFileSync(new URL(f, root), 'utf8')).join('\n');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-bench-app-'));
  const file = join(dir, 'bigram.gguf');
  writeFileSync(file, generateModel({ kind: 'bigram', corpus: corpus() }));
  try {
    // Direct: node-llama-cpp's own API, one sequence, greedy, TOKENS tokens.
    // biome-ignore lint/correctness/noUndeclaredDependencies: the baseline uses @subnet/app's own node-llama-cpp (hoisted).
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
    const model = await llama.loadModel({ modelPath: file });
    const threads = Math.max(1, availableParallelism() - 1); // the same default as the llama.cpp module
    const context = await model.createContext({ contextSize: 512, sequences: 1, threads });
    const seq = context.getSequence();
    const promptTokens = model.tokenize(PROMPT);
    async function direct(): Promise<{ ttftMs: number; tokensPerS: number }> {
      await seq.clearHistory();
      const t0 = performance.now();
      let first = 0;
      let n = 0;
      for await (const _t of seq.evaluate(promptTokens, { temperature: 0 })) {
        if (n === 0) first = performance.now();
        if (++n >= TOKENS) break;
      }
      const t1 = performance.now();
      return { ttftMs: first - t0, tokensPerS: (n - 1) / ((t1 - first) / 1000) };
    }

    // Framework: the llama.cpp InferenceModule behind the scheduler's streaming slot.
    const app = createLlamaCppModule({ models: [{ id: 'bigram', path: file, contextLength: 512 }] });
    await app.init({ signal: new AbortController().signal });
    const scheduler = createScheduler({
      perModel: { concurrency: 1, queueCapacity: 64 },
      defaultDeadlineMs: 60_000,
    });
    async function framework(): Promise<{ ttftMs: number; tokensPerS: number }> {
      const t0 = performance.now();
      let first = 0;
      let n = 0;
      const events = scheduler.runStream(
        'bigram',
        (signal) =>
          app.generate(
            {
              model: 'bigram',
              kind: 'completion',
              prompt: PROMPT,
              maxTokens: TOKENS,
              temperature: 0,
              topP: 1,
              stop: [],
              logprobs: false,
              topLogprobs: 0,
            },
            { signal },
          ),
        { priority: 'organic' },
      );
      for await (const ev of events) {
        if (ev.type !== 'token') continue;
        if (n === 0) first = performance.now();
        n++;
      }
      const t1 = performance.now();
      return { ttftMs: first - t0, tokensPerS: (n - 1) / ((t1 - first) / 1000) };
    }

    await direct();
    await framework();
    const d: { ttftMs: number; tokensPerS: number }[] = [];
    const f: { ttftMs: number; tokensPerS: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      d.push(await direct());
      f.push(await framework());
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const directTps = median(d.map((x) => x.tokensPerS));
    const frameworkTps = median(f.map((x) => x.tokensPerS));
    const directTtft = median(d.map((x) => x.ttftMs));
    const frameworkTtft = median(f.map((x) => x.ttftMs));

    // Overload: 4× what the scheduler admits (concurrency 1 + queue 4 = 5 slots; 20 in flight per wave).
    const small = createScheduler({
      perModel: { concurrency: 1, queueCapacity: 4 },
      defaultDeadlineMs: 30_000,
    });
    const accepted: number[] = [];
    let rejected = 0;
    let otherErrors = 0;
    let retryAfterSeen = true;
    for (let wave = 0; wave < 5; wave++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const t0 = performance.now();
          try {
            for await (const _ev of small.runStream(
              'bigram',
              (signal) =>
                app.generate(
                  {
                    model: 'bigram',
                    kind: 'completion',
                    prompt: PROMPT,
                    maxTokens: 16,
                    temperature: 0,
                    topP: 1,
                    stop: [],
                    logprobs: false,
                    topLogprobs: 0,
                  },
                  { signal },
                ),
              { priority: 'organic' },
            )) {
              // drain
            }
            accepted.push(performance.now() - t0);
          } catch (err) {
            if (err instanceof AppError && err.code === 'APP_OVERLOADED') {
              rejected++;
              if (typeof err.meta?.retryAfterMs !== 'number') retryAfterSeen = false;
            } else otherErrors++;
          }
        }),
      );
    }
    accepted.sort((a, b) => a - b);
    const stats = small.stats('bigram');
    const result = {
      model: { kind: 'bigram (generated from README + architecture docs)', bytes: readFileSync(file).length },
      settings: {
        tokens: TOKENS,
        rounds: ROUNDS,
        prompt: PROMPT,
        threads: `${Math.max(1, availableParallelism() - 1)} (CPU)`,
      },
      direct: { tokensPerS: Math.round(directTps), ttftMs: r3(directTtft) },
      framework: { tokensPerS: Math.round(frameworkTps), ttftMs: r3(frameworkTtft) },
      tokensPerSRatio: r3(frameworkTps / directTps),
      addedTtftMs: r3(frameworkTtft - directTtft),
      overload: {
        note: '5 waves of 20 concurrent generations (16 tokens) against concurrency 1 + queue 4: 4× what is admitted',
        offered: 100,
        accepted: accepted.length,
        rejectedOverloaded: rejected,
        otherErrors,
        retryAfterOnEveryRejection: retryAfterSeen,
        acceptedP50Ms: r3(percentile(accepted, 50)),
        acceptedP99Ms: r3(percentile(accepted, 99)),
        leftRunning: stats.running,
        leftQueued: stats.queued,
      },
    };
    await small.close();
    await scheduler.close();
    await app.close();
    await context.dispose();
    await model.dispose();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench app failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
