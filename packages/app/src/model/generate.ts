/**
 * Tiny llama-architecture models generated in-process, so tests and devnets need no downloads
 * (DESIGN "Models without downloads"). `random`: seeded random weights. `bigram`: one-hot embeddings,
 * zeroed residual branches and an output matrix of log P(next | current) / sqrt(dim), so the logits are
 * the corpus bigram log-probabilities. Pure: the caller reads the corpus; this never touches the disk.
 */

import type { GgufMetadataEntry, GgufTensorInput } from '../gguf/types.js';
import { writeGguf } from '../gguf/writer.js';

/** Input of {@link generateModel}. */
export interface GenerateModelParameters {
  kind: 'random' | 'bigram';
  /** Training text for `bigram` (required there). */
  corpus?: string;
  /** PRNG seed for `random`; default 1. */
  seed?: number;
  /** Transformer blocks of `random` (1..64; default 2): enough to split a model across devices. */
  blocks?: number;
  /** Embedding width of `random` (a multiple of 4 heads, 16..2048; default 64; the FFN is twice as wide). */
  embd?: number;
  /** Training context of `random` (64..65536; default 512): llama.cpp caps a context to it. */
  ctx?: number;
}

/** Token ids of the generated vocabulary. */
export const VOCAB = {
  UNK: 0,
  BOS: 1,
  EOS: 2,
  /** Id of the byte token `<0x00>`; byte b is `BYTE0 + b`. */
  BYTE0: 3,
  /** The SentencePiece space `▁`, which spaces map to (so ' ' never falls back to three bytes). */
  SPACE: 259,
  SIZE: 260,
} as const;

const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

function vocabulary(): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  tokens.push('\u2581');
  types.push(TOKEN_TYPE.NORMAL);
  return { tokens, types, scores: tokens.map(() => 0) };
}

/** Maps text to the token ids the llama.cpp SPM tokenizer would produce for this vocabulary. */
export function tokenizeBytes(text: string): number[] {
  return Array.from(new TextEncoder().encode(text), (b) => (b === 0x20 ? VOCAB.SPACE : VOCAB.BYTE0 + b));
}

/** mulberry32: a small deterministic PRNG in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Dims {
  embd: number;
  ff: number;
  heads: number;
  blocks: number;
  ctx: number;
}

function metadata(name: string, d: Dims): GgufMetadataEntry[] {
  const v = vocabulary();
  return [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'general.name', type: 'string', value: name },
    { key: 'general.alignment', type: 'u32', value: 32 },
    { key: 'general.file_type', type: 'u32', value: 0 },
    { key: 'llama.context_length', type: 'u32', value: d.ctx },
    { key: 'llama.embedding_length', type: 'u32', value: d.embd },
    { key: 'llama.block_count', type: 'u32', value: d.blocks },
    { key: 'llama.feed_forward_length', type: 'u32', value: d.ff },
    { key: 'llama.attention.head_count', type: 'u32', value: d.heads },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: d.heads },
    { key: 'llama.rope.dimension_count', type: 'u32', value: d.embd / d.heads },
    { key: 'llama.rope.freq_base', type: 'f32', value: 10000 },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-6 },
    { key: 'llama.vocab_size', type: 'u32', value: VOCAB.SIZE },
    { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: 'string[]', value: v.tokens },
    { key: 'tokenizer.ggml.scores', type: 'f32[]', value: v.scores },
    { key: 'tokenizer.ggml.token_type', type: 'i32[]', value: v.types },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: VOCAB.BOS },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: VOCAB.EOS },
    { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: VOCAB.UNK },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: true },
    { key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: false },
    { key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: false },
  ];
}

/** The tensors llama.cpp's llama loader expects, shapes innermost first, filled by `fill`. */
function tensors(d: Dims, fill: (name: string, dims: number[]) => Float32Array): GgufTensorInput[] {
  const shapes: Array<[string, number[]]> = [['token_embd.weight', [d.embd, VOCAB.SIZE]]];
  for (let b = 0; b < d.blocks; b++) {
    shapes.push(
      [`blk.${b}.attn_norm.weight`, [d.embd]],
      [`blk.${b}.attn_q.weight`, [d.embd, d.embd]],
      [`blk.${b}.attn_k.weight`, [d.embd, d.embd]],
      [`blk.${b}.attn_v.weight`, [d.embd, d.embd]],
      [`blk.${b}.attn_output.weight`, [d.embd, d.embd]],
      [`blk.${b}.ffn_norm.weight`, [d.embd]],
      [`blk.${b}.ffn_gate.weight`, [d.embd, d.ff]],
      [`blk.${b}.ffn_up.weight`, [d.embd, d.ff]],
      [`blk.${b}.ffn_down.weight`, [d.ff, d.embd]],
    );
  }
  shapes.push(['output_norm.weight', [d.embd]], ['output.weight', [d.embd, VOCAB.SIZE]]);
  return shapes.map(([name, dims]) => ({ name, dims, type: 'F32' as const, data: fill(name, dims) }));
}

