// WGSL for one transformer step over a flattened batch of T tokens. Shapes are baked into each
// shader as constants (one pipeline per distinct shape, cached by the executor); what changes from
// step to step — token count, offsets into the step data — comes from the `Step` uniform.
//
// Step data (`array<u32>`, written once per step): token ids [T] at 0, positions [T] at `pos`,
// KV slots [T] at `slot`, each token's block-table offset [T] at `bt`, the batch rows to sample [S]
// at `rows`; block tables follow. Activations are f32.

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

/** The step struct and the declarations of the step bindings, through a kernel's declarations. */
export function stepDecls(d: { decl(name: 'step' | 'step_data', type: string): string }): string {
  return `${STEP_STRUCT}
${d.decl('step', 'Step')}
${d.decl('step_data', 'array<u32>')}`;
}

/** A JS number as a WGSL f32 literal. */
export function f32(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}
