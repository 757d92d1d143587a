// Matmuls against weights in their file types: split-K for small batches, tiled for prefill.

import { declarations, type Kernel, STEP_BINDINGS } from './bindings.js';
import { stepDecls } from './step.js';
import type { PackedWeight } from './weights.js';
import { wgslWeight } from './weights.js';

/**
 * A matmul's bindings: the input rows, the output (and the second and third outputs of a split),
 * the weight (and the up projection's), the input norm's inverse roots and weight, the bias.
 */
export const MATMUL_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read' },
  out: { binding: 3, access: 'read_write' },
  w: { binding: 4, access: 'read' },
  w2: { binding: 5, access: 'read' },
  inv: { binding: 6, access: 'read' },
  norm_w: { binding: 7, access: 'read' },
  bias: { binding: 8, access: 'read' },
  out_b: { binding: 9, access: 'read_write' },
  out_c: { binding: 10, access: 'read_write' },
} as const;

type MatmulDecls = ReturnType<typeof declarations<typeof MATMUL_BINDINGS>>;

/** What a matmul computes besides `W·x`. */
export interface MatmulVariant {
  /** Output features (rows of W; of this part of it when W is split over bindings). */
  n: number;
  /**
   * Where this part's rows start in the whole matrix, and the whole matrix's rows (the output's
   * row stride), when W is split over several bindings. Default 0 and `n`.
   */
  rowOffset?: number;
  outRows?: number;
  /** Input features (columns of W). */
  k: number;
  /** Input rows are RMS-normalized on load: `x · inv[row] · normW`. */
  norm?: boolean;
  /** `+ bias[rowOffset + n]`. */
  bias?: boolean;
  /** The output is added to what `out` holds (a residual add). */
  residual?: boolean;
  /** A second weight (the up projection): writes `act(W·x) · (W2·x)`. */
  dual?: Pick<PackedWeight, 'type' | 'rowWords'>;
  /** The gate's activation with `dual`: SwiGLU (`silu`, the default) or GeGLU (`gelu_tanh`). */
  activation?: 'silu' | 'gelu_tanh';
  /** Input rows are the batch rows listed at `step.rows` (one per sample), not every token. */
  gather?: boolean;
  /**
   * Output rows go to three buffers (Q, K and V from one concatenated weight): rows `[0, a)` to
   * `out` (binding 3), `[a, a + b)` to binding 9 and `[a + b, n)` to binding 10, each with its own
   * row stride.
   */
  split?: readonly [number, number, number];
}

/**
 * The gated activations: SwiGLU, and GeGLU with GELU's tanh approximation (ggml's `gelu`). The
 * tanh argument is clamped: tanh is ±1 in f32 well before ±15, and some drivers compute it as a
 * ratio of exponentials that overflows.
 */
const GLU_WGSL = `fn glu_silu(g: f32, u: f32) -> f32 { return g / (1.0 + exp(-g)) * u; }
fn glu_gelu_tanh(g: f32, u: f32) -> f32 {
  let a = clamp(0.7978845608 * g * (1.0 + 0.044715 * g * g), -15.0, 15.0);
  return 0.5 * g * (1.0 + tanh(a)) * u;
}`;

const glu = (v: MatmulVariant) => `glu_${v.activation ?? 'silu'}`;

/** The bindings and `store(t, n, value)` function that write one output element of a variant. */
function outputStore(
  v: MatmulVariant,
  d: MatmulDecls,
): {
  bindings: string;
  store: (t: string, n: string, value: string) => string;
} {
  const offset = v.rowOffset ?? 0;
  if (!v.split) {
    const at = (t: string, n: string) => `out[${t} * ${v.outRows ?? v.n}u + ${offset}u + ${n}]`;
    return {
      bindings: '',
      store: (t, n, value) =>
        v.residual ? `${at(t, n)} = ${at(t, n)} + ${value};` : `${at(t, n)} = ${value};`,
    };
  }
  const [a, b, c] = v.split;
  return {
    bindings: `${d.decl('out_b', 'array<f32>')}
${d.decl('out_c', 'array<f32>')}
fn store(t: u32, n: u32, value: f32) {
  if (n < ${a}u) {
    out[t * ${a}u + n] = value;
  } else if (n < ${a + b}u) {
    out_b[t * ${b}u + n - ${a}u] = value;
  } else {
    out_c[t * ${c}u + n - ${a + b}u] = value;
  }
}`,
    store: (t, n, value) => `store(${t}, ${offset}u + ${n}, ${value});`,
  };
}

