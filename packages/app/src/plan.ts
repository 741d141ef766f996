/**
 * Placement plans: how much memory a GGUF model needs (weights + KV cache + compute buffers) and where it
 * should run given the members' free memory and GPUs: one node if it fits on one device, a split across
 * one node's GPUs, or its layers across the fewest nodes in proportion to their free memory. Pure policy:
 * it never reads files, asks a node or starts anything, and the same input always gives the same plan.
 */
import type { Hardware } from '@subnet/engine-api';
import { PlanError, PlanErrorCode } from './errors.js';
import type { GgufTensorInfo } from './gguf/reader.js';
import type { GgufMetadataValue } from './gguf/types.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** Bytes per element of the KV cache types llama.cpp offers (`--cache-type-k/v`). */
export const KV_TYPE_BYTES = { f32: 4, f16: 2, q8_0: 34 / 32 } as const;
export type KvType = keyof typeof KV_TYPE_BYTES;

/** Context planned for when none is given: the model's own, capped like llama.cpp models in the config. */
export const PLAN_DEFAULT_MAX_CONTEXT = 4096;
/**
 * Fraction of headroom every device keeps: a share of `b` bytes needs `b × (1 + margin)` free. Covers
 * what the estimate leaves out (the runtime, CUDA context, allocator slack, other processes).
 */
export const PLAN_SAFETY_MARGIN = 0.1;
/** Tokens in one micro-batch (llama.cpp's default `--ubatch-size`), which sizes the compute buffer. */
export const COMPUTE_UBATCH = 512;
/** Fixed part of a compute buffer: graph metadata and small tensors. */
export const COMPUTE_BASE_BYTES = 16 * MIB;
/** Most members one plan considers, and most layers a model may have. */
export const MAX_PLAN_MEMBERS = 256;
export const MAX_PLAN_LAYERS = 65_536;
/** Members named one by one in a plan's reasons; the rest are counted. */
const MAX_REASON_MEMBERS = 8;

/** The parts of a GGUF header the estimate reads ({@link GgufHeader} fits). */
export interface ModelMemoryInput {
  metadata: ReadonlyMap<string, GgufMetadataValue>;
  tensors: readonly GgufTensorInfo[];
  /** With `fileSize`: sizes a tensor of a type the reader cannot size from the gap to the next one. */
  dataOffset?: number;
  fileSize?: number;
}

/** Options of {@link estimateModelMemory}. */
export interface EstimateModelMemoryOpts {
  /** Tokens of context to hold in the KV cache; default the model's, capped at {@link PLAN_DEFAULT_MAX_CONTEXT}. */
  contextLength?: number;
  /** KV cache element type; default f16 (llama.cpp's default). */
  kvType?: KvType;
}

/** What {@link estimateModelMemory} returns; every figure in bytes. */
export interface ModelMemoryEstimate {
  architecture: string;
  contextLength: number;
  kvType: KvType;
  /** Transformer blocks (`<arch>.block_count`). */
  layers: number;
  /** Sum of every tensor's data. */
  weightsBytes: number;
  /** Weights outside the blocks (token embeddings, output norm and head): planned on the lead. */
  outputBytes: number;
  /** Weights of each block, by block number. */
  layerWeightsBytes: number[];
  /** `n_layer × (n_embd_k_gqa + n_embd_v_gqa) × bytes per element`. */
  kvBytesPerToken: number;
  /** `kvBytesPerToken × contextLength`. */
  kvBytes: number;
  /**
   * One device's compute buffer, conservatively: `COMPUTE_BASE_BYTES + 4 × ubatch × (n_vocab + n_head ×
   * n_ctx + 4 × n_embd + 2 × n_ff)` with ubatch = min(512, n_ctx): f32 logits, the attention scores of one
   * micro-batch without flash attention, and the activations. Every device of a split holds one.
   */
  computeBufferBytes: number;
  /** `weightsBytes + kvBytes + computeBufferBytes`: what one device needs to hold the whole model. */
  totalBytes: number;
  /** Largest block's weights plus one block's KV cache: what each layer costs wherever it goes. */
  bytesPerLayer: number;
}

