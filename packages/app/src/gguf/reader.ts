/**
 * GGUF header reader and llama validation. Parses header, metadata and tensor infos with every length
 * checked against the bytes left and against caps, so a hostile or cut-off file yields a typed
 * {@link ModelError}, never a crash or a huge allocation. Run {@link validateLlamaGguf} before handing a
 * file to llama.cpp: a missing required key aborts the whole process there.
 */
import { open } from 'node:fs/promises';
import { ModelError, ModelErrorCode } from '../errors.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgmlTypeInfo,
  type GgufMetadataValue,
  type GgufValue,
  GgufValueType,
} from './types.js';

/** Options of {@link readGgufHeader}. */
export interface ReadGgufOptions {
  /** Most bytes the header (metadata + tensor infos) may span; default 64 MiB. */
  maxMetadataBytes?: number;
  /** Longest string accepted (bytes); default 1 MiB. */
  maxStringBytes?: number;
  /** Most elements in one array; default 16 Mi. */
  maxArrayLength?: number;
}

/** One tensor's description as stored in the header; `dims` innermost first. */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  /** ggml type id (0 = F32). */
  type: number;
  typeName: string;
  /** Offset relative to the start of the data section. */
  offset: number;
  /** Size in bytes, when the type is one we know how to size. */
  byteSize: number | undefined;
}

/** What {@link readGgufHeader} returns. */
export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  /** Size of the whole file (or byte array). */
  fileSize: number;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k])) as Record<
  number,
  keyof typeof GgufValueType
>;
const SCALAR_SIZE: Partial<Record<keyof typeof GgufValueType, number>> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};
const MAX_DIMS = 4;
const MAX_TENSORS = 1 << 20;
const MAX_KV = 1 << 20;

class Cursor {
  pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileSize: number,
    private readonly maxMetadataBytes: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  remaining(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.maxMetadataBytes)
      fail(
        'MALFORMED',
        `the GGUF header is larger than maxMetadataBytes (${this.maxMetadataBytes}) while reading ${what}; raise the limit if the file is trusted`,
        this.pos,
      );
    if (n > this.remaining()) {
      if (this.bytes.length < this.fileSize)
        fail(
          'MALFORMED',
          `the GGUF header is larger than the bytes read (${this.bytes.length}) while reading ${what}`,
          this.pos,
        );
      fail(
        'TRUNCATED',
        `the file ends at byte ${this.bytes.length} while reading ${what} (needs ${n} more bytes at ${this.pos}); the file is incomplete: download or generate it again`,
        this.pos,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A u64 that must be a safe length/count not above `cap`. */
  count(what: string, cap: number): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(cap)) fail('MALFORMED', `${what} is ${v}, above the limit ${cap}`, at);
    return Number(v);
  }
  string(what: string, cap: number): string {
    const len = this.count(`length of ${what}`, cap);
    this.need(len, what);
    const s = new TextDecoder('utf-8', { fatal: false }).decode(
      this.bytes.subarray(this.pos, this.pos + len),
    );
    this.pos += len;
    return s;
  }
  scalar(type: keyof typeof GgufValueType, what: string, maxString: number): GgufValue {
    const size = SCALAR_SIZE[type];
    if (type === 'string') return this.string(what, maxString);
    if (size === undefined) return fail('MALFORMED', `${what} has a nested array type`, this.pos);
    this.need(size, what);
    const p = this.pos;
    this.pos += size;
    const v = this.view;
    switch (type) {
      case 'u8':
        return v.getUint8(p);
      case 'i8':
        return v.getInt8(p);
      case 'bool': {
        const b = v.getUint8(p);
        if (b > 1) fail('MALFORMED', `${what} is a bool with value ${b}`, p);
        return b === 1;
      }
      case 'u16':
        return v.getUint16(p, true);
      case 'i16':
        return v.getInt16(p, true);
      case 'u32':
        return v.getUint32(p, true);
      case 'i32':
        return v.getInt32(p, true);
      case 'f32':
        return v.getFloat32(p, true);
      case 'f64':
        return v.getFloat64(p, true);
      case 'u64': {
        const b = v.getBigUint64(p, true);
        return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
      }
      default: {
        const b = v.getBigInt64(p, true);
        return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
      }
    }
  }
}

function fail(code: keyof typeof ModelErrorCode, message: string, offset?: number, key?: string): never {
  const meta: { offset?: number; key?: string } = {};
  if (offset !== undefined) meta.offset = offset;
  if (key !== undefined) meta.key = key;
  throw new ModelError(ModelErrorCode[code], message, { meta });
}

function valueType(c: Cursor, what: string): keyof typeof GgufValueType {
  const at = c.pos;
  const t = c.u32(`type of ${what}`);
  const name = TYPE_NAMES[t];
  if (name === undefined) fail('MALFORMED', `${what} has unknown value type ${t}`, at);
  return name;
}

