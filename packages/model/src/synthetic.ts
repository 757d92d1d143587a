import { bytesSource } from './byte-source.js';
import { type Architecture, type Llama3RopeScaling, llama3RopeFreqFactors } from './config.js';
import { ModelArgumentError } from './errors.js';
import { GgmlType } from './ggml-type.js';
import { GgufValueType } from './gguf/types.js';
import { encodeGguf, type GgufMetadataInput, type GgufTensorInput, gguf } from './gguf/writer.js';
import { loadGgufModel, type Model } from './load.js';
import { quantize } from './quant/index.js';
import { encodeSafetensors, type SafetensorsTensorInput } from './safetensors.js';
import { TokenType } from './tokenizer/token-type.js';

/**
 * Shapes and settings of a model with random weights, for tests and benchmarks. Matrices are drawn
 * from a seeded normal distribution scaled by 1/√fan-in, so activations stay well-conditioned.
 */
export interface SyntheticModelOptions {
  architecture: Architecture;
  /** Tokenizer metadata for the GGUF file (see `ggufTokenizerMetadata`); its token count is the vocabulary size. */
  tokenizer: Record<string, GgufMetadataInput>;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads?: number;
  /** Default 2048. */
  contextLength?: number;
  /** Default 10000. */
  ropeTheta?: number;
  /** Default 1e-5. */
  rmsNormEps?: number;
  /** Llama 3 rope scaling, written as the `rope_freqs.weight` tensor. */
  llama3RopeScaling?: Llama3RopeScaling;
  /** GGML type of the weight matrices (norms and biases stay F32). Default F32. */
  weightType?: number;
  /** Reuse the token embedding as the output projection. Default false. */
  tieWordEmbeddings?: boolean;
  /** Q/K/V biases; default true for `qwen2`. */
  attentionBias?: boolean;
  /** Values per attention head. Default `hiddenSize / numHeads` (Qwen3 and Gemma set their own). */
  headDim?: number;
  /** Share of each head that RoPE turns (`partial_rotary_factor`, Phi-4-mini's 0.75). Default 1. */
  partialRotaryFactor?: number;
  /** Sliding window of Gemma's local layers (`attention.sliding_window`). Default 4096 for gemma2, none for gemma3. */
  slidingWindow?: number;
  /** Of every this many layers, all but the last slide (Gemma 2: 2, Gemma 3: 6). */
  slidingWindowPattern?: number;
  /** Gemma 2's attention and final logit soft-capping. Default 50 and 30 for gemma2. */
  attnLogitSoftcap?: number;
  finalLogitSoftcap?: number;
  /** Rope base of Gemma 3's local layers (`rope.freq_base_swa`); default unwritten (10000). */
  ropeThetaSwa?: number;
  /**
   * Phi-3 LongRoPE: per-pair factors for short and long contexts, and the original context; the
   * magnitude factor is derived from the context lengths as the converter derives it.
   */
  longRope?: { short: readonly number[]; long: readonly number[]; originalContextLength: number };
  /**
   * Multiplies the output projection, so logits are spread far apart and greedy choices are
   * decided by the model, not by rounding. Default 1.
   */
  logitScale?: number;
  /** Default 1. */
  seed?: number;
  /** Extra metadata (`general.name`, …). */
  metadata?: Record<string, GgufMetadataInput>;
}

/** One tensor in Hugging Face layout (outermost dimension first) and f32. */
interface HfTensor {
  hfName: string;
  ggufName: string;
  /** `[out, in]` for matrices, `[n]` for vectors. */
  shape: number[];
  values: Float32Array;
}

