import { KERNELS_WASM_BASE64 } from './generated/kernels-wasm.js';

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
  workerLoop(ctl: number, tid: number, range: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** The kernels' compiled module, compiled once per process (or page) from the embedded bytes. */
export function kernelsModule(): WebAssembly.Module {
  if (!compiled) {
    const binary = atob(KERNELS_WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

/** Instantiates the kernels over `memory` (a shared `WebAssembly.Memory`). */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(kernelsModule(), { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** wasm32's whole address space: 65536 pages of 64 KiB. */
export const WASM32_MAX_BYTES = 2 ** 32;

/** A shared memory of `bytes` now, growable to `maxBytes` (both rounded up to whole pages). */
export function sharedMemory(bytes: number, maxBytes: number): WebAssembly.Memory {
  const page = 65536;
  const initial = Math.ceil(bytes / page);
  const maximum = Math.max(initial, Math.ceil(maxBytes / page));
  return new WebAssembly.Memory({ initial, maximum, shared: true });
}