function parse(bytes: Uint8Array, fileSize: number, opts: ReadGgufOptions): GgufHeader {
  const maxMeta = opts.maxMetadataBytes ?? 64 * 1024 * 1024;
  const maxStr = opts.maxStringBytes ?? 1024 * 1024;
  const maxArr = opts.maxArrayLength ?? 16 * 1024 * 1024;
  const c = new Cursor(bytes, fileSize, maxMeta);
  const magic = c.u32('the magic');
  if (magic !== GGUF_MAGIC)
    fail(
      'BAD_MAGIC',
      'not a GGUF file (the first four bytes are not "GGUF"); point at a .gguf model file',
      0,
    );
  const version = c.u32('the version');
  if (version !== 2 && version !== 3)
    fail(
      'UNSUPPORTED_VERSION',
      `GGUF version ${version} is not supported (only 2 and 3); convert the model with a current llama.cpp`,
      4,
    );
  const nTensors = c.count('the tensor count', MAX_TENSORS);
  const nKv = c.count('the metadata count', MAX_KV);
  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`, maxStr);
    if (metadata.has(key)) fail('MALFORMED', `metadata key ${key} appears twice`, c.pos, key);
    const type = valueType(c, key);
    if (type === 'array') {
      const itemType = valueType(c, `items of ${key}`);
      if (itemType === 'array')
        fail('MALFORMED', `${key} is an array of arrays, which llama models never use`, c.pos, key);
      const n = c.count(`length of ${key}`, maxArr);
      // Every element takes at least one byte (strings at least eight): refuse before looping.
      c.need(n * (itemType === 'string' ? 8 : (SCALAR_SIZE[itemType] ?? 1)), `the ${n} items of ${key}`);
      const items: GgufValue[] = new Array(n);
      for (let j = 0; j < n; j++) items[j] = c.scalar(itemType, `${key}[${j}]`, maxStr);
      metadata.set(key, { type, itemType, value: items });
    } else {
      metadata.set(key, { type, value: c.scalar(type, key, maxStr) });
    }
  }
  const alignValue = metadata.get('general.alignment')?.value ?? GGUF_DEFAULT_ALIGNMENT;
  if (
    typeof alignValue !== 'number' ||
    !Number.isInteger(alignValue) ||
    alignValue <= 0 ||
    alignValue % 8 !== 0 ||
    alignValue > 1 << 20
  ) {
    fail(
      'MALFORMED',
      `general.alignment is ${String(alignValue)}, not a positive multiple of 8`,
      undefined,
      'general.alignment',
    );
  }
  const alignment = alignValue;
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor name #${i}`, 1024);
    if (names.has(name)) fail('MALFORMED', `tensor ${name} appears twice`, c.pos);
    names.add(name);
    const nDims = c.u32(`dims of ${name}`);
    if (nDims < 1 || nDims > MAX_DIMS)
      fail('MALFORMED', `tensor ${name} has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`, c.pos);
    const dims: number[] = [];
    let elems = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = c.count(`dimension ${d} of ${name}`, 2 ** 40);
      if (dim === 0) fail('MALFORMED', `tensor ${name} has a zero dimension`, c.pos);
      elems *= dim;
      dims.push(dim);
    }
    if (elems > 2 ** 44) fail('MALFORMED', `tensor ${name} has ${elems} elements`, c.pos);
    const type = c.u32(`type of ${name}`);
    const info = GgmlTypeInfo[type];
    if (type > 64) fail('MALFORMED', `tensor ${name} has unknown ggml type ${type}`, c.pos);
    const offset = c.count(`offset of ${name}`, 2 ** 48);
    if (offset % alignment !== 0)
      fail('MALFORMED', `tensor ${name} offset ${offset} is not aligned to ${alignment}`, c.pos);
    let byteSize: number | undefined;
    if (info !== undefined) {
      if ((dims[0] ?? 0) % info.blockElems !== 0)
        fail(
          'MALFORMED',
          `tensor ${name} row of ${dims[0]} is not a multiple of the ${info.name} block (${info.blockElems})`,
          c.pos,
        );
      byteSize = (elems / info.blockElems) * info.blockBytes;
    }
    tensors.push({ name, dims, type, typeName: info?.name ?? `type${type}`, offset, byteSize });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  if (tensors.length > 0 && dataOffset > fileSize)
    fail(
      'TRUNCATED',
      `the file ends at byte ${fileSize}, before its tensor data (starts at ${dataOffset}); the file is incomplete`,
    );
  for (const t of tensors) {
    const end = dataOffset + t.offset + (t.byteSize ?? 0);
    if (end > fileSize)
      fail(
        'TRUNCATED',
        `tensor ${t.name} ends at byte ${end} but the file has ${fileSize}; the file is incomplete: download or generate it again`,
      );
  }
  return { version, metadata, tensors, alignment, dataOffset, fileSize };
}

