// The elementwise, norm, RoPE and attention kernels, each over one thread's share (a range of
// rows, or of columns in whole units) of a step's activations. All values are f32.


/**
 * RMS norm of groups of `group` values: `out = x / rms(x) · weight`, for groups `[g0, g1)` of
 * each of rows `[r0, r1)`. In f64 and in the reference's order (sum of squares one by one, the
 * scale and both products in f64, one rounding to f32), so its outputs are the reference's bit
 * for bit: the activations quantized after it then round the same way.
 */
export function rmsNorm(
  x: usize,
  xStride: i32,
  out: usize,
  outStride: i32,
  r0: i32,
  r1: i32,
  group: i32,
  g0: i32,
  g1: i32,
  weight: usize,
  eps: f32,
): void {
  for (let r = r0; r < r1; r++) {
    for (let g = g0; g < g1; g++) {
      const xr = x + ((<usize>r * <usize>xStride + <usize>g * <usize>group) << 2);
      const orow = out + ((<usize>r * <usize>outStride + <usize>g * <usize>group) << 2);
      let sum: f64 = 0;
      for (let i = 0; i < group; i++) {
        const v = <f64>load<f32>(xr + (<usize>i << 2));
        sum += v * v;
      }
      const scale = 1.0 / Math.sqrt(sum / <f64>group + <f64>eps);
      for (let i = 0; i < group; i++) {
        const o = <usize>i << 2;
        store<f32>(orow + o, <f32>(<f64>load<f32>(xr + o) * scale * <f64>load<f32>(weight + o)));
      }
    }
  }
}

/**
 * RoPE, in place, on items `i0, i0 + step, …` below `i1` of a step: item `i` is token `i / kvHeads`'s heads of KV
 * group `i % kvHeads` (`group` heads a KV head; 1 for K). Pair `i` of a head's first `rotaryDim`
 * values turns by the angle whose (cos, sin), scaled by the magnitude factor, the step's table
 * holds as f64 at `table[(t · rotaryDim/2 + i) · 2]`; the rotation is in f64, as the reference's.
 * `neox` pairs `i` with `i + half`; otherwise pairs are adjacent (GPT-J / ggml's normal mode).
 */
export function rope(
  x: usize,
  stride: i32,
  i0: i32,
  i1: i32,
  step: i32,
  kvHeads: i32,
  group: i32,
  headDim: i32,
  rotaryDim: i32,
  neox: bool,
  table: usize,
): void {
  const half = rotaryDim >> 1;
  for (let item = i0; item < i1; item += step) {
    const t = item / kvHeads;
    const kh = item % kvHeads;
    const row = x + ((<usize>t * <usize>stride) << 2);
    const tab = table + ((<usize>t * <usize>half) << 4);
    for (let h = kh * group; h < (kh + 1) * group; h++) {
      const base = row + ((<usize>h * <usize>headDim) << 2);
      for (let i = 0; i < half; i++) {
        const c = load<f64>(tab + (<usize>i << 4));
        const s = load<f64>(tab + (<usize>i << 4), 8);
        const a = neox ? base + (<usize>i << 2) : base + (<usize>i << 3);
        const b = neox ? a + (<usize>half << 2) : a + 4;
        const x0 = <f64>load<f32>(a);
        const x1 = <f64>load<f32>(b);
        store<f32>(a, <f32>(x0 * c - x1 * s));
        store<f32>(b, <f32>(x0 * s + x1 * c));
      }
    }
  }
}

/**
 * Copies items `i0, i0 + step, …` below `i1` (token `i / kvHeads`, KV head `i % kvHeads`) of K
 * and V to their slots: as f32, or rounded to f16 (`f16`, the cache's element type).
 */
