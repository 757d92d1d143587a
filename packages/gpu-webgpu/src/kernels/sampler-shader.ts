// The sampling kernel's WGSL and pipeline, and the word layouts it shares with its host class
// (`sampler.ts`): parameters, penalty entries and results. Over 500 lines because it is one
// kernel: its radix-select stages share workgroup memory and one loop, and read best together.
import { type BindingTable, declarations, layoutEntries } from './bindings.js';

/** Temperatures below this sample greedily, as in `sampleLogits`. */
export const GREEDY_EPS = 1e-5;
/** Most top log-probabilities a row may ask for (`SamplingParams.logprobs`). */
export const MAX_TOP_LOGPROBS = 20;
export const WORKGROUP_SIZE = 256;
/** u32 words per row parameter record (see `RowParams` in the shader). */
export const PARAM_WORDS = 16;
/**
 * u32 words per penalty entry: token id, the f32 logit bias added first, the f32 subtracted after
 * the repetition penalty, and whether the token was seen (prompt or output: the repetition
 * penalty applies).
 */
export const PENALTY_WORDS = 4;
/**
 * u32 words per result record: the sampled token id, the f32 log-probability of that token, then
 * `MAX_TOP_LOGPROBS` pairs (token id, f32 log-probability), most likely first.
 */
export const RESULT_WORDS = 2 + 2 * MAX_TOP_LOGPROBS;
export const RESULT_BYTES = RESULT_WORDS * 4;

/** Reductions go 16 × 16 over the workgroup; the kernel reads this from a uniform (see WGSL). */
export const REDUCTION_FAN = 16;
/** Selection stages of the kernel (see `main` in the WGSL), also read from the uniform. */
export const STAGES = 5;

export const FLAG_GREEDY = 1;
export const FLAG_FILTERED = 2;
export const FLAG_LOGPROBS = 4;
export const FLAG_TOP_K = 8;
export const FLAG_TOP_P = 16;
export const FLAG_REPETITION = 32;
/** The row has a token mask (`SamplingParams.allowedTokens`) at `maskStart` in `mask`. */
export const FLAG_MASKED = 64;

/**
 * The sampler's own bindings (group 0): per-row parameters, penalty entries, the penalized logits
 * it keeps, the results, the rows' token masks. With the logits, 6 storage buffers: within
 * WebGPU's default `maxStorageBuffersPerShaderStage` of 8.
 */
export const SAMPLER_BINDINGS = {
  params: { binding: 0, access: 'read' },
  penalties: { binding: 1, access: 'read' },
  penaltyRaw: { binding: 2, access: 'read_write' },
  result: { binding: 3, access: 'read_write' },
  mask: { binding: 4, access: 'read' },
} as const satisfies BindingTable;

/** The logits it samples (group 1): a range of a logits buffer, and where the rows start. */
export const SAMPLER_LOGITS_BINDINGS = {
  logits: { binding: 0, access: 'read_write' },
  dispatch: { binding: 1, access: 'uniform' },
} as const satisfies BindingTable;

/** The sampler's pipeline and bind group layouts for one vocabulary size. */
export interface SamplerKernel {
  pipeline: GPUComputePipeline;
  ownLayout: GPUBindGroupLayout;
  logitsLayout: GPUBindGroupLayout;
}

/** Pipelines per device and vocabulary size: compiled once per device, dropped with it. */
const kernels = new WeakMap<GPUDevice, Map<number, SamplerKernel>>();

/** The sampling pipeline for `vocabSize` on `device`, compiled on first use. */
export function samplerKernel(device: GPUDevice, vocabSize: number): SamplerKernel {
  let byVocab = kernels.get(device);
  if (!byVocab) {
    byVocab = new Map();
    kernels.set(device, byVocab);
  }
  const cached = byVocab.get(vocabSize);
  if (cached) return cached;
  const ownLayout = device.createBindGroupLayout({
    label: 'sampler',
    entries: layoutEntries({ layout: SAMPLER_BINDINGS }),
  });
  const logitsLayout = device.createBindGroupLayout({
    label: 'sampler logits',
    entries: layoutEntries({ layout: SAMPLER_LOGITS_BINDINGS }),
  });
  const module = device.createShaderModule({
    label: 'sampler',
    code: samplerWgsl(vocabSize),
  });
  const pipeline = device.createComputePipeline({
    label: `sampler (vocab ${vocabSize})`,
    layout: device.createPipelineLayout({ bindGroupLayouts: [ownLayout, logitsLayout] }),
    compute: { module, entryPoint: 'main' },
  });
  const kernel = { pipeline, ownLayout, logitsLayout };
  byVocab.set(vocabSize, kernel);
  return kernel;
}

