// WGSL for one transformer step over a flattened batch of T tokens. Shapes are baked into each
// shader as constants (one pipeline per distinct shape, cached by the executor); what changes from
// step to step — token count, offsets into the step data — comes from the `Step` uniform.
//
// Step data (`array<u32>`, written once per step): token ids [T] at 0, positions [T] at `pos`,
// KV slots [T] at `slot`, each token's block-table offset [T] at `bt`, the batch rows to sample [S]
// at `rows`; block tables follow. Activations are f32.
import type { PackedWeight } from './weights.js';
import { wgslWeight } from './weights.js';

/** The per-step uniform, as WGSL. Its layout is {@link STEP_UNIFORM_WORDS} u32s. */
export const STEP_STRUCT = `struct Step {
  tokens: u32,
  samples: u32,
  pos: u32,
  slot: u32,
  bt: u32,
  rows: u32,
  tiles: u32,
  _pad: u32,
}`;

export const STEP_UNIFORM_WORDS = 8;

const stepBindings = (uniform: number, data: number) => `${STEP_STRUCT}
@group(0) @binding(${uniform}) var<uniform> step: Step;
@group(0) @binding(${data}) var<storage, read> step_data: array<u32>;`;

/**
 * Gathers embedding rows: `x[t] = E[token t] · scale`, for the tokens whose rows this part of the matrix
 * holds (`[rowStart, rowStart + rows)`; one part unless the matrix was split over bindings).
 * Dispatch `(ceil(d / 256), T)`.
 */