function planError(code: keyof typeof PlanErrorCode, message: string, meta: PlanError['meta'] = {}): never {
  throw new PlanError(PlanErrorCode[code], message, { meta });
}

/** A positive integer metadata value (the largest entry of a per-layer array), or undefined when absent. */
function positiveInt(m: ModelMemoryInput['metadata'], key: string, required: boolean): number | undefined {
  const entry = m.get(key);
  if (entry === undefined) {
    if (required) planError('BAD_MODEL', `${key} is missing; the model's memory cannot be estimated`);
    return undefined;
  }
  const values = Array.isArray(entry.value) ? entry.value : [entry.value];
  let best = 0;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      planError('BAD_MODEL', `${key} is ${String(v)}; it must be a non-negative integer`);
    best = Math.max(best, v);
  }
  if (best <= 0) planError('BAD_MODEL', `${key} is 0; a model needs at least one ${key.split('.').pop()}`);
  return best;
}

function tensorSizes(model: ModelMemoryInput): number[] {
  const byOffset = [...model.tensors].sort((a, b) => a.offset - b.offset);
  const next = new Map<GgufTensorInfo, number>();
  for (let i = 0; i < byOffset.length; i++) {
    const t = byOffset[i] as GgufTensorInfo;
    const after = byOffset[i + 1];
    if (after !== undefined) next.set(t, after.offset);
    else if (model.fileSize !== undefined && model.dataOffset !== undefined)
      next.set(t, model.fileSize - model.dataOffset);
  }
  return model.tensors.map((t) => {
    if (t.byteSize !== undefined) return t.byteSize;
    const end = next.get(t);
    if (end === undefined || end < t.offset)
      planError(
        'BAD_MODEL',
        `tensor ${t.name} has type ${t.typeName}, whose size is not known here; read the header of the whole file`,
      );
    return end - t.offset;
  });
}

/**
 * Estimates the memory a GGUF model needs on llama.cpp: its weights (the tensors' data), its KV cache for
 * `contextLength` tokens and a compute buffer (see {@link ModelMemoryEstimate}). Reads the `<arch>.*`
 * keys: block_count, embedding_length, attention.head_count, attention.head_count_kv, attention.key_length
 * and value_length (default embedding_length / head_count), feed_forward_length. Throws {@link PlanError}
 * BAD_MODEL when a key is missing or zero or a tensor names a block beyond block_count.
 */
