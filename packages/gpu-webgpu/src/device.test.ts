import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from './device.js';
import { GpuUnavailableError, requestGpuDevice, WebGpuExecutor } from './index.js';

// Runs on a real adapter: a GPU, or Mesa's lavapipe on machines without one. No adapter is a
// failure, never a skip: the test command installs lavapipe where it can.
describe('requestGpuDevice', () => {
  let gpu: GpuDevice;
  beforeAll(async () => {
    gpu = await requestGpuDevice();
  });
  afterAll(() => gpu?.device.destroy());

  it('returns a device and describes its adapter', () => {
    expect(gpu.device).toBeDefined();
    expect(typeof gpu.adapterInfo.vendor).toBe('string');
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });

  it('runs a compute shader and reads back its result', async () => {
    const { device } = gpu;
    const n = 1000;
    const input = new Float32Array(n).map((_, i) => i - 500);
    const module = device.createShaderModule({
      code: /* wgsl */ `
        @group(0) @binding(0) var<storage, read> src: array<f32>;
        @group(0) @binding(1) var<storage, read_write> dst: array<f32>;
        @compute @workgroup_size(64)
        fn main(@builtin(global_invocation_id) id: vec3u) {
          if (id.x < arrayLength(&src)) { dst[id.x] = src[id.x] * src[id.x] + 1.0; }
        }`,
    });
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const src = device.createBuffer({ size: input.byteLength, usage });
    const dst = device.createBuffer({ size: input.byteLength, usage });
    const readback = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(src, 0, input);
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
      ],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    encoder.copyBufferToBuffer(dst, 0, readback, 0, input.byteLength);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const output = new Float32Array(readback.getMappedRange().slice(0));
    readback.unmap();
    expect(output).toEqual(input.map((x) => x * x + 1));
  });

  it('reports a required feature the adapter lacks as a typed error', async () => {
    const call = requestGpuDevice({
      requiredFeatures: ['texture-compression-astc-sliced-3d' as GPUFeatureName],
    });
    await expect(call).rejects.toBeInstanceOf(GpuUnavailableError);
  });
});

describe('WebGpuExecutor.kvCapacity', () => {
  it('is the KV blocks one layer binding holds, the smaller of the two buffer limits', () => {
    const limits = {
      maxStorageBufferBindingSize: 1 << 20,
      maxBufferSize: 1 << 30,
    } as GPUSupportedLimits;
    const config = { numKvHeads: 2, headDim: 64 };
    // 16 tokens × 2 heads × 64 × 4 bytes = 8 KiB a block: 128 blocks in 1 MiB.
    expect(WebGpuExecutor.kvCapacity({ limits }, config)).toEqual({
      maxBlocks: 128,
      blockBytesPerLayer: 8192,
    });
    expect(
      WebGpuExecutor.kvCapacity({ limits }, config, { kvCacheDtype: 'f16', blockSize: 32 }),
    ).toEqual({
      maxBlocks: 128,
      blockBytesPerLayer: 8192,
    });
    const small = {
      maxStorageBufferBindingSize: 1 << 30,
      maxBufferSize: 1 << 16,
    } as GPUSupportedLimits;
    expect(WebGpuExecutor.kvCapacity({ limits: small }, config).maxBlocks).toBe(8);
  });
});
