import {
  type SampledToken,
  type SamplingParams,
  SamplingParamsError,
  sampleLogits,
} from '@x/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GpuDevice, requestGpuDeviceFrom } from '../device.js';
import { GpuSamplerError } from '../errors.js';
import { loadNodeGpu } from '../node-gpu.js';
import { GpuSampler, type SampledRows, type SamplerRow } from './sampler.js';

// Runs on a real adapter (lavapipe on machines without a GPU): sizes stay small. The device comes
// from device.ts and Dawn directly, so this file does not load the executor.
const VOCAB = 3001;
const MAX_ROWS = 16;
/** Rows in the logits buffer: more than are sampled, so some are never listed. */
const BUFFER_ROWS = 20;

/** A seeded PRNG (mulberry32) so every run sees the same logits. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

type Distribution = 'spread' | 'peaked' | 'flat' | 'ties' | 'masked';
const DISTRIBUTIONS: readonly Distribution[] = ['spread', 'peaked', 'flat', 'ties', 'masked'];

function makeLogits(kind: Distribution, seed: number): Float32Array {
  const random = rng(seed);
  const row = new Float32Array(VOCAB);
  for (let i = 0; i < VOCAB; i++) {
    const z = normal(random);
    switch (kind) {
      case 'spread':
        row[i] = 2 * z;
        break;
      case 'peaked':
        row[i] = z;
        break;
      case 'flat':
        row[i] = 0.01 * z;
        break;
      case 'ties':
        // A grid of half-steps: hundreds of tokens share each logit, the largest included.
        row[i] = Math.round(z * 3) / 2;
        break;
      case 'masked':
        row[i] = random() < 0.5 ? Number.NEGATIVE_INFINITY : 3 * z;
        break;
    }
  }
  if (kind === 'peaked') {
    for (let k = 0; k < 3; k++) row[Math.floor(random() * VOCAB)] = 12 - 2 * k;
  }
  return row;
}

/** The sampling cases of one batch; `seeded: false` rows are only checked for validity. */
interface Case {
  params: SamplingParams;
  penalties?: boolean;
  seeded?: boolean;
}

const CASES: readonly Case[] = [
  { params: { temperature: 0 } },
  // A bias that outweighs the logits: greedy takes token 42, never token 0.
  {
    params: {
      temperature: 0,
      logprobs: 5,
      logitBias: new Map([
        [42, 30],
        [0, -100],
      ]),
    },
  },
  { params: { temperature: 0.8, seed: 11 } },
  { params: { temperature: 1.5, seed: 12, logprobs: 0 } },
  { params: { topK: 20, seed: 13 } },
  { params: { topK: 1, temperature: 0.7, seed: 14 } },
  { params: { topP: 0.9, seed: 15 } },
  { params: { topP: 0.5, temperature: 0.6, seed: 16, logprobs: 5 } },
  {
    params: {
      minP: 0.1,
      seed: 17,
      logitBias: new Map([
        [5, 2.5],
        [9, -1],
      ]),
    },
  },
  {
    params: { topK: 50, topP: 0.8, minP: 0.05, temperature: 0.9, seed: 18, logprobs: 5 },
  },
  {
    // Biases on seen and unseen tokens, under every penalty.
    params: {
      repetitionPenalty: 1.3,
      presencePenalty: 0.4,
      frequencyPenalty: 0.3,
      seed: 19,
      logitBias: new Map(Array.from({ length: 40 }, (_, i) => [3 * i, (i % 7) - 3] as const)),
    },
    penalties: true,
  },
  {
    params: { temperature: 0, repetitionPenalty: 1.5, logprobs: 3 },
    penalties: true,
  },
  {
    params: { frequencyPenalty: -0.5, topP: 0.95, seed: 20, logprobs: 2 },
    penalties: true,
  },
  { params: { topK: VOCAB, seed: 21 } },
  { params: { temperature: 1 }, seeded: false },
  { params: { topK: 40, topP: 0.9 }, seeded: false },
];

/** Logits row of each case: shuffled, and rows 1, 5, 12, 17 are never sampled. */
const ROW_OF_CASE = [3, 0, 7, 19, 2, 11, 4, 8, 14, 6, 10, 13, 9, 15, 16, 18];

function tokenIds(random: () => number, length: number, logits: Float32Array): number[] {
  const ids: number[] = [];
  // The most likely tokens, so penalties change what is drawn.
  const best = [...logits.keys()].sort((a, b) => (logits[b] as number) - (logits[a] as number));
  for (let i = 0; i < length; i++) {
    ids.push(i % 2 === 0 ? (best[i % 8] as number) : Math.floor(random() * VOCAB));
  }
  // Out of range ids are ignored, as sampleLogits ignores them.
  ids.push(-1, VOCAB + 3);
  return ids;
}

interface Batch {
  logits: Float32Array<ArrayBuffer>;
  rows: SamplerRow[];
  cases: readonly Case[];
}

