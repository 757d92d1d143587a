// The WebAssembly module of @x/cpu-wasm: every kernel and the step interpreter, over one shared
// memory that the host lays out (src/memory.ts). Built with AssemblyScript (scripts/build-wasm.mjs).

export { actRowBytes, prepareRange } from './act';
export { blocksSupport, matmulBlocks } from './matmul-blocks';
export { matmulFloat } from './matmul-float';
export { matmulQ8_0 } from './matmul-q8';
export { attention, glu, rmsNorm } from './ops';
export { barrier, matmul, run } from './program';

/** Bytes of static data the module keeps below the host's allocations. */
export function heapBase(): usize {
  return __heap_base;
}
