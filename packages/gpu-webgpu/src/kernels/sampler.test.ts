import {
  type SampledToken,
  type SamplingParams,
  SamplingParamsError,
  sampleLogits,
  tokenAllowed,
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

function makeLogits(kind: Distribution, seed: number, vocab = VOCAB): Float32Array {
  const random = rng(seed);
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) {
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
    for (let k = 0; k < 3; k++) row[Math.floor(random() * vocab)] = 12 - 2 * k;
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
  const best = ranked(logits);
  for (let i = 0; i < length; i++) {
    ids.push(i % 2 === 0 ? (best[i % 8] as number) : Math.floor(random() * logits.length));
  }
  // Out of range ids are ignored, as sampleLogits ignores them.
  ids.push(-1, logits.length + 3);
  return ids;
}

/** Token ids of `row`, most likely first (ties: lower id first). */
function ranked(row: Float32Array): number[] {
  return [...row.keys()].sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
}

interface Batch {
  vocab: number;
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
  return { vocab: VOCAB, logits, rows, cases: CASES };
}

/** sampleLogits on a copy of each listed row; also returns the rows as it leaves them. */
function reference(batch: Batch): { sampled: SampledToken[]; after: Float32Array } {
  const after = batch.logits.slice();
  const V = batch.vocab;
  const sampled = batch.rows.map((row) => {
    const own = after.subarray(row.row * V, (row.row + 1) * V);
    return sampleLogits(own, row.params, row);
  });
  return { sampled, after };
}

/**
 * Where the device's results differ from sampleLogits': tokens (rows with `seeded: false` only
 * checked to be in the vocabulary and allowed), log-probabilities within 1e-4 (the top ids equal),
 * and the logits rows as each leaves them: penalized and masked rows as sampleLogits leaves them
 * (the lowest finite f32 where it writes −∞ for a masked token), every other row untouched.
 */
function mismatchesOf(
  label: string,
  batch: Batch,
  out: SampledRows,
  after: Float32Array,
): string[] {
  const mismatches: string[] = [];
  const expected = reference(batch);
  const V = batch.vocab;
  batch.rows.forEach((row, i) => {
    const where = `${label} case ${i} ${JSON.stringify(row.params)}`;
    const token = out.tokens[i] as number;
    const want = expected.sampled[i] as SampledToken;
    const mask = row.params?.allowedTokens;
    if (!(token >= 0 && token < V) || (mask && !tokenAllowed(mask, token))) {
      mismatches.push(`${where}: token ${token} outside the vocabulary or the mask`);
    }
    if (batch.cases[i]?.seeded === false) return;
    if (token !== want.tokenId) {
      mismatches.push(`${where}: token ${token}, sampleLogits ${want.tokenId}`);
    }
    const got = out.logprobs[i];
    if ((got === undefined) !== (want.logprobs === undefined)) {
      mismatches.push(`${where}: logprobs ${got ? 'present' : 'missing'}`);
    }
    if (got && want.logprobs) {
      if (!(Math.abs(got.logprob - want.logprobs.logprob) <= 1e-4)) {
        mismatches.push(`${where}: logprob ${got.logprob}, expected ${want.logprobs.logprob}`);
      }
      const ids = (top: typeof got.top) => top.map((t) => t.tokenId).join(',');
      if (ids(got.top) !== ids(want.logprobs.top)) {
        mismatches.push(`${where}: top ${ids(got.top)}, expected ${ids(want.logprobs.top)}`);
      }
      got.top.forEach((t, j) => {
        const w = want.logprobs?.top[j]?.logprob as number;
        if (!(Math.abs(t.logprob - w) < 5e-5)) {
          mismatches.push(`${where}: top logprob ${j} ${t.logprob}, expected ${w}`);
        }
      });
    }
  });
  const modified = new Map<number, SamplerRow>();
  batch.rows.forEach((row, i) => {
    const p = row.params;
    if (batch.cases[i]?.penalties || p?.logitBias?.size || p?.allowedTokens)
      modified.set(row.row, row);
  });
  for (let r = 0; r < batch.logits.length / V; r++) {
    const got = after.subarray(r * V, (r + 1) * V);
    const want = (modified.has(r) ? expected.after : batch.logits).subarray(r * V, (r + 1) * V);
    const mask = modified.get(r)?.params?.allowedTokens;
    // Penalties are applied in f32 on the device, in f64 then rounded on the host: an error of
    // about an ulp of the intermediate values, so absolute for logits the penalties bring near 0.
    const tolerance = modified.has(r) ? 1e-6 : 0;
    for (let i = 0; i < V; i++) {
      const g = got[i] as number;
      const w = mask && !tokenAllowed(mask, i) ? LOWEST_F32 : (want[i] as number);
      if (!(g === w || Math.abs(g - w) <= tolerance * Math.max(1, Math.abs(w)))) {
        mismatches.push(`${label} row ${r}: logit ${i} ${g}, expected ${w}`);
        break;
      }
    }
  }
  return mismatches;
}

/** The lowest finite f32, which the device writes for a masked token. */
const LOWEST_F32 = -((2 - 2 ** -23) * 2 ** 127);

/** A token mask (xgrammar's layout) over `vocab` tokens allowing `allowed`. */
function maskOf(vocab: number, allowed: Iterable<number>): Int32Array {
  const mask = new Int32Array(Math.ceil(vocab / 32));
  for (const id of allowed) mask[id >> 5] = (mask[id >> 5] as number) | (1 << (id & 31));
  return mask;
}

type MaskKind = 'one' | 'scattered' | 'half' | 'all' | 'below';
const MASK_KINDS: readonly MaskKind[] = ['one', 'scattered', 'half', 'all', 'below'];

/** A mask of `kind` for the logits `row`. */
function makeMask(kind: MaskKind, row: Float32Array, random: () => number): Int32Array {
  const n = row.length;
  const order = ranked(row);
  const pick = (from: number) => order[from + Math.floor(random() * (n - from))] as number;
  switch (kind) {
    case 'one':
      // Outside the 10 most likely: neither greedy nor a likely draw without the mask.
      return maskOf(n, [pick(10)]);
    case 'scattered':
      return maskOf(
        n,
        Array.from({ length: 7 }, () => pick(0)),
      );
    case 'half':
      return maskOf(n, [pick(0), ...order.filter(() => random() < 0.5)]);
    case 'all':
      // Bits past the vocabulary set too: ignored.
      return new Int32Array(Math.ceil(n / 32)).fill(-1);
    case 'below':
      // Every token but the most likely (64, or half the vocabulary).
      return maskOf(n, order.slice(Math.min(64, n >> 1)));
  }
}

/** Sampling cases of the masked batches (each row gets a mask but one). */
const MASKED_CASES: readonly (Case & { unmasked?: boolean })[] = [
  { params: { temperature: 0 } },
  // Biases as large as allowed, on tokens the mask may forbid.
  {
    params: {
      temperature: 0,
      logprobs: 5,
      logitBias: new Map([
        [0, 100],
        [7, 100],
        [60, 50],
      ]),
    },
  },
  { params: { temperature: 0.8, seed: 31 } },
  // Among the masked rows, so that rows and mask slots are numbered apart.
  { params: { temperature: 0.7, topK: 10, seed: 41 }, unmasked: true },
  // A temperature below 1: a masked logit over it would overflow f32.
  { params: { temperature: 0.3, seed: 32, logprobs: 3 } },
  { params: { temperature: 2, seed: 33 } },
  // Top-k smaller than most masks allow, and larger than a few scattered tokens.
  { params: { topK: 3, seed: 34 } },
  { params: { topK: 40, temperature: 0.9, seed: 35, logprobs: 2 } },
  { params: { topP: 0.9, seed: 36 } },
  { params: { topP: 0.5, temperature: 0.6, seed: 37, logprobs: 5 } },
  { params: { minP: 0.1, seed: 38 } },
  { params: { topK: 50, topP: 0.8, minP: 0.05, temperature: 0.9, seed: 39, logprobs: 5 } },
  {
    // Penalties that raise a token (negative presence), and biases, masked or not.
    params: {
      repetitionPenalty: 1.3,
      presencePenalty: -2,
      frequencyPenalty: 0.3,
      seed: 40,
      logitBias: new Map(Array.from({ length: 30 }, (_, i) => [3 * i, (i % 7) * 10 - 30] as const)),
    },
    penalties: true,
  },
  {
    params: {
      temperature: 0,
      repetitionPenalty: 0.5,
      logprobs: 3,
      logitBias: new Map([[11, 80]]),
    },
    penalties: true,
  },
];

/**
 * Random sampling parameters (any filter, penalty, bias, temperature from greedy to 2, seeded or
 * not) with a random token mask for the logits `row`: from one allowed token to almost all, one of
 * them with a finite logit (as sampleLogits needs to draw one).
 */
function randomMaskedParams(random: () => number, row: Float32Array): SamplingParams {
  const n = row.length;
  const below = (m: number) => Math.floor(random() * m);
  const maybe = <T>(chance: number, value: () => T) => (random() < chance ? value() : undefined);
  const density = [0, 0.01, 0.5, 0.95][below(4)] as number;
  const allowed = [...row.keys()].filter(() => random() < density);
  const finite = [...row.keys()].filter((i) => Number.isFinite(row[i]));
  allowed.push(finite[below(finite.length)] as number);
  return {
    temperature: [0, 1e-4, 0.05, 0.3, 1, 2, 2 * random()][below(7)],
    topK: maybe(0.4, () => 1 + below(Math.min(300, n))),
    topP: maybe(0.4, () => 0.05 + 0.95 * random()),
    minP: maybe(0.3, () => 0.5 * random()),
    repetitionPenalty: maybe(0.3, () => 0.5 + 1.5 * random()),
    presencePenalty: maybe(0.3, () => 4 * random() - 2),
    frequencyPenalty: maybe(0.3, () => 4 * random() - 2),
    logitBias: maybe(
      0.4,
      () => new Map(Array.from({ length: 1 + below(5) }, () => [below(n), 200 * random() - 100])),
    ),
    seed: maybe(0.8, () => below(1e6)),
    logprobs: maybe(0.3, () => below(21)),
    allowedTokens: maskOf(n, allowed),
  };
}

/** A batch of MASKED_CASES over `vocab` tokens, each masked row with its own mask of `kind`. */
function makeMaskedBatch(
  vocab: number,
  kind: MaskKind,
  distribution: Distribution,
  step: number,
): Batch {
  const logits = new Float32Array(BUFFER_ROWS * vocab);
  for (let r = 0; r < BUFFER_ROWS; r++) {
    logits.set(makeLogits(distribution, 7000 * step + 131 * r + vocab, vocab), r * vocab);
  }
  const random = rng(vocab + 17 * step + MASK_KINDS.indexOf(kind));
  const rows = MASKED_CASES.map((c, i): SamplerRow => {
    const row = ROW_OF_CASE[i] as number;
    const own = logits.subarray(row * vocab, (row + 1) * vocab);
    const allowedTokens = c.unmasked ? undefined : makeMask(kind, own, random);
    return {
      row,
      params: { ...c.params, allowedTokens },
      promptTokenIds: c.penalties ? tokenIds(random, 30, own) : undefined,
      outputTokenIds: tokenIds(random, 2 + step + i, own),
    };
  });
  return { vocab, logits, rows, cases: MASKED_CASES };
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

  /**
   * Uploads the batch, samples it on the device (by default with the shared sampler, into the
   * shared logits buffer), and reads back results and logits.
   */
  async function sampleOnDevice(
    batch: Batch,
    target: { sampler: GpuSampler; buffer: GPUBuffer; offsetBytes: number } = {
      sampler,
      buffer: logitsBuffer,
      offsetBytes,
    },
  ): Promise<{ out: SampledRows; after: Float32Array }> {
    const { device } = gpu;
    const { sampler, buffer: logitsBuffer, offsetBytes } = target;
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
      mismatches.push(...mismatchesOf(`step ${step}`, batch, out, after));
    }
    expect(mismatches).toEqual([]);
  });

  /** A sampler over `vocab` tokens and a logits buffer for it, from an unaligned offset. */
  function samplerFor(vocab: number, maxRows = MAX_ROWS) {
    const own = new GpuSampler(gpu.device, { vocabSize: vocab, maxRows });
    const buffer = gpu.device.createBuffer({
      size: 12 + BUFFER_ROWS * vocab * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    return {
      target: { sampler: own, buffer, offsetBytes: 12 },
      destroy() {
        own.destroy();
        buffer.destroy();
      },
    };
  }

  it.each([3001, 1024, 100])(
    'applies token masks on the device: the tokens and raw log-probabilities sampleLogits gives (vocabulary %i)',
    async (vocab) => {
      const { target, destroy } = samplerFor(vocab);
      const mismatches: string[] = [];
      for (const kind of MASK_KINDS) {
        for (const [step, distribution] of (['spread', 'peaked', 'ties'] as const).entries()) {
          const batch = makeMaskedBatch(vocab, kind, distribution, step);
          const { out, after } = await sampleOnDevice(batch, target);
          mismatches.push(...mismatchesOf(`${kind} mask, ${distribution}`, batch, out, after));
        }
      }
      destroy();
      expect(mismatches).toEqual([]);
    },
  );

  it('never samples outside a random token mask, under random logits and parameters', async () => {
    const random = rng(2024);
    const targets = [3001, 257, 64].map((vocab) => samplerFor(vocab));
    const outside: string[] = [];
    let parityMismatches: string[] = [];
    let checked = 0;
    for (let trial = 0; trial < 24; trial++) {
      const { target } = targets[trial % targets.length] as (typeof targets)[number];
      const vocab = target.sampler.vocabSize;
      const logits = new Float32Array(BUFFER_ROWS * vocab);
      const rows: SamplerRow[] = [];
      for (let r = 0; r < MAX_ROWS; r++) {
        const distribution = DISTRIBUTIONS[
          Math.floor(random() * DISTRIBUTIONS.length)
        ] as Distribution;
        const own = makeLogits(distribution, 1 + trial * 100 + r, vocab);
        logits.set(own, r * vocab);
        rows.push({
          row: r,
          params: randomMaskedParams(random, own),
          promptTokenIds: tokenIds(random, 10, own),
          outputTokenIds: tokenIds(random, Math.floor(random() * 8), own),
        });
      }
      // Rows drawing with Math.random() are only checked to be allowed.
      const cases = rows.map((row) => ({
        params: row.params ?? {},
        seeded: row.params?.seed !== undefined || (row.params?.temperature ?? 1) < 1e-5,
      }));
      const batch: Batch = { vocab, logits, rows, cases };
      const { out, after } = await sampleOnDevice(batch, target);
      rows.forEach((row, i) => {
        const token = out.tokens[i] as number;
        checked++;
        if (!tokenAllowed(row.params?.allowedTokens as Int32Array, token)) {
          outside.push(`trial ${trial} row ${i} ${JSON.stringify(row.params)}: token ${token}`);
        }
      });
      parityMismatches = parityMismatches.concat(mismatchesOf(`trial ${trial}`, batch, out, after));
    }
    for (const { destroy } of targets) destroy();
    expect(checked).toBe(24 * MAX_ROWS);
    expect(outside).toEqual([]);
    expect(parityMismatches).toEqual([]);
  });

  it('counts its device bytes, and grows its penalty lists only when a batch needs more', () => {
    const small = new GpuSampler(gpu.device, {
      vocabSize: VOCAB,
      maxRows: 4,
      initialPenaltyEntries: 8,
    });
    // Parameters (16 words a row), results, a token mask a row (a bit per token), 8 penalty
    // entries (4 words) and their raw logits.
    const before = small.deviceBytes;
    expect(before).toBe(
      4 * 16 * 4 + small.resultBytes(4) + 4 * Math.ceil(VOCAB / 32) * 4 + 8 * 4 * 4 + 8 * 4,
    );
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

  it('rejects a masked row that is sampled twice, and malformed masks', () => {
    const words = Math.ceil(VOCAB / 32);
    const all = new Int32Array(words).fill(-1);
    const code = (c: string) => expect.objectContaining({ name: 'GpuSamplerError', code: c });
    // The mask is written into the row in place: either order conflicts.
    for (const rows of [
      [
        { row: 4, params: { temperature: 0 } },
        { row: 4, params: { seed: 1, allowedTokens: all } },
      ],
      [
        { row: 4, params: { allowedTokens: all } },
        { row: 4, params: { temperature: 0 } },
      ],
    ]) {
      expect(() => sampler.prepare(rows)).toThrow(code('SAMPLER_ROW_CONFLICT'));
    }
    expect(() =>
      sampler.prepare([
        { row: 4, params: { allowedTokens: all } },
        { row: 5, params: { allowedTokens: Uint32Array.from(all) } },
      ]),
    ).not.toThrow();
    const bad = (allowedTokens: unknown) => () =>
      sampler.prepare([{ row: 0, params: { allowedTokens: allowedTokens as Int32Array } }]);
    expect(bad(new Int32Array(words - 1).fill(-1))).toThrow(
      `rows[0].params.allowedTokens must be an Int32Array or Uint32Array of ${words} words ` +
        `(a bit per token of ${VOCAB}), got Int32Array of ${words - 1} words`,
    );
    expect(bad(new Float32Array(words))).toThrow(code('SAMPLER_BAD_MASK'));
    expect(bad(new Int32Array(words))).toThrow('rows[0].params.allowedTokens allows no token');
    // Bits past the vocabulary (3001 = 93 · 32 + 25) allow nothing.
    const past = new Int32Array(words);
    past[words - 1] = ~((1 << (VOCAB % 32)) - 1);
    expect(bad(past)).toThrow(code('SAMPLER_BAD_MASK'));
    // Token 3000, the last.
    past[words - 1] = 1 << ((VOCAB % 32) - 1);
    expect(bad(past)).not.toThrow();
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
