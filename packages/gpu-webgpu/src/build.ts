// Everything WebGpuExecutor.create allocates and compiles: the weights, the KV pool, the activation
// arena (one buffer per graph value the kernels bind, sized for the step budget), the rope tables,
// the pipelines and bind groups of the lowered graph, and the sampler.
import {
  buildModelGraph,
  type KvCacheShape,
  MAX_LOGIT_BIAS,
  type ModelConfig,
  type ModelWeights,
  type RopeSpec,
  type WeightMatrix,
} from '@x/model';
import type { GpuDevice } from './device.js';
import { GpuExecutorError } from './errors.js';
import { bindGroupEntries, type Kernel, layoutEntries } from './kernels/bindings.js';
import {
  attentionTileTokens,
  embedShader,
  MATMUL_TILE,
  type MatmulVariant,
  matmulShader,
  STEP_UNIFORM_WORDS,
  TILED_MIN_TOKENS,
  tiledMatmulShader,
} from './kernels/kernels.js';
import { GpuSampler } from './kernels/sampler.js';
import { type PackedWeight, packWeight } from './kernels/weights.js';
import { type LoweringTarget, lowerGraph } from './lower.js';
import type { Op } from './op.js';
import type { WebGpuExecutorInfo, WebGpuExecutorOptions } from './options.js';

/** One binding of a weight matrix: rows `[rowStart, rowStart + rows)`. */
interface WeightPart {
  buffer: GPUBuffer;
  rowStart: number;
  rows: number;
}

/** A weight matrix on the device: its shape and type, and its bindings. */
interface DeviceWeight {
  info: PackedWeight;
  parts: WeightPart[];
}

export interface ExecutorParts {
  config: ModelConfig;
  kvCacheDtype: 'f32' | 'f16';
  kvCache: KvCacheShape;
  info: WebGpuExecutorInfo;
  device: GPUDevice;
  ownsDevice: boolean;
  buffers: GPUBuffer[];
  ops: Op[];
  stepUniform: GPUBuffer;
  stepData: GPUBuffer;
  stepDataWords: number;
  tileTokens: number;
  logits: GPUBuffer;
  readback: GPUBuffer;
  sampler: GpuSampler;
  keys: GPUBuffer[];
  values: GPUBuffer[];
  limits: { tokens: number; sequences: number; modelLen: number };
}

const USAGE_STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