/** Rows of W per workgroup, threads splitting K per row, and tokens per workgroup. */
export const MATMUL_TILE = { rows: 4, split: 32, tokens: 8 } as const;

/** The declarations both matmul kernels share, for a variant. */
function matmulDecls(
  w: Pick<PackedWeight, 'type' | 'rowWords'>,
  v: MatmulVariant,
  d: MatmulDecls,
  outputs: string,
): string {
  const lines = [
    stepDecls(d),
    d.decl('x', 'array<vec4<f32>>'),
    d.decl('out', 'array<f32>'),
    outputs,
    wgslWeight(w, 'w', d.use('w')),
  ];
  if (v.dual) lines.push(wgslWeight(v.dual, 'w2', d.use('w2')), GLU_WGSL);
  if (v.norm) lines.push(d.decl('inv', 'array<f32>'), d.decl('norm_w', 'array<vec4<f32>>'));
  if (v.bias) lines.push(d.decl('bias', 'array<f32>'));
  return lines.join('\n');
}

/**
 * `out[t, n] = Σ_k W[n, k] · x[t, k]` for every token (or sampled row), with the variant's fused
 * input norm, bias, residual add or SwiGLU. Each workgroup computes {@link MATMUL_TILE}.rows rows
 * for {@link MATMUL_TILE}.tokens tokens: a weight vector is decoded once and dotted with every
 * token's activations, then the split-K partial sums meet in workgroup memory
 * ({@link MATMUL_BINDINGS}). Dispatch `(ceil(n / rows), ceil(T / tokens))`.
 */
export function matmulShader(w: Pick<PackedWeight, 'type' | 'rowWords'>, v: MatmulVariant): Kernel {
  const { rows: R, split: S, tokens: TT } = MATMUL_TILE;
  const k4 = v.k / 4;
  const count = v.gather ? 'step.samples' : 'step.tokens';
  const dual = v.dual !== undefined;
  const row = v.gather ? 'step_data[step.rows + t]' : 't';
  const d = declarations(MATMUL_BINDINGS);
  const output = outputStore(v, d);
  return d.kernel(`${matmulDecls(w, v, d, output.bindings)}
var<workgroup> part: array<f32, ${R * S * TT * (dual ? 2 : 1)}>;
@compute @workgroup_size(${S}, ${R})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wg.x * ${R}u + lid.y;
  let t0 = wg.y * ${TT}u;
  let count = min(${count} - min(t0, ${count}), ${TT}u);
  var acc: array<f32, ${TT}>;
  ${dual ? `var acc2: array<f32, ${TT}>;` : ''}
  if (n < ${v.n}u) {
    for (var q = lid.x; q < ${k4}u; q += ${S}u) {
      let wv = w_load4(n, q / 8u, q % 8u);
      ${dual ? 'let wv2 = w2_load4(n, q / 8u, q % 8u);' : ''}
      ${v.norm ? 'let nw = norm_w[q];' : ''}
      for (var j = 0u; j < count; j++) {
        let t = t0 + j;
        let r = ${row};
        let xv = x[r * ${k4}u + q]${v.norm ? ' * inv[r] * nw' : ''};
        acc[j] += dot(wv, xv);
        ${dual ? 'acc2[j] += dot(wv2, xv);' : ''}
      }
    }
  }
  for (var j = 0u; j < ${TT}u; j++) {
    part[(lid.y * ${TT}u + j) * ${S}u + lid.x] = acc[j];
    ${dual ? `part[${R * S * TT}u + (lid.y * ${TT}u + j) * ${S}u + lid.x] = acc2[j];` : ''}
  }
  workgroupBarrier();
  if (lid.x < count && n < ${v.n}u) {
    let base = (lid.y * ${TT}u + lid.x) * ${S}u;
    var sum = 0.0;
    ${dual ? 'var sum2 = 0.0;' : ''}
    for (var s = 0u; s < ${S}u; s++) {
      sum += part[base + s];
      ${dual ? `sum2 += part[${R * S * TT}u + base + s];` : ''}
    }
    let t = t0 + lid.x;
    ${v.bias ? `sum += bias[${v.rowOffset ?? 0}u + n];` : ''}
    ${output.store('t', 'n', dual ? `${glu(v)}(sum, sum2)` : 'sum')}
  }
}`);
}