function makeBatch(kind: Distribution, step: number): Batch {
  const logits = new Float32Array(BUFFER_ROWS * VOCAB);
  for (let r = 0; r < BUFFER_ROWS; r++) {
    logits.set(makeLogits(kind, 1000 * step + 31 * r + DISTRIBUTIONS.indexOf(kind)), r * VOCAB);
  }
  const random = rng(step + 7);
  const rows = CASES.map((c, i): SamplerRow => {
    const row = ROW_OF_CASE[i] as number;
    const own = logits.subarray(row * VOCAB, (row + 1) * VOCAB);
    const penalized = c.penalties === true;
    return {
      row,
      params: c.params,
      promptTokenIds: penalized ? tokenIds(random, 40, own) : undefined,
      outputTokenIds: tokenIds(random, 3 + 4 * step + i, own),
    };
  });
  return { logits, rows, cases: CASES };
}

/** sampleLogits on a copy of each listed row; also returns the rows as it leaves them. */
function reference(batch: Batch): { sampled: SampledToken[]; after: Float32Array } {
  const after = batch.logits.slice();
  const sampled = batch.rows.map((row) => {
    const own = after.subarray(row.row * VOCAB, (row.row + 1) * VOCAB);
    return sampleLogits(own, row.params, row);
  });
  return { sampled, after };
}

