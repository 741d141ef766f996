/** `subnet model generate|inspect`: tiny generated llama models, and a safe look inside any GGUF file. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { GgufHeader } from '@subnet/app';
import type { Command } from 'commander';
import { type GlobalOpts, output, withProgress } from '../context.js';
import { docsCorpus } from '../corpus.js';
import { CliError, ExitCode } from '../exitCodes.js';

type Header = GgufHeader;

/** @subnet/app is loaded only when a model command runs, so other commands start no slower. */
function app(): Promise<typeof import('@subnet/app')> {
  return import('@subnet/app');
}

/** The repo's own docs: README.md and docs/*.md under the working directory, when present. */
function defaultCorpus(): string {
  const corpus = docsCorpus();
  if (corpus === undefined)
    throw new CliError(
      ExitCode.USAGE,
      'no corpus: run in the repository root (README.md, docs/*.md) or pass --corpus FILE',
    );
  return corpus;
}

function describeValue(v: { value: unknown }): string {
  if (Array.isArray(v.value)) return `[${v.value.length} items]`;
  return String(v.value);
}

export function registerModel(program: Command): void {
  const model = program.command('model').description('Generate tiny llama models and inspect GGUF files');
  model
    .command('generate')
    .description('Write a tiny llama-architecture GGUF model (no download needed)')
    .requiredOption('--kind <kind>', 'bigram (byte bigrams of a corpus) or random (seeded weights)')
    .option('--corpus <file>', 'corpus for bigram (default: README.md and docs/*.md here)')
    .option('--seed <n>', 'seed for random', '1')
    .requiredOption('--out <file>', 'output .gguf file')
    .action(async (opts: { kind: string; corpus?: string; seed: string; out: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      if (opts.kind !== 'bigram' && opts.kind !== 'random')
        throw new CliError(ExitCode.USAGE, `--kind must be bigram or random, got ${opts.kind}`);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed))
        throw new CliError(ExitCode.USAGE, `--seed must be an integer, got ${opts.seed}`);
      const kind = opts.kind;
      let corpus: string | undefined;
      if (kind === 'bigram') {
        try {
          corpus = opts.corpus === undefined ? defaultCorpus() : readFileSync(opts.corpus, 'utf8');
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError(
            ExitCode.FAILURE,
            `cannot read the corpus ${opts.corpus}: ${(err as Error).message}`,
          );
        }
      }
      const { generateModel } = await app();
      const bytes = await withProgress(global, `generating ${kind} model`, async () =>
        generateModel(corpus === undefined ? { kind, seed } : { kind, corpus, seed }),
      );
      writeFileSync(opts.out, bytes);
      output(
        global,
        { file: opts.out, kind, bytes: bytes.length },
        () => `wrote ${kind} model to ${opts.out} (${bytes.length} bytes)`,
      );
    });
  model
    .command('inspect')
    .description('Print a GGUF file’s architecture, sizes, tokenizer and tensors; refuses malformed files')
    .argument('<file>', 'a .gguf file')
    .action(async (file: string, _opts, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { readGgufHeader, validateLlamaGguf } = await app();
      let header: Header;
      try {
        header = await readGgufHeader(file);
      } catch (err) {
        const e = err as { name?: string; code?: string; message: string };
        if (e.name === 'ModelError')
          throw new CliError(ExitCode.FAILURE, `${file}: ${e.message} (${e.code})`);
        if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES')
          throw new CliError(ExitCode.FAILURE, `${file}: ${e.message}`);
        throw err;
      }
      let problem: string | undefined;
      try {
        validateLlamaGguf(header);
      } catch (err) {
        problem = (err as Error).message;
      }
      const meta = (k: string): unknown => header.metadata.get(k)?.value;
      const arch = String(meta('general.architecture') ?? 'unknown');
      const tokens = meta('tokenizer.ggml.tokens');
      const summary = {
        file,
        version: header.version,
        architecture: arch,
        name: meta('general.name') ?? null,
        contextLength: meta(`${arch}.context_length`) ?? null,
        embeddingLength: meta(`${arch}.embedding_length`) ?? null,
        blockCount: meta(`${arch}.block_count`) ?? null,
        feedForwardLength: meta(`${arch}.feed_forward_length`) ?? null,
        headCount: meta(`${arch}.attention.head_count`) ?? null,
        tokenizer: {
          model: meta('tokenizer.ggml.model') ?? null,
          tokens: Array.isArray(tokens) ? tokens.length : null,
        },
        fileSize: header.fileSize,
        loadable: problem === undefined,
        problem: problem ?? null,
        metadata: Object.fromEntries([...header.metadata].map(([k, v]) => [k, describeValue(v)])),
        tensors: header.tensors.map((t) => ({
          name: t.name,
          dims: t.dims,
          type: t.typeName,
          bytes: t.byteSize ?? null,
        })),
      };
      output(global, summary, () =>
        [
          `${file}: GGUF v${header.version}, ${header.fileSize} bytes`,
          `architecture  ${arch} (${String(summary.name ?? '')})`,
          `sizes         context ${String(summary.contextLength)}, embedding ${String(summary.embeddingLength)}, blocks ${String(summary.blockCount)}, ff ${String(summary.feedForwardLength)}, heads ${String(summary.headCount)}`,
          `tokenizer     ${String(summary.tokenizer.model)}, ${String(summary.tokenizer.tokens)} tokens`,
          `llama.cpp     ${problem === undefined ? 'loadable' : `NOT loadable: ${problem}`}`,
          `tensors (${header.tensors.length}):`,
          ...header.tensors.map((t) => `  ${t.name.padEnd(28)} ${t.typeName.padEnd(5)} ${t.dims.join('x')}`),
        ].join('\n'),
      );
      if (problem !== undefined) process.exitCode = ExitCode.FAILURE;
    });
}