/**
 * The sampling kernel: one workgroup of 256 per row. Layouts (u32 words):
 * - `params[r]` (16 words): row, flags, topK (0: off), number of top logprobs, first penalty
 *   entry, penalty entries, first word of the row's token mask (with FLAG_MASKED), 1 unused; then
 *   f32 temperature, topP, minP, u (the uniform draw), repetition penalty, 3 unused.
 * - `penalties[e]` (4 words): token id, the f32 logit bias, the f32 subtracted after the
 *   repetition penalty, and 1 when the token was seen (the repetition penalty applies to it);
 *   a row's entries are sorted by id.
 * - `result[r]` (42 words): token id, f32 logprob of it, then 20 × (token id, f32 logprob).
 * - `mask` (`ceil(vocab / 32)` words a masked row): bit `i & 31` of word `i >> 5` set when token
 *   `i` is allowed (xgrammar's layout, `SamplingParams.allowedTokens`).
 *
 * A masked row's disallowed logits become the lowest finite f32 at stage 1, after the penalties
 * (sampleLogits' −∞; WGSL does not promise infinities), and no selection after stage 0 counts
 * them: they have no mass under any temperature, so only a top-k count or the fallback could
 * reach them.
 *
 * Every ordered search (top log-probabilities, top-k, top-p, the draw, its fallback) is one radix
 * select over a composite key, from one call site in a loop over stages, and that loop and the
 * small loops over workgroup memory take their bounds from a uniform. Both keep the compiled shader small:
 * llvmpipe (lavapipe) unrolls constant loops and turns each workgroup-memory access into 8 scalar
 * loads, and a fully unrolled version of this kernel took it over 20 s to compile.
 * Workgroup memory: 8 KiB of digit bins and 3 KiB of scratch, inside WebGPU's 16 KiB default.
 */