export function embedShader(
  w: Pick<PackedWeight, 'type' | 'rowWords'>,
  hidden: number,
  part: { rowStart: number; rows: number } = { rowStart: 0, rows: 2 ** 32 - 1 },
  scale = 1,
): string {
  const quads = hidden / 4;
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read_write> x: array<vec4<f32>>;
${wgslWeight(w, 'emb', 3)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.y;
  let q = wg.x * 64u + lid.x;
  if (t >= step.tokens || q >= ${quads}u) { return; }
  let row = step_data[t] - ${part.rowStart}u;
  if (step_data[t] < ${part.rowStart}u || row >= ${part.rows}u) { return; }
  x[t * ${quads}u + q] = emb_load4(row, q / 8u, q % 8u)${scale === 1 ? '' : ` * ${f32(scale)}`};
}`;
}

/** `inv[t] = 1 / sqrt(mean(x[t]²) + eps)`, one workgroup per token. Dispatch `(T)`. */
export function rmsShader(hidden: number, eps: number): string {
  const quads = hidden / 4;
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> inv: array<f32>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  var s = 0.0;
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    let v = x[t * ${quads}u + i];
    s += dot(v, v);
  }
  part[lid.x] = s;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0.0;
    for (var j = 0u; j < 64u; j++) { total += part[j]; }
    inv[t] = 1.0 / sqrt(total / ${hidden}.0 + ${f32(eps)});
  }
}`;
}

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
function outputStore(v: MatmulVariant): {
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
    bindings: `@group(0) @binding(9) var<storage, read_write> out_b: array<f32>;
@group(0) @binding(10) var<storage, read_write> out_c: array<f32>;
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

/**
 * `out[t, n] = Σ_k W[n, k] · x[t, k]` for every token (or sampled row), with the variant's fused
 * input norm, bias, residual add or SwiGLU. Each workgroup computes {@link MATMUL_TILE}.rows rows
 * for {@link MATMUL_TILE}.tokens tokens: a weight vector is decoded once and dotted with every
 * token's activations, then the split-K partial sums meet in workgroup memory. Bindings: 0 step,
 * 1 step data, 2 x, 3 out, 4 W, 5 W2, 6 inv, 7 norm weight, 8 bias, 9 and 10 the split outputs.
 * Dispatch `(ceil(n / rows), ceil(T / tokens))`.
 */
export function matmulShader(w: Pick<PackedWeight, 'type' | 'rowWords'>, v: MatmulVariant): string {
  const { rows: R, split: S, tokens: TT } = MATMUL_TILE;
  const k4 = v.k / 4;
  const count = v.gather ? 'step.samples' : 'step.tokens';
  const dual = v.dual !== undefined;
  const row = v.gather ? 'step_data[step.rows + t]' : 't';
  const output = outputStore(v);
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${output.bindings}
${wgslWeight(w, 'w', 4)}
${
  dual
    ? `${wgslWeight(v.dual!, 'w2', 5)}
${GLU_WGSL}`
    : ''
}
${v.norm ? '@group(0) @binding(6) var<storage, read> inv: array<f32>;\n@group(0) @binding(7) var<storage, read> norm_w: array<vec4<f32>>;' : ''}
${v.bias ? '@group(0) @binding(8) var<storage, read> bias: array<f32>;' : ''}
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
}`;
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
): string {
  const dual = v.dual !== undefined;
  const BN = dual ? 32 : 64;
  const BT = 32;
  const RPT = BN / 16;
  const TPT = BT / 16;
  const k4 = v.k / 4;
  const stride = 33;
  const store = (arr: string, val: string) =>
    [0, 1, 2, 3].map((i) => `${arr}[r * ${stride}u + q * 4u + ${i}u] = ${val}[${i}];`).join(' ');
  const norm = v.norm
    ? `@group(0) @binding(6) var<storage, read> inv: array<f32>;
@group(0) @binding(7) var<storage, read> norm_w: array<vec4<f32>>;`
    : '';
  const output = outputStore(v);
  const write = dual
    ? `let sum2 = acc2[i * ${TPT}u + j];
        ${output.store('t', 'n', `${glu(v)}(sum, sum2)`)}`
    : output.store('t', 'n', 'sum');
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${output.bindings}
${wgslWeight(w, 'w', 4)}
${
  dual
    ? `${wgslWeight(v.dual!, 'w2', 5)}
${GLU_WGSL}`
    : ''
}
${norm}
${v.bias ? '@group(0) @binding(8) var<storage, read> bias: array<f32>;' : ''}
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
}`;
}

/** Geometry of attention and the KV cache. */
export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  blockSize: number;
  /** Element type of the K/V cache; `f16` needs `shader-f16`. */
  kvType: 'f32' | 'f16';
  /** Multiplies q·k. Default `1/√headDim`. */
  scale?: number;
  /** `tanh(s / cap) · cap` on the scaled scores; 0 (default) for none. */
  softcap?: number;
  /** Position p sees only `(p - slidingWindow, p]`; 0 (default) sees the whole prefix. */
  slidingWindow?: number;
}

/** The score of one query/key dot product, scaled and soft-capped as the shape says. */
function scoreOf(a: AttentionShape, dot: string): string {
  const scaled = `${dot} * ${f32(a.scale ?? 1 / Math.sqrt(a.headDim))}`;
  const cap = a.softcap ?? 0;
  return cap > 0 ? `${f32(cap)} * tanh(clamp((${scaled}) / ${f32(cap)}, -15.0, 15.0))` : scaled;
}

/** The first position a query at `last` (a WGSL u32) sees under the shape's sliding window. */
function firstVisible(a: AttentionShape, last: string): string {
  const w = a.slidingWindow ?? 0;
  return w > 0 ? `select(0u, ${last} + 1u - ${w}u, ${last} + 1u > ${w}u)` : '0u';
}

/** `enable f16;` when the cache holds halves. */
const kvEnable = (a: AttentionShape) => (a.kvType === 'f16' ? 'enable f16;\n' : '');

/**
 * Rotates q in place and k on its way into the cache (RoPE, fused with the K/V write), and copies
 * v into the cache: slot `s` of a layer's cache holds `kvDim` floats at `s · kvDim`. One workgroup
 * per token. Bindings: 0 step, 1 step data, 2 q, 3 k, 4 v, 5 key cache, 6 value cache, 7 the
 * cos/sin table (`[position][pair]`). Dispatch `(T)`.
 */
export function ropeKvShader(
  a: AttentionShape,
  style: 'interleaved' | 'neox',
  rotaryDim = a.headDim,
): string {
  const hd = a.headDim;
  const half = rotaryDim / 2;
  const kvDim = a.numKvHeads * hd;
  const qDim = a.numHeads * hd;
  // Pair i of a head: (2i, 2i + 1) interleaved, (i, i + rotaryDim/2) neox; `partner` is the other
  // element of the pair a rotated element d belongs to, and `first` whether d leads it.
  const pair =
    style === 'interleaved'
      ? `fn pair(head: u32, i: u32) -> vec2<u32> { let b = head * ${hd}u + 2u * i; return vec2<u32>(b, b + 1u); }
