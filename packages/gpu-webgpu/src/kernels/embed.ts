// The embedding gather.

import { f32, stepBindings } from './step.js';
import type { PackedWeight } from './weights.js';
import { wgslWeight } from './weights.js';

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
