/**
 * GGUF v3 writer: metadata and F32 tensors into one little-endian byte buffer that llama.cpp loads.
 * Pure: no I/O. Never writes a file that its own reader would refuse.
 */
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  type GgufMetadataEntry,
  type GgufTensorInput,
  GgufValueType,
} from './types.js';

/** Input of {@link writeGguf}. */
export interface WriteGgufParameters {
  metadata: readonly GgufMetadataEntry[];
  tensors: readonly GgufTensorInput[];
}

class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeValue(out: ByteSink, e: GgufMetadataEntry): void {
  switch (e.type) {
    case 'string':
      out.u32(GgufValueType.string);
      out.string(e.value);
      return;
    case 'u32':
      out.u32(GgufValueType.u32);
      out.u32(e.value);
      return;
    case 'i32':
      out.u32(GgufValueType.i32);
      out.i32(e.value);
      return;
    case 'f32':
      out.u32(GgufValueType.f32);
      out.f32(e.value);
      return;
    case 'u64':
      out.u32(GgufValueType.u64);
      out.u64(e.value);
      return;
    case 'bool':
      out.u32(GgufValueType.bool);
      out.u8(e.value ? 1 : 0);
      return;
    case 'string[]':
      out.u32(GgufValueType.array);
      out.u32(GgufValueType.string);
      out.u64(e.value.length);
      for (const s of e.value) out.string(s);
      return;
    case 'f32[]':
      out.u32(GgufValueType.array);
      out.u32(GgufValueType.f32);
      out.u64(e.value.length);
      for (let i = 0; i < e.value.length; i++) out.f32(e.value[i] ?? 0);
      return;
    case 'i32[]':
      out.u32(GgufValueType.array);
      out.u32(GgufValueType.i32);
      out.u64(e.value.length);
      for (let i = 0; i < e.value.length; i++) out.i32(e.value[i] ?? 0);
      return;
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Serialises a GGUF v3 file. The data section and each tensor are aligned to `general.alignment`
 * (taken from the metadata when present, else 32).
 */
export function writeGguf(params: WriteGgufParameters): Uint8Array {
  const alignEntry = params.metadata.find((e) => e.key === 'general.alignment');
  const alignment =
    alignEntry !== undefined && typeof alignEntry.value === 'number'
      ? alignEntry.value
      : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0)
    throw new RangeError(`general.alignment must be a positive multiple of 8, got ${alignment}`);
  const keys = new Set<string>();
  for (const e of params.metadata) {
    if (keys.has(e.key)) throw new RangeError(`duplicate metadata key ${e.key}`);
    keys.add(e.key);
  }
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(params.tensors.length);
  out.u64(params.metadata.length);
  for (const e of params.metadata) {
    out.string(e.key);
    writeValue(out, e);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of params.tensors) {
    const elems = t.dims.reduce((a, b) => a * b, 1);
    if (elems !== t.data.length)
      throw new RangeError(
        `tensor ${t.name}: dims ${t.dims.join('x')} hold ${elems} values, data has ${t.data.length}`,
      );
    offset = alignUp(offset, alignment);
    offsets.push(offset);
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += t.data.byteLength;
  }
  out.padTo(alignment);
  const dataStart = out.length;
  params.tensors.forEach((t, i) => {
    const target = dataStart + (offsets[i] ?? 0);
    while (out.length < target) out.u8(0);
    out.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice());
  });
  return out.result();
}
