/**
 * `subnet model generate|inspect|plan|tools`: tiny generated llama models, a safe look inside any GGUF file,
 * where a model would run (one node, one node's GPUs, or layers across nodes) given members' free memory, and
 * llama.cpp's RPC tools for pipeline groups (built on first use, cached).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { GgufHeader, PlacementMember } from '@subnet/app';
import type { Command } from 'commander';
import { askNode, type GlobalOpts, output, withProgress } from '../context.js';
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

const MIB = 1024 * 1024;
const MEMBER_FORMAT =
  '--member takes ID=FREE_MIB[:gpu=MIB,MIB...] (e.g. miner1=2048 or box=512:gpu=24576,24576)';

/** Parses one `--member ID=FREE_MIB[:gpu=MIB,MIB...]`; a bad value is a usage error naming the format. */
export function parseMember(value: string): PlacementMember {
  const m =
    /^([^=\s]{1,256})=(\d{1,12}(?:\.\d+)?)(?::gpu=(\d{1,12}(?:\.\d+)?(?:,\d{1,12}(?:\.\d+)?){0,15}))?$/.exec(
      value,
    );
  if (m === null) throw new CliError(ExitCode.USAGE, `${MEMBER_FORMAT}; got "${value}"`);
  const mib = (s: string) => Math.floor(Number(s) * MIB);
  const gpus = (m[3]?.split(',') ?? []).map((g, i) => ({ name: `gpu${i}`, freeMemoryBytes: mib(g) }));
  return { id: m[1] as string, freeMemoryBytes: mib(m[2] as string), gpus };
}

/** Reads a GGUF header for a command, turning model and file errors into exit code 1. */
async function readHeader(file: string): Promise<Header> {
  const { readGgufHeader } = await app();
  try {
    return await readGgufHeader(file);
  } catch (err) {
    const e = err as { name?: string; code?: string; message: string };
    if (e.name === 'ModelError') throw new CliError(ExitCode.FAILURE, `${file}: ${e.message} (${e.code})`);
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES')
      throw new CliError(ExitCode.FAILURE, `${file}: ${e.message}`);
    throw err;
  }
}