export function kvStore(
  k: usize,
  kStride: i32,
  v: usize,
  vStride: i32,
  i0: i32,
  i1: i32,
  step: i32,
  kvHeads: i32,
  slots: usize,
  headDim: i32,
  keys: usize,
  values: usize,
  f16: bool,
): void {
  const kvDim = kvHeads * headDim;
  const bytes = <usize>headDim << 2;
  for (let item = i0; item < i1; item += step) {
    const t = item / kvHeads;
    const head = (item % kvHeads) * headDim;
    const slot = <usize>load<i32>(slots + (<usize>t << 2));
    const ks = k + ((<usize>t * <usize>kStride + <usize>head) << 2);
    const vs = v + ((<usize>t * <usize>vStride + <usize>head) << 2);
    if (!f16) {
      const dst = (slot * <usize>kvDim + <usize>head) << 2;
      memory.copy(keys + dst, ks, bytes);
      memory.copy(values + dst, vs, bytes);
      continue;
    }
    const dst = (slot * <usize>kvDim + <usize>head) << 1;
    for (let i = 0; i < headDim; i++) {
      store<u16>(keys + dst + (<usize>i << 1), <u16>f32ToF16(load<f32>(ks + (<usize>i << 2))));
      store<u16>(values + dst + (<usize>i << 1), <u16>f32ToF16(load<f32>(vs + (<usize>i << 2))));
    }
  }
}

/** q · k over `n` values (a multiple of 4) against f16 keys, in f32 lanes. */
@inline
function dotF16(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    acc = f32x4.add(
      acc,
      f32x4.mul(v128.load(a + (<usize>i << 2)), f16x4ToF32x4(v128.load64_zero(b + (<usize>i << 1)))),
    );
  }
  return hsum(acc);
}

/** `out[i] += w · v[i]` over `n` values (a multiple of 4) of f16 values, in f32 lanes. */
@inline
function axpyF16(out: usize, w: f32, v: usize, n: i32): void {
  const ws = f32x4.splat(w);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(
      out + o,
      f32x4.add(v128.load(out + o), f32x4.mul(ws, f16x4ToF32x4(v128.load64_zero(v + (<usize>i << 1))))),
    );
  }
}

/** q · k over `n` values in f32 lanes. */
@inline
function dotF32(a: usize, b: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  const n8 = n & ~7;
  for (let i = 0; i < n8; i += 8) {
    const o = <usize>i << 2;
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  const acc = f32x4.add(acc0, acc1);
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (let i = n8; i < n; i++) sum += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return sum;
}

/** `out[i] += w · v[i]` over `n` values, in f32 lanes. */
@inline
function axpyF32(out: usize, w: f32, v: usize, n: i32): void {
  const n4 = n & ~3;
  const ws = f32x4.splat(w);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(ws, v128.load(v + o))));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(out + o) + w * load<f32>(v + o));
  }
}

/**
 * `oh[d] = Σ_p w_p · V[p, d]` for an f32 cache and a head size a multiple of 32, 32 columns at a
 * time in eight vector accumulators (the same sums, in the same order, as an `axpyF32` per
 * position, without storing and reloading the output at every position).
 */