/** A seeded normal generator (mulberry32 + Box–Muller). */
function normals(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function vocabSizeOf(options: SyntheticModelOptions): number {
  const tokens = options.tokenizer['tokenizer.ggml.tokens'];
  if (!Array.isArray(tokens) && !(typeof tokens === 'object' && Array.isArray(tokens?.value))) {
    throw new ModelArgumentError(
      'options.tokenizer must hold tokenizer.ggml.tokens',
      'MODEL_BAD_OPTIONS',
    );
  }
  return Array.isArray(tokens) ? tokens.length : (tokens.value as unknown[]).length;
}

/** Values per head of a synthetic model. */
function headDimOf(options: SyntheticModelOptions): number {
  return options.headDim ?? options.hiddenSize / options.numHeads;
}

const isGemma = (arch: Architecture) => arch === 'gemma2' || arch === 'gemma3';

/**
 * The model's tensors in Hugging Face layout, with their GGUF names. Norm weights hold what GGUF
 * stores (Gemma's `1 + w` included); the Hugging Face writer takes Gemma's 1 back off.
 */
function hfTensors(options: SyntheticModelOptions): HfTensor[] {
  const random = normals(options.seed ?? 1);
  const arch = options.architecture;
  const d = options.hiddenSize;
  const ff = options.intermediateSize;
  const heads = options.numHeads;
  const kvHeads = options.numKvHeads ?? heads;
  const hd = headDimOf(options);
  const vocab = vocabSizeOf(options);
  const bias = options.attentionBias ?? arch === 'qwen2';
  const gemma = isGemma(arch);
  const out: HfTensor[] = [];
  const draw = (rows: number, cols: number, scale = 1) => {
    const values = new Float32Array(rows * cols);
    const std = scale / Math.sqrt(cols);
    for (let i = 0; i < values.length; i++) values[i] = random() * std;
    return values;
  };
  const matrix = (hfName: string, ggufName: string, rows: number, cols: number, scale = 1) => {
    out.push({ hfName, ggufName, shape: [rows, cols], values: draw(rows, cols, scale) });
  };
  /** Two or three matrices drawn apart, stored as one (Phi-3's qkv_proj and gate_up_proj). */
  const fused = (
    hfName: string,
    ggufName: string,
    parts: Array<[number, number]>,
    cols: number,
  ) => {
    const drawn = parts.map(([rows, scale]) => draw(rows, cols, scale));
    const values = new Float32Array(drawn.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of drawn) {
      values.set(p, at);
      at += p.length;
    }
    out.push({ hfName, ggufName, shape: [values.length / cols, cols], values });
  };
  const vector = (hfName: string, ggufName: string, n: number, base: number, spread: number) => {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = base + random() * spread;
    out.push({ hfName, ggufName, shape: [n], values });
  };
  // Embeddings are unit-variance per element, as a trained model's are after scaling by √d
  // (Gemma scales them itself).
  matrix('model.embed_tokens.weight', 'token_embd.weight', vocab, d, gemma ? 1 : Math.sqrt(d));
  for (let i = 0; i < options.numLayers; i++) {
    const hf = `model.layers.${i}.`;
    const gg = `blk.${i}.`;
    vector(`${hf}input_layernorm.weight`, `${gg}attn_norm.weight`, d, 1, 0.1);
    if (arch === 'phi3') {
      fused(
        `${hf}self_attn.qkv_proj.weight`,
        `${gg}attn_qkv.weight`,
        [
          [heads * hd, 2],
          [kvHeads * hd, 2],
          [kvHeads * hd, 1],
        ],
        d,
      );
    } else {
      matrix(`${hf}self_attn.q_proj.weight`, `${gg}attn_q.weight`, heads * hd, d, 2);
      matrix(`${hf}self_attn.k_proj.weight`, `${gg}attn_k.weight`, kvHeads * hd, d, 2);
      matrix(`${hf}self_attn.v_proj.weight`, `${gg}attn_v.weight`, kvHeads * hd, d);
    }
    if (bias) {
      vector(`${hf}self_attn.q_proj.bias`, `${gg}attn_q.bias`, heads * hd, 0, 0.5);
      vector(`${hf}self_attn.k_proj.bias`, `${gg}attn_k.bias`, kvHeads * hd, 0, 0.5);
      vector(`${hf}self_attn.v_proj.bias`, `${gg}attn_v.bias`, kvHeads * hd, 0, 0.5);
    }
    if (arch === 'qwen3' || arch === 'gemma3') {
      vector(`${hf}self_attn.q_norm.weight`, `${gg}attn_q_norm.weight`, hd, 1, 0.1);
      vector(`${hf}self_attn.k_norm.weight`, `${gg}attn_k_norm.weight`, hd, 1, 0.1);
    }
    matrix(`${hf}self_attn.o_proj.weight`, `${gg}attn_output.weight`, d, heads * hd);
    if (gemma) {
      vector(`${hf}post_attention_layernorm.weight`, `${gg}post_attention_norm.weight`, d, 1, 0.1);
      vector(`${hf}pre_feedforward_layernorm.weight`, `${gg}ffn_norm.weight`, d, 1, 0.1);
    } else {
      vector(`${hf}post_attention_layernorm.weight`, `${gg}ffn_norm.weight`, d, 1, 0.1);
    }
    if (arch === 'phi3') {
      fused(
        `${hf}mlp.gate_up_proj.weight`,
        `${gg}ffn_up.weight`,
        [
          [ff, 1],
          [ff, 1],
        ],
        d,
      );
    } else {
      matrix(`${hf}mlp.gate_proj.weight`, `${gg}ffn_gate.weight`, ff, d);
      matrix(`${hf}mlp.up_proj.weight`, `${gg}ffn_up.weight`, ff, d);
    }
    matrix(`${hf}mlp.down_proj.weight`, `${gg}ffn_down.weight`, d, ff);
    if (gemma) {
      vector(`${hf}post_feedforward_layernorm.weight`, `${gg}post_ffw_norm.weight`, d, 1, 0.1);
    }
  }
  vector('model.norm.weight', 'output_norm.weight', d, 1, 0.1);
  if (!tiedEmbeddings(options)) {
    matrix('lm_head.weight', 'output.weight', vocab, d, options.logitScale ?? 1);
  }
  return out;
}

/** Whether the model reuses its embeddings as the output (always, for Gemma 2 in llama.cpp). */
function tiedEmbeddings(options: SyntheticModelOptions): boolean {
  return options.architecture === 'gemma2' || (options.tieWordEmbeddings ?? false);
}

/**
 * Reorders Q or K rows from Hugging Face's rotate-half layout to the interleaved pairs llama.cpp's
 * `llama` rope expects, as `convert_hf_to_gguf.py`'s `permute` does: within each head, row
 * `2i + j` takes row `j · headDim/2 + i`.
 */
export function permuteForInterleavedRope(
  values: Float32Array,
  heads: number,
  cols: number,
): Float32Array {
  const rows = values.length / cols;
  const hd = rows / heads;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + j * (hd / 2) + i) * cols;
        const dst = (h * hd + 2 * i + j) * cols;
        out.set(values.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/**
 * A GGUF file (as byte chunks) of a model with random weights, written as llama.cpp's converter
 * writes a real one: `{arch}.*` hyperparameters, tokenizer metadata, Q/K rows permuted for
 * `llama`/`mistral`, `rope_freqs.weight` for Llama 3 rope scaling, matrices quantized to
 * `weightType`.
 */
export function syntheticGguf(options: SyntheticModelOptions): Uint8Array[] {
  const arch = options.architecture;
  const heads = options.numHeads;
  const kvHeads = options.numKvHeads ?? heads;
  const d = options.hiddenSize;
  const hd = headDimOf(options);
  const rotaryDim = rotaryDimOf(options);
  const weightType = options.weightType ?? GgmlType.F32;
  const interleaved = arch === 'llama' || arch === 'mistral' || arch === 'smollm3';
  const tensors: GgufTensorInput[] = [];
  const vector = (name: string, values: Float32Array | number[]) =>
    tensors.push({
      name,
      type: GgmlType.F32,
      shape: [values.length],
      data: quantize(GgmlType.F32, Float32Array.from(values)),
    });
  for (const t of hfTensors(options)) {
    let values = t.values;
    const isMatrix = t.shape.length === 2;
    if (interleaved && /attn_[qk]\.weight$/.test(t.ggufName)) {
      values = permuteForInterleavedRope(
        values,
        t.ggufName.includes('attn_q') ? heads : kvHeads,
        d,
      );
    }
    const type = isMatrix ? weightType : GgmlType.F32;
    tensors.push({
      name: t.ggufName,
      type,
      shape: [...t.shape].reverse(),
      data: quantize(type, values),
    });
  }
  if (options.llama3RopeScaling) {
    vector(
      'rope_freqs.weight',
      llama3RopeFreqFactors(rotaryDim, options.ropeTheta ?? 10000, options.llama3RopeScaling),
    );
  }
  const extra: Record<string, GgufMetadataInput> = {};
  if (options.longRope) {
    vector('rope_factors_short.weight', [...options.longRope.short]);
    vector('rope_factors_long.weight', [...options.longRope.long]);
    extra[`${arch}.rope.scaling.original_context_length`] = gguf.u32(
      options.longRope.originalContextLength,
    );
    // convert_hf_to_gguf.py's Phi-3: √(1 + ln(scale) / ln(original)), scale = context / original.
    const original = options.longRope.originalContextLength;
    const scale = (options.contextLength ?? 2048) / original;
    extra[`${arch}.rope.scaling.attn_factor`] = gguf.f32(
      scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original)),
    );
  }
  if (arch === 'gemma2' || (arch === 'gemma3' && options.slidingWindow !== undefined)) {
    extra[`${arch}.attention.sliding_window`] = gguf.u32(options.slidingWindow ?? 4096);
  }
  if (options.slidingWindowPattern !== undefined) {
    extra[`${arch}.attention.sliding_window_pattern`] = gguf.u32(options.slidingWindowPattern);
  }
  if (options.ropeThetaSwa !== undefined) {
    extra[`${arch}.rope.freq_base_swa`] = gguf.f32(options.ropeThetaSwa);
  }
  if (arch === 'gemma2') {
    extra[`${arch}.attn_logit_softcapping`] = gguf.f32(options.attnLogitSoftcap ?? 50);
    extra[`${arch}.final_logit_softcapping`] = gguf.f32(options.finalLogitSoftcap ?? 30);
  } else if (options.finalLogitSoftcap !== undefined) {
    extra[`${arch}.final_logit_softcapping`] = gguf.f32(options.finalLogitSoftcap);
  }
  if (hd !== d / heads) {
    extra[`${arch}.attention.key_length`] = gguf.u32(hd);
    extra[`${arch}.attention.value_length`] = gguf.u32(hd);
  }
  const metadata: Record<string, GgufMetadataInput> = {
    'general.architecture': arch,
    'general.name': `synthetic-${arch}`,
    [`${arch}.context_length`]: options.contextLength ?? 2048,
    [`${arch}.embedding_length`]: d,
    [`${arch}.block_count`]: options.numLayers,
    [`${arch}.feed_forward_length`]: options.intermediateSize,
    [`${arch}.attention.head_count`]: heads,
    [`${arch}.attention.head_count_kv`]: kvHeads,
    [`${arch}.rope.dimension_count`]: rotaryDim,
    [`${arch}.rope.freq_base`]: gguf.f32(options.ropeTheta ?? 10000),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gguf.f32(options.rmsNormEps ?? 1e-5),
    'general.file_type': gguf.u32(weightType === GgmlType.F32 ? 0 : 1),
    ...extra,
    ...options.tokenizer,
    ...options.metadata,
  };
  return encodeGguf({ metadata, tensors });
}