/** The running node (its own hardware first, as the lead) and its peers, from heartbeats. */
async function membersFromNode(
  global: GlobalOpts,
): Promise<{ members: PlacementMember[]; skipped: string[] }> {
  const { membersFromHardware } = await app();
  return askNode(
    global,
    {
      label: 'asking the node for its peers…',
      failure: 'cannot read the members from the node',
      hint: 'is a node with the network stack running?',
    },
    async (c) => {
      const status = await c.call('network_getStatusV1', {});
      // A node without an app stack (a validator) has no hardware of its own to offer.
      const caps = await c.call('app_getCapabilitiesV1', {}).catch(() => undefined);
      const { peers } = await c.call('network_listPeersV1', { connectedOnly: false });
      return membersFromHardware([
        ...(caps === undefined ? [] : [{ id: status.hotkey, hardware: caps.hardware }]),
        ...peers
          .filter((p) => p.role !== 'validator' && (p.hotkey ?? p.peerId) !== status.hotkey)
          .map((p) => ({ id: p.hotkey ?? p.peerId, hardware: p.hardware })),
      ]);
    },
  );
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
    .option(
      '--blocks <n>',
      'transformer blocks of random (1..64; enough layers to split across a pipeline group)',
      '2',
    )
    .option('--embd <n>', 'embedding width of random (a multiple of 4, 16..2048)', '64')
    .requiredOption('--out <file>', 'output .gguf file')
    .action(
      async (
        opts: { kind: string; corpus?: string; seed: string; blocks: string; embd: string; out: string },
        cmd: Command,
      ) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        const blocks = Number(opts.blocks);
        const embd = Number(opts.embd);
        if (!Number.isInteger(blocks) || blocks < 1 || blocks > 64)
          throw new CliError(ExitCode.USAGE, `--blocks must be an integer in 1..64, got ${opts.blocks}`);
        if (!Number.isInteger(embd) || embd < 16 || embd > 2048 || embd % 4 !== 0)
          throw new CliError(ExitCode.USAGE, `--embd must be a multiple of 4 in 16..2048, got ${opts.embd}`);
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
          generateModel(corpus === undefined ? { kind, seed, blocks, embd } : { kind, corpus, seed }),
        );
        writeFileSync(opts.out, bytes);
        output(
          global,
          { file: opts.out, kind, bytes: bytes.length },
          () => `wrote ${kind} model to ${opts.out} (${bytes.length} bytes)`,
        );
      },
    );
  model
    .command('inspect')
    .description('Print a GGUF file’s architecture, sizes, tokenizer and tensors; refuses malformed files')
    .argument('<file>', 'a .gguf file')
    .action(async (file: string, _opts, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { validateLlamaGguf } = await app();
      const header = await readHeader(file);
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
  model
    .command('tools')
    .description(
      "Build (first run on a machine: minutes) or find llama.cpp's ggml-rpc-server and llama-server for pipeline groups, and print where they are",
    )
    .option('--cache-dir <dir>', 'cache root (default: $XDG_CACHE_HOME/subnet, else ~/.cache/subnet)')
    .action(async (opts: { cacheDir?: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { ensureLlamaTools } = await app();
      const { createLogger } = await import('@subnet/utils');
      const tools = await ensureLlamaTools(
        opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir },
        { logger: createLogger({ level: global.json === true ? 'silent' : 'info' }) },
        AbortSignal.timeout(60 * 60_000),
      );
      output(
        global,
        tools,
        () =>
          `${tools.built ? `built in ${tools.buildSeconds} s` : 'found'}: llama.cpp ${tools.release}\n  ${tools.rpcServer}\n  ${tools.server}`,
      );
    });
  model
    .command('plan')
    .description(
      'Where a GGUF model would run: one node, one node’s GPUs, or its layers across nodes, with the reasons',
    )
    .argument('<file>', 'a .gguf file')
    .option(
      '--member <spec>',
      'a member as ID=FREE_MIB[:gpu=MIB,MIB...] (repeatable; the first leads when the model fits on it)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--from-node', "members from the running node: itself first, then its peers' heartbeats")
    .option('--context <n>', "tokens of context to plan for (default: the model's, capped at 4096)")
    .option('--margin <fraction>', 'free memory every device keeps (default 0.1)')
    .action(
      async (
        file: string,
        opts: { member: string[]; fromNode?: boolean; context?: string; margin?: string },
        cmd: Command,
      ) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        const given = opts.member.map(parseMember);
        if (given.length === 0 && opts.fromNode !== true)
          throw new CliError(
            ExitCode.USAGE,
            `name the members: --member (repeatable) or --from-node; ${MEMBER_FORMAT}`,
          );
        const context = opts.context === undefined ? undefined : Number(opts.context);
        if (context !== undefined && (!Number.isInteger(context) || context < 1 || context > 1_048_576))
          throw new CliError(
            ExitCode.USAGE,
            `--context must be an integer from 1 to 1048576, got ${opts.context}`,
          );
        const margin = opts.margin === undefined ? undefined : Number(opts.margin);
        if (margin !== undefined && !(margin >= 0 && margin <= 1))
          throw new CliError(ExitCode.USAGE, `--margin must be a fraction from 0 to 1, got ${opts.margin}`);
        const header = await readHeader(file);
        const fromNode =
          opts.fromNode === true ? await membersFromNode(global) : { members: [], skipped: [] };
        const { estimateModelMemory, planPlacement, formatBytes } = await app();
        let result: {
          estimate: ReturnType<typeof estimateModelMemory>;
          plan: ReturnType<typeof planPlacement>;
        };
        try {
          const estimate = estimateModelMemory(
            header,
            context === undefined ? {} : { contextLength: context },
          );
          const plan = planPlacement(
            estimate,
            [...given, ...fromNode.members],
            margin === undefined ? {} : { safetyMargin: margin },
          );
          result = { estimate, plan };
        } catch (err) {
          const e = err as { name?: string; code?: string; message: string };
          if (e.name !== 'PlanError') throw err;
          const code =
            e.code === 'PLAN_BAD_MEMBER' || e.code === 'PLAN_NO_MEMBERS' ? ExitCode.USAGE : ExitCode.FAILURE;
          const skipped = fromNode.skipped.length === 0 ? '' : ` (left out: ${fromNode.skipped.join('; ')})`;
          throw new CliError(code, `${file}: ${e.message} (${e.code})${skipped}`);
        }
        const { estimate: e, plan } = result;
        output(global, { file, estimate: e, plan, skipped: fromNode.skipped }, () =>
          [
            `${file}: ${e.architecture}, ${e.layers} layers, context ${e.contextLength} (KV ${e.kvType})`,
            `memory    ${formatBytes(e.totalBytes)} = weights ${formatBytes(e.weightsBytes)} + KV cache ${formatBytes(e.kvBytes)} + compute ${formatBytes(e.computeBufferBytes)}`,
            `strategy  ${plan.strategy}, lead ${plan.lead}${plan.tensorSplit === null ? '' : `, --tensor-split ${plan.tensorSplit.join(',')}`}`,
            ...plan.shares.map(
              (s) =>
                `  ${s.member}${s.gpu === null ? '' : ` gpu ${s.gpu}`}  layers ${s.firstLayer}-${s.firstLayer + s.layers - 1} (${s.layers})  ${formatBytes(s.bytes)} of ${formatBytes(s.freeMemoryBytes)} free${s.lead ? '  lead' : ''}`,
            ),
            'reasons',
            ...plan.reasons.map((r) => `  - ${r}`),
            ...fromNode.skipped.map((r) => `  - left out ${r}`),
          ].join('\n'),
        );
      },
    );
}