export function estimateModelMemory(
  model: ModelMemoryInput,
  opts: EstimateModelMemoryOpts = {},
): ModelMemoryEstimate {
  const m = model.metadata;
  const arch = m.get('general.architecture')?.value;
  if (typeof arch !== 'string' || arch === '')
    planError('BAD_MODEL', 'general.architecture is missing; this is not a usable model file');
  const key = (k: string) => `${arch}.${k}`;
  const layers = positiveInt(m, key('block_count'), true) as number;
  if (layers > MAX_PLAN_LAYERS)
    planError('BAD_MODEL', `${key('block_count')} is ${layers}; at most ${MAX_PLAN_LAYERS} are planned`);
  const embd = positiveInt(m, key('embedding_length'), true) as number;
  const heads = positiveInt(m, key('attention.head_count'), true) as number;
  const headsKv = positiveInt(m, key('attention.head_count_kv'), false) ?? heads;
  const keyLength = positiveInt(m, key('attention.key_length'), false) ?? Math.floor(embd / heads);
  const valueLength = positiveInt(m, key('attention.value_length'), false) ?? Math.floor(embd / heads);
  const ff = positiveInt(m, key('feed_forward_length'), false) ?? 4 * embd;
  const tokens = m.get('tokenizer.ggml.tokens')?.value;
  const vocab = Array.isArray(tokens)
    ? tokens.length
    : (positiveInt(m, key('vocab_size'), false) ??
      model.tensors.find((t) => t.name === 'token_embd.weight')?.dims[1] ??
      0);
  const kvType = opts.kvType ?? 'f16';
  if (!(kvType in KV_TYPE_BYTES))
    planError('BAD_OPTIONS', `kvType ${String(kvType)} is not one of f32, f16, q8_0`);
  const ctx =
    opts.contextLength ??
    Math.min(
      positiveInt(m, key('context_length'), false) ?? PLAN_DEFAULT_MAX_CONTEXT,
      PLAN_DEFAULT_MAX_CONTEXT,
    );
  if (!Number.isSafeInteger(ctx) || ctx < 1 || ctx > 16 * 1024 * 1024)
    planError('BAD_OPTIONS', `contextLength ${ctx} is not a positive integer up to 16 Mi tokens`);

  const sizes = tensorSizes(model);
  const layerWeightsBytes = new Array<number>(layers).fill(0);
  let outputBytes = 0;
  model.tensors.forEach((t, i) => {
    const bytes = sizes[i] ?? 0;
    const block = /^blk\.(\d+)\./.exec(t.name)?.[1];
    if (block === undefined) {
      outputBytes += bytes;
      return;
    }
    const n = Number(block);
    if (n >= layers)
      planError('BAD_MODEL', `tensor ${t.name} is in block ${n} but ${key('block_count')} is ${layers}`);
    layerWeightsBytes[n] = (layerWeightsBytes[n] ?? 0) + bytes;
  });
  const weightsBytes = outputBytes + layerWeightsBytes.reduce((a, b) => a + b, 0);
  const kvBytesPerToken = Math.ceil(layers * headsKv * (keyLength + valueLength) * KV_TYPE_BYTES[kvType]);
  const kvBytes = kvBytesPerToken * ctx;
  const ubatch = Math.min(COMPUTE_UBATCH, ctx);
  const computeBufferBytes = COMPUTE_BASE_BYTES + 4 * ubatch * (vocab + heads * ctx + 4 * embd + 2 * ff);
  const bytesPerLayer = Math.max(...layerWeightsBytes) + Math.ceil(kvBytes / layers);
  const totalBytes = weightsBytes + kvBytes + computeBufferBytes;
  if (!Number.isSafeInteger(totalBytes))
    planError('BAD_MODEL', `the model would need ${totalBytes} bytes, beyond what can be planned`);
  return {
    architecture: arch,
    contextLength: ctx,
    kvType,
    layers,
    weightsBytes,
    outputBytes,
    layerWeightsBytes,
    kvBytesPerToken,
    kvBytes,
    computeBufferBytes,
    totalBytes,
    bytesPerLayer,
  };
}

/** One GPU of a member, as its heartbeat reports it. */
export interface PlacementGpu {
  name?: string;
  memoryBytes?: number;
  freeMemoryBytes: number;
}

/** A node a model may be placed on: its id (hotkey or name), free memory and GPUs. */
export interface PlacementMember {
  id: string;
  freeMemoryBytes: number;
  gpus?: readonly PlacementGpu[];
}

/** Options of {@link planPlacement}. */
export interface PlanPlacementOpts {
  /** Headroom kept on every device, a fraction in [0, 1]; default {@link PLAN_SAFETY_MARGIN}. */
  safetyMargin?: number;
}

export type PlacementStrategy = 'single-node' | 'tensor-split' | 'layer-split';

/** What one device of a plan holds. */
export interface PlacementShare {
  member: string;
  /** Index of the member's GPU (single-node on a GPU, tensor-split); null for a whole member. */
  gpu: number | null;
  /** `cpu`, the GPU's name, or `N GPUs` for a member that brings several to a layer split. */
  device: string;
  /** Holds the embeddings and the output head (and receives the requests). */
  lead: boolean;
  /** Blocks `firstLayer` … `firstLayer + layers - 1`. */
  firstLayer: number;
  layers: number;
  /** Estimated bytes this device needs (before the margin). */
  bytes: number;
  freeMemoryBytes: number;
}

/** What {@link planPlacement} returns. */
export interface PlacementPlan {
  strategy: PlacementStrategy;
  /** The member that serves the model (runs llama-server; holds the output head). */
  lead: string;
  /** Members chosen, lead first. */
  members: string[];
  shares: PlacementShare[];
  /** Layers per share in `shares` order: the proportions llama-server's `--tensor-split` takes; null for one device. */
  tensorSplit: number[] | null;
  /** Estimated bytes over every share (before the margin). */
  neededBytes: number;
  safetyMargin: number;
  /** One line per choice made, in order. */
  reasons: string[];
}

