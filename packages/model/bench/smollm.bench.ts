import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import {
  type ForwardBatch,
  GgmlType,
  loadModel,
  ReferenceExecutor,
  syntheticGguf,
  writeFileChunks,
} from '../src/index.js';

// SmolLM-135M's shapes (hidden 576, 30 layers, 9 heads / 3 KV heads, FFN 1536, vocabulary 49152,
// tied embeddings) with random Q8_0 weights: the size of a real small model, generated here.
const FILE = join(tmpdir(), 'xinfer-bench-smollm-135m-shapes-q8_0.gguf');
if (!existsSync(FILE)) {
  const vocab = Array.from({ length: 49152 }, (_, i) => `tok${i}`);
  await writeFileChunks(
    FILE,
    syntheticGguf({
      architecture: 'llama',
      tokenizer: {
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': 'smollm',
        'tokenizer.ggml.tokens': vocab,
        'tokenizer.ggml.merges': [],
      },
      hiddenSize: 576,
      intermediateSize: 1536,
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      ropeTheta: 100000,
      tieWordEmbeddings: true,
      weightType: GgmlType.Q8_0,
    }),
  );
}
const fileBytes = statSync(FILE).size;

// Load in a fresh process so its resident memory is the model's, not this file's generator's.
const probe = `
  const { loadModel } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const model = await loadModel(${JSON.stringify(FILE)});
  const ms = performance.now() - t0;
  globalThis.gc?.();
  console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss - before, weights: model.weights.byteLength }));
`;
const loaded = JSON.parse(
  execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', probe], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  }),
) as { ms: number; rss: number; weights: number };
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `SmolLM-135M shapes, Q8_0: file ${mib(fileBytes)}; load ${loaded.ms.toFixed(0)} ms; ` +
    `resident +${mib(loaded.rss)} = ${(loaded.rss / fileBytes).toFixed(2)}× the file (target ≤ 1.3×); ` +
    `weights held ${mib(loaded.weights)}`,
);

const model = await loadModel(FILE);
const BLOCK = 16;
const PROMPT = 32;

/** A decode step for `batch` sequences, each with a `PROMPT`-token context already cached. */
function decodeBatch(batch: number, step: number): ForwardBatch {
  const blocksPerSeq = Math.ceil((PROMPT + 64) / BLOCK);
  const pos = PROMPT + (step % 64);
  const sequences = Array.from({ length: batch }, (_, s) => ({
    seqId: s,
    start: pos,
    numTokens: 1,
    offset: s,
    blockTable: Array.from({ length: blocksPerSeq }, (_, b) => s * blocksPerSeq + b),
    sample: true,
    sampling: { temperature: 0 },
  }));
  return {
    tokenIds: Int32Array.from(sequences, (s) => (s.seqId * 7 + step) % 49152),
    positions: Int32Array.from(sequences, () => pos),
    slotMapping: Int32Array.from(
      sequences,
      (s) => (s.blockTable[Math.floor(pos / BLOCK)] as number) * BLOCK + (pos % BLOCK),
    ),
    sequences,
  };
}

for (const batch of [1, 8]) {
  describe(`reference decode, batch ${batch} (tok/s = hz × ${batch})`, () => {
    const exec = new ReferenceExecutor(model, {
      numBlocks: batch * Math.ceil((PROMPT + 64) / BLOCK),
      blockSize: BLOCK,
    });
    let step = 0;
    bench(
      `decode step, ${batch} sequence${batch > 1 ? 's' : ''}`,
      async () => {
        await exec.execute(decodeBatch(batch, step++));
      },
      { time: 4000, iterations: 3, warmupIterations: 1 },
    );
  });
}