function samplerWgsl(vocabSize: number): string {
  const own = declarations(SAMPLER_BINDINGS, 0);
  const rows = declarations(SAMPLER_LOGITS_BINDINGS, 1);
  // Hex digits of the largest index; the bits of ~index above them are ones for every index.
  const indexLevels = Math.max(1, Math.ceil(Math.log2(vocabSize) / 4));
  const indexHigh = indexLevels >= 8 ? 0 : ~(2 ** (4 * indexLevels) - 1) >>> 0;
  return /* wgsl */ `
const WG = ${WORKGROUP_SIZE}u;
const HALF = ${WORKGROUP_SIZE / 2}u;
const VOCAB = ${vocabSize}u;
const STRIDE = ${RESULT_WORDS}u;
const MAX_TOP = ${MAX_TOP_LOGPROBS}u;
const KEY_LEVELS = 8u;
const INDEX_LEVELS = ${indexLevels}u;
const INDEX_HIGH = ${indexHigh}u;
const GREEDY = ${FLAG_GREEDY}u;
const FILTERED = ${FLAG_FILTERED}u;
const LOGPROBS = ${FLAG_LOGPROBS}u;
const TOP_K = ${FLAG_TOP_K}u;
const TOP_P = ${FLAG_TOP_P}u;
const REPETITION = ${FLAG_REPETITION}u;
const MASKED = ${FLAG_MASKED}u;
// The lowest finite f32: a masked logit, and the start of running maxima (exp(-inf - -inf) would
// be NaN).
const LOWEST = -0x1.fffffep+127f;
const NONE = 0xffffffffu;
// Selection kinds: the first candidate (in order) whose inclusive prefix count reaches the goal;
// whose prefix mass reaches it; whose prefix mass exceeds it.
const COUNT_GE = 0u;
const MASS_GE = 1u;
const MASS_GT = 2u;

struct RowParams {
  row: u32, flags: u32, topK: u32, nTop: u32,
  penaltyStart: u32, penaltyCount: u32, maskStart: u32, unused1: u32,
  temperature: f32, topP: f32, minP: f32, u: f32,
  repetition: f32, unused2: f32, unused3: f32, unused4: f32,
}
struct Penalty { id: u32, bias: f32, delta: f32, seen: u32 }
struct Dispatch {
  // Element offset of row 0 in the logits binding.
  logitsOffset: u32,
  // 16 and 5, read at run time so that the loops they bound are not unrolled: the small loops
  // over workgroup memory, and the loop over stages in main.
  fan: u32,
  stages: u32,
  unused: u32,
}
// A selection. Its order: descending keyOf(logit - offset), then ascending index. Its
// candidates: at or before (bKey, bIdx) in that order, with a key ≥ keyFloor (above the masked
// logits' key in a masked row, else 0) and, when minP > 0, with probability ≥ minP or the largest
// logit (keyMax).
struct Sel { kind: u32, bKey: u32, bIdx: u32, keyMax: u32, minP: f32, offset: f32, keyFloor: u32 }

${own.decl('params', 'array<RowParams>')}
${own.decl('penalties', 'array<Penalty>')}
${own.decl('penaltyRaw', 'array<f32>')}
${own.decl('result', 'array<u32>')}
${own.decl('mask', 'array<u32>')}
${rows.decl('logits', 'array<f32>')}
${rows.decl('dispatch', 'Dispatch')}

var<workgroup> redK: array<u32, WG>;
var<workgroup> redI: array<u32, WG>;
var<workgroup> redF: array<f32, WG>;
// 128 partial sums of 16 digit bins, 4 digits to a vec4.
var<workgroup> bins: array<vec4f, 512>;
var<workgroup> digitTotal: array<f32, 16>;
// The selection so far: key digits, ~index digits, weight before the chosen digit, goal.
var<workgroup> selKey: u32;
var<workgroup> selIndexBits: u32;
var<workgroup> selAbove: f32;
var<workgroup> selGoal: f32;
var<workgroup> selFound: u32;
var<workgroup> gathered: atomic<u32>;

// The same in every invocation of a workgroup.
var<private> rowBase: u32;
var<private> maxLogit: f32;
var<private> temperature: f32;

// Order-preserving u32 image of an f32 (-0 is 0, as a float comparison has it).
fn keyOf(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn valueOf(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// exp((x - max) / T), its argument kept at -128 or above: 0 in f32 either way, and a masked
// logit (LOWEST - max) divided by a temperature below 1 never overflows to an infinity.
fn prob(x: f32) -> f32 {
  return exp(max(x - maxLogit, -128.0 * temperature) / temperature);
}

fn logit(i: u32) -> f32 {
  return logits[rowBase + i];
}

fn before(k: u32, i: u32, bk: u32, bi: u32) -> bool {
  return k > bk || (k == bk && i < bi);
}

// The (key, index) pair first in descending order (ties: lower index) over the workgroup.
fn reduceArgmax(lid: u32, k: u32, i: u32) -> vec2u {
  redK[lid] = k;
  redI[lid] = i;
  workgroupBarrier();
  if (lid < 16u) {
    var bk = redK[lid * 16u];
    var bi = redI[lid * 16u];
    for (var j = 1u; j < dispatch.fan; j++) {
      let ok = redK[lid * 16u + j];
      let oi = redI[lid * 16u + j];
      if (before(ok, oi, bk, bi)) {
        bk = ok;
        bi = oi;
      }
    }
    redK[lid * 16u] = bk;
    redI[lid * 16u] = bi;
  }
  workgroupBarrier();
  var bk = redK[0];
  var bi = redI[0];
  for (var j = 1u; j < dispatch.fan; j++) {
    if (before(redK[j * 16u], redI[j * 16u], bk, bi)) {
      bk = redK[j * 16u];
      bi = redI[j * 16u];
    }
  }
  workgroupBarrier();
  return vec2u(bk, bi);
}

// log Σ exp(raw logits), before penalties: a running (max, sum) per invocation, then one
// reduction of the pairs.
fn logSumExp(lid: u32) -> f32 {
  var m = LOWEST;
  var sum = 0.0;
  for (var i = lid; i < VOCAB; i += WG) {
    let x = logit(i);
    if (x > m) {
      sum = sum * exp(m - x) + 1.0;
      m = x;
    } else {
      sum += exp(x - m);
    }
  }
  redF[lid] = sum;
  redK[lid] = bitcast<u32>(m);
  workgroupBarrier();
  if (lid < 16u) {
    var gm = bitcast<f32>(redK[lid * 16u]);
    var gs = redF[lid * 16u];
    for (var j = 1u; j < dispatch.fan; j++) {
      let om = bitcast<f32>(redK[lid * 16u + j]);
      let os = redF[lid * 16u + j];
      let nm = max(gm, om);
      gs = gs * exp(gm - nm) + os * exp(om - nm);
      gm = nm;
    }
    redK[lid * 16u] = bitcast<u32>(gm);
    redF[lid * 16u] = gs;
  }
  workgroupBarrier();
  var gm = bitcast<f32>(redK[0]);
  var gs = redF[0];
  for (var j = 1u; j < dispatch.fan; j++) {
    let om = bitcast<f32>(redK[j * 16u]);
    let os = redF[j * 16u];
    let nm = max(gm, om);
    gs = gs * exp(gm - nm) + os * exp(om - nm);
    gm = nm;
  }
  workgroupBarrier();
  return gm + log(gs);
}

// Weight of element i (logit x, key k) in a selection; negative when it is not a candidate.
fn weightOf(s: Sel, i: u32, x: f32, k: u32) -> f32 {
  if (k < s.keyFloor || !(k > s.bKey || (k == s.bKey && i <= s.bIdx))) { return -1.0; }
  if (s.minP > 0.0) {
    let p = prob(x);
    if (k != s.keyMax && p < s.minP) { return -1.0; }
    return select(p, 1.0, s.kind == COUNT_GE);
  }
  if (s.kind == COUNT_GE) { return 1.0; }
  return prob(x);
}

// Sums each invocation's 16 bins (digit d in lanes[d / 4][d % 4]) over the workgroup into 16
// group partials: the digit d total is the sum over g of bins[32 g + d / 4][d % 4].
fn reduceBins(lid: u32, lanes: mat4x4f) {
  if (lid >= HALF) {
    let o = (lid - HALF) * 4u;
    bins[o] = lanes[0];
    bins[o + 1u] = lanes[1];
    bins[o + 2u] = lanes[2];
    bins[o + 3u] = lanes[3];
  }
  workgroupBarrier();
  if (lid < HALF) {
    let o = lid * 4u;
    bins[o] += lanes[0];
    bins[o + 1u] += lanes[1];
    bins[o + 2u] += lanes[2];
    bins[o + 3u] += lanes[3];
  }
  workgroupBarrier();
  // 64 invocations: one of 4 vec4s, over one of 16 groups of 8 slots.
  if (lid < 64u) {
    let h = lid & 3u;
    let first = (lid >> 2u) * 8u;
    var acc = bins[first * 4u + h];
    for (var j = 1u; j < dispatch.fan / 2u; j++) { acc += bins[(first + j) * 4u + h]; }
    bins[first * 4u + h] = acc;
  }
  workgroupBarrier();
}

// Invocation 0, after a radix step: picks the digit whose bin the walk ends in.
fn chooseDigit(kind: u32, first: bool, onKey: bool, shift: u32, factor: f32, relative: bool) {
  if (selFound == 0u) { return; }
  var t0 = vec4f();
  var t1 = vec4f();
  var t2 = vec4f();
  var t3 = vec4f();
  for (var g = 0u; g < dispatch.fan; g++) {
    t0 += bins[g * 32u];
    t1 += bins[g * 32u + 1u];
    t2 += bins[g * 32u + 2u];
    t3 += bins[g * 32u + 3u];
  }
  for (var c = 0u; c < dispatch.fan / 4u; c++) {
    digitTotal[c] = t0[c];
    digitTotal[c + 4u] = t1[c];
    digitTotal[c + 8u] = t2[c];
    digitTotal[c + 12u] = t3[c];
  }
  if (first) {
    var total = 0.0;
    for (var d = dispatch.fan; d > 0u; d--) { total += digitTotal[d - 1u]; }
    selGoal = select(factor, factor * total, relative);
  }
  let goal = selGoal;
  var acc = selAbove;
  var chosen = 16u;
  var above = acc;
  var lastNonEmpty = 16u;
  var aboveLast = acc;
  for (var d = dispatch.fan; d > 0u; d--) {
    let v = digitTotal[d - 1u];
    if (v > 0.0) {
      lastNonEmpty = d - 1u;
      aboveLast = acc;
      let reached = select(acc + v >= goal, acc + v > goal, kind == MASS_GT);
      if (reached && chosen == 16u) {
        chosen = d - 1u;
        above = acc;
      }
    }
    acc += v;
  }
  if (chosen == 16u) {
    // Past the end: at the first step the goal exceeds the total (sampleLogits then keeps all,
    // or takes the last candidate); later, f32 rounding put it just past this group's weight.
    if (first || lastNonEmpty == 16u) {
      selFound = 0u;
      return;
    }
    chosen = lastNonEmpty;
    above = aboveLast;
  }
  selAbove = above;
  if (onKey) {
    selKey |= chosen << shift;
  } else {
    selIndexBits |= chosen << shift;
  }
}

// Radix select, 4 bits a step over (key, ~index), or ~index alone (byIndex: the order is token
// ids): the first candidate in that order whose inclusive prefix weight reaches the goal (factor
// × the candidates' total when relative, else factor). Leaves its key in selKey, ~index in
// selIndexBits, and selFound = 0 when there is none.
fn radixSelect(lid: u32, s: Sel, byIndex: bool, factor: f32, relative: bool) {
  workgroupBarrier();
  if (lid == 0u) {
    selKey = 0u;
    selIndexBits = INDEX_HIGH;
    selAbove = 0.0;
    selFound = 1u;
  }
  workgroupBarrier();
  var keyMask = 0u;
  var indexMask = INDEX_HIGH;
  let firstLevel = select(0u, KEY_LEVELS, byIndex);
  for (var level = firstLevel; level < KEY_LEVELS + INDEX_LEVELS; level++) {
    let onKey = level < KEY_LEVELS;
    let shift = select(4u * (KEY_LEVELS + INDEX_LEVELS - 1u - level), 28u - 4u * level, onKey);
    let keyPrefix = selKey;
    let indexPrefix = selIndexBits;
    // Registers, not an indexed array: digit d adds to lanes[d / 4][d % 4].
    var lanes = mat4x4f();
    for (var i = lid; i < VOCAB; i += WG) {
      let x = logit(i);
      let k = keyOf(x - s.offset);
      if ((k & keyMask) == keyPrefix && (~i & indexMask) == indexPrefix) {
        let w = weightOf(s, i, x, k);
        if (w >= 0.0) {
          let d = (select(~i, k, onKey) >> shift) & 15u;
          let v = select(vec4f(), vec4f(w), vec4u(d & 3u) == vec4u(0u, 1u, 2u, 3u));
          let h = d >> 2u;
          lanes[0] += select(vec4f(), v, h == 0u);
          lanes[1] += select(vec4f(), v, h == 1u);
          lanes[2] += select(vec4f(), v, h == 2u);
          lanes[3] += select(vec4f(), v, h == 3u);
        }
      }
    }
    reduceBins(lid, lanes);
    if (lid == 0u) { chooseDigit(s.kind, level == firstLevel, onKey, shift, factor, relative); }
    workgroupBarrier();
    if (onKey) {
      keyMask = (keyMask >> 4u) | 0xf0000000u;
    } else {
      indexMask |= 15u << shift;
    }
  }
}

// The n most likely tokens, once a selection has found the n-th: gathered, then sorted.
fn writeTopLogprobs(lid: u32, logZ: f32, n: u32, rec: u32) {
  let bKey = selKey;
  let bIdx = ~selIndexBits;
  if (lid == 0u) { atomicStore(&gathered, 0u); }
  workgroupBarrier();
  for (var i = lid; i < VOCAB; i += WG) {
    let k = keyOf(logit(i) - logZ);
    if (k > bKey || (k == bKey && i <= bIdx)) {
      let slot = atomicAdd(&gathered, 1u);
      if (slot < MAX_TOP) {
        redK[slot] = k;
        redI[slot] = i;
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let count = min(atomicLoad(&gathered), n);
    for (var a = 1u; a < count; a++) {
      let k = redK[a];
      let i = redI[a];
      var b = a;
      while (b > 0u && before(k, i, redK[b - 1u], redI[b - 1u])) {
        redK[b] = redK[b - 1u];
        redI[b] = redI[b - 1u];
        b -= 1u;
      }
      redK[b] = k;
      redI[b] = i;
    }
    for (var r = 0u; r < count; r++) {
      result[rec + 2u + 2u * r] = redI[r];
      result[rec + 3u + 2u * r] = bitcast<u32>(valueOf(redK[r]));
    }
  }
  workgroupBarrier();
}

// Stage 1, after the penalties: every token of the row whose bit in its mask is clear gets
// LOWEST, as sampleLogits gives it −∞ (where the penalties of a masked token leave it at −∞, so
// masking after them gives the same logits, and no penalty scales LOWEST past the f32 range).
// Then a barrier before the row is read.
fn applyMask(lid: u32, start: u32) {
  for (var i = lid; i < VOCAB; i += WG) {
    if (((mask[start + (i >> 5u)] >> (i & 31u)) & 1u) == 0u) { logits[rowBase + i] = LOWEST; }
  }
  storageBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p = params[wid.x];
  rowBase = dispatch.logitsOffset + p.row * VOCAB;
  temperature = p.temperature;
  let rec = wid.x * STRIDE;
  let wantLogprobs = (p.flags & LOGPROBS) != 0u;
  let sampled = (p.flags & GREEDY) == 0u;
  var logZ = 0.0;
  if (wantLogprobs) { logZ = logSumExp(lid); }
  var s = Sel(COUNT_GE, 0u, NONE, 0u, 0.0, logZ, 0u);
  // Keys at or below a masked logit's are no candidates of a masked row.
  let keyFloor = select(0u, keyOf(LOWEST) + 1u, (p.flags & MASKED) != 0u);
  var token = 0u;
  // Stages: 0 the top log-probabilities (raw logits); then penalties, the mask and argmax; 1 top-k;
  // 2 top-p; 3 the draw (with min-p); 4 its fallback, the last candidate, when rounding overshot.
  for (var stage = 0u; stage < dispatch.stages; stage++) {
    if (stage == 1u) {
      for (var j = lid; j < p.penaltyCount; j += WG) {
        let e = penalties[p.penaltyStart + j];
        let v = logit(e.id);
        penaltyRaw[p.penaltyStart + j] = v;
        var w = v + e.bias;
        if ((p.flags & REPETITION) != 0u && e.seen != 0u) {
          w = select(w * p.repetition, w / p.repetition, w > 0.0);
        }
        logits[rowBase + e.id] = w - e.delta;
      }
      storageBarrier();
      if ((p.flags & MASKED) != 0u) { applyMask(lid, p.maskStart); }
      var bk = 0u;
      var bi = NONE;
      for (var i = lid; i < VOCAB; i += WG) {
        let x = logit(i);
        let k = keyOf(x);
        // NaNs are skipped, as by sampleLogits' argmax; so are a masked row's masked logits (and
        // any at or below them): when no allowed logit is above them, token 0, as sampleLogits.
        if (x == x && k > bk && k >= keyFloor) {
          bk = k;
          bi = i;
        }
      }
      let top = reduceArgmax(lid, bk, bi);
      token = select(top.y, 0u, top.y == NONE);
      maxLogit = valueOf(top.x);
      s = Sel(COUNT_GE, 0u, NONE, top.x, 0.0, 0.0, keyFloor);
    }
    var run = false;
    var factor = 1.0;
    var relative = true;
    switch (stage) {
      case 0u: {
        run = wantLogprobs && p.nTop > 0u;
        factor = f32(p.nTop);
        relative = false;
      }
      case 1u: {
        run = sampled && (p.flags & TOP_K) != 0u;
        factor = f32(p.topK);
        relative = false;
      }
      case 2u: {
        run = sampled && (p.flags & TOP_P) != 0u;
        s.kind = MASS_GE;
        factor = p.topP;
      }
      case 3u: {
        run = sampled;
        s.kind = MASS_GT;
        s.minP = p.minP;
        factor = p.u;
      }
      default: {
        let drawn = workgroupUniformLoad(&selFound) != 0u;
        run = sampled && !drawn;
        s.kind = COUNT_GE;
      }
    }
    if (run) {
      radixSelect(lid, s, stage >= 3u && (p.flags & FILTERED) == 0u, factor, relative);
      let found = selFound != 0u;
      if (stage == 0u) { writeTopLogprobs(lid, logZ, p.nTop, rec); }
      if (found && (stage == 1u || stage == 2u)) {
        s.bKey = selKey;
        s.bIdx = ~selIndexBits;
      }
      if (found && stage >= 3u) { token = ~selIndexBits; }
    }
  }
  if (wantLogprobs && lid == 0u) {
    // The sampled token's raw logit: saved by the penalties if it had one (ids are sorted).
    var raw = logit(token);
    var lo = 0u;
    var hi = p.penaltyCount;
    while (lo < hi) {
      let mid = (lo + hi) / 2u;
      let id = penalties[p.penaltyStart + mid].id;
      if (id == token) {
        raw = penaltyRaw[p.penaltyStart + mid];
        break;
      }
      if (id < token) {
        lo = mid + 1u;
      } else {
        hi = mid;
      }
    }
    result[rec + 1u] = bitcast<u32>(raw - logZ);
  }
  if (lid == 0u) { result[rec] = token; }
}
`;
}
