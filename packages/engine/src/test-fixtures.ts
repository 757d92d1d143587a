// Shared by this package's tests: a small synthetic model with a byte-level vocabulary (every byte
// one token, so text round-trips and stop strings span tokens), and an executor for the tests.
import {
  byteLevelTokenizer,
  type ForwardBatch,
  type ForwardResult,
  type ForwardSequence,
  GgmlType,
  loadSyntheticModel,
  type Model,
  type ModelExecutor,
  ReferenceExecutor,
  type SyntheticModelOptions,
} from '@x/model';

export const EOS = 256;

export const TINY: SyntheticModelOptions = {
  architecture: 'llama',
  tokenizer: byteLevelTokenizer({
    chatTemplate:
      '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}' +
      '{% if add_generation_prompt %}<assistant>{% endif %}',
  }),
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 512,
  weightType: GgmlType.Q8_0,
  logitScale: 4,
  seed: 11,
};

export async function tinyModel(options: Partial<SyntheticModelOptions> = {}): Promise<Model> {
  return loadSyntheticModel({ ...TINY, ...options }, 'tiny.gguf');
}

/**
 * Runs the reference forward pass with a batch's sequences in reverse order (arrays re-flattened),
 * and hands results back in the engine's order: a second executor, to show that results do not
 * depend on an executor's internal order.
 */
export class ReversingExecutor implements ModelExecutor {
  readonly inner: ReferenceExecutor;
  constructor(model: Model, kv: { numBlocks: number; blockSize: number; numHostBlocks?: number }) {
    this.inner = new ReferenceExecutor(model, kv);
  }
  get config() {
    return this.inner.config;
  }
  get kvCache() {
    return this.inner.kvCache;
  }
  async execute(batch: ForwardBatch): Promise<ForwardResult> {
    const order = batch.sequences.map((_, i) => i).reverse();
    const n = batch.tokenIds.length;
    const tokenIds = new Int32Array(n);
    const positions = new Int32Array(n);
    const slotMapping = new Int32Array(n);
    let offset = 0;
    const sequences = order.map((i): ForwardSequence => {
      const s = batch.sequences[i] as ForwardSequence;
      const range = [s.offset, s.offset + s.numTokens] as const;
      tokenIds.set(batch.tokenIds.subarray(...range), offset);
      positions.set(batch.positions.subarray(...range), offset);
      slotMapping.set(batch.slotMapping.subarray(...range), offset);
      const moved = { ...s, offset };
      offset += s.numTokens;
      return moved;
    });
    const result = await this.inner.execute({
      ...batch,
      tokenIds,
      positions,
      slotMapping,
      sequences,
    });
    // Sampled results come in the reversed order; put them back.
    const sampledOriginal = batch.sequences.flatMap((s, i) => (s.sample ? [i] : []));
    const sampledReversed = order.filter((i) => batch.sequences[i]?.sample);
    const tokens = new Int32Array(result.tokens.length);
    const logprobs: ForwardResult['logprobs'] = new Array(result.tokens.length);
    sampledReversed.forEach((i, k) => {
      const j = sampledOriginal.indexOf(i);
      tokens[j] = result.tokens[k] as number;
      logprobs[j] = result.logprobs[k];
    });
    return { tokens, logprobs };
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