/** Leading values of each head that RoPE turns. */
function rotaryDimOf(options: SyntheticModelOptions): number {
  return Math.floor(headDimOf(options) * (options.partialRotaryFactor ?? 1)) & ~1;
}

/**
 * A {@link syntheticGguf} model loaded straight from memory, no file written: for tests and
 * benchmarks. `name` is what `model.name` (and its errors) say.
 */
export async function loadSyntheticModel(
  options: SyntheticModelOptions,
  name = 'synthetic.gguf',
): Promise<Model> {
  const chunks = syntheticGguf(options);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return loadGgufModel(bytesSource(bytes, name));
}

/**
 * The same random model as {@link syntheticGguf} (same options, same weights) as the files of a
 * Hugging Face directory: `config.json` and f32 safetensors, in one `model.safetensors` or in
 * `shards` files listed by `model.safetensors.index.json`. File contents are byte chunks.
 */
export function syntheticHfModel(
  options: SyntheticModelOptions,
  { shards = 1 }: { shards?: number } = {},
): { config: Record<string, unknown>; files: Map<string, Uint8Array[]> } {
  const arch = options.architecture;
  const gemmaNorm = /norm\.weight$/;
  const tensors: SafetensorsTensorInput[] = hfTensors(options).map((t) => {
    // Gemma's checkpoints hold w where its RMSNorm multiplies by 1 + w.
    const values =
      isGemma(arch) && gemmaNorm.test(t.ggufName) ? t.values.map((v) => v - 1) : t.values;
    return {
      name: t.hfName,
      dtype: 'F32',
      shape: t.shape,
      data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    };
  });
  const files = new Map<string, Uint8Array[]>();
  if (shards <= 1) files.set('model.safetensors', encodeSafetensors(tensors));
  else {
    const weightMap: Record<string, string> = {};
    const perShard = Math.ceil(tensors.length / shards);
    for (let i = 0; i < shards; i++) {
      const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(i * perShard, (i + 1) * perShard);
      for (const t of part) weightMap[t.name] = name;
      files.set(name, encodeSafetensors(part));
    }
    const index = { metadata: {}, weight_map: weightMap };
    files.set('model.safetensors.index.json', [
      new TextEncoder().encode(JSON.stringify(index, null, 2)),
    ]);
  }
  const scaling = options.llama3RopeScaling;
  const hd = headDimOf(options);
  const classes: Record<Architecture, string> = {
    llama: 'LlamaForCausalLM',
    mistral: 'MistralForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    qwen3: 'Qwen3ForCausalLM',
    gemma2: 'Gemma2ForCausalLM',
    gemma3: 'Gemma3ForCausalLM',
    phi3: 'Phi3ForCausalLM',
    smollm3: 'SmolLM3ForCausalLM',
  };
  const config: Record<string, unknown> = {
    architectures: [classes[arch]],
    model_type: arch === 'gemma3' ? 'gemma3_text' : arch,
    vocab_size: vocabSizeOf(options),
    hidden_size: options.hiddenSize,
    intermediate_size: options.intermediateSize,
    num_hidden_layers: options.numLayers,
    num_attention_heads: options.numHeads,
    num_key_value_heads: options.numKvHeads ?? options.numHeads,
    head_dim: hd,
    max_position_embeddings: options.contextLength ?? 2048,
    rope_theta: options.ropeTheta ?? 10000,
    rms_norm_eps: options.rmsNormEps ?? 1e-5,
    tie_word_embeddings: tiedEmbeddings(options),
    rope_scaling: scaling
      ? {
          rope_type: 'llama3',
          factor: scaling.factor,
          low_freq_factor: scaling.lowFreqFactor,
          high_freq_factor: scaling.highFreqFactor,
          original_max_position_embeddings: scaling.originalContextLength,
        }
      : null,
  };
  if (arch !== 'qwen2') config.attention_bias = options.attentionBias ?? false;
  if (options.partialRotaryFactor !== undefined) {
    config.partial_rotary_factor = options.partialRotaryFactor;
  }
  if (options.longRope) {
    config.original_max_position_embeddings = options.longRope.originalContextLength;
    config.rope_scaling = {
      rope_type: 'longrope',
      short_factor: options.longRope.short,
      long_factor: options.longRope.long,
      original_max_position_embeddings: options.longRope.originalContextLength,
    };
  }
  if (isGemma(arch)) {
    config.query_pre_attn_scalar = hd;
    config.hidden_activation = 'gelu_pytorch_tanh';
    const window = arch === 'gemma2' ? (options.slidingWindow ?? 4096) : options.slidingWindow;
    config.sliding_window = window ?? null;
    config.sliding_window_pattern = options.slidingWindowPattern ?? (arch === 'gemma2' ? 2 : 6);
    config.attn_logit_softcapping = arch === 'gemma2' ? (options.attnLogitSoftcap ?? 50) : null;
    config.final_logit_softcapping =
      arch === 'gemma2' ? (options.finalLogitSoftcap ?? 30) : (options.finalLogitSoftcap ?? null);
    if (arch === 'gemma3') config.rope_local_base_freq = options.ropeThetaSwa ?? 10000;
  }
  if (arch === 'smollm3') config.no_rope_layer_interval = 4;
  files.set('config.json', [new TextEncoder().encode(JSON.stringify(config, null, 2))]);
  return { config, files };
}

