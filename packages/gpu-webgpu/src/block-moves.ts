import type { ForwardBatch } from '@x/model';

/**
 * Moves of whole KV blocks between the device pool, host memory and other device blocks: the
 * swap-out, swap-in and copy-on-write copies a batch asks for, recorded on the step's encoder
 * ahead of the forward pass. Host blocks live in one byte array per layer and cache (K, V).
 */
export class KvBlockMover {
  private readonly hostKeys: Uint8Array[];
  private readonly hostValues: Uint8Array[];
  private blockScratch: GPUBuffer | undefined;

  /**
   * @param blockBytes bytes of one block of one layer's K (or V)
   * @param numHostBlocks blocks of host memory for swapping
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly keys: readonly GPUBuffer[],
    private readonly values: readonly GPUBuffer[],
    private readonly blockBytes: number,
    numHostBlocks: number,
  ) {
    const hostBytes = numHostBlocks * blockBytes;
    this.hostKeys = keys.map(() => new Uint8Array(hostBytes));
    this.hostValues = keys.map(() => new Uint8Array(hostBytes));
  }

  /**
   * Records the batch's swaps and block copies ahead of the forward pass, in the reference's
   * order: swap-out, swap-in, copy. Swapped-out blocks go to a mappable buffer, returned.
   */
  encode(encoder: GPUCommandEncoder, batch: ForwardBatch): GPUBuffer | undefined {
    const bytes = this.blockBytes;
    const layers = this.keys.length;
    let swapOut: GPUBuffer | undefined;
    const outs = batch.swapOut ?? [];
    if (outs.length > 0) {
      swapOut = this.device.createBuffer({
        size: outs.length * 2 * layers * bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      outs.forEach(([dev], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          encoder.copyBufferToBuffer(this.keys[l]!, dev * bytes, swapOut!, at, bytes);
          encoder.copyBufferToBuffer(this.values[l]!, dev * bytes, swapOut!, at + bytes, bytes);
        }
      });
    }
    const ins = batch.swapIn ?? [];
    const copies = batch.copies ?? [];
    if (ins.length > 0 || copies.length > 0) {
      this.blockScratch ??= this.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    if (ins.length > 0) {
      const upload = this.device.createBuffer({
        size: ins.length * 2 * layers * bytes,
        usage: GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
      const view = new Uint8Array(upload.getMappedRange());
      ins.forEach(([host], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          view.set(this.hostKeys[l]!.subarray(host * bytes, (host + 1) * bytes), at);
          view.set(this.hostValues[l]!.subarray(host * bytes, (host + 1) * bytes), at + bytes);
        }
      });
      upload.unmap();
      ins.forEach(([, dev], i) => {
        for (let l = 0; l < layers; l++) {
          const at = (i * layers + l) * 2 * bytes;
          encoder.copyBufferToBuffer(upload, at, this.keys[l]!, dev * bytes, bytes);
          encoder.copyBufferToBuffer(upload, at + bytes, this.values[l]!, dev * bytes, bytes);
        }
      });
      // Freed once the queue is done with it.
      void this.device.queue.onSubmittedWorkDone().then(() => upload.destroy());
    }
    const scratch = this.blockScratch!;
    for (const [src, dst] of copies) {
      for (const cache of [this.keys, this.values]) {
        for (const buffer of cache) {
          encoder.copyBufferToBuffer(buffer, src * bytes, scratch, 0, bytes);
          encoder.copyBufferToBuffer(scratch, 0, buffer, dst * bytes, bytes);
        }
      }
    }
    return swapOut;
  }

  /** Copies the blocks a step swapped out (`encode`'s buffer, once the step ran) to host memory. */
  async storeSwappedOut(batch: ForwardBatch, buffer: GPUBuffer): Promise<void> {
    await buffer.mapAsync(GPUMapMode.READ);
    const all = new Uint8Array(buffer.getMappedRange());
    const bytes = this.blockBytes;
    const layers = this.keys.length;
    (batch.swapOut ?? []).forEach(([, host], i) => {
      for (let l = 0; l < layers; l++) {
        const at = (i * layers + l) * 2 * bytes;
        this.hostKeys[l]!.set(all.subarray(at, at + bytes), host * bytes);
        this.hostValues[l]!.set(all.subarray(at + bytes, at + 2 * bytes), host * bytes);
      }
    });
    buffer.unmap();
    buffer.destroy();
  }

  destroy(): void {
    this.blockScratch?.destroy();
  }
}
