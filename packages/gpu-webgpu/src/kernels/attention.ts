// RoPE with the K/V write, and paged attention.
import { declarations, type Kernel, STEP_BINDINGS } from './bindings.js';
import { f32, stepDecls } from './step.js';

/**
 * RoPE + K/V write's bindings: Q (rotated in place), K and V of the step, the layer's key and value
 * caches, the rope's cos/sin table.
 */
export const ROPE_KV_BINDINGS = {
  ...STEP_BINDINGS,
  q: { binding: 2, access: 'read_write' },
  k: { binding: 3, access: 'read' },
  v: { binding: 4, access: 'read' },
  kc: { binding: 5, access: 'read_write' },
  vc: { binding: 6, access: 'read_write' },
  rope: { binding: 7, access: 'read' },
} as const;

/** Attention's bindings: Q, the layer's key and value caches, the output. */
export const ATTENTION_BINDINGS = {
  ...STEP_BINDINGS,
  q: { binding: 2, access: 'read' },
  kc: { binding: 3, access: 'read' },
  vc: { binding: 4, access: 'read' },
  out: { binding: 5, access: 'read_write' },
} as const;

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
 * per token ({@link ROPE_KV_BINDINGS}; the cos/sin table is `[position][pair]`). Dispatch `(T)`.
 */
export function ropeKvShader(
  a: AttentionShape,
  style: 'interleaved' | 'neox',
  rotaryDim = a.headDim,
): Kernel {
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
  const d = declarations(ROPE_KV_BINDINGS);
  return d.kernel(`${kvEnable(a)}${stepDecls(d)}
${d.decl('q', 'array<f32>')}
${d.decl('k', 'array<f32>')}
${d.decl('v', 'array<f32>')}
${d.decl('kc', `array<${kv}>`)}
${d.decl('vc', `array<${kv}>`)}
${half === 0 ? '' : `${d.decl('rope', 'array<vec2<f32>>')}\n${pair}`}
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
}`);
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
export function attentionShader(a: AttentionShape, tileTokens: number): Kernel {
  const hd = a.headDim;
  const kvDim = a.numKvHeads * hd;
  const qDim = a.numHeads * hd;
  const G = a.numHeads / a.numKvHeads;
  const R = tileTokens * G;
  const owned = Math.ceil(hd / ATTN_CHUNK);
  const C = ATTN_CHUNK;
  const d = declarations(ATTENTION_BINDINGS);
  return d.kernel(`${kvEnable(a)}${stepDecls(d)}
${d.decl('q', 'array<f32>')}
${d.decl('kc', `array<${a.kvType}>`)}
${d.decl('vc', `array<${a.kvType}>`)}
${d.decl('out', 'array<f32>')}
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
}`);
}
