// Writes the demo model's GGUF from train.py's dump, as llama.cpp's convert_hf_to_gguf.py (with
// `--outtype q8_0`) writes a Llama with a SentencePiece tokenizer: `llama.*` hyperparameters,
// `tokenizer.ggml.*` from the SentencePiece model, Q/K rows permuted from Hugging Face's
// rotate-half layout to the interleaved pairs of llama.cpp's `llama` rope, matrices in Q8_0 (or
// F16), norms in F32, no `output.weight` (the embeddings are tied).
//
//   pnpm --filter @x/demo-model-recipe export [--dump out] [--out file.gguf] [--type Q8_0|F16|F32]
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  encodeGguf,
  GgmlType,
  type GgufMetadataInput,
  type GgufTensorInput,
  GgufValueType,
  gguf,
  ggufNameOfHfTensor,
  loadModel,
  type Model,
  permuteForInterleavedRope,
  quantize,
  ReferenceExecutor,
  sequenceBatch,
  writeFileChunks,
} from '@x/model';
import { z } from 'zod';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The file name `@x/demo-model` ships; keep in step with packages/demo-model/src/info.ts. */
const GGUF_FILE = 'kjv-demo-5.6M-Q8_0.gguf';

/** model.json, as train.py's `dump` writes it. */
const Dump = z.object({
  config: z.object({
    vocab_size: z.number().int().positive(),
    dim: z.number().int().positive(),
    n_layers: z.number().int().positive(),
    n_heads: z.number().int().positive(),
    n_kv_heads: z.number().int().positive(),
    ffn_dim: z.number().int().positive(),
    context_length: z.number().int().positive(),
    rope_theta: z.number().positive(),
    norm_eps: z.number().positive(),
  }),
  tensors: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number().int().positive()),
      offset: z.number().int().nonnegative(),
    }),
  ),
  run: z.object({
    parameters: z.number().int(),
    tokens_seen: z.number().int(),
    train_tokens: z.number().int(),
    held_out_loss: z.number(),
    samples: z.record(
      z.string(),
      z.object({ prompt_ids: z.array(z.number()), ids: z.array(z.number()), text: z.string() }),
    ),
  }),
});

