// An activation row in a weight type's vec_dot_type: what the ggml-faithful kernels read.

/** ggml's type id of Q8_K, the activation type of the K-quants (not a storage type here). */
export const GGML_TYPE_Q8_K = 15;
/** ggml's Q8_1 (32 int8 quants, f16 d and f16 s = d·Σq): the vec_dot_type of Q4_1 and Q5_1. */
export const GGML_TYPE_Q8_1 = 9;

/**
 * An activation row converted to a weight type's vec_dot_type, reusable across all rows of a
 * matrix. Fill it with `prepareActivations`; read it with `dotPrepared` (activations.ts).
 */
export interface PreparedActivations {
  /** Elements the buffers hold at most. */
  readonly maxN: number;
  /**
   * The vec_dot_type last prepared (GgmlType.Q8_0, {@link GGML_TYPE_Q8_K}, GgmlType.F16,
   * GgmlType.BF16 or GgmlType.F32), or -1 before the first `prepareActivations`.
   */
  vecDotType: number;
  /** Elements prepared. */
  n: number;
  /** Q8_0 / Q8_K: the n int8 quants. */
  readonly qs: Int8Array;
  /**
   * Q8_0: each block's f16 scale, decoded (one per 32 elements); Q8_K: each super-block's binary32
   * scale (one per 256).
   */
  readonly d: Float32Array;
  /** Q8_K: the sum of every 16 consecutive quants (16 per super-block). */
  readonly bsums: Int16Array;
  /** Q8_1: each block's f16 `s` (its binary32 scale times the sum of its quants), decoded. */
  readonly s: Float32Array;
  /** F32 / F16 / BF16: the n converted values, exactly, as binary32. */
  readonly values: Float32Array;
}
