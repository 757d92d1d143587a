// Runs one generated kernel on a device, alone: for the per-kernel tests against the reference ops.
import { bindGroupEntries, type Kernel, layoutEntries } from './bindings.js';
import { STEP_UNIFORM_WORDS } from './kernels.js';

/** A binding's contents: data to upload, or a size in bytes for a zeroed buffer. */
export type BindingInput = Float32Array | Uint32Array | number;
/** Bindings by name (the step uniform and data are made from `KernelRun`). */
export type Bindings = Record<string, BindingInput>;

/** What one kernel run needs besides its code. */
export interface KernelRun {
  /** Tokens in the step (`step.tokens`), sampled rows (`step.samples`). */
  tokens: number;
  samples?: number;
  /**
   * The step data the executor packs (`step-data.ts`): token ids, positions, slots, block-table
   * offsets, sampled rows, tiles, block tables. Its sections' offsets go into the uniform.
   */
  stepData?: Uint32Array;
  /** Bindings by name, besides the step uniform and data. */
  bindings: Bindings;
  /** Workgroups to dispatch. */
  grid: [number, number, number];
}

/**
 * Compiles `kernel`, runs it once over `run`, and returns every binding's contents afterwards (as
 * f32 views over the bytes), by name.
 */
export async function runKernel(
  device: GPUDevice,
  kernel: Kernel,
  run: KernelRun,
): Promise<Record<string, Float32Array>> {
  const T = run.tokens;
  const S = run.samples ?? 0;
  const uniform = new Uint32Array(STEP_UNIFORM_WORDS);
  uniform.set([T, S, T, 2 * T, 3 * T, 4 * T, 4 * T + S]);
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const made: GPUBuffer[] = [];
  const buffer = (data: BindingInput, usage = storage) => {
    const size = Math.max(
      16,
      Math.ceil((typeof data === 'number' ? data : data.byteLength) / 16) * 16,
    );
    const b = device.createBuffer({ size, usage });
    if (typeof data !== 'number') device.queue.writeBuffer(b, 0, data as Uint32Array<ArrayBuffer>);
    made.push(b);
    return b;
  };
  const buffers: Record<string, GPUBuffer> = {
    step: buffer(uniform, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
    step_data: buffer(run.stepData ?? new Uint32Array(4)),
  };
  for (const [name, data] of Object.entries(run.bindings)) buffers[name] = buffer(data);
  const entries = bindGroupEntries(kernel, buffers);
  if (typeof entries === 'string') throw new Error(`the test gave the kernel ${entries}`);
  device.pushErrorScope('validation');
  const pipeline = await device.createComputePipelineAsync({
    layout: device.createPipelineLayout({
      bindGroupLayouts: [device.createBindGroupLayout({ entries: layoutEntries(kernel) })],
    }),
    compute: { module: device.createShaderModule({ code: kernel.code }), entryPoint: 'main' },
  });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...run.grid);
  pass.end();
  const reads = new Map<string, GPUBuffer>();
  for (const [name, b] of Object.entries(buffers)) {
    if (name === 'step' || name === 'step_data') continue;
    const read = device.createBuffer({
      size: b.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    made.push(read);
    encoder.copyBufferToBuffer(b, 0, read, 0, b.size);
    reads.set(name, read);
  }
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`the device rejected the kernel: ${error.message}`);
  const out: Record<string, Float32Array> = {};
  for (const [name, read] of reads) {
    await read.mapAsync(GPUMapMode.READ);
    out[name] = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
  }
  for (const b of made) b.destroy();
  return out;
}

/** Largest |want − got| over the first `want.length` values, relative to the largest |want|. */
export function maxRelativeError(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i] as number));
    diff = Math.max(diff, Math.abs((want[i] as number) - (got[i] as number)));
  }
  return scale === 0 ? diff : diff / scale;
}