/** Everything {@link WebGpuExecutor.create} allocates and compiles, in one place. */
export async function build(
  model: { config: ModelConfig; weights: ModelWeights; name?: string },
  gpu: GpuDevice,
  options: WebGpuExecutorOptions & { blockSize: number; numHostBlocks: number },
  limits: { tokens: number; sequences: number; modelLen: number },
  ownsDevice: boolean,
): Promise<ExecutorParts> {
  const { config: c, weights } = model;
  const { device } = gpu;
  const maxBinding = gpu.limits.maxStorageBufferBindingSize;
  const buffers: GPUBuffer[] = [];
  const sizes = { weights: 0, kv: 0, arena: 0 };
  device.pushErrorScope('out-of-memory');
  const alloc = (label: string, size: number, kind: keyof typeof sizes, usage = USAGE_STORAGE) => {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > maxBinding && usage === USAGE_STORAGE) {
      throw new GpuExecutorError(
        `${label} needs ${bytes} bytes, over this device's storage binding limit of ${maxBinding}` +
          (kind === 'arena'
            ? ' (lower maxTokensPerStep)'
            : kind === 'kv'
              ? ' (use fewer KV blocks)'
              : ''),
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    const buffer = device.createBuffer({ label, size: bytes, usage });
    buffers.push(buffer);
    sizes[kind] += bytes;
    return buffer;
  };
  const upload = (label: string, data: Float32Array | Uint32Array, kind: keyof typeof sizes) => {
    const buffer = alloc(label, data.byteLength, kind);
    device.queue.writeBuffer(buffer, 0, data as Uint32Array<ArrayBuffer>);
    return buffer;
  };
  /**
   * Uploads a packed matrix as one binding, or, when it is over the binding limit, as row ranges
   * of at most `maxWeightBinding` bytes each (a large vocabulary's embedding or output).
   */
  const maxWeightBinding = Math.min(options.maxWeightBindingBytes ?? maxBinding, maxBinding);
  const uploadWeight = (label: string, info: PackedWeight): DeviceWeight => {
    const rowBytes = info.rowWords * 4;
    const perPart = Math.floor(maxWeightBinding / rowBytes);
    if (perPart < 1) {
      throw new GpuExecutorError(
        `${label}: one row is ${rowBytes} bytes, over this device's storage binding limit of ${maxWeightBinding}`,
        'GPU_UNSUPPORTED_MODEL',
      );
    }
    const parts: WeightPart[] = [];
    for (let rowStart = 0; rowStart < info.rows; rowStart += perPart) {
      const rows = Math.min(perPart, info.rows - rowStart);
      const words = info.words.subarray(
        rowStart * info.rowWords,
        (rowStart + rows) * info.rowWords,
      );
      const name = rows === info.rows ? label : `${label} rows ${rowStart}..${rowStart + rows - 1}`;
      parts.push({ buffer: upload(name, words, 'weights'), rowStart, rows });
    }
    // Uploaded: keep only the shape.
    return { info: { ...info, words: new Uint32Array(0) }, parts };
  };
  const packed = new Map<WeightMatrix, DeviceWeight>();
  const weight = (w: WeightMatrix) => {
    let entry = packed.get(w);
    if (!entry) {
      entry = uploadWeight(w.name, packWeight(w));
      packed.set(w, entry);
    }
    return entry;
  };
  /** Matrices of one type and width as one, their rows one after another (Q, K and V). */
  const fused = (label: string, ws: readonly WeightMatrix[]) => {
    const parts = ws.map(packWeight);
    const words = new Uint32Array(parts.reduce((n, p) => n + p.words.length, 0));
    let at = 0;
    for (const part of parts) {
      words.set(part.words, at);
      at += part.words.length;
    }
    const first = parts[0]!;
    return uploadWeight(label, { ...first, rows: parts.reduce((n, p) => n + p.rows, 0), words });
  };

  const kvDim = c.numKvHeads * c.headDim;
  const Tm = limits.tokens;
  const Sm = limits.sequences;
  const V = c.vocabSize;
  const tableWords = Sm * Math.ceil(limits.modelLen / options.blockSize);
  const stepDataWords = 5 * Tm + Sm + tableWords;
  const stepUniform = alloc('step', STEP_UNIFORM_WORDS * 4, 'arena', 0x40 | 0x08); // UNIFORM | COPY_DST
  const stepData = alloc('step data', stepDataWords * 4, 'arena');
  const inv = alloc('rms', Tm * 4, 'arena');
  const kvCacheDtype = options.kvCacheDtype ?? 'f32';
  if (kvCacheDtype === 'f16' && !gpu.features.has('shader-f16')) {
    throw new GpuExecutorError(
      "kvCacheDtype 'f16' needs the shader-f16 feature, which this adapter lacks; use 'f32'",
      'GPU_UNSUPPORTED_MODEL',
    );
  }
  const graph = buildModelGraph(c, weights, { maxModelLen: limits.modelLen });
  const slots = options.numBlocks * options.blockSize;
  const slotBytes = kvDim * (kvCacheDtype === 'f16' ? 2 : 4);
  const keys: GPUBuffer[] = [];
  const values: GPUBuffer[] = [];
  for (let l = 0; l < graph.kvLayers; l++) {
    keys.push(alloc(`layer ${l} keys`, slots * slotBytes, 'kv'));
    values.push(alloc(`layer ${l} values`, slots * slotBytes, 'kv'));
  }

  // Pipelines: one per distinct shader, compiled in parallel.
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();
  const pipeline = (kernel: Kernel, label: string) => {
    const { code } = kernel;
    let p = pipelines.get(code);
    if (!p) {
      p = device
        .createComputePipelineAsync({
          label,
          layout: device.createPipelineLayout({
            bindGroupLayouts: [
              device.createBindGroupLayout({ label, entries: layoutEntries(kernel) }),
            ],
          }),
          compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' },
        })
        .catch((cause: unknown) => {
          throw new GpuExecutorError(
            `the ${label} kernel did not compile: ${(cause as Error).message}`,
            'GPU_DEVICE_ERROR',
            { cause },
          );
        });
      pipelines.set(code, p);
    }
    return p;
  };
  const pending: Array<Promise<Op>> = [];
  const step = { step: stepUniform, step_data: stepData };
  const op: LoweringTarget['op'] = (label, kernel, bindings, grid) => {
    const entries = bindGroupEntries(kernel, { ...step, ...bindings });
    if (typeof entries === 'string') {
      throw new GpuExecutorError(
        `${label}: the lowering gave the kernel ${entries}`,
        'GPU_DEVICE_ERROR',
      );
    }
    pending.push(
      pipeline(kernel, label).then((p) => ({
        label,
        pipeline: p,
        grid,
        bindGroup: device.createBindGroup({ label, layout: p.getBindGroupLayout(0), entries }),
      })),
    );
  };
  const { rows: R, tokens: TT } = MATMUL_TILE;
  // Two kernels per matmul; each step runs the one its batch size calls for.
  // A matrix split over bindings runs as one matmul per row range (a second weight, the up
  // projection, is split at the same rows).
  const matmul: LoweringTarget['matmul'] = (label, ws, variant, bindings) => {
    const w = ws.length === 3 ? fused(label, ws) : weight(ws[0]!);
    const second = variant.dual ? weight(ws[1]!) : undefined;
    const whole: MatmulVariant = { ...variant, dual: second?.info };
    w.parts.forEach((part, i) => {
      const all: Record<string, GPUBuffer> = { ...bindings, w: part.buffer };
      if (second) all.w2 = second.parts[i]!.buffer;
      const v: MatmulVariant =
        w.parts.length === 1
          ? whole
          : { ...whole, n: part.rows, rowOffset: part.rowStart, outRows: whole.n };
      const tiled = !v.gather;
      op(label, matmulShader(w.info, v), all, (T, S) =>
        tiled && T >= TILED_MIN_TOKENS
          ? [0, 0, 0]
          : [Math.ceil(v.n / R), Math.ceil((v.gather ? S : T) / TT), 1],
      );
      if (tiled) {
        const rows = v.dual ? 32 : 64;
        op(label, tiledMatmulShader(w.info, v), all, (T) =>
          T >= TILED_MIN_TOKENS ? [Math.ceil(v.n / rows), Math.ceil(T / 32), 1] : [0, 0, 0],
        );
      }
    });
  };
  const valueBuffers = new Map<string, GPUBuffer>();
  const vectors = new Map<Float32Array, GPUBuffer>();
  const ropeTables = new Map<RopeSpec, GPUBuffer>();
  // Every layer attends with the same heads and head size, so one tile size serves every attention
  // kernel and the step data's tiles (scale, soft-capping and windows do not change it).
  const tileTokens = attentionTileTokens(
    {
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
      headDim: c.headDim,
      blockSize: options.blockSize,
      kvType: kvCacheDtype,
    },
    gpu.limits.maxComputeWorkgroupStorageSize,
  );
  const target: LoweringTarget = {
    value(name) {
      let buffer = valueBuffers.get(name);
      if (!buffer) {
        const v = graph.values[name]!;
        buffer = alloc(name, (v.rows === 'tokens' ? Tm : Sm) * v.width * 4, 'arena');
        valueBuffers.set(name, buffer);
      }
      return buffer;
    },
    inv,
    vector(label, data) {
      let buffer = vectors.get(data);
      if (!buffer) {
        buffer = upload(label, data, 'weights');
        vectors.set(data, buffer);
      }
      return buffer;
    },
    ropeTable(rope) {
      let buffer = ropeTables.get(rope);
      if (!buffer) {
        buffer = upload('rope table', ropeTable(rope, limits.modelLen), 'arena');
        ropeTables.set(rope, buffer);
      }
      return buffer;
    },
    keys,
    values,
    kvType: kvCacheDtype,
    blockSize: options.blockSize,
    tileTokens,
    op,
    matmul,
    embed(label, w, scale, out, width) {
      for (const part of weight(w).parts) {
        op(
          label,
          embedShader(weight(w).info, width, part, scale),
          { x: out, emb: part.buffer },
          (T) => [Math.ceil(width / 4 / 64), T, 1],
        );
      }
    },
  };
  try {
    lowerGraph(graph, target);
  } catch (error) {
    await device.popErrorScope();
    for (const b of buffers) b.destroy();
    throw error;
  }
  const logits = target.value(graph.logits);
  const oom = await device.popErrorScope();
  if (oom) {
    for (const b of buffers) b.destroy();
    throw new GpuExecutorError(
      `out of device memory uploading ${model.name ?? 'the model'}: ${oom.message}`,
      'GPU_OUT_OF_MEMORY',
    );
  }
  const ops = await Promise.all(pending);
  // A row penalizes at most its distinct tokens and its logit bias, fewer than
  // min(V, maxModelLen + MAX_LOGIT_BIAS): sized for the worst step up front, the lists never grow.
  device.pushErrorScope('out-of-memory');
  const sampler = new GpuSampler(device, {
    vocabSize: V,
    maxRows: Sm,
    initialPenaltyEntries: Sm * Math.min(V, limits.modelLen + MAX_LOGIT_BIAS),
  });
  // The logits binding (one uniform) is made now rather than in the first step.
  sampler.bindLogits(logits);
  // Sampled token ids and log-probabilities come back through this; logits rows (`forward`) through
  // a buffer made on first use.
  const readback = alloc('readback', sampler.resultBytes(Sm), 'arena', 0x01 | 0x08); // MAP_READ | COPY_DST
  const samplerOom = await device.popErrorScope();
  if (samplerOom) {
    sampler.destroy();
    for (const b of buffers) b.destroy();
    throw new GpuExecutorError(
      `out of device memory allocating the sampler: ${samplerOom.message}`,
      'GPU_OUT_OF_MEMORY',
    );
  }

  const { vendor, architecture, description } = gpu.adapterInfo;
  const samplerBytes = sampler.deviceBytes;
  const total = sizes.weights + sizes.kv + sizes.arena + samplerBytes;
  return {
    config: c,
    kvCacheDtype,
    kvCache: {
      numBlocks: options.numBlocks,
      numHostBlocks: options.numHostBlocks,
      blockSize: options.blockSize,
    },
    info: {
      adapter: [vendor, architecture, description].filter(Boolean).join(' / ') || 'unknown',
      features: [...gpu.features].sort(),
      weightBytes: sizes.weights,
      kvCacheBytes: sizes.kv,
      arenaBytes: sizes.arena,
      samplerBytes,
      peakDeviceBytes: total,
    },
    device,
    ownsDevice,
    buffers,
    ops,
    stepUniform,
    stepData,
    stepDataWords,
    tileTokens,
    logits,
    readback,
    sampler,
    keys,
    values,
    limits,
  };
}

/**
 * A rope's cos/sin table, `[position][pair]` for `positions` positions, both scaled by its
 * `attnFactor`.
 */
export function ropeTable(rope: RopeSpec, positions: number): Float32Array {
  const half = rope.rotaryDim / 2;
  const table = new Float32Array(Math.max(1, positions * half) * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * (rope.inverseFrequencies[i] as number);
      table[(p * half + i) * 2] = Math.cos(angle) * rope.attnFactor;
      table[(p * half + i) * 2 + 1] = Math.sin(angle) * rope.attnFactor;
    }
  }
  return table;
}