fn pair_of(d: u32) -> vec3<u32> { return vec3<u32>(d / 2u, d ^ 1u, select(0u, 1u, d % 2u == 0u)); }`
      : `fn pair(head: u32, i: u32) -> vec2<u32> { let b = head * ${hd}u + i; return vec2<u32>(b, b + ${half}u); }
fn pair_of(d: u32) -> vec3<u32> {
  if (d < ${half}u) { return vec3<u32>(d, d + ${half}u, 1u); }
  return vec3<u32>(d - ${half}u, d - ${half}u, 0u);
}`;
  const kv = a.kvType;
  const rotateK =
    half === 0
      ? ''
      : `if (d < ${rotaryDim}u) {
      let pr = pair_of(d);
      let cs = rope[pos * ${half}u + pr.x];
      let other = k[t * ${kvDim}u + e - d + pr.y];
      value = select(other * cs.y + value * cs.x, value * cs.x - other * cs.y, pr.z == 1u);
    }`;
  return `${kvEnable(a)}${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> kc: array<${kv}>;
@group(0) @binding(6) var<storage, read_write> vc: array<${kv}>;
${half === 0 ? '' : `@group(0) @binding(7) var<storage, read> rope: array<vec2<f32>>;\n${pair}`}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  let pos = step_data[step.pos + t];
  let slot = step_data[step.slot + t];
  ${
    half === 0
      ? ''
      : `for (var p = lid.x; p < ${a.numHeads * half}u; p += 64u) {
    let cs = rope[pos * ${half}u + p % ${half}u];
    let ix = pair(p / ${half}u, p % ${half}u) + vec2<u32>(t * ${qDim}u);
    let x0 = q[ix.x];
    let x1 = q[ix.y];
    q[ix.x] = x0 * cs.x - x1 * cs.y;
    q[ix.y] = x0 * cs.y + x1 * cs.x;
  }`
  }
  for (var e = lid.x; e < ${kvDim}u; e += 64u) {
    let d = e % ${hd}u;
    var value = k[t * ${kvDim}u + e];
    ${rotateK}
    kc[slot * ${kvDim}u + e] = ${kv}(value);
    vc[slot * ${kvDim}u + e] = ${kv}(v[t * ${kvDim}u + e]);
  }
}`;
}

/** Positions each attention workgroup scores at once. */
const ATTN_CHUNK = 64;

/**
 * Query tokens per workgroup of {@link attentionShader}: as many as keep its query rows
 * (tokens × the query heads of one KV head) at 16 or fewer, so the per-thread accumulators stay in
 * registers, and its workgroup memory within `maxBytes`. 1 means the shape gets no tiled kernel.
 */
export function attentionTileTokens(a: AttentionShape, maxBytes: number): number {
  const G = a.numHeads / a.numKvHeads;
  let tokens = Math.max(1, Math.floor(16 / G));
  const bytes = (qt: number) => 4 * (qt * G * a.headDim + qt * G * ATTN_CHUNK + ATTN_CHUNK + qt);
  while (tokens > 1 && bytes(tokens) > maxBytes) tokens--;
  return tokens;
}

/**
 * Causal paged attention over each sequence's cached K/V, read through the block table with an
 * online softmax (no score row is ever stored). A workgroup serves a tile of up to `tileTokens`
 * consecutive tokens of one sequence and every query head of one KV head (GQA), so each K/V
 * element is read once per tile and group: prefill uses the largest tile that fits
 * ({@link attentionTileTokens}), decode (one token a sequence) a tile of 1. Per chunk of 64 positions: each thread dots its
 * key with every query row of the tile (causally masked per token), every thread turns its
 * column of scores into probabilities under the rows' running maxima, then each accumulates its
 * share of the head dimensions over the chunk's values. Tiles come from the step data at
 * `step.tiles` (first token << 8 | token count). Dispatch `(tiles, numKvHeads)`.
 */
export function attentionShader(a: AttentionShape, tileTokens: number): string {
  const hd = a.headDim;
  const kvDim = a.numKvHeads * hd;
  const qDim = a.numHeads * hd;
  const G = a.numHeads / a.numKvHeads;
  const R = tileTokens * G;
  const owned = Math.ceil(hd / ATTN_CHUNK);
  const C = ATTN_CHUNK;
  return `${kvEnable(a)}${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<${a.kvType}>;
@group(0) @binding(4) var<storage, read> vc: array<${a.kvType}>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
var<workgroup> qs: array<f32, ${R * hd}>;
var<workgroup> probs: array<f32, ${R * C}>;
var<workgroup> slots: array<u32, ${C}>;
var<workgroup> last: array<u32, ${tileTokens}>;
@compute @workgroup_size(${C})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = step_data[step.tiles + wg.x];
  let t0 = tile >> 8u;
  let count = tile & 255u;
  let kvh = wg.y;
  let kvBase = kvh * ${hd}u;
  let table = step_data[step.bt + t0];
  let context = step_data[step.pos + t0 + count - 1u] + 1u;
  let first = ${firstVisible(a, 'step_data[step.pos + t0]')};
  // Query row r is head r % G of token r / G; rows past the tile's tokens stay zero.
  for (var i = lid.x; i < ${R * hd}u; i += ${C}u) {
    let j = i / ${G * hd}u;
    qs[i] = select(0.0, q[(t0 + j) * ${qDim}u + kvh * ${G * hd}u + i % ${G * hd}u], j < count);
  }
  if (lid.x < ${tileTokens}u) {
    // The last position token j attends to (itself); a missing token attends to nothing past 0.
    last[lid.x] = select(0u, step_data[step.pos + t0 + lid.x], lid.x < count);
  }
  workgroupBarrier();
  var m: array<f32, ${R}>;
  var l: array<f32, ${R}>;
  var acc: array<f32, ${R * owned}>;
  for (var r = 0u; r < ${R}u; r++) { m[r] = -3.0e38; l[r] = 0.0; }
  for (var i = 0u; i < ${R * owned}u; i++) { acc[i] = 0.0; }
  for (var base = first; base < context; base += ${C}u) {
    let p = base + lid.x;
    var slot = 0u;
    var dots: array<f32, ${R}>;
    // Zeroed by hand: a loop-scoped \`var\` is not reliably re-zeroed each iteration by every
    // driver (lavapipe kept the last chunk's sums).
    for (var r = 0u; r < ${R}u; r++) { dots[r] = 0.0; }
    if (p < context) {
      slot = step_data[table + p / ${a.blockSize}u] * ${a.blockSize}u + p % ${a.blockSize}u;
      let kb = slot * ${kvDim}u + kvBase;
      for (var d = 0u; d < ${hd}u; d++) {
        let k = f32(kc[kb + d]);
        for (var r = 0u; r < ${R}u; r++) { dots[r] += qs[r * ${hd}u + d] * k; }
      }
    }
    for (var r = 0u; r < ${R}u; r++) {
      let visible = p < context && p <= last[r / ${G}u]${
        (a.slidingWindow ?? 0) > 0 ? ` && p + ${a.slidingWindow}u > last[r / ${G}u]` : ''
      };
      probs[r * ${C}u + lid.x] = select(-3.0e38, ${scoreOf(a, 'dots[r]')}, visible);
    }
    slots[lid.x] = slot;
    workgroupBarrier();
    let n = min(${C}u, context - base);
    // Every thread keeps every row's running max and sum; each rescales its own accumulators,
    // then turns its own column of scores into probabilities.
    for (var r = 0u; r < ${R}u; r++) {
      var cm = m[r];
      for (var j = 0u; j < n; j++) { cm = max(cm, probs[r * ${C}u + j]); }
      let correction = exp(m[r] - cm);
      l[r] *= correction;
      for (var o = 0u; o < ${owned}u; o++) { acc[r * ${owned}u + o] *= correction; }
      m[r] = cm;
    }
    workgroupBarrier();
    for (var r = 0u; r < ${R}u; r++) {
      let at = r * ${C}u + lid.x;
      probs[at] = exp(probs[at] - m[r]);
    }
    workgroupBarrier();
    for (var j = 0u; j < n; j++) {
      let vb = slots[j] * ${kvDim}u + kvBase;
      for (var r = 0u; r < ${R}u; r++) { l[r] += probs[r * ${C}u + j]; }
      for (var o = 0u; o < ${owned}u; o++) {
        let d = lid.x + o * ${C}u;
        if (d < ${hd}u) {
          let v = f32(vc[vb + d]);
          for (var r = 0u; r < ${R}u; r++) { acc[r * ${owned}u + o] += probs[r * ${C}u + j] * v; }
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${R}u; r++) {
    let j = r / ${G}u;
    if (j < count) {
      for (var o = 0u; o < ${owned}u; o++) {
        let d = lid.x + o * ${C}u;
        if (d < ${hd}u) {
          out[(t0 + j) * ${qDim}u + kvh * ${G * hd}u + (r % ${G}u) * ${hd}u + d] =
            acc[r * ${owned}u + o] / l[r];
        }
      }
    }
  }
}`;
}

/**
 * RMS norm of each `group` values of a row, in place: `x = x / rms(x) · w` (Qwen3's and Gemma 3's
 * per-head q/k norm). One workgroup per (token, group). Bindings: 0 step, 1 step data, 2 x, 3 the
 * norm weight (`group` floats). Dispatch `(T, width / group)`.
 */
export function groupRmsShader(width: number, group: number, eps: number): string {
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wg.x * ${width}u + wg.y * ${group}u;
  var s = 0.0;
  for (var i = lid.x; i < ${group}u; i += 64u) { s += x[base + i] * x[base + i]; }
  part[lid.x] = s;
  workgroupBarrier();
  var total = 0.0;
  for (var j = 0u; j < 64u; j++) { total += part[j]; }
  let inv = 1.0 / sqrt(total / ${group}.0 + ${f32(eps)});
  workgroupBarrier();
  for (var i = lid.x; i < ${group}u; i += 64u) { x[base + i] = x[base + i] * inv * w[i]; }
}`;
}

/**
 * The residual add of a normed branch: `x += h / rms(h) · w` (Gemma's post-attention and
 * post-feed-forward norms). One workgroup per token. Bindings: 0 step, 1 step data, 2 x, 3 h,
 * 4 the norm weight. Dispatch `(T)`.
 */
export function normAddShader(hidden: number, eps: number): string {
  const quads = hidden / 4;
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> h: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> w: array<vec4<f32>>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  var s = 0.0;
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    let v = h[t * ${quads}u + i];
    s += dot(v, v);
  }
  part[lid.x] = s;
  workgroupBarrier();
  var total = 0.0;
  for (var j = 0u; j < 64u; j++) { total += part[j]; }
  let inv = 1.0 / sqrt(total / ${hidden}.0 + ${f32(eps)});
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    x[t * ${quads}u + i] = x[t * ${quads}u + i] + h[t * ${quads}u + i] * inv * w[i];
  }
}`;
}

/**
 * `x = tanh(x / cap) · cap` over each sampled row of `width` values (Gemma 2's final logit
 * soft-capping). Bindings: 0 step, 1 step data, 2 x. Dispatch `(ceil(width / 256), S)`.
 */
export function softcapShader(width: number, cap: number): string {
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= ${width}u || id.y >= step.samples) { return; }
  let i = id.y * ${width}u + id.x;
  x[i] = ${f32(cap)} * tanh(clamp(x[i] / ${f32(cap)}, -15.0, 15.0));
}`;
}

/** A JS number as a WGSL f32 literal. */
function f32(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}
