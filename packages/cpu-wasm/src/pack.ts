import { f16ToF32, GgmlType, ggmlTypeTraits, type WeightMatrix } from '@x/model';

/** Where a weight lives in the kernels' memory, in the layout its kernel reads. */
export interface PackedWeight {
  /** The kernel's type id: the GGML type (Q8_0's kernel reads the repacked layout below). */
  type: number;
  rows: number;
  cols: number;
  /** Bytes from one row to the next at `ptr`. */
  rowBytes: number;
  /** The rows. */
  ptr: number;
  /** Q8_0: each block's scale as f32, `rows × cols/32`; 0 for other types. */
  aux: number;
  /** Bytes at `ptr` and `aux` together. */
  bytes: number;
}

/** Rounds `n` up to a multiple of 16 (every packed array starts 16-byte aligned). */
export const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/**
 * Bytes a weight takes packed: its file bytes, except Q8_0, whose rows become `cols` int8 quants
 * plus a table of f32 scales (4 bytes more per 32 values than the file's f16 scales).
 */
export function packedBytes(w: WeightMatrix): number {
  if (w.type === GgmlType.Q8_0)
    return align16(w.rows * w.cols) + align16(w.rows * (w.cols / 32) * 4);
  return align16(w.rows * w.rowBytes);
}

/**
 * Writes `w` into `memory` at byte `at` (16-byte aligned) in its kernel's layout. Q8_0 rows are
 * split into their quants and their scales (widened to f32 once, here, instead of per dot);
 * other types keep GGUF's block layout.
 */
export function packWeight(w: WeightMatrix, memory: ArrayBufferLike, at: number): PackedWeight {
  const { rows, cols, rowBytes, data, type } = w;
  const bytes = packedBytes(w);
  const out = new Uint8Array(memory, at, bytes);
  if (type !== GgmlType.Q8_0) {
    out.set(data.subarray(0, rows * rowBytes));
    return { type, rows, cols, rowBytes, ptr: at, aux: 0, bytes };
  }
  const nb = cols / 32;
  const aux = at + align16(rows * cols);
  const scales = new Float32Array(memory, aux, rows * nb);
  const { typeSize } = ggmlTypeTraits(type);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const src = r * rowBytes + b * typeSize;
      scales[r * nb + b] = f16ToF32((data[src] as number) | ((data[src + 1] as number) << 8));
      out.set(data.subarray(src + 2, src + typeSize), r * cols + b * 32);
    }
  }
  return { type, rows, cols, rowBytes: cols, ptr: at, aux, bytes };
}