/** Bytes for people: `512 B`, `1.1 KiB`, `412 MiB`, `2.0 GiB` (one decimal under 100 of a unit). */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', GIB],
    ['MiB', MIB],
    ['KiB', KIB],
  ] as const) {
    if (bytes >= size) return `${(bytes / size).toFixed(bytes >= 100 * size ? 0 : 1)} ${unit}`;
  }
  return `${bytes} B`;
}

function checkBytes(v: unknown, what: string, member: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    planError(
      'BAD_MEMBER',
      `${what} of member ${member} is ${String(v)}; it must be a whole number of bytes ≥ 0`,
      {
        member,
      },
    );
  return v;
}

interface Member {
  id: string;
  index: number;
  free: number;
  gpus: Array<{ name: string; free: number }>;
  /** What it offers: its GPUs together when it has some (its RAM is then not counted), else its RAM. */
  capacity: number;
}

function checkMembers(members: readonly PlacementMember[]): Member[] {
  if (!Array.isArray(members) || members.length === 0)
    planError('NO_MEMBERS', 'no members to place the model on: name at least one (with its free memory)');
  if (members.length > MAX_PLAN_MEMBERS)
    planError('BAD_MEMBER', `${members.length} members given; at most ${MAX_PLAN_MEMBERS} are planned`);
  const seen = new Set<string>();
  return members.map((m, index) => {
    const id = m?.id;
    if (typeof id !== 'string' || id === '' || id.length > 256)
      planError('BAD_MEMBER', `member #${index} has no usable id (1 to 256 characters)`);
    if (seen.has(id)) planError('BAD_MEMBER', `member ${id} is named twice`, { member: id });
    seen.add(id);
    const free = checkBytes(m.freeMemoryBytes, 'freeMemoryBytes', id);
    const list = m.gpus ?? [];
    if (!Array.isArray(list) || list.length > 16)
      planError('BAD_MEMBER', `member ${id} lists more than 16 GPUs`, { member: id });
    const gpus = list.map((g, i) => {
      if (typeof g !== 'object' || g === null)
        planError('BAD_MEMBER', `gpus[${i}] of member ${id} is not an object`, { member: id });
      if (g.memoryBytes !== undefined) checkBytes(g.memoryBytes, `gpus[${i}].memoryBytes`, id);
      return {
        name: typeof g.name === 'string' && g.name !== '' ? g.name : `gpu${i}`,
        free: checkBytes(g.freeMemoryBytes, `gpus[${i}].freeMemoryBytes`, id),
      };
    });
    const capacity = gpus.length > 0 ? gpus.reduce((a, g) => a + g.free, 0) : free;
    return { id, index, free, gpus, capacity };
  });
}

function checkEstimate(e: ModelMemoryEstimate): void {
  if (!Number.isSafeInteger(e?.layers) || e.layers < 1 || e.layers > MAX_PLAN_LAYERS)
    planError('BAD_MODEL', `the model has ${String(e?.layers)} layers; a plan needs 1 to ${MAX_PLAN_LAYERS}`);
  for (const k of ['totalBytes', 'outputBytes', 'computeBufferBytes', 'bytesPerLayer'] as const) {
    if (!Number.isSafeInteger(e[k]) || e[k] < 0)
      planError(
        'BAD_MODEL',
        `the estimate's ${k} is ${String(e[k])}; it must be a whole number of bytes ≥ 0`,
      );
  }
}

/** Devices a member brings to a layer split, each with its own compute buffer: its GPUs, or its CPU. */
const devices = (m: Member): number => Math.max(1, m.gpus.length);

/** Free bytes a device needs to hold `bytes` with the margin. */
const withMargin = (bytes: number, margin: number): number => Math.ceil(bytes * (1 + margin));

interface Slot {
  free: number;
  /** Bytes it holds whatever its layers: the compute buffer, plus the output head on the lead. */
  fixed: number;
}

