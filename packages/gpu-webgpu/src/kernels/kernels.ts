// The WGSL kernels of one transformer step, one file a kind (step.ts has the layout they share).
export * from './attention.js';
export { type Binding, type BindingTable, type Kernel, STEP_BINDINGS } from './bindings.js';
export * from './embed.js';
export * from './matmul.js';
export * from './norms.js';
export { STEP_STRUCT, STEP_UNIFORM_WORDS } from './step.js';