function weightedSum32(
  oh: usize,
  values: usize,
  kvOff: usize,
  kvDim: i32,
  table: usize,
  blockSize: i32,
  first: i32,
  position: i32,
  scores: usize,
  inv: f64,
  headDim: i32,
): void {
  const rowBytes = <usize>kvDim << 2;
  for (let c = 0; c < headDim; c += 32) {
    let o0 = f32x4.splat(0);
    let o1 = f32x4.splat(0);
    let o2 = f32x4.splat(0);
    let o3 = f32x4.splat(0);
    let o4 = f32x4.splat(0);
    let o5 = f32x4.splat(0);
    let o6 = f32x4.splat(0);
    let o7 = f32x4.splat(0);
    for (let p = first; p <= position; ) {
      const end = min<i32>(position + 1, (p / blockSize + 1) * blockSize);
      let v = values + slotOf(table, p, blockSize) * rowBytes + kvOff + (<usize>c << 2);
      for (; p < end; p++) {
        const w = f32x4.splat(<f32>(load<f64>(scores + (<usize>p << 3)) * inv));
        o0 = f32x4.add(o0, f32x4.mul(w, v128.load(v)));
        o1 = f32x4.add(o1, f32x4.mul(w, v128.load(v, 16)));
        o2 = f32x4.add(o2, f32x4.mul(w, v128.load(v, 32)));
        o3 = f32x4.add(o3, f32x4.mul(w, v128.load(v, 48)));
        o4 = f32x4.add(o4, f32x4.mul(w, v128.load(v, 64)));
        o5 = f32x4.add(o5, f32x4.mul(w, v128.load(v, 80)));
        o6 = f32x4.add(o6, f32x4.mul(w, v128.load(v, 96)));
        o7 = f32x4.add(o7, f32x4.mul(w, v128.load(v, 112)));
        v += rowBytes;
      }
    }
    const o = oh + (<usize>c << 2);
    v128.store(o, o0);
    v128.store(o, o1, 16);
    v128.store(o, o2, 32);
    v128.store(o, o3, 48);
    v128.store(o, o4, 64);
    v128.store(o, o5, 80);
    v128.store(o, o6, 96);
    v128.store(o, o7, 112);
  }
}

/** Slot of position `p` through a block table. */
@inline
function slotOf(table: usize, p: i32, blockSize: i32): usize {
  return (
    <usize>load<i32>(table + (<usize>(p / blockSize) << 2)) * <usize>blockSize +
    <usize>(p % blockSize)
  );
}

/**
 * Paged causal attention for items `i0, i0 + step, …` below `i1` of a step: item `i` is token `i / kvHeads`'s query
 * heads of KV head `i % kvHeads`, over its sequence's cached K/V through the block table
 * (`tokenSeq[t]` names the sequence record: offset, numTokens, start, block table pointer;
 * `positions[t]` the position), scaled, soft-capped, within the sliding window. q · k and the
 * weighted sum of V in f32 lanes, the scores' scale, soft-cap and softmax in f64 (the reference
 * computes all of it in f64: outputs differ by an ulp).
 * `scores` has room for the longest context (f64). With `act` not 0, each item's output columns
 * (whole activation blocks) are quantized for the next matmul into the prepared row `act`.
 */
