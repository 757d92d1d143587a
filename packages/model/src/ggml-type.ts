/**
 * GGML tensor types as GGUF stores them (the `ggml_type` enum of ggml.h), with each type's block
 * layout. Quantized types store a row as blocks of `blockSize` elements in `typeSize` bytes:
 *
 * | type | id | elements/block | bytes/block | layout                                             |
 * | ---- | -- | -------------- | ----------- | -------------------------------------------------- |
 * | F32  | 0  | 1              | 4           | IEEE-754 binary32                                  |
 * | F16  | 1  | 1              | 2           | IEEE-754 binary16                                  |
 * | Q4_0 | 2  | 32             | 18          | f16 scale d @0, 16 bytes of 4-bit quants @2        |
 * | Q4_1 | 3  | 32             | 20          | f16 d @0, f16 m @2, 16 bytes qs @4                 |
 * | Q5_0 | 6  | 32             | 22          | f16 d @0, qh (32 fifth bits) @2, 16 bytes qs @6    |
 * | Q5_1 | 7  | 32             | 24          | f16 d @0, f16 m @2, qh @4, 16 bytes qs @8          |
 * | Q8_0 | 8  | 32             | 34          | f16 scale d @0, 32 int8 quants @2                  |
 * | Q2_K | 10 | 256            | 84          | scales[16] @0, qs[64] @16, f16 d @80, f16 dmin @82 |
 * | Q3_K | 11 | 256            | 110         | hmask[32] @0, qs[64] @32, scales[12] @96, d @108   |
 * | Q4_K | 12 | 256            | 144         | f16 d @0, f16 dmin @2, 12 bytes scales @4, qs @16  |
 * | Q5_K | 13 | 256            | 176         | as Q4_K, then qh[32] @16 (high bits), qs @48       |
 * | Q6_K | 14 | 256            | 210         | ql[128] @0, qh[64] @128, int8 scales[16] @192, d @208 |
 * | IQ4_NL | 20 | 32           | 18          | f16 d @0, 16 bytes of 4-bit level indices @2       |
 * | IQ4_XS | 23 | 256          | 136         | f16 d @0, scales_h @2, scales_l[4] @4, qs @8       |
 * | BF16 | 30 | 1              | 2           | upper 16 bits of binary32                          |
 */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  IQ4_NL: 20,
  IQ4_XS: 23,
  BF16: 30,
} as const;

/** A GGML type id xinfer can read. */
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Name of a GGML type xinfer can read, as llama.cpp spells it. */
export type GgmlTypeName = keyof typeof GgmlType;

/** Block layout of one GGML type. */
export interface GgmlTypeTraits {
  name: GgmlTypeName;
  /** Elements per block (1 for unquantized types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

const TRAITS: ReadonlyMap<number, GgmlTypeTraits> = new Map<number, GgmlTypeTraits>([
  [GgmlType.F32, { name: 'F32', blockSize: 1, typeSize: 4 }],
  [GgmlType.F16, { name: 'F16', blockSize: 1, typeSize: 2 }],
  [GgmlType.Q4_0, { name: 'Q4_0', blockSize: 32, typeSize: 18 }],
  [GgmlType.Q4_1, { name: 'Q4_1', blockSize: 32, typeSize: 20 }],
  [GgmlType.Q5_0, { name: 'Q5_0', blockSize: 32, typeSize: 22 }],
  [GgmlType.Q5_1, { name: 'Q5_1', blockSize: 32, typeSize: 24 }],
  [GgmlType.Q8_0, { name: 'Q8_0', blockSize: 32, typeSize: 34 }],
  [GgmlType.Q2_K, { name: 'Q2_K', blockSize: 256, typeSize: 84 }],
  [GgmlType.Q3_K, { name: 'Q3_K', blockSize: 256, typeSize: 110 }],
  [GgmlType.Q4_K, { name: 'Q4_K', blockSize: 256, typeSize: 144 }],
  [GgmlType.Q5_K, { name: 'Q5_K', blockSize: 256, typeSize: 176 }],
  [GgmlType.Q6_K, { name: 'Q6_K', blockSize: 256, typeSize: 210 }],
  [GgmlType.IQ4_NL, { name: 'IQ4_NL', blockSize: 32, typeSize: 18 }],
  [GgmlType.IQ4_XS, { name: 'IQ4_XS', blockSize: 256, typeSize: 136 }],
  [GgmlType.BF16, { name: 'BF16', blockSize: 1, typeSize: 2 }],
]);

/** A tensor type or shape that xinfer cannot read. */
export class UnsupportedTensorTypeError extends Error {
  override readonly name = 'UnsupportedTensorTypeError';
  readonly code = 'GGML_UNSUPPORTED_TYPE';
}

/** A tensor whose element count does not fill whole blocks of its type. */
export class TensorShapeError extends Error {
  override readonly name = 'TensorShapeError';
  readonly code = 'GGML_BAD_SHAPE';
}

/**
 * The block layout of a GGML type id.
 * @throws UnsupportedTensorTypeError for a type id xinfer does not read
 */
export function ggmlTypeTraits(type: number): GgmlTypeTraits {
  const traits = TRAITS.get(type);
  if (!traits) {
    const known = [...TRAITS.values()].map((t) => t.name).join(', ');
    throw new UnsupportedTensorTypeError(
      `GGML type ${type} is not supported; supported types: ${known}`,
    );
  }
  return traits;
}

/**
 * Bytes a tensor of `type` and `shape` occupies. GGUF shapes list the innermost (row) dimension
 * first; each row must be a whole number of blocks.
 * @throws TensorShapeError when a row is not a whole number of blocks or a dimension is invalid
 * @throws UnsupportedTensorTypeError for a type xinfer does not read
 */
export function tensorByteSize(type: number, shape: readonly number[]): number {
  const { name, blockSize, typeSize } = ggmlTypeTraits(type);
  let elements = 1;
  for (const [i, dim] of shape.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new TensorShapeError(`dimension ${i} of a ${name} tensor is ${String(dim)}`);
    }
    elements *= dim;
  }
  const rowLength = shape[0] ?? 1;
  if (rowLength % blockSize !== 0) {
    throw new TensorShapeError(
      `a ${name} row holds blocks of ${blockSize} elements, but the row length is ${rowLength}`,
    );
  }
  return (elements / blockSize) * typeSize;
}
