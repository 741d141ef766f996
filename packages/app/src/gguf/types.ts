/** GGUF v3 wire constants shared by the writer and the reader (see ggml/docs/gguf.md). */

/** The four bytes "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value type tags as written on the wire. */
export const GgufValueType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GgufValueType, 'array'>;

/** ggml tensor types with their block size (elements) and block bytes; only those we can size. */
export const GgmlTypeInfo: Record<number, { name: string; blockElems: number; blockBytes: number }> = {
  0: { name: 'F32', blockElems: 1, blockBytes: 4 },
  1: { name: 'F16', blockElems: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElems: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElems: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElems: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElems: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElems: 32, blockBytes: 34 },
  10: { name: 'Q2_K', blockElems: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockElems: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockElems: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockElems: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockElems: 256, blockBytes: 210 },
  30: { name: 'BF16', blockElems: 1, blockBytes: 2 },
};

/** A metadata entry to write. */
export type GgufMetadataEntry =
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'u32' | 'i32' | 'f32'; value: number }
  | { key: string; type: 'u64'; value: number | bigint }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string[]'; value: readonly string[] }
  | { key: string; type: 'f32[]' | 'i32[]'; value: ArrayLike<number> };

/** A tensor to write: `dims` innermost first, as GGUF stores them. */
export interface GgufTensorInput {
  name: string;
  dims: number[];
  type: 'F32';
  data: Float32Array;
}

/** A metadata value as read back: numbers (u64/i64 beyond 2^53 as bigint), strings, booleans or arrays. */
export type GgufValue = number | bigint | string | boolean | GgufValue[];

/** One metadata entry as read back; `type` is the wire type name (`array` entries carry `itemType`). */
export interface GgufMetadataValue {
  type: keyof typeof GgufValueType;
  itemType?: keyof typeof GgufValueType;
  value: GgufValue;
}