export function attention(
  q: usize,
  qStride: i32,
  out: usize,
  outStride: i32,
  keys: usize,
  values: usize,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scale: f32,
  softcap: f32,
  window: i32,
  i0: i32,
  i1: i32,
  step: i32,
  positions: usize,
  tokenSeq: usize,
  seqs: usize,
  blockSize: i32,
  scores: usize,
  actType: i32,
  act: usize,
  actRowBytes: i32,
  f16: bool,
): void {
  const group = heads / kvHeads;
  const kvDim = kvHeads * headDim;
  // Bytes of a cached element, and its shift.
  const es: usize = f16 ? 1 : 2;
  const sc = <f64>scale;
  const cap = <f64>softcap;
  for (let item = i0; item < i1; item += step) {
    const t = item / kvHeads;
    const kh = item % kvHeads;
    const table = <usize>load<u32>(seqs + (<usize>load<i32>(tokenSeq + (<usize>t << 2)) << 4), 12);
    const position = load<i32>(positions + (<usize>t << 2));
    const first = window > 0 ? max<i32>(0, position - window + 1) : 0;
    const kvOff = <usize>(kh * headDim) << es;
    for (let head = kh * group; head < (kh + 1) * group; head++) {
      const qh = q + ((<usize>t * <usize>qStride + <usize>head * <usize>headDim) << 2);
      let mx: f64 = -Infinity;
      for (let p = first; p <= position; ) {
        // One block at a time: its slots are consecutive.
        const end = min<i32>(position + 1, (p / blockSize + 1) * blockSize);
        let k = keys + ((slotOf(table, p, blockSize) * <usize>kvDim) << es) + kvOff;
        for (; p < end; p++) {
          let score = <f64>(f16 ? dotF16(qh, k, headDim) : dotF32(qh, k, headDim)) * sc;
          if (cap > 0) score = Math.tanh(score / cap) * cap;
          store<f64>(scores + (<usize>p << 3), score);
          if (score > mx) mx = score;
          k += <usize>kvDim << es;
        }
      }
      // e^(score − max), four at a time through the f32 vector exp (about 2 ulp); the max, the
      // differences and the sum stay f64.
      let sum: f64 = 0;
      const mx2 = f64x2.splat(mx);
      let p = first;
      for (; p + 4 <= position + 1; p += 4) {
        const at = scores + (<usize>p << 3);
        const lo = f32x4.demote_f64x2_zero(f64x2.sub(v128.load(at), mx2));
        const hi = f32x4.demote_f64x2_zero(f64x2.sub(v128.load(at, 16), mx2));
        const e = expV(v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
        const e01 = f64x2.promote_low_f32x4(e);
        const e23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1));
        v128.store(at, e01);
        v128.store(at, e23, 16);
        sum += f64x2.extract_lane(e01, 0) + f64x2.extract_lane(e01, 1) + f64x2.extract_lane(e23, 0) + f64x2.extract_lane(e23, 1);
      }
      for (; p <= position; p++) {
        const at = scores + (<usize>p << 3);
        const e = <f64>f32x4.extract_lane(expV(f32x4.splat(<f32>(load<f64>(at) - mx))), 0);
        store<f64>(at, e);
        sum += e;
      }
      const oh = out + ((<usize>t * <usize>outStride + <usize>head * <usize>headDim) << 2);
      const inv = 1.0 / sum;
      if (!f16 && (headDim & 31) == 0) {
        weightedSum32(oh, values, kvOff, kvDim, table, blockSize, first, position, scores, inv, headDim);
        continue;
      }
      memory.fill(oh, 0, <usize>headDim << 2);
      for (let p = first; p <= position; ) {
        const end = min<i32>(position + 1, (p / blockSize + 1) * blockSize);
        let v = values + ((slotOf(table, p, blockSize) * <usize>kvDim) << es) + kvOff;
        for (; p < end; p++) {
          const w = <f32>(load<f64>(scores + (<usize>p << 3)) * inv);
          if (f16) axpyF16(oh, w, v, headDim);
          else axpyF32(oh, w, v, headDim);
          v += <usize>kvDim << es;
        }
      }
    }
    if (act != 0) {
      const width = heads * headDim;
      const c0 = kh * group * headDim;
      prepareRange(
        actType,
        out + ((<usize>t * <usize>outStride) << 2),
        width,
        c0,
        c0 + group * headDim,
        act + <usize>t * <usize>actRowBytes,
      );
    }
  }
}

/** GELU's tanh approximation through f16, as ggml's table of f16 values gives it. */
@inline
function geluF16(x: f32): f32 {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  const h = roundF16(x);
  const g = <f32>(0.5 * <f64>h * (1 + Math.tanh(<f64>(<f32>(0.7978845608028654 * <f64>h * (1 + 0.044715 * <f64>h * <f64>h))))));
  return roundF16(g);
}

import { prepareRange } from './act';
import { f16x4ToF32x4, f32ToF16, hsum, roundF16 } from './common';

