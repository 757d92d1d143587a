// Each WGSL kernel alone on the device, against the reference op it lowers (@x/model's ops, or
// dotRow for the matmuls): embedding gather, RMS norms, every matmul variant (split-K and tiled),
// RoPE with the K/V write, paged attention (decode and tiled, windows and soft-capping), the
// normed residual add and soft-capping.
import {
  type AttnPagedNode,
  applyRope,
  dequantizeRow,
  dotRow,
  GgmlType,
  glu,
  pagedAttention,
  quantize,
  type RopeSpec,
  rmsNorm,
  ropeSpec,
  type SequenceStep,
  seededUniform,
  sequenceBatch,
  softcap,
  type WeightMatrix,
} from '@x/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ropeTable } from '../build.js';
import type { GpuDevice } from '../device.js';
import { requestGpuDevice } from '../index.js';
import { packStepData } from '../step-data.js';
import { type Bindings, maxRelativeError, runKernel } from './harness.js';
import {
  type AttentionShape,
  attentionShader,
  attentionTileTokens,
  embedShader,
  groupRmsShader,
  MATMUL_TILE,
  type MatmulVariant,
  matmulShader,
  normAddShader,
  rmsShader,
  ropeKvShader,
  softcapShader,
  tiledMatmulShader,
} from './kernels.js';
import { packWeight } from './weights.js';

let gpu: GpuDevice;
beforeAll(async () => {
  gpu = await requestGpuDevice();
});
afterAll(() => gpu?.device.destroy());

/** Values in (-1, 1) from a seed: the same every run. */
function values(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (seededUniform(seed, i) * 2 - 1) * scale);
}

function weight(type: number, rows: number, cols: number, seed: number): WeightMatrix {
  const data = quantize(type, values(rows * cols, seed));
  return { name: 'w', type, rows, cols, rowBytes: data.byteLength / rows, data };
}

/** The f32 rows a weight decodes to. */
function _rowsOf(w: WeightMatrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++)
    dequantizeRow(w.type, w.data, r * w.rowBytes, out, r * w.cols, w.cols);
  return out;
}

/** `W·x` for each of `tokens` rows of `x`, by the reference's plain dot. */
function matvecs(w: WeightMatrix, x: Float32Array, tokens: number): Float32Array {
  const out = new Float32Array(tokens * w.rows);
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < w.rows; r++) {
      out[t * w.rows + r] = dotRow(w.type, w.data, r * w.rowBytes, x, t * w.cols, w.cols);
    }
  }
  return out;
}

const F32_TOLERANCE = 2e-5;