/** vocab.json: per id, the SentencePiece piece, its score and its llama.cpp token type. */
const Vocab = z.array(
  z.object({ piece: z.string(), score: z.number(), type: z.number().int().min(1).max(6) }),
);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dump: { type: 'string', default: join(HERE, '../out') },
      out: { type: 'string', default: join(HERE, '../../../packages/demo-model/model', GGUF_FILE) },
      type: { type: 'string', default: 'Q8_0' },
    },
  });
  const dumpDir = resolve(values.dump);
  const weightType = { Q8_0: GgmlType.Q8_0, F16: GgmlType.F16, F32: GgmlType.F32 }[values.type];
  if (weightType === undefined) throw new Error(`--type ${values.type}: use Q8_0, F16 or F32`);

  const dump = Dump.parse(JSON.parse(await readFile(join(dumpDir, 'model.json'), 'utf8')));
  const vocab = Vocab.parse(JSON.parse(await readFile(join(dumpDir, 'vocab.json'), 'utf8')));
  const bin = await readFile(join(dumpDir, 'model.bin'));
  const c = dump.config;
  if (vocab.length !== c.vocab_size) {
    throw new Error(`vocab.json has ${vocab.length} tokens, the model ${c.vocab_size}`);
  }
  const headDim = c.dim / c.n_heads;

  const tensors: GgufTensorInput[] = [];
  let parameters = 0;
  for (const t of dump.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    parameters += count;
    if (t.offset + count * 4 > bin.byteLength) {
      throw new Error(`${t.name}: past the end of model.bin`);
    }
    const name = ggufNameOfHfTensor(t.name);
    if (name === undefined) throw new Error(`${t.name}: not a Llama tensor`);
    // A copy: the Buffer's offset in its pool need not be a multiple of 4.
    const raw = new Float32Array(count);
    new Uint8Array(raw.buffer).set(bin.subarray(t.offset, t.offset + count * 4));
    // train.py's rope rotates halves (x_i with x_{i+d/2}); llama.cpp's `llama` rope rotates
    // adjacent pairs, so the converter reorders each head's Q and K rows.
    const heads = name.endsWith('attn_q.weight')
      ? c.n_heads
      : name.endsWith('attn_k.weight')
        ? c.n_kv_heads
        : 0;
    const weights = heads > 0 ? permuteForInterleavedRope(raw, heads, c.dim) : raw;
    const type = t.shape.length === 2 ? weightType : GgmlType.F32;
    tensors.push({ name, type, shape: [...t.shape].reverse(), data: quantize(type, weights) });
  }
  if (parameters !== dump.run.parameters) {
    throw new Error(
      `model.bin holds ${parameters} parameters, the run reports ${dump.run.parameters}`,
    );
  }

  // train.py fixes <unk>=0, <s>=1, </s>=2, as Llama's SentencePiece model has them.
  const [unk, bos, eos] = vocab;
  if (unk?.type !== 2 || bos?.piece !== '<s>' || eos?.piece !== '</s>') {
    throw new Error('vocab.json: expected <unk>=0, <s>=1, </s>=2');
  }
  const metadata: Record<string, GgufMetadataInput> = {
    'general.architecture': 'llama',
    'general.type': 'model',
    'general.name': 'KJV Demo',
    'general.basename': 'kjv-demo',
    'general.size_label': '5.6M',
    'general.license': 'apache-2.0',
    'general.description':
      "xinfer's demo model: a small Llama trained from scratch on the King James Bible " +
      '(public domain) by tools/demo-model in the xinfer repository.',
    'llama.block_count': gguf.u32(c.n_layers),
    'llama.context_length': gguf.u32(c.context_length),
    'llama.embedding_length': gguf.u32(c.dim),
    'llama.feed_forward_length': gguf.u32(c.ffn_dim),
    'llama.attention.head_count': gguf.u32(c.n_heads),
    'llama.attention.head_count_kv': gguf.u32(c.n_kv_heads),
    'llama.rope.freq_base': gguf.f32(c.rope_theta),
    'llama.attention.layer_norm_rms_epsilon': gguf.f32(c.norm_eps),
    // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7.
    'general.file_type': gguf.u32(
      { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7 }[weightType]!,
    ),
    'llama.vocab_size': gguf.u32(c.vocab_size),
    'llama.rope.dimension_count': gguf.u32(headDim),
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.pre': 'default',
    'tokenizer.ggml.tokens': gguf.array(
      GgufValueType.STRING,
      vocab.map((v) => v.piece),
    ),
    'tokenizer.ggml.scores': gguf.array(
      GgufValueType.FLOAT32,
      vocab.map((v) => v.score),
    ),
    'tokenizer.ggml.token_type': gguf.array(
      GgufValueType.INT32,
      vocab.map((v) => v.type),
    ),
    'tokenizer.ggml.bos_token_id': gguf.u32(1),
    'tokenizer.ggml.eos_token_id': gguf.u32(2),
    'tokenizer.ggml.unknown_token_id': gguf.u32(0),
    'tokenizer.ggml.add_bos_token': gguf.bool(true),
    'tokenizer.ggml.add_eos_token': gguf.bool(false),
    // SentencePiece's add_dummy_prefix, which train.py sets.
    'tokenizer.ggml.add_space_prefix': gguf.bool(true),
    'general.quantization_version': gguf.u32(2),
  };
  const out = resolve(values.out);
  await writeFileChunks(out, encodeGguf({ metadata, tensors }));
  console.log(`wrote ${out}: ${parameters} parameters, ${tensors.length} tensors`);

  // The file as the reference executor runs it: greedy continuations to compare with train.py's
  // (f32) samples; Q8_0 rounding may change a late token, not the text's character.
  const model = await loadModel(out);
  for (const [prompt, sample] of Object.entries(dump.run.samples)) {
    const ids = model.tokenizer.encode(prompt);
    if (JSON.stringify(ids) !== JSON.stringify(sample.prompt_ids)) {
      throw new Error(
        `${prompt}: the GGUF tokenizer gives ${ids}, SentencePiece ${sample.prompt_ids}`,
      );
    }
    const tokens = greedy(model, ids, 32);
    console.log(`${JSON.stringify(prompt)} ids ${JSON.stringify(ids)}`);
    console.log(
      `  gguf:  ${JSON.stringify(model.tokenizer.decode(tokens, { skipSpecialTokens: true }))}`,
    );
    console.log(`  torch: ${JSON.stringify(sample.text)}`);
    console.log(`  tokens: ${JSON.stringify(tokens)}`);
  }
}

/** `count` greedy tokens after `ids` (fewer at an end-of-generation token). */
function greedy(model: Model, ids: number[], count: number): number[] {
  const blocks = Math.ceil((ids.length + count) / 16);
  const exec = new ReferenceExecutor(model, { numBlocks: blocks, blockSize: 16 });
  const blockTable = Array.from({ length: blocks }, (_, i) => i);
  const out: number[] = [];
  let next = ids;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const [logits] = exec.forward(
      sequenceBatch({ tokenIds: next, start, blockTable, blockSize: 16 }),
    );
    let best = 0;
    for (let j = 1; j < logits!.length; j++) if (logits![j]! > logits![best]!) best = j;
    if (model.tokenizer.stopTokenIds.includes(best)) break;
    out.push(best);
    start += next.length;
    next = [best];
  }
  return out;
}

await main();
