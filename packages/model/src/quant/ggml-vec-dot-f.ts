import {
  bf16Table32,
  f32ViewOf,
  fmaF32,
  hsumLanes,
  lanes,
  lanes32,
  loadF32,
  NO_F32_VIEW,
} from './ggml-f32.js';
import { f16Table32 } from './half.js';
import type { PreparedActivations } from './prepared-activations.js';

const { fround } = Math;

/**
 * The GGML_F32x8_REDUCE of 4 accumulators × 8 lanes (acc[8j + l]):
 * x = (acc0 + acc2) + (acc1 + acc3) lane-wise, t_k = x_k + x_{k+4}, then
 * (t0 + t1) + (t2 + t3) by two hadds.
 */
export function reduceHadd(acc: Float64Array): number {
  const x = lanes;
  for (let l = 0; l < 8; l++) {
    x[l] = fround(
      fround((acc[l] as number) + (acc[l + 16] as number)) +
        fround((acc[l + 8] as number) + (acc[l + 24] as number)),
    );
  }
  const t0 = fround((x[0] as number) + (x[4] as number));
  const t1 = fround((x[1] as number) + (x[5] as number));
  const t2 = fround((x[2] as number) + (x[6] as number));
  const t3 = fround((x[3] as number) + (x[7] as number));
  return fround(fround(t0 + t1) + fround(t2 + t3));
}

/**
 * ggml_vec_dot_f16 (GGML_SIMD, AVX + F16C + FMA): 32-element steps into 4 × 8 binary32 lanes by
 * FMA (exact products, so one rounding of the sum), the hadd reduction, then the leftovers summed
 * in double.
 */
export function dotF16(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = f16Table32();
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  // Lanes are independent: run each through all 32-element steps in turn.
  const acc = lanes32;
  for (let k = 0; k < 32; k++) {
    let a = 0;
    for (let i = k, o = rowOffset + 2 * k; i < np; i += 32, o += 64) {
      const w = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
      a = fround(a + w * (v[i] as number));
    }
    acc[k] = a;
  }
  let sum = reduceHadd(acc);
  for (let i = np, o = rowOffset + 2 * np; i < n; i++, o += 2) {
    sum += (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (v[i] as number);
  }
  return fround(sum);
}

/**
 * ggml_vec_dot_bf16 (AVX2 branch): 32-element steps into 4 × 8 binary32 lanes by
 * `add(mul(x, y), c)`, which gcc contracts to an FMA; the reduction
 * (c0 + c2) + (c1 + c3), then ((g0 + g4) + (g2 + g6)) + ((g1 + g5) + (g3 + g7)); leftovers
 * (binary32 products) summed in double.
 */
export function dotBf16(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const table = bf16Table32();
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  const acc = lanes32;
  for (let k = 0; k < 32; k++) {
    let a = 0;
    for (let i = k, o = rowOffset + 2 * k; i < np; i += 32, o += 64) {
      const w = table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number;
      a = fmaF32(w, v[i] as number, a);
    }
    acc[k] = a;
  }
  const g = lanes;
  for (let l = 0; l < 8; l++) {
    g[l] = fround(
      fround((acc[l] as number) + (acc[l + 16] as number)) +
        fround((acc[l + 8] as number) + (acc[l + 24] as number)),
    );
  }
  let sum = 0 + hsumLanes(g);
  for (let i = np, o = rowOffset + 2 * np; i < n; i++, o += 2) {
    sum += fround(
      (table[(row[o] as number) | ((row[o + 1] as number) << 8)] as number) * (v[i] as number),
    );
  }
  return fround(sum);
}

/**
 * ggml_vec_dot_f32 (GGML_SIMD, AVX + FMA): 32-element steps into 4 × 8 lanes by FMA, the hadd
 * reduction, then the leftovers into the binary32 sum as gcc -O3 compiles `sumf += x[i]*y[i]`:
 * groups of 8 and then 4 multiplied first and added in order, the last 0-3 by scalar FMA.
 */
export function dotF32(row: Uint8Array, rowOffset: number, act: PreparedActivations): number {
  const v = act.values;
  const n = act.n;
  const np = n & ~31;
  const acc = lanes32.fill(0);
  const start = row.byteOffset + rowOffset;
  // base ≥ 0: the row is 4-byte aligned and read through a Float32Array view of its buffer.
  const base = (start & 3) === 0 ? start >>> 2 : -1;
  const f32 = base >= 0 ? f32ViewOf(row.buffer) : NO_F32_VIEW;
  for (let i = 0; i < np; i += 32) {
    for (let k = 0; k < 32; k++) {
      const w = base >= 0 ? (f32[base + i + k] as number) : loadF32(row, rowOffset + 4 * (i + k));
      acc[k] = fmaF32(w, v[i + k] as number, acc[k] as number);
    }
  }
  let sum = reduceHadd(acc);
  let i = np;
  const rem = n - np;
  const grouped = (rem >= 8 ? rem & ~7 : 0) + ((rem >= 8 ? rem & 7 : rem) >= 4 ? 4 : 0);
  for (const end = np + grouped; i < end; i++) {
    const w = base >= 0 ? (f32[base + i] as number) : loadF32(row, rowOffset + 4 * i);
    sum = fround(sum + fround(w * (v[i] as number)));
  }
  for (; i < n; i++) {
    const w = base >= 0 ? (f32[base + i] as number) : loadF32(row, rowOffset + 4 * i);
    sum = fmaF32(w, v[i] as number, sum);
  }
  return sum;
}
