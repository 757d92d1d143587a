import type { ModelConfig } from './config.js';
import { ModelFileError } from './errors.js';
import { ggmlTypeTraits, tensorByteSize } from './ggml-type.js';
import { dequantizeRow } from './quant/index.js';

/** A tensor as stored in a model file, before its data is read. */
export interface StoredTensor {
  /** GGUF-style name (`blk.0.attn_q.weight`); safetensors names are mapped to these. */
  name: string;
  /** The file that holds it. */
  file: string;
  /** GGML type id. */
  type: number;
  /** Dimensions, innermost first (`[in, out]` for a matrix). */
  shape: readonly number[];
  /** Reads the data, in its stored type. */
  read(): Promise<Uint8Array>;
}

/**
 * A weight matrix in its file type: `rows` rows of `cols` elements, each row `rowBytes` bytes.
 * Quantized rows stay quantized; kernels dequantize a row at a time.
 */
export interface WeightMatrix {
  name: string;
  type: number;
  rows: number;
  cols: number;
  rowBytes: number;
  data: Uint8Array;
}

/**
 * One transformer block's weights, as the file stores them: Q, K and V apart (`wq`, `wk`, `wv`)
 * or as one matrix (`wqkv`, Phi-3), gate and up apart or as one (`wUp` of twice the rows, gate
 * first, with no `wGate`). Norm weights and biases are small and held as f32.
 */
export interface LayerWeights {
  attnNorm: Float32Array;
  wq: WeightMatrix | undefined;
  wk: WeightMatrix | undefined;
  wv: WeightMatrix | undefined;
  /** Q, K and V rows in one matrix. */
  wqkv: WeightMatrix | undefined;
  bq: Float32Array | undefined;
  bk: Float32Array | undefined;
  bv: Float32Array | undefined;
  bqkv: Float32Array | undefined;
  /** Per-head RMS norm weights of Q and K (`headDim` each; Qwen3, Gemma 3). */
  qNorm: Float32Array | undefined;
  kNorm: Float32Array | undefined;
  wo: WeightMatrix;
  /** Norm of the attention output before the residual add (Gemma 2/3). */
  postAttnNorm: Float32Array | undefined;
  ffnNorm: Float32Array;
  wGate: WeightMatrix | undefined;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
  /** Norm of the feed-forward output before the residual add (Gemma 2/3). */
  postFfnNorm: Float32Array | undefined;
}

/** All of a model's weights. `output` is `tokenEmbedding` when the embeddings are tied. */
export interface ModelWeights {
  tokenEmbedding: WeightMatrix;
  outputNorm: Float32Array;
  output: WeightMatrix;
  layers: LayerWeights[];
  /** Bytes of weight data held. */
  byteLength: number;
}

/**
 * Reads and checks every weight a config needs: presence, shape and type, before any is used.
 * Which optional tensors a layer has (biases, q/k norms, post-norms, fused QKV or gate·up) is read
 * from the file: a layer has them all or none, as the first layer has them.
 * @throws ModelFileError `MODEL_MISSING_TENSOR` or `MODEL_BAD_SHAPE`, naming the tensor and file
 */