/** `out = act(gate) · up` over columns `[c0, c1)` of rows `[r0, r1)`; act 0 SiLU, 1 GELU (tanh). */
export function glu(
  gate: usize,
  gStride: i32,
  up: usize,
  uStride: i32,
  out: usize,
  oStride: i32,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
  act: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const g = gate + ((<usize>r * <usize>gStride) << 2);
    const u = up + ((<usize>r * <usize>uStride) << 2);
    const o = out + ((<usize>r * <usize>oStride) << 2);
    let c = c0;
    if (act == 0) {
      for (; c + 4 <= c1; c += 4) {
        const off = <usize>c << 2;
        v128.store(o + off, f32x4.mul(siluV(v128.load(g + off)), v128.load(u + off)));
      }
      // The tail through the same vector function, so a column's value does not depend on where
      // a thread's range ends.
      for (; c < c1; c++) {
        const off = <usize>c << 2;
        store<f32>(o + off, f32x4.extract_lane(siluV(f32x4.splat(load<f32>(g + off))), 0) * load<f32>(u + off));
      }
    }
    for (; c < c1; c++) {
      const off = <usize>c << 2;
      store<f32>(o + off, geluF16(load<f32>(g + off)) * load<f32>(u + off));
    }
  }
}

/**
 * `e^x` in four lanes, as ggml-cpu's ggml_v_expf computes it (a degree-5 polynomial on the
 * reduced argument, about 1.5 ulp), without FMA, and with `x` clamped to [−87.3, 88.3] so the
 * result stays a finite normal number (ggml takes a slower path there; SiLU only needs the limits).
 */
@inline
function expV(v: v128): v128 {
  const x = f32x4.min(f32x4.max(v, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const shift = f32x4.splat(12582912.0); // 0x1.8p23: n = round(x·log2 e) in z's low bits
  const z = f32x4.add(f32x4.mul(x, f32x4.splat(1.4426950216293335)), shift);
  const n = f32x4.sub(z, shift);
  const b = f32x4.sub(
    f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693145751953125))),
    f32x4.mul(n, f32x4.splat(1.428606765330187e-6)),
  );
  const k = i32x4.add(i32x4.shl(z, 23), i32x4.splat(0x3f800000)); // 2^n
  const u = f32x4.mul(b, b);
  const j = f32x4.add(
    f32x4.mul(
      f32x4.add(
        f32x4.mul(
          f32x4.add(f32x4.mul(f32x4.splat(0.008247390389442444), b), f32x4.splat(0.04189976677298546)),
          u,
        ),
        f32x4.add(f32x4.mul(f32x4.splat(0.16668395698070526), b), f32x4.splat(0.4999912679195404)),
      ),
      u,
    ),
    f32x4.mul(f32x4.splat(0.9999994039535522), b),
  );
  return f32x4.add(f32x4.mul(j, k), k);
}

/** SiLU, `x / (1 + e^−x)`, in four lanes. */
@inline
function siluV(x: v128): v128 {
  return f32x4.div(x, f32x4.add(f32x4.splat(1), expV(f32x4.neg(x))));
}

/** `out = a + b` over columns `[c0, c1)` of rows `[r0, r1)`. */
export function add(
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  out: usize,
  oStride: i32,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const ar = a + ((<usize>r * <usize>aStride) << 2);
    const br = b + ((<usize>r * <usize>bStride) << 2);
    const orow = out + ((<usize>r * <usize>oStride) << 2);
    let c = c0;
    for (; c + 4 <= c1; c += 4) {
      const off = <usize>c << 2;
      v128.store(orow + off, f32x4.add(v128.load(ar + off), v128.load(br + off)));
    }
    for (; c < c1; c++) {
      const off = <usize>c << 2;
      store<f32>(orow + off, load<f32>(ar + off) + load<f32>(br + off));
    }
  }
}

/** `x = tanh(x / cap) · cap` over columns `[c0, c1)` of rows `[r0, r1)`. */
export function softcapRows(x: usize, stride: i32, r0: i32, r1: i32, c0: i32, c1: i32, cap: f32): void {
  for (let r = r0; r < r1; r++) {
    const row = x + ((<usize>r * <usize>stride) << 2);
    for (let c = c0; c < c1; c++) {
      const off = <usize>c << 2;
      store<f32>(row + off, <f32>Math.tanh(<f64>(load<f32>(row + off) / cap)) * cap);
    }
  }
}
