import { KERNELS_SINGLE_WASM_BASE64, KERNELS_WASM_BASE64 } from './generated/kernels-wasm.js';

/** The exports of kernels.wasm (assembly/index.ts); pointers are byte offsets in its memory. */
export interface KernelExports {
  heapBase(): number;
  actRowBytes(type: number, n: number): number;
  prepareRange(type: number, x: number, n: number, c0: number, c1: number, row: number): void;
  blocksSupport(type: number): number;
  matmul(
    type: number,
    w: number,
    aux: number,
    rowBytes: number,
    r0: number,
    r1: number,
    cols: number,
    act: number,
    actRowBytes: number,
    tokens: number,
    out: number,
    outStride: number,
    accumulate: number,
  ): void;
  run(ctl: number, tid: number, range: number): void;
  /** `out = act(gate) · up` over columns `[c0, c1)` of rows `[r0, r1)`; act 0 SiLU, 1 GELU. */
  glu(
    gate: number,
    gStride: number,
    up: number,
    uStride: number,
    out: number,
    oStride: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
    act: number,
  ): void;
}

const compiled = new Map<boolean, WebAssembly.Module>();

/**
 * The kernels' compiled module, compiled once per process (or page) from the embedded bytes: the
 * build on a shared memory (for worker threads), or on a plain one (one thread).
 */
export function kernelsModule(shared = true): WebAssembly.Module {
  let module = compiled.get(shared);
  if (!module) {
    const binary = atob(shared ? KERNELS_WASM_BASE64 : KERNELS_SINGLE_WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    module = new WebAssembly.Module(bytes);
    compiled.set(shared, module);
  }
  return module;
}

/** Instantiates the kernels over `memory` (shared or not, picking the matching build). */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const instance = new WebAssembly.Instance(kernelsModule(shared), {
    env: { memory, now: () => performance.now() },
  });
  return instance.exports as unknown as KernelExports;
}

/** wasm32's whole address space: 65536 pages of 64 KiB. */
export const WASM32_MAX_BYTES = 2 ** 32;

/**
 * A memory of `bytes` now, growable to `maxBytes` (both rounded up to whole pages): shared (for
 * worker threads) unless `shared` is false.
 */
export function kernelMemory(bytes: number, maxBytes: number, shared = true): WebAssembly.Memory {
  const page = 65536;
  const initial = Math.ceil(bytes / page);
  const maximum = Math.max(initial, Math.ceil(maxBytes / page));
  return new WebAssembly.Memory({ initial, maximum, shared });
}