const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

function randomModel(seed: number, blocks: number, embd: number, ctx: number): Uint8Array {
  const d: Dims = { embd, ff: 2 * embd, heads: 4, blocks, ctx };
  const rnd = prng(seed);
  return writeGguf({
    metadata: metadata('subnet-random', d),
    tensors: tensors(d, (name, dims) => {
      const data = new Float32Array(size(dims));
      if (name.endsWith('norm.weight')) return data.fill(1);
      const scale = 1 / Math.sqrt(dims[0] ?? 1);
      for (let i = 0; i < data.length; i++) data[i] = (rnd() * 2 - 1) * scale;
      return data;
    }),
  });
}

/** Bigram counts → output matrix rows `log P(next | current) / sqrt(embd)` (add-one smoothing). */
function bigramModel(corpus: string): Uint8Array {
  const n = VOCAB.SIZE;
  const d: Dims = { embd: 264, ff: 32, heads: 4, blocks: 1, ctx: 512 };
  // Runs of blanks (markdown indentation, table padding) would make greedy decoding emit only spaces.
  const ids = tokenizeBytes(corpus.replace(/[ \t]+/g, ' ').replace(/\s*\n\s*/g, '\n'));
  const counts = new Float64Array(n * n);
  const unigram = new Float64Array(n);
  for (let i = 0; i < ids.length; i++) {
    const cur = ids[i] ?? 0;
    unigram[cur] = (unigram[cur] ?? 0) + 1;
    const next = ids[i + 1];
    if (next !== undefined) counts[cur * n + next] = (counts[cur * n + next] ?? 0) + 1;
  }
  const out = new Float32Array(d.embd * n);
  const scale = 1 / Math.sqrt(d.embd);
  for (let cur = 0; cur < n; cur++) {
    let rowTotal = 0;
    for (let j = 0; j < n; j++) rowTotal += counts[cur * n + j] ?? 0;
    // Tokens never followed by anything (and <s>) predict the unigram distribution.
    const row = rowTotal > 0 && cur !== VOCAB.BOS ? counts.subarray(cur * n, cur * n + n) : unigram;
    const total = row.reduce((a, b) => a + b, 0) + n;
    for (let next = 0; next < n; next++) {
      // output.weight is [embd, vocab]: row `next` holds the weights read by logit `next`.
      out[next * d.embd + cur] = (Math.log(((row[next] ?? 0) + 1) / total) * scale) as number;
    }
  }
  return writeGguf({
    metadata: metadata('subnet-bigram', d),
    tensors: tensors(d, (name, dims) => {
      const data = new Float32Array(size(dims));
      if (name === 'output.weight') return out;
      if (name.endsWith('norm.weight')) return data.fill(1);
      if (name === 'token_embd.weight') for (let t = 0; t < n; t++) data[t * d.embd + t] = 1;
      return data; // attention and FFN weights zero: the residual branches add nothing
    }),
  });
}

/** Generates GGUF bytes of a tiny llama model; deterministic for the same parameters. */
export function generateModel(params: GenerateModelParameters): Uint8Array {
  if (params.kind === 'random') {
    const blocks = params.blocks ?? 2;
    const embd = params.embd ?? 64;
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > 64)
      throw new RangeError(`blocks ${blocks}: 1..64`);
    if (!Number.isInteger(embd) || embd < 16 || embd > 2048 || embd % 4 !== 0)
      throw new RangeError(`embd ${embd}: a multiple of 4 in 16..2048`);
    const ctx = params.ctx ?? 512;
    if (!Number.isInteger(ctx) || ctx < 64 || ctx > 65_536) throw new RangeError(`ctx ${ctx}: 64..65536`);
    return randomModel(params.seed ?? 1, blocks, embd, ctx);
  }
  if (params.corpus === undefined || params.corpus.length < 2)
    throw new RangeError('a bigram model needs a corpus of at least two characters');
  return bigramModel(params.corpus);
}