/**
 * Reads the header of a GGUF file (a path or its bytes): metadata and tensor infos, and checks that the
 * tensor data the header announces fits in the file. Throws {@link ModelError} on any defect.
 */
export async function readGgufHeader(
  source: Uint8Array | string,
  opts: ReadGgufOptions = {},
): Promise<GgufHeader> {
  if (typeof source !== 'string') return parse(source, source.length, opts);
  const fh = await open(source, 'r');
  try {
    const { size } = await fh.stat();
    const want = Math.min(size, opts.maxMetadataBytes ?? 64 * 1024 * 1024);
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return parse(buf.subarray(0, got), got < want ? got : size, opts);
  } finally {
    await fh.close();
  }
}

/** Synchronous variant of {@link readGgufHeader} for bytes already in memory. */
export function readGgufHeaderBytes(bytes: Uint8Array, opts: ReadGgufOptions = {}): GgufHeader {
  return parse(bytes, bytes.length, opts);
}

const NUMERIC = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64']);

/**
 * Checks that a llama-architecture GGUF has every key llama.cpp needs (a missing
 * `feed_forward_length` or `head_count` aborts the loading process) and the token embedding tensor.
 * Throws {@link ModelError} with code MISSING_KEY naming the key.
 */
export function validateLlamaGguf(header: GgufHeader): void {
  const m = header.metadata;
  const arch = m.get('general.architecture');
  if (arch === undefined || arch.type !== 'string')
    fail(
      'MISSING_KEY',
      'general.architecture is missing; this is not a usable model file',
      undefined,
      'general.architecture',
    );
  if (arch.value !== 'llama')
    fail(
      'MISSING_KEY',
      `architecture "${String(arch.value)}" is not validated here (only llama); load it in a child process`,
      undefined,
      'general.architecture',
    );
  const ints = [
    'llama.context_length',
    'llama.embedding_length',
    'llama.block_count',
    'llama.feed_forward_length',
    'llama.attention.head_count',
  ];
  for (const key of ints) {
    const v = m.get(key);
    if (v === undefined || !NUMERIC.has(v.type))
      fail(
        'MISSING_KEY',
        `${key} is missing or not an integer; llama.cpp would abort loading this file`,
        undefined,
        key,
      );
    if (typeof v.value !== 'number' || v.value <= 0)
      fail('MISSING_KEY', `${key} is ${String(v.value)}; it must be a positive integer`, undefined, key);
  }
  const eps = m.get('llama.attention.layer_norm_rms_epsilon');
  if (eps === undefined || (eps.type !== 'f32' && eps.type !== 'f64'))
    fail(
      'MISSING_KEY',
      'llama.attention.layer_norm_rms_epsilon is missing or not a float',
      undefined,
      'llama.attention.layer_norm_rms_epsilon',
    );
  const tok = m.get('tokenizer.ggml.model');
  if (tok === undefined || tok.type !== 'string')
    fail('MISSING_KEY', 'tokenizer.ggml.model is missing or not a string', undefined, 'tokenizer.ggml.model');
  const tokens = m.get('tokenizer.ggml.tokens');
  if (
    tokens === undefined ||
    tokens.itemType !== 'string' ||
    !Array.isArray(tokens.value) ||
    tokens.value.length === 0
  )
    fail(
      'MISSING_KEY',
      'tokenizer.ggml.tokens is missing or not a non-empty array of strings',
      undefined,
      'tokenizer.ggml.tokens',
    );
  const types = m.get('tokenizer.ggml.token_type');
  if (types === undefined || !Array.isArray(types.value) || types.value.length !== tokens.value.length)
    fail(
      'MISSING_KEY',
      'tokenizer.ggml.token_type is missing or not one entry per token',
      undefined,
      'tokenizer.ggml.token_type',
    );
  const embd = m.get('llama.embedding_length')?.value as number;
  const heads = m.get('llama.attention.head_count')?.value as number;
  if (embd % heads !== 0)
    fail(
      'MISSING_KEY',
      `llama.embedding_length ${embd} is not a multiple of llama.attention.head_count ${heads}`,
      undefined,
      'llama.attention.head_count',
    );
  const te = header.tensors.find((t) => t.name === 'token_embd.weight');
  if (te === undefined)
    fail('MISSING_KEY', 'tensor token_embd.weight is missing', undefined, 'token_embd.weight');
  if (te.dims[0] !== embd || te.dims[1] !== tokens.value.length)
    fail(
      'MISSING_KEY',
      `token_embd.weight is ${te.dims.join('x')}, expected ${embd}x${tokens.value.length}`,
      undefined,
      'token_embd.weight',
    );
}
