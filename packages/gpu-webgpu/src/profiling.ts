// Per-kernel GPU times from timestamp queries: each op in its own compute pass, timed.
import type { Op } from './op.js';

/** GPU time of one kernel over a step, from timestamp queries. */
export interface KernelTiming {
  /**
   * The kernel, by the graph node it starts from (`attn_q·k·v`, `attn`, `ffn_gate·up`, `output`,
   * …), summed over layers.
   */
  kernel: string;
  /** Dispatches in the step. */
  dispatches: number;
  /** Milliseconds of GPU time, summed. */
  ms: number;
}

/** Records every op in its own timed pass; the returned function reads the times back. */
export function encodeTimedPasses(
  device: GPUDevice,
  ops: readonly Op[],
  encoder: GPUCommandEncoder,
  T: number,
  S: number,
  tiles: number,
  sample: ((pass: GPUComputePassEncoder) => void) | undefined,
): () => Promise<KernelTiming[]> {
  const count = (ops.length + 1) * 2;
  const querySet = device.createQuerySet({ type: 'timestamp', count });
  const resolve = device.createBuffer({
    size: count * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size: count * 8,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const ran: string[] = [];
  for (const op of ops) {
    const [x, y, z] = op.grid(T, S, tiles);
    if (x === 0 || y === 0 || z === 0) continue;
    const i = ran.length;
    const pass = encoder.beginComputePass({
      label: op.label,
      timestampWrites: {
        querySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    });
    pass.setPipeline(op.pipeline);
    pass.setBindGroup(0, op.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    ran.push(op.label);
  }
  if (sample) {
    const i = ran.length;
    const pass = encoder.beginComputePass({
      label: 'sampling',
      timestampWrites: {
        querySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    });
    sample(pass);
    pass.end();
    ran.push('sampling');
  }
  encoder.resolveQuerySet(querySet, 0, ran.length * 2, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, read, 0, ran.length * 16);
  return async () => {
    await read.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    for (const b of [read, resolve]) b.destroy();
    querySet.destroy();
    const byKernel = new Map<string, KernelTiming>();
    ran.forEach((label, i) => {
      const kernel = label.replace(/^blk\.\d+\./, '');
      const ns = Number((stamps[2 * i + 1] as bigint) - (stamps[2 * i] as bigint));
      const entry = byKernel.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
      entry.dispatches++;
      entry.ms += ns / 1e6;
      byKernel.set(kernel, entry);
    });
    return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
  };
}