/** Batches of at least this many tokens use {@link tiledMatmulShader}; smaller ones the split-K matmul. */
export const TILED_MIN_TOKENS = 32;

/**
 * The matmul of {@link matmulShader} for large batches (prefill): each workgroup of 16×16 threads
 * computes a tile of 64 rows (32 with a second weight) × 32 tokens. Per 32-element chunk of K, the
 * weight tile is decoded once into workgroup memory and the activation tile loaded once (normed on
 * load), then every thread accumulates a 4×2 (2×2) register tile, so each weight is read once per
 * 32 tokens and each activation once per tile of rows. Same bindings; no `gather`.
 * Dispatch `(ceil(n / rows), ceil(T / 32))`.
 */
export function tiledMatmulShader(
  w: Pick<PackedWeight, 'type' | 'rowWords'>,
  v: MatmulVariant,
): Kernel {
  const dual = v.dual !== undefined;
  const BN = dual ? 32 : 64;
  const BT = 32;
  const RPT = BN / 16;
  const TPT = BT / 16;
  const k4 = v.k / 4;
  const stride = 33;
  const store = (arr: string, val: string) =>
    [0, 1, 2, 3].map((i) => `${arr}[r * ${stride}u + q * 4u + ${i}u] = ${val}[${i}];`).join(' ');
  const d = declarations(MATMUL_BINDINGS);
  const output = outputStore(v, d);
  const write = dual
    ? `let sum2 = acc2[i * ${TPT}u + j];
        ${output.store('t', 'n', `${glu(v)}(sum, sum2)`)}`
    : output.store('t', 'n', 'sum');
  return d.kernel(`${matmulDecls(w, v, d, output.bindings)}
var<workgroup> ws: array<f32, ${BN * stride}>;
${dual ? `var<workgroup> ws2: array<f32, ${BN * stride}>;` : ''}
var<workgroup> xs: array<f32, ${BT * stride}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let n0 = wg.x * ${BN}u;
  let t0 = wg.y * ${BT}u;
  let count = step.tokens;
  var acc: array<f32, ${RPT * TPT}>;
  ${dual ? `var acc2: array<f32, ${RPT * TPT}>;` : ''}
  for (var c = 0u; c < ${v.k / 32}u; c++) {
    for (var e = li; e < ${BN * 8}u; e += 256u) {
      let r = e / 8u;
      let q = e % 8u;
      var wv = vec4<f32>(0.0);
      ${dual ? 'var wv2 = vec4<f32>(0.0);' : ''}
      if (n0 + r < ${v.n}u) {
        wv = w_load4(n0 + r, c, q);
        ${dual ? 'wv2 = w2_load4(n0 + r, c, q);' : ''}
      }
      ${store('ws', 'wv')}
      ${dual ? store('ws2', 'wv2') : ''}
    }
    for (var e = li; e < ${BT * 8}u; e += 256u) {
      let r = e / 8u;
      let q = e % 8u;
      let t = t0 + r;
      var xv = vec4<f32>(0.0);
      if (t < count) {
        xv = x[t * ${k4}u + c * 8u + q]${v.norm ? ' * inv[t] * norm_w[c * 8u + q]' : ''};
      }
      ${store('xs', 'xv')}
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      var b: array<f32, ${TPT}>;
      for (var j = 0u; j < ${TPT}u; j++) { b[j] = xs[(lid.y + 16u * j) * ${stride}u + kk]; }
      for (var i = 0u; i < ${RPT}u; i++) {
        let a = ws[(lid.x + 16u * i) * ${stride}u + kk];
        ${dual ? `let a2 = ws2[(lid.x + 16u * i) * ${stride}u + kk];` : ''}
        for (var j = 0u; j < ${TPT}u; j++) {
          acc[i * ${TPT}u + j] += a * b[j];
          ${dual ? `acc2[i * ${TPT}u + j] += a2 * b[j];` : ''}
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${RPT}u; i++) {
    let n = n0 + lid.x + 16u * i;
    for (var j = 0u; j < ${TPT}u; j++) {
      let t = t0 + lid.y + 16u * j;
      if (n < ${v.n}u && t < count) {
        var sum = acc[i * ${TPT}u + j];
        ${v.bias ? `sum += bias[${v.rowOffset ?? 0}u + n];` : ''}
        ${write}
      }
    }
  }
}`);
}