export async function loadWeights(
  config: ModelConfig,
  tensors: ReadonlyMap<string, StoredTensor>,
  file: string,
): Promise<ModelWeights> {
  const { hiddenSize: d, numHeads, numKvHeads, headDim, intermediateSize: ff, vocabSize } = config;
  const need = (name: string): StoredTensor => {
    const t = tensors.get(name);
    if (!t) {
      throw new ModelFileError(`tensor ${name} is missing`, 'MODEL_MISSING_TENSOR', {
        file,
        tensor: name,
      });
    }
    return t;
  };
  const check = (t: StoredTensor, shape: readonly number[]): void => {
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
      throw new ModelFileError(
        `tensor ${t.name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
        'MODEL_BAD_SHAPE',
        { file: t.file, tensor: t.name },
      );
    }
    ggmlTypeTraits(t.type);
  };
  const qDim = numHeads * headDim;
  const kvDim = numKvHeads * headDim;
  const has = (name: string) => tensors.has(`blk.0.${name}`);
  const fusedQkv = has('attn_qkv.weight') && !has('attn_q.weight');
  const fusedGateUp = !has('ffn_gate.weight') && has('ffn_up.weight');
  const bias = config.attentionBias;
  const qkNorm = has('attn_q_norm.weight');
  const postNorms = has('post_attention_norm.weight');
  // Check everything before reading anything, so a bad file costs no I/O.
  const plan: Array<[string, readonly number[]]> = [
    ['token_embd.weight', [d, vocabSize]],
    ['output_norm.weight', [d]],
  ];
  if (!config.tieWordEmbeddings) plan.push(['output.weight', [d, vocabSize]]);
  for (let i = 0; i < config.numLayers; i++) {
    const b = `blk.${i}.`;
    plan.push([`${b}attn_norm.weight`, [d]]);
    if (fusedQkv) {
      plan.push([`${b}attn_qkv.weight`, [d, qDim + 2 * kvDim]]);
      if (bias) plan.push([`${b}attn_qkv.bias`, [qDim + 2 * kvDim]]);
    } else {
      plan.push(
        [`${b}attn_q.weight`, [d, qDim]],
        [`${b}attn_k.weight`, [d, kvDim]],
        [`${b}attn_v.weight`, [d, kvDim]],
      );
      if (bias) {
        plan.push(
          [`${b}attn_q.bias`, [qDim]],
          [`${b}attn_k.bias`, [kvDim]],
          [`${b}attn_v.bias`, [kvDim]],
        );
      }
    }
    if (qkNorm)
      plan.push([`${b}attn_q_norm.weight`, [headDim]], [`${b}attn_k_norm.weight`, [headDim]]);
    plan.push([`${b}attn_output.weight`, [qDim, d]], [`${b}ffn_norm.weight`, [d]]);
    if (postNorms)
      plan.push([`${b}post_attention_norm.weight`, [d]], [`${b}post_ffw_norm.weight`, [d]]);
    if (fusedGateUp) plan.push([`${b}ffn_up.weight`, [d, 2 * ff]]);
    else plan.push([`${b}ffn_gate.weight`, [d, ff]], [`${b}ffn_up.weight`, [d, ff]]);
    plan.push([`${b}ffn_down.weight`, [ff, d]]);
  }
  for (const [name, shape] of plan) check(need(name), shape);

  let byteLength = 0;
  const matrix = async (name: string): Promise<WeightMatrix> => {
    const t = need(name);
    const [cols = 0, rows = 1] = t.shape;
    const data = await t.read();
    byteLength += data.byteLength;
    return { name, type: t.type, rows, cols, rowBytes: tensorByteSize(t.type, [cols]), data };
  };
  const vector = async (name: string): Promise<Float32Array> => {
    const t = need(name);
    const data = await t.read();
    const n = t.shape[0] ?? 0;
    const out = new Float32Array(n);
    dequantizeRow(t.type, data, 0, out, 0, n);
    byteLength += out.byteLength;
    return out;
  };
  const when = <T>(yes: boolean, read: () => Promise<T>) => (yes ? read() : undefined);

  const tokenEmbedding = await matrix('token_embd.weight');
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const b = `blk.${i}.`;
    layers.push({
      attnNorm: await vector(`${b}attn_norm.weight`),
      wq: await when(!fusedQkv, () => matrix(`${b}attn_q.weight`)),
      wk: await when(!fusedQkv, () => matrix(`${b}attn_k.weight`)),
      wv: await when(!fusedQkv, () => matrix(`${b}attn_v.weight`)),
      wqkv: await when(fusedQkv, () => matrix(`${b}attn_qkv.weight`)),
      bq: await when(bias && !fusedQkv, () => vector(`${b}attn_q.bias`)),
      bk: await when(bias && !fusedQkv, () => vector(`${b}attn_k.bias`)),
      bv: await when(bias && !fusedQkv, () => vector(`${b}attn_v.bias`)),
      bqkv: await when(bias && fusedQkv, () => vector(`${b}attn_qkv.bias`)),
      qNorm: await when(qkNorm, () => vector(`${b}attn_q_norm.weight`)),
      kNorm: await when(qkNorm, () => vector(`${b}attn_k_norm.weight`)),
      wo: await matrix(`${b}attn_output.weight`),
      postAttnNorm: await when(postNorms, () => vector(`${b}post_attention_norm.weight`)),
      ffnNorm: await vector(`${b}ffn_norm.weight`),
      wGate: await when(!fusedGateUp, () => matrix(`${b}ffn_gate.weight`)),
      wUp: await matrix(`${b}ffn_up.weight`),
      wDown: await matrix(`${b}ffn_down.weight`),
      postFfnNorm: await when(postNorms, () => vector(`${b}post_ffw_norm.weight`)),
    });
  }
  return {
    tokenEmbedding,
    outputNorm: await vector('output_norm.weight'),
    output: config.tieWordEmbeddings ? tokenEmbedding : await matrix('output.weight'),
    layers,
    byteLength,
  };
}

/** Reads a 1-D F32 tensor such as `rope_freqs.weight`. */
export async function readF32Vector(t: StoredTensor): Promise<Float32Array> {
  const n = t.shape[0] ?? 0;
  const out = new Float32Array(n);
  dequantizeRow(t.type, await t.read(), 0, out, 0, n);
  return out;
}
