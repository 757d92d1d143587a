// The embedding gather.

import { declarations, type Kernel, STEP_BINDINGS } from './bindings.js';
import { f32, stepDecls } from './step.js';
import type { PackedWeight } from './weights.js';
import { wgslWeight } from './weights.js';

/** The embedding gather's bindings: the output rows and the (part of the) embedding matrix. */
export const EMBED_BINDINGS = {
  ...STEP_BINDINGS,
  x: { binding: 2, access: 'read_write' },
  emb: { binding: 3, access: 'read' },
} as const;

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
): Kernel {
  const quads = hidden / 4;
  const d = declarations(EMBED_BINDINGS);
  return d.kernel(`${stepDecls(d)}
${d.decl('x', 'array<vec4<f32>>')}
${wgslWeight(w, 'emb', d.use('emb'))}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.y;
  let q = wg.x * 64u + lid.x;
  if (t >= step.tokens || q >= ${quads}u) { return; }
  let row = step_data[t] - ${part.rowStart}u;
  if (step_data[t] < ${part.rowStart}u || row >= ${part.rows}u) { return; }
  x[t * ${quads}u + q] = emb_load4(row, q / 8u, q % 8u)${scale === 1 ? '' : ` * ${f32(scale)}`};
}`);
}