describe('GpuSampler', () => {
  let gpu: GpuDevice;
  let sampler: GpuSampler;
  let logitsBuffer: GPUBuffer;
  // An offset that is not a multiple of the storage alignment.
  const offsetBytes = 7 * 4;

  beforeAll(async () => {
    gpu = await requestGpuDeviceFrom(await loadNodeGpu());
    // Few penalty entries up front, so the first penalized batch grows the buffers.
    sampler = new GpuSampler(gpu.device, {
      vocabSize: VOCAB,
      maxRows: MAX_ROWS,
      initialPenaltyEntries: 8,
    });
    logitsBuffer = gpu.device.createBuffer({
      size: offsetBytes + BUFFER_ROWS * VOCAB * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  });
  afterAll(() => {
    sampler?.destroy();
    gpu?.device.destroy();
  });

  /** Uploads the batch, samples it on the device, and reads back results and logits. */
  async function sampleOnDevice(batch: Batch): Promise<{ out: SampledRows; after: Float32Array }> {
    const { device } = gpu;
    device.pushErrorScope('validation');
    device.queue.writeBuffer(logitsBuffer, offsetBytes, batch.logits);
    sampler.prepare(batch.rows);
    const resultBytes = sampler.resultBytes(batch.rows.length);
    const readResult = device.createBuffer({
      size: resultBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const readLogits = device.createBuffer({
      size: batch.logits.byteLength,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    sampler.encode(pass, logitsBuffer, offsetBytes);
    pass.end();
    encoder.copyBufferToBuffer(sampler.result, 0, readResult, 0, resultBytes);
    encoder.copyBufferToBuffer(logitsBuffer, offsetBytes, readLogits, 0, batch.logits.byteLength);
    device.queue.submit([encoder.finish()]);
    await Promise.all([readResult.mapAsync(GPUMapMode.READ), readLogits.mapAsync(GPUMapMode.READ)]);
    const out = sampler.decode(readResult.getMappedRange().slice(0), batch.rows);
    const after = new Float32Array(readLogits.getMappedRange().slice(0));
    readResult.destroy();
    readLogits.destroy();
    expect(await device.popErrorScope()).toBeNull();
    return { out, after };
  }

  it.each(DISTRIBUTIONS)('draws the tokens sampleLogits draws from %s logits', async (kind) => {
    const mismatches: string[] = [];
    for (let step = 0; step < 3; step++) {
      const batch = makeBatch(kind, step);
      const { out, after } = await sampleOnDevice(batch);
      const expected = reference(batch);
      batch.rows.forEach((row, i) => {
        const label = `step ${step} case ${i} ${JSON.stringify(row.params)}`;
        const token = out.tokens[i] as number;
        const want = expected.sampled[i] as SampledToken;
        if (batch.cases[i]?.seeded === false) {
          if (!(token >= 0 && token < VOCAB)) mismatches.push(`${label}: token ${token}`);
          return;
        }
        if (token !== want.tokenId) {
          mismatches.push(`${label}: token ${token}, sampleLogits ${want.tokenId}`);
        }
        const got = out.logprobs[i];
        if ((got === undefined) !== (want.logprobs === undefined)) {
          mismatches.push(`${label}: logprobs ${got ? 'present' : 'missing'}`);
        }
        if (got && want.logprobs) {
          if (!(Math.abs(got.logprob - want.logprobs.logprob) <= 1e-4)) {
            mismatches.push(`${label}: logprob ${got.logprob}, expected ${want.logprobs.logprob}`);
          }
          expect(
            got.top.map((t) => t.tokenId),
            label,
          ).toEqual(want.logprobs.top.map((t) => t.tokenId));
          got.top.forEach((t, j) => {
            expect(t.logprob, label).toBeCloseTo(want.logprobs?.top[j]?.logprob as number, 4);
          });
        }
      });
      // Penalized (or biased) rows hold sampleLogits' penalized logits; every other row is
      // untouched.
      const penalizedRows = new Set(
        batch.rows
          .filter((row, i) => batch.cases[i]?.penalties || row.params?.logitBias?.size)
          .map((r) => r.row),
      );
      for (let r = 0; r < BUFFER_ROWS; r++) {
        const range = [r * VOCAB, (r + 1) * VOCAB] as const;
        if (penalizedRows.has(r)) {
          const got = after.subarray(...range);
          const want = expected.after.subarray(...range);
          for (let i = 0; i < VOCAB; i++) {
            const g = got[i] as number;
            const w = want[i] as number;
            if (!(g === w || Math.abs(g - w) <= 1e-6 * Math.abs(w))) {
              mismatches.push(`step ${step} row ${r}: penalized logit ${i} ${g}, expected ${w}`);
            }
          }
        } else {
          expect(after.subarray(...range), `row ${r}`).toEqual(batch.logits.subarray(...range));
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('counts its device bytes, and grows its penalty lists only when a batch needs more', () => {
    const small = new GpuSampler(gpu.device, {
      vocabSize: VOCAB,
      maxRows: 4,
      initialPenaltyEntries: 8,
    });
    // Parameters (16 words a row), results, 8 penalty entries (4 words) and their raw logits.
    const before = small.deviceBytes;
    expect(before).toBe(4 * 16 * 4 + small.resultBytes(4) + 8 * 4 * 4 + 8 * 4);
    small.prepare([{ row: 0, params: { repetitionPenalty: 1.1 }, promptTokenIds: [1, 2, 3] }]);
    expect(small.deviceBytes).toBe(before);
    const many = Array.from({ length: 100 }, (_, i) => i);
    small.prepare([{ row: 0, params: { repetitionPenalty: 1.1 }, promptTokenIds: many }]);
    expect(small.deviceBytes).toBe(before + (100 - 8) * (4 * 4 + 4));
    small.bindLogits(logitsBuffer, offsetBytes);
    expect(small.deviceBytes).toBe(before + (100 - 8) * (4 * 4 + 4) + 16);
    small.destroy();
  });

  it('rejects more rows than maxRows with a typed error', () => {
    const rows = Array.from({ length: MAX_ROWS + 1 }, (_, row) => ({ row, params: undefined }));
    const call = () => sampler.prepare(rows);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(/cannot sample 17 rows: this sampler was created with maxRows 16/);
    try {
      call();
    } catch (error) {
      expect(error).toBeInstanceOf(GpuSamplerError);
      expect((error as GpuSamplerError).code).toBe('SAMPLER_TOO_MANY_ROWS');
    }
  });

  it('rejects parameters out of range as sampleLogits does', () => {
    expect(() => sampler.prepare([{ row: 0, params: { topP: 0 } }])).toThrow(SamplingParamsError);
    expect(() => sampler.prepare([{ row: 0, params: { logprobs: 21 } }])).toThrow(
      SamplingParamsError,
    );
  });

  it('rejects a penalized row that is sampled twice', () => {
    const call = () =>
      sampler.prepare([
        { row: 2, params: { temperature: 0 } },
        { row: 2, params: { repetitionPenalty: 1.2 }, promptTokenIds: [5] },
      ]);
    expect(call).toThrow(expect.objectContaining({ code: 'SAMPLER_ROW_CONFLICT' }));
    // Sampling one row twice without penalties reads it only.
    expect(() =>
      sampler.prepare([
        { row: 2, params: { temperature: 0 } },
        { row: 2, params: { seed: 1 } },
      ]),
    ).not.toThrow();
  });

  it('rejects rows past the logits buffer and bad row indices', () => {
    const small = gpu.device.createBuffer({
      size: 2 * VOCAB * 4,
      usage: GPUBufferUsage.STORAGE,
    });
    sampler.prepare([{ row: 2, params: undefined }]);
    const encoder = gpu.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    expect(() => sampler.encode(pass, small)).toThrow(
      expect.objectContaining({ code: 'SAMPLER_BAD_ROW' }),
    );
    expect(() => sampler.encode(pass, small, 2)).toThrow(
      expect.objectContaining({ code: 'SAMPLER_BAD_LOGITS' }),
    );
    pass.end();
    small.destroy();
    expect(() => sampler.prepare([{ row: -1, params: undefined }])).toThrow(GpuSamplerError);
    expect(() => sampler.prepare([{ row: 1.5, params: undefined }])).toThrow(GpuSamplerError);
  });

  it('rejects a result too short to decode and bad options', () => {
    const rows = [{ row: 0, params: undefined }];
    expect(() => sampler.decode(new ArrayBuffer(8), rows)).toThrow(
      expect.objectContaining({ code: 'SAMPLER_SHORT_RESULT' }),
    );
    expect(() => new GpuSampler(gpu.device, { vocabSize: 0, maxRows: 1 })).toThrow(
      expect.objectContaining({ code: 'SAMPLER_BAD_OPTIONS' }),
    );
    expect(() => new GpuSampler(gpu.device, { vocabSize: 10, maxRows: 0 })).toThrow(
      GpuSamplerError,
    );
  });
});
