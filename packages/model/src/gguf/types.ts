/** GGUF metadata value types (`gguf_type` in llama.cpp's gguf.h). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** A GGUF metadata value type id. */
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** A metadata value as read: 64-bit integers are `bigint`, other numbers `number`. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** Where one tensor's data lies in a GGUF file. */
export interface GgufTensorInfo {
  name: string;
  /** GGML type id (see `GgmlType`). */
  type: number;
  /** Dimensions, innermost (row) first, as GGUF stores them: `[ne0, ne1, …]`. */
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Bytes of data. */
  byteLength: number;
}

/**
 * The index of a GGUF file: header, metadata and where each tensor's data is.
 *
 * Layout (little-endian): `"GGUF"`, u32 version, u64 tensor count, u64 metadata count, the
 * metadata as (string key, u32 type, value) records, the tensor infos as (string name, u32 n_dims,
 * u64 ne[n_dims], u32 type, u64 offset) records, padding to `general.alignment` (default 32), then
 * the tensor data, each tensor at its offset from the start of the data section.
 */
export interface GgufIndex {
  /** The file name or path. */
  file: string;
  /** GGUF version (1, 2 or 3). */
  version: number;
  /** Metadata by key, in file order. */
  metadata: Record<string, GgufValue>;
  /** Metadata value types by key (arrays: the element type is in `arrayTypes`). */
  metadataTypes: Record<string, GgufValueType>;
  /** Tensor infos by name, in file order. */
  tensors: Map<string, GgufTensorInfo>;
  /** Alignment of tensor data, in bytes. */
  alignment: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  /** File size in bytes. */
  fileSize: number;
}
