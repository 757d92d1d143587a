// `pnpm --filter @x/cpu-wasm bench`: the matmul kernels' speed, printed as GMAC/s (medians; the
// machine is shared, so compare within one run).
//
// - in cache: one thread, one 1536-row weight the kernel is called on directly (what the
//   instructions allow);
// - in a model: decode steps of a SmolLM-135M-shaped model (30 layers × 576, vocabulary 49152;
//   each matmul streams its weight from memory) on 1 thread and on every core, from the
//   executor's per-op profile: the step's matmul MACs over their time, and the step's wall time.
import { availableParallelism, cpus } from 'node:os';
import {
  byteLevelTokenizer,
  GgmlType,
  type GgmlTypeName,
  ggmlTypeTraits,
  loadSyntheticModel,
  quantize,
  sequenceBatch,
  vecDotType,
} from '@x/model';
import { bench, describe } from 'vitest';
import { CpuWasmExecutor } from '../src/index.js';
import { packWeight } from '../src/pack.js';
import { instantiateKernels, kernelMemory } from '../src/wasm.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One thread's matvec over a `rows × cols` weight of `type`, ready to call. */
function matvec(type: number, rows: number, cols: number, expand = false): () => void {
  const memory = kernelMemory(64 << 20, 64 << 20);
  const k = instantiateKernels(memory);
  const values = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * 0.1);
  const { blockSize, typeSize } = ggmlTypeTraits(type);
  const rowBytes = (cols / blockSize) * typeSize;
  const w = { name: 'w', type, rows, cols, rowBytes, data: quantize(type, values) };
  const p = packWeight(w, memory.buffer, 1 << 20, expand);
  const x = (1 << 20) + p.bytes + 4096;
  new Float32Array(memory.buffer, x, cols).set(Float32Array.from({ length: cols }, Math.cos));
  const act = x + cols * 4 + 4096;
  const actType = vecDotType(type);
  const actBytes = k.actRowBytes(actType, cols);
  k.prepareRange(actType, x, cols, 0, cols, act);
  const out = act + actBytes + 4096;
  return () =>
    k.matmul(p.type, p.ptr, p.aux, p.rowBytes, 0, rows, cols, act, actBytes, 1, out, rows, 0);
}

function gmacsInCache(type: number, rows: number, cols: number, expand = false): number {
  const run = matvec(type, rows, cols, expand);
  for (let i = 0; i < 200; i++) run();
  const times: number[] = [];
  for (let j = 0; j < 9; j++) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) run();
    times.push((performance.now() - t0) / 200);
  }
  return (rows * cols) / median(times) / 1e6;
}

/** Shapes of a decode benchmark: SmolLM-135M's, and a wider one whose rows hold K-quants. */
const SHAPES = {
  smollm: {
    hiddenSize: 576,
    intermediateSize: 1536,
    numLayers: 30,
    numHeads: 9,
    numKvHeads: 3,
    vocab: 49152,
  },
  wide: {
    hiddenSize: 1024,
    intermediateSize: 2816,
    numLayers: 12,
    numHeads: 16,
    numKvHeads: 4,
    vocab: 32000,
  },
};

/** A model of `shape` with random weights of `type`. */
function shaped(type: number, shape: (typeof SHAPES)[keyof typeof SHAPES]) {
  const tokenizer = byteLevelTokenizer();
  const tokens = tokenizer['tokenizer.ggml.tokens'] as string[];
  const { vocab: size, ...dims } = shape;
  const vocab = [...tokens, ...Array.from({ length: size - tokens.length }, (_, i) => `tok${i}`)];
  return loadSyntheticModel({
    architecture: 'llama',
    tokenizer: {
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.tokens': vocab,
      'tokenizer.ggml.merges': [],
    },
    ...dims,
    contextLength: 2048,
    tieWordEmbeddings: true,
    weightType: type,
    seed: 3,
  });
}

async function decode(type: number, threads: number, shape: (typeof SHAPES)[keyof typeof SHAPES]) {
  const m = await shaped(type, shape);
  const exe = await CpuWasmExecutor.create(m, { numBlocks: 32, blockSize: 16, threads });
  const table = Array.from({ length: 16 }, (_, i) => i);
  const seq = (tokenIds: number[], start: number) =>
    sequenceBatch({ tokenIds, start, blockTable: table, blockSize: 16 });
  await exe.forward(seq([1, 2, 3, 4], 0));
  const steps = 24;
  const walls: number[] = [];
  exe.startProfile();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await exe.forward(seq([5 + i], 4 + i));
    walls.push(performance.now() - t0);
  }
  const profile = exe.stopProfile();
  await exe.dispose();
  let ms = 0;
  let total = 0;
  for (const p of profile) {
    if (p.macs === 0) continue;
    ms += p.ms / steps;
    total += p.macs;
  }
  return { wall: median(walls), gmacs: total / ms / 1e6 };
}

const cores = availableParallelism();
const lines = [
  `@x/cpu-wasm kernels, ${cpus()[0]?.model ?? 'unknown'} × ${cores}, Node ${process.version}`,
];
lines.push('in cache, one thread, 1536-row weight, each type on its own kernel (GMAC/s):');
const IN_CACHE: Array<[GgmlTypeName, number]> = [
  ['Q8_0', 576],
  ['Q4_K', 1536],
  ['Q6_K', 1536],
  ['Q5_0', 576],
  ['F16', 576],
];
for (const [name, cols] of IN_CACHE) {
  lines.push(`  ${name} 1536×${cols}: ${gmacsInCache(GgmlType[name], 1536, cols).toFixed(2)}`);
}
// What the executor runs Q6_K on while the packed weights stay under 2 GiB.
lines.push(
  `  Q6_K 1536×1536 widened to int8 four-row groups: ${gmacsInCache(GgmlType.Q6_K, 1536, 1536, true).toFixed(2)}`,
);
lines.push(
  'decode, matmul GMAC/s of the whole step (thread 0’s time; SmolLM-135M shapes, and 12 layers × ' +
    '1024 for Q4_K and Q6_K; Q5_0 runs widened to int8 on the Q8_0 kernel, Q6_K on its int8 groups):',
);
for (const [name, shape] of [
  ['Q8_0', SHAPES.smollm],
  ['Q5_0', SHAPES.smollm],
  ['Q4_K', SHAPES.wide],
  ['Q6_K', SHAPES.wide],
] as const) {
  const one = await decode(GgmlType[name], 1, shape);
  const all = cores > 1 ? await decode(GgmlType[name], cores, shape) : one;
  lines.push(
    `  ${name} 1 thread: ${one.gmacs.toFixed(2)} (step ${one.wall.toFixed(1)} ms); ` +
      `${cores} threads: ${all.gmacs.toFixed(2)} (step ${all.wall.toFixed(1)} ms), ` +
      `×${(all.gmacs / one.gmacs).toFixed(2)}`,
  );
}
console.log(lines.join('\n'));

describe('matvec, one thread, in cache', () => {
  for (const [name, cols] of IN_CACHE) {
    bench(`${name} 1536×${cols} (${1536 * cols} MAC)`, matvec(GgmlType[name], 1536, cols));
  }
});