describe('kernels against the reference ops', () => {
  it.each([
    ['F32', 1],
    ['Q8_0', Math.sqrt(64)],
  ] as const)('embedShader gathers %s rows, scaled by %d', async (type, scale) => {
    const w = weight(GgmlType[type], 8, 64, 1);
    const ids = [2, 0, 7, 2];
    const out = await runKernel(gpu.device, embedShader(packWeight(w), 64, undefined, scale), {
      tokens: ids.length,
      stepData: Uint32Array.from(ids),
      bindings: { x: ids.length * 64 * 4, emb: packWeight(w).words },
      grid: [1, ids.length, 1],
    });
    const want = new Float32Array(ids.length * 64);
    ids.forEach((id, t) => {
      dequantizeRow(w.type, w.data, id * w.rowBytes, want, t * 64, 64);
    });
    for (let i = 0; i < want.length; i++) want[i] = Math.fround(want[i]! * Math.fround(scale));
    expect(maxRelativeError(want, out.x!)).toBeLessThan(F32_TOLERANCE);
  });

  it('rmsShader: the inverse root mean square of each row', async () => {
    const x = values(3 * 64, 2, 3);
    const out = await runKernel(gpu.device, rmsShader(64, 1e-6), {
      tokens: 3,
      bindings: { x, inv: 3 * 4 },
      grid: [3, 1, 1],
    });
    const one = new Float32Array(64).fill(1);
    const normed = new Float32Array(64);
    for (let t = 0; t < 3; t++) {
      rmsNorm(x, t * 64, one, 1e-6, normed, 0);
      expect(Math.abs(out.inv![t]! - normed[0]! / x[t * 64]!)).toBeLessThan(1e-5);
    }
  });

  const TYPES = ['F32', 'Q8_0', 'Q4_K'] as const;
  describe.each(TYPES)('matmuls of %s weights', (type) => {
    const cols = 256;
    const rows = 24;
    const w = weight(GgmlType[type], rows, cols, 3);
    const w2 = weight(GgmlType[type], rows, cols, 4);
    const packed = packWeight(w);

    /** Runs the split-K kernel (T < 32) or the tiled one, with the variant's extra bindings. */
    async function matmul(v: MatmulVariant, x: Float32Array, T: number, extra: Bindings = {}) {
      const tiled = T >= 32;
      const code = tiled ? tiledMatmulShader(packed, v) : matmulShader(packed, v);
      const grid: [number, number, number] = tiled
        ? [Math.ceil(v.n / (v.dual ? 32 : 64)), Math.ceil(T / 32), 1]
        : [
            Math.ceil(v.n / MATMUL_TILE.rows),
            Math.ceil((v.gather ? 2 : T) / MATMUL_TILE.tokens),
            1,
          ];
      const stepData = new Uint32Array(4 * T + 2);
      stepData.set([1, T - 1], 4 * T);
      return runKernel(gpu.device, code, {
        tokens: T,
        samples: v.gather ? 2 : 0,
        stepData,
        bindings: { x, out: (v.gather ? 2 : T) * v.n * 4, w: packed.words, ...extra },
        grid,
      });
    }

    it.each([3, 40])('plain, %d tokens', async (T) => {
      const x = values(T * cols, 5);
      const out = await matmul({ n: rows, k: cols }, x, T);
      expect(maxRelativeError(matvecs(w, x, T), out.out!)).toBeLessThan(F32_TOLERANCE);
    });

    it.each([3, 40])('normed input, bias and residual add, %d tokens', async (T) => {
      const x = values(T * cols, 6, 2);
      const inv = values(T, 7).map((v) => 1 + Math.abs(v));
      const normW = values(cols, 8).map((v) => 1 + v / 2);
      const bias = values(rows, 9);
      const before = values(T * rows, 10);
      const normed = x.map((v, i) => v * inv[Math.floor(i / cols)]! * normW[i % cols]!);
      const want = matvecs(w, normed, T).map((v, i) => before[i]! + v + bias[i % rows]!);
      const out = await matmul({ n: rows, k: cols, norm: true, bias: true, residual: true }, x, T, {
        out: before,
        inv,
        norm_w: normW,
        bias,
      });
      expect(maxRelativeError(want, out.out!)).toBeLessThan(F32_TOLERANCE);
    });

    it.each([
      ['silu', 3],
      ['gelu_tanh', 3],
      ['gelu_tanh', 40],
    ] as const)('gate·up with %s, %d tokens', async (activation, T) => {
      const x = values(T * cols, 11);
      const gate = matvecs(w, x, T);
      const up = matvecs(w2, x, T);
      const want = new Float32Array(gate.length);
      glu(activation === 'silu' ? 'silu' : 'gelu_tanh', gate, up, want, want.length);
      const out = await matmul({ n: rows, k: cols, dual: packWeight(w2), activation }, x, T, {
        w2: packWeight(w2).words,
      });
      // GeGLU: the reference rounds through ggml's f16 GELU table.
      expect(maxRelativeError(want, out.out!)).toBeLessThan(
        activation === 'silu' ? F32_TOLERANCE : 2e-3,
      );
    });

    it('split into three outputs (Q, K, V)', async () => {
      const T = 3;
      const x = values(T * cols, 12);
      const out = await matmul({ n: rows, k: cols, split: [12, 8, 4] }, x, T, {
        out: T * 12 * 4,
        out_b: T * 8 * 4,
        out_c: T * 4 * 4,
      });
      const all = matvecs(w, x, T);
      const part = (from: number, n: number) =>
        Float32Array.from(
          { length: T * n },
          (_, i) => all[Math.floor(i / n) * rows + from + (i % n)]!,
        );
      expect(maxRelativeError(part(0, 12), out.out!)).toBeLessThan(F32_TOLERANCE);
      expect(maxRelativeError(part(12, 8), out.out_b!)).toBeLessThan(F32_TOLERANCE);
      expect(maxRelativeError(part(20, 4), out.out_c!)).toBeLessThan(F32_TOLERANCE);
    });

    it('gathered rows (the sampled tokens)', async () => {
      const T = 5;
      const x = values(T * cols, 13);
      const out = await matmul({ n: rows, k: cols, gather: true }, x, T);
      const all = matvecs(w, x, T);
      const want = [...all.subarray(rows, 2 * rows), ...all.subarray((T - 1) * rows, T * rows)];
      expect(maxRelativeError(want, out.out!)).toBeLessThan(F32_TOLERANCE);
    });
  });

  describe('ropeKvShader: RoPE of Q and K and the K/V write', () => {
    const heads = 4;
    const kvHeads = 2;
    const hd = 16;
    const positions = [0, 5, 17];
    const slots = [0, 3, 9];
    const cases: Array<[string, RopeSpec | undefined]> = [
      ['interleaved', spec('interleaved', 16)],
      ['neox', spec('neox', 16)],
      ['neox, partial rotary (8 of 16), magnitude 1.2', { ...spec('neox', 8), attnFactor: 1.2 }],
      ['none (a layer without RoPE)', undefined],
    ];
    function spec(style: 'interleaved' | 'neox', rotaryDim: number): RopeSpec {
      const half = rotaryDim / 2;
      const inverseFrequencies = Float64Array.from(
        { length: half },
        (_, i) => 10000 ** ((-2 * i) / rotaryDim),
      );
      return { style, headDim: hd, rotaryDim, inverseFrequencies, attnFactor: 1 };
    }
    it.each(cases)('%s', async (_, rope) => {
      const T = positions.length;
      const q = values(T * heads * hd, 14);
      const k = values(T * kvHeads * hd, 15);
      const v = values(T * kvHeads * hd, 16);
      const shape: AttentionShape = {
        numHeads: heads,
        numKvHeads: kvHeads,
        headDim: hd,
        blockSize: 16,
        kvType: 'f32',
      };
      const stepData = new Uint32Array(3 * T);
      stepData.set(positions, T);
      stepData.set(slots, 2 * T);
      const cacheBytes = 16 * kvHeads * hd * 4;
      const bindings: Bindings = {
        q,
        k,
        v,
        kc: cacheBytes,
        vc: cacheBytes,
      };
      if (rope) bindings.rope = ropeTable(rope, 32);
      const out = await runKernel(
        gpu.device,
        ropeKvShader(shape, rope?.style ?? 'neox', rope?.rotaryDim ?? 0),
        {
          tokens: T,
          stepData,
          bindings,
          grid: [T, 1, 1],
        },
      );
      const wantQ = q.slice();
      const wantK = k.slice();
      if (rope) {
        positions.forEach((p, t) => {
          applyRope(wantQ, t * heads * hd, heads, p, rope);
          applyRope(wantK, t * kvHeads * hd, kvHeads, p, rope);
        });
      }
      expect(maxRelativeError(wantQ, out.q!)).toBeLessThan(F32_TOLERANCE);
      const kvDim = kvHeads * hd;
      slots.forEach((slot, t) => {
        const at = (a: Float32Array) => a.subarray(slot * kvDim, (slot + 1) * kvDim);
        expect(
          maxRelativeError(wantK.subarray(t * kvDim, (t + 1) * kvDim), at(out.kc!)),
        ).toBeLessThan(F32_TOLERANCE);
        expect(maxRelativeError(v.subarray(t * kvDim, (t + 1) * kvDim), at(out.vc!))).toBeLessThan(
          F32_TOLERANCE,
        );
      });
    });
  });

  describe('paged attention, decode and tiled', () => {
    const node = (extra: Partial<AttnPagedNode> = {}) =>
      ({
        heads: 8,
        kvHeads: 2,
        headDim: 16,
        scale: 0.25,
        softcap: 0,
        slidingWindow: 0,
        ...extra,
      }) as AttnPagedNode;
    const cases: Array<[string, AttnPagedNode]> = [
      ['GQA', node()],
      ['a sliding window of 7', node({ slidingWindow: 7 })],
      ['soft-capped scores, another scale', node({ softcap: 2, scale: 0.6 })],
    ];
    it.each(cases)('%s', async (_, n) => {
      const bs = 4;
      const kvDim = n.kvHeads * n.headDim;
      const numBlocks = 12;
      const keys = values(numBlocks * bs * kvDim, 17);
      const vals = values(numBlocks * bs * kvDim, 18);
      // A prefill of 9 tokens after 11 cached ones, and a decode at position 25.
      const steps: SequenceStep[] = [
        { tokenIds: new Array(9).fill(1), start: 11, blockTable: [3, 0, 7, 5, 9], blockSize: bs },
        { tokenIds: [1], start: 25, blockTable: [1, 2, 4, 6, 8, 10, 11], blockSize: bs },
      ];
      const shape: AttentionShape = {
        numHeads: n.heads,
        numKvHeads: n.kvHeads,
        headDim: n.headDim,
        blockSize: bs,
        kvType: 'f32',
        scale: n.scale,
        softcap: n.softcap,
        slidingWindow: n.slidingWindow,
      };
      const batch = sequenceBatch(...steps);
      const T = batch.tokenIds.length;
      const q = values(T * n.heads * n.headDim, 19);
      const want = new Float32Array(T * n.heads * n.headDim);
      pagedAttention(batch, n, q, want, keys, vals, bs, new Float32Array(64));
      const tileTokens = attentionTileTokens(shape, gpu.limits.maxComputeWorkgroupStorageSize);
      for (const tiled of [false, true]) {
        const sampled = batch.sequences.filter((s) => s.sample);
        const { data, tiles } = packStepData(batch, sampled, bs, tiled ? tileTokens : 1, 1 << 16);
        const out = await runKernel(gpu.device, attentionShader(shape, tiled ? tileTokens : 1), {
          tokens: T,
          samples: sampled.length,
          stepData: data,
          bindings: { q, kc: keys, vc: vals, out: want.byteLength },
          grid: [tiles, n.kvHeads, 1],
        });
        expect(maxRelativeError(want, out.out!), tiled ? 'tiled' : 'per token').toBeLessThan(
          F32_TOLERANCE,
        );
      }
    });
  });

  it('groupRmsShader: per-head RMS norm in place', async () => {
    const x = values(3 * 64, 20, 2);
    const w = values(16, 21).map((v) => 1 + v / 2);
    const out = await runKernel(gpu.device, groupRmsShader(64, 16, 1e-6), {
      tokens: 3,
      bindings: { x, w },
      grid: [3, 4, 1],
    });
    const want = new Float32Array(x.length);
    for (let g = 0; g < 12; g++) rmsNorm(x, g * 16, w, 1e-6, want, g * 16);
    expect(maxRelativeError(want, out.x!)).toBeLessThan(F32_TOLERANCE);
  });

  it('normAddShader: x += rms_norm(h) · w', async () => {
    const x = values(3 * 64, 22);
    const h = values(3 * 64, 23, 4);
    const w = values(64, 24).map((v) => 1 + v / 2);
    const out = await runKernel(gpu.device, normAddShader(64, 1e-6), {
      tokens: 3,
      bindings: { x, h, w },
      grid: [3, 1, 1],
    });
    const normed = new Float32Array(x.length);
    for (let t = 0; t < 3; t++) rmsNorm(h, t * 64, w, 1e-6, normed, t * 64);
    expect(
      maxRelativeError(
        x.map((v, i) => v + normed[i]!),
        out.x!,
      ),
    ).toBeLessThan(F32_TOLERANCE);
  });

  it('softcapShader: tanh(x / cap) · cap over the sampled rows', async () => {
    const x = values(2 * 300, 25, 80);
    const out = await runKernel(gpu.device, softcapShader(300, 30), {
      tokens: 4,
      samples: 2,
      bindings: { x },
      grid: [2, 2, 1],
    });
    const want = x.slice();
    softcap(want, want.length, 30);
    expect(maxRelativeError(want, out.x!)).toBeLessThan(F32_TOLERANCE);
  });

  it('ropeSpec tables: Llama 3 factors and YaRN ramps reach the kernel as frequencies', () => {
    // The kernel reads cos/sin from the table; the table is the spec's frequencies at each position.
    const rope = ropeSpec(
      {
        ropeTheta: 10000,
        ropeStyle: 'neox',
        headDim: 8,
        rotaryDim: 8,
        ropeLinearScale: 4,
        ropeFreqFactors: undefined,
        ropeLongFreqFactors: undefined,
        ropeOriginalContextLength: 64,
        ropeYarn: { originalContextLength: 64, extFactor: 1, betaFast: 32, betaSlow: 1 },
        ropeAttnFactor: 1,
        ropeThetaSwa: 10000,
        ropeLinearScaleSwa: 1,
        layerSlidingWindow: [0],
        contextLength: 256,
      } as never,
      0,
    );
    const table = ropeTable(rope, 3);
    const half = 4;
    for (let i = 0; i < half; i++) {
      const angle = 2 * rope.inverseFrequencies[i]!;
      expect(table[(2 * half + i) * 2]).toBeCloseTo(Math.cos(angle) * rope.attnFactor, 6);
    }
    expect(rope.attnFactor).toBeCloseTo(1 + 0.1 * Math.log(4), 6);
  });
});
