// Norms and elementwise kernels: RMS roots, per-head RMS norm, the normed residual add, soft-capping.
import { declarations, type Kernel, STEP_BINDINGS } from './bindings.js';
import { f32, stepDecls } from './step.js';

/** The RMS roots' bindings: rows in, one inverse root per row out. */
export const RMS_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read' },
  inv: { binding: 3, access: 'read_write' },
} as const;

/** The per-head norm's bindings: the rows, normed in place, and the norm weight. */
export const GROUP_RMS_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read_write' },
  w: { binding: 3, access: 'read' },
} as const;

/** The normed add's bindings: the residual stream, the branch and the norm weight. */
export const NORM_ADD_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read_write' },
  h: { binding: 3, access: 'read' },
  w: { binding: 4, access: 'read' },
} as const;

/** Soft-capping's binding: the rows, capped in place. */
export const SOFTCAP_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read_write' },
} as const;

/**
 * `inverse_rms(s, lane, n)`: each of the 64 threads gives its share `s` of a sum of squares over
 * `n` values, and every thread gets `1 / sqrt(sum / n + eps)` back (a workgroup reduction; call
 * it from uniform control flow).
 */
function inverseRms(eps: number): string {
  return `var<workgroup> part: array<f32, 64>;
fn inverse_rms(s: f32, lane: u32, n: f32) -> f32 {
  part[lane] = s;
  workgroupBarrier();
  var total = 0.0;
  for (var j = 0u; j < 64u; j++) { total += part[j]; }
  workgroupBarrier();
  return 1.0 / sqrt(total / n + ${f32(eps)});
}`;
}

/** `inv[t] = 1 / sqrt(mean(x[t]²) + eps)`, one workgroup per token. Dispatch `(T)`. */
export function rmsShader(hidden: number, eps: number): Kernel {
  const quads = hidden / 4;
  const d = declarations(RMS_BINDINGS);
  return d.kernel(`${stepDecls(d)}
${d.decl('x', 'array<vec4<f32>>')}
${d.decl('inv', 'array<f32>')}
${inverseRms(eps)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  var s = 0.0;
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    let v = x[t * ${quads}u + i];
    s += dot(v, v);
  }
  let r = inverse_rms(s, lid.x, ${hidden}.0);
  if (lid.x == 0u) { inv[t] = r; }
}`);
}

/**
 * RMS norm of each `group` values of a row, in place: `x = x / rms(x) · w` (Qwen3's and Gemma 3's
 * per-head q/k norm). One workgroup per (token, group). The norm weight has `group` floats. Dispatch `(T, width / group)`.
 */
export function groupRmsShader(width: number, group: number, eps: number): Kernel {
  const d = declarations(GROUP_RMS_BINDINGS);
  return d.kernel(`${stepDecls(d)}
${d.decl('x', 'array<f32>')}
${d.decl('w', 'array<f32>')}
${inverseRms(eps)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wg.x * ${width}u + wg.y * ${group}u;
  var s = 0.0;
  for (var i = lid.x; i < ${group}u; i += 64u) { s += x[base + i] * x[base + i]; }
  let inv = inverse_rms(s, lid.x, ${group}.0);
  for (var i = lid.x; i < ${group}u; i += 64u) { x[base + i] = x[base + i] * inv * w[i]; }
}`);
}

/**
 * The residual add of a normed branch: `x += h / rms(h) · w` (Gemma's post-attention and
 * post-feed-forward norms). One workgroup per token.
 * Dispatch `(T)`.
 */
export function normAddShader(hidden: number, eps: number): Kernel {
  const quads = hidden / 4;
  const d = declarations(NORM_ADD_BINDINGS);
  return d.kernel(`${stepDecls(d)}
${d.decl('x', 'array<vec4<f32>>')}
${d.decl('h', 'array<vec4<f32>>')}
${d.decl('w', 'array<vec4<f32>>')}
${inverseRms(eps)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  var s = 0.0;
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    let v = h[t * ${quads}u + i];
    s += dot(v, v);
  }
  let inv = inverse_rms(s, lid.x, ${hidden}.0);
  for (var i = lid.x; i < ${quads}u; i += 64u) {
    x[t * ${quads}u + i] = x[t * ${quads}u + i] + h[t * ${quads}u + i] * inv * w[i];
  }
}`);
}

/**
 * `x = tanh(x / cap) · cap` over each sampled row of `width` values (Gemma 2's final logit
 * soft-capping). Dispatch `(ceil(width / 256), S)`.
 */
export function softcapShader(width: number, cap: number): Kernel {
  const d = declarations(SOFTCAP_BINDINGS);
  return d.kernel(`${stepDecls(d)}
${d.decl('x', 'array<f32>')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= ${width}u || id.y >= step.samples) { return; }
  let i = id.y * ${width}u + id.x;
  x[i] = ${f32(cap)} * tanh(clamp(x[i] / ${f32(cap)}, -15.0, 15.0));
}`);
}
