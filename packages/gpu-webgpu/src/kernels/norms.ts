// Norms and elementwise kernels: RMS roots, per-head RMS norm, the normed residual add, soft-capping.
import { f32, stepBindings } from './step.js';

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
export function rmsShader(hidden: number, eps: number): string {
  const quads = hidden / 4;
  return `${stepBindings(0, 1)}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> inv: array<f32>;
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
${inverseRms(eps)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wg.x * ${width}u + wg.y * ${group}u;
  var s = 0.0;
  for (var i = lid.x; i < ${group}u; i += 64u) { s += x[base + i] * x[base + i]; }
  let inv = inverse_rms(s, lid.x, ${group}.0);
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