/** GPT-2's map from bytes to printable characters, the alphabet of byte-level BPE vocabularies. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number) =>
    (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) =>
    String.fromCodePoint(printable(b) ? b : 256 + extra++),
  );
}

/**
 * GGUF tokenizer metadata for test models that read and write any text: a byte-level BPE
 * vocabulary with no merges (token `b` is byte `b`) and `<|endoftext|>` (id 256) as EOS, plus an
 * optional chat template. Every character is one or more tokens, so stop strings span tokens and
 * streamed text exercises UTF-8 boundaries.
 */
export function byteLevelTokenizer(
  options: { chatTemplate?: string } = {},
): Record<string, GgufMetadataInput> {
  const tokens = [...byteLevelAlphabet(), '<|endoftext|>'];
  const eos = tokens.length - 1;
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': gguf.array(
      GgufValueType.INT32,
      tokens.map((_, i) => (i === eos ? TokenType.CONTROL : TokenType.NORMAL)),
    ),
    'tokenizer.ggml.merges': [],
    'tokenizer.ggml.eos_token_id': gguf.u32(eos),
    'tokenizer.ggml.add_bos_token': gguf.bool(false),
    ...(options.chatTemplate !== undefined
      ? { 'tokenizer.chat_template': options.chatTemplate }
      : {}),
  };
}