/**
 * Layers per slot in proportion to free memory (largest remainder), then moved off slots that cannot hold
 * their quota onto those with room (most room first). Null when the slots cannot hold every layer.
 */
function allocate(slots: Slot[], layers: number, perLayer: number, margin: number): number[] | null {
  const max = slots.map((s) => {
    const room = Math.floor(s.free / (1 + margin)) - s.fixed;
    if (room < 0) return -1;
    return perLayer === 0 ? layers : Math.min(layers, Math.floor(room / perLayer));
  });
  if (max.some((m) => m < 0) || max.reduce((a, b) => a + b, 0) < layers) return null;
  const totalFree = slots.reduce((a, s) => a + s.free, 0);
  const quota = slots.map((s) => (totalFree === 0 ? layers / slots.length : (layers * s.free) / totalFree));
  const counts = quota.map(Math.floor);
  let left = layers - counts.reduce((a, b) => a + b, 0);
  const byRemainder = quota
    .map((q, i) => ({ i, r: q - Math.floor(q) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
    left -= 1;
  }
  for (let i = 0; i < counts.length; i++) {
    const over = (counts[i] ?? 0) - (max[i] ?? 0);
    if (over > 0) {
      counts[i] = max[i] ?? 0;
      left += over;
    }
  }
  while (left > 0) {
    let best = -1;
    let bestRoom = -1;
    for (let i = 0; i < counts.length; i++) {
      if ((counts[i] ?? 0) >= (max[i] ?? 0)) continue;
      const s = slots[i] as Slot;
      const room = Math.floor(s.free / (1 + margin)) - s.fixed - (counts[i] ?? 0) * perLayer;
      if (room > bestRoom) {
        best = i;
        bestRoom = room;
      }
    }
    counts[best] = (counts[best] ?? 0) + 1;
    left -= 1;
  }
  return counts;
}

function shares(
  placed: Array<{ member: string; gpu: number | null; device: string; free: number; fixed: number }>,
  counts: number[],
  perLayer: number,
): PlacementShare[] {
  let first = 0;
  return placed.map((p, i) => {
    const layers = counts[i] ?? 0;
    const share = {
      member: p.member,
      gpu: p.gpu,
      device: p.device,
      lead: i === 0,
      firstLayer: first,
      layers,
      bytes: p.fixed + layers * perLayer,
      freeMemoryBytes: p.free,
    };
    first += layers;
    return share;
  });
}

const describeShares = (s: PlacementShare[], margin: number): string[] =>
  s.map(
    (x) =>
      `${x.member}${x.gpu === null ? '' : ` gpu ${x.gpu}`} (${x.device}): layers ${x.firstLayer}–${x.firstLayer + x.layers - 1} (${x.layers})${x.lead ? ' + embeddings and output head' : ''}, needs ${formatBytes(withMargin(x.bytes, margin))} of ${formatBytes(x.freeMemoryBytes)} free`,
  );

/**
 * Chooses where a model runs. Rule, in order: (1) one node, on one device (its largest GPU, or its RAM
 * when it has no GPU), trying the first member (the lead) first and then the others by most free memory;
 * (2) one node's GPUs together (≥ 2) with `--tensor-split`; (3) its layers across the fewest members,
 * largest first, in proportion to their free memory, the first member leading when it is among them. A
 * member with GPUs offers its GPUs (its RAM is not counted). Every device keeps `safetyMargin` headroom,
 * holds a compute buffer, and the lead also the embeddings and output head. Deterministic. Throws
 * {@link PlanError}: NO_MEMBERS, BAD_MEMBER, BAD_MODEL, BAD_OPTIONS, or DOES_NOT_FIT naming the shortfall.
 */
export function planPlacement(
  estimate: ModelMemoryEstimate,
  members: readonly PlacementMember[],
  opts: PlanPlacementOpts = {},
): PlacementPlan {
  checkEstimate(estimate);
  const margin = opts.safetyMargin ?? PLAN_SAFETY_MARGIN;
  if (!Number.isFinite(margin) || margin < 0 || margin > 1)
    planError('BAD_OPTIONS', `safetyMargin ${margin} is not a fraction between 0 and 1`);
  const all = checkMembers(members);
  const e = estimate;
  const pct = `${Math.round(margin * 100)}%`;
  const reasons: string[] = [
    `the model needs ${formatBytes(e.totalBytes)} on one device: weights ${formatBytes(e.weightsBytes)}, KV cache ${formatBytes(e.kvBytes)} (${e.contextLength} tokens × ${formatBytes(e.kvBytesPerToken)}), compute ${formatBytes(e.computeBufferBytes)}; ${pct} margin kept free`,
  ];
  const need = withMargin(e.totalBytes, margin);
  const byCapacity = [...all].sort((a, b) => b.capacity - a.capacity || a.index - b.index);
  const lead = all[0] as Member;
  const order = [lead, ...byCapacity.filter((m) => m !== lead)];

  // (1) One device of one node.
  for (const m of order) {
    const gpuIndex = m.gpus.reduce((best, g, i, list) => (g.free > (list[best]?.free ?? -1) ? i : best), 0);
    const gpu = m.gpus[gpuIndex];
    const free = gpu?.free ?? m.free;
    const device = gpu?.name ?? 'cpu';
    if (need <= free) {
      reasons.push(
        `fits on ${m.id}${m === lead ? ' (the lead)' : ''}${gpu === undefined ? '' : ` gpu ${gpuIndex} (${device})`}: needs ${formatBytes(need)} of ${formatBytes(free)} free`,
      );
      const s: PlacementShare[] = [
        {
          member: m.id,
          gpu: gpu === undefined ? null : gpuIndex,
          device,
          lead: true,
          firstLayer: 0,
          layers: e.layers,
          bytes: e.totalBytes,
          freeMemoryBytes: free,
        },
      ];
      return {
        strategy: 'single-node',
        lead: m.id,
        members: [m.id],
        shares: s,
        tensorSplit: null,
        neededBytes: e.totalBytes,
        safetyMargin: margin,
        reasons,
      };
    }
    if (m.index < MAX_REASON_MEMBERS || m === byCapacity[0])
      reasons.push(
        `not on ${m.id} alone: its ${gpu === undefined ? 'RAM has' : `largest GPU (${device}) has`} ${formatBytes(free)} free, ${formatBytes(need - free)} short`,
      );
  }

  if (all.length > MAX_REASON_MEMBERS)
    reasons.push(`(and ${all.length - MAX_REASON_MEMBERS} more members with less)`);

  // (2) Several GPUs of one node.
  for (const m of order) {
    if (m.gpus.length < 2) continue;
    const leadGpu = m.gpus.reduce((best, g, i, list) => (g.free > (list[best]?.free ?? -1) ? i : best), 0);
    const gpus = [leadGpu, ...m.gpus.map((_, i) => i).filter((i) => i !== leadGpu)];
    const placed = gpus.map((i, k) => ({
      member: m.id,
      gpu: i,
      device: m.gpus[i]?.name ?? `gpu${i}`,
      free: m.gpus[i]?.free ?? 0,
      fixed: e.computeBufferBytes + (k === 0 ? e.outputBytes : 0),
    }));
    const counts = allocate(placed, e.layers, e.bytesPerLayer, margin);
    if (counts === null) {
      reasons.push(
        `not across the ${m.gpus.length} GPUs of ${m.id}: ${formatBytes(m.capacity)} free together is too little with a compute buffer on each`,
      );
      continue;
    }
    const s = shares(placed, counts, e.bytesPerLayer);
    // llama-server numbers GPUs by index: give --tensor-split in that order.
    const byIndex = [...s].sort((a, b) => (a.gpu ?? 0) - (b.gpu ?? 0));
    reasons.push(
      `tensor split across the ${m.gpus.length} GPUs of ${m.id} (${formatBytes(m.capacity)} free together), layers in proportion to each GPU's free memory`,
      ...describeShares(s, margin),
    );
    return {
      strategy: 'tensor-split',
      lead: m.id,
      members: [m.id],
      shares: s,
      tensorSplit: byIndex.map((x) => x.layers),
      neededBytes: s.reduce((a, x) => a + x.bytes, 0),
      safetyMargin: margin,
      reasons,
    };
  }

  // (3) Layers across the fewest nodes, largest first.
  const candidates = byCapacity.filter(
    (m) => Math.floor(m.capacity / (1 + margin)) >= devices(m) * e.computeBufferBytes + e.bytesPerLayer,
  );
  const slotsOf = (chosen: Member[]) => {
    const first = chosen.includes(lead) ? lead : (chosen[0] as Member);
    return [first, ...chosen.filter((m) => m !== first)].map((m, k) => ({
      member: m.id,
      gpu: null,
      device:
        m.gpus.length === 0
          ? 'cpu'
          : m.gpus.length === 1
            ? (m.gpus[0]?.name ?? 'gpu0')
            : `${m.gpus.length} GPUs`,
      free: m.capacity,
      fixed: devices(m) * e.computeBufferBytes + (k === 0 ? e.outputBytes : 0),
    }));
  };
  for (let k = 2; k <= candidates.length; k++) {
    const placed = slotsOf(candidates.slice(0, k));
    const counts = allocate(placed, e.layers, e.bytesPerLayer, margin);
    if (counts === null) continue;
    const s = shares(placed, counts, e.bytesPerLayer);
    reasons.push(
      `layer split across ${k} members (the fewest that hold it, largest free memory first), ${s[0]?.member} leading, layers in proportion to free memory`,
      ...describeShares(s, margin),
    );
    return {
      strategy: 'layer-split',
      lead: s[0]?.member ?? lead.id,
      members: s.map((x) => x.member),
      shares: s,
      tensorSplit: counts,
      neededBytes: s.reduce((a, x) => a + x.bytes, 0),
      safetyMargin: margin,
      reasons,
    };
  }

  // Nothing fits: say how much more the largest combination would need.
  const everyone = candidates.length > 0 ? candidates : all;
  const buffers = everyone.reduce((a, m) => a + devices(m), 0);
  const neededBytes = withMargin(e.totalBytes + (buffers - 1) * e.computeBufferBytes, margin);
  const availableBytes = everyone.reduce((a, m) => a + m.capacity, 0);
  const have = `${everyone.length === 1 ? `${everyone[0]?.id} has` : `all ${everyone.length} members together have`} ${formatBytes(availableBytes)} free`;
  const needs = `about ${formatBytes(neededBytes)} (${pct} margin and a compute buffer on each of ${buffers} device${buffers === 1 ? '' : 's'} included)`;
  // When the sum would do, what is missing is room for a layer that no member can take whole.
  const short = neededBytes > availableBytes;
  const missingBytes = short ? neededBytes - availableBytes : withMargin(e.bytesPerLayer, margin);
  planError(
    'DOES_NOT_FIT',
    short
      ? `the model does not fit: ${have} but it needs ${needs}: ${formatBytes(missingBytes)} missing; add members or memory, or plan a shorter context`
      : `the model does not fit: ${have} and it needs ${needs}, but no member has room for one more whole layer: about ${formatBytes(missingBytes)} missing on one member; add a member or plan a shorter context`,
    { neededBytes, availableBytes, missingBytes },
  );
}

/** A node that may join a plan, as heartbeats describe it: `id` is its hotkey (or peer id). */
export interface HardwareRow {
  id: string;
  hardware: Hardware | null;
}

/**
 * Members for {@link planPlacement} from reported hardware (the node's own capabilities, its peers'
 * heartbeats), in the given order. Rows without `freeMemoryBytes` (no hardware, or a node older than the
 * field) are left out and named in `skipped`.
 */
export function membersFromHardware(rows: readonly HardwareRow[]): {
  members: PlacementMember[];
  skipped: string[];
} {
  const members: PlacementMember[] = [];
  const skipped: string[] = [];
  for (const r of rows) {
    const free = r.hardware?.freeMemoryBytes;
    if (free === undefined) {
      skipped.push(
        `${r.id}: ${r.hardware === null ? 'no heartbeat with hardware yet' : 'its heartbeat does not report free memory (an older node)'}`,
      );
      continue;
    }
    members.push({ id: r.id, freeMemoryBytes: free, gpus: r.hardware?.gpus ?? [] });
  }
  return { members, skipped };
}
