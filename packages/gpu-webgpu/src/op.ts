import type { Grid } from './lower.js';

/** A dispatch recorded once at creation and replayed every step. */
export interface Op {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /**
   * Workgroup counts for a batch of `tokens` tokens, `samples` sampled rows and `tiles` attention
   * tiles (runs of up to `tileTokens` tokens of one sequence).
   */
  grid: Grid;
}
