// Token sampling on the device: draws the tokens `sampleLogits` (@x/model) draws for seeded and
// greedy rows, without sorting the vocabulary or reading rows back. One workgroup samples a row.
// (About 530 lines: the host class packs each row's parameters and penalty list in the layouts
// its shader reads, and keeps the two in one place.)
//
// `sampleLogits` walks candidates in descending order of logit (ties: lower id first), or in id
// order when nothing filters. Each cut it makes (top-k, top-p, the draw) ends at the first element
// of that order whose inclusive prefix weight (a count, or a mass exp((l - max) / T)) reaches a
// threshold. The kernel finds that element with a radix select over the composite key (the
// order-preserving u32 image of the logit, then ~id): 4 bits a step, each step one pass over the
// row summing 16 digit bins across the workgroup and keeping the digit where the prefix weight
// crosses the threshold. 8 steps fix the logit, ceil(log16 vocab) more fix the id among its ties;
// in id order the select runs on ~id alone. The top log-probabilities use the same select for the
// n-th most likely token, then gather the n and sort them. A row's token mask (`allowedTokens`)
// is uploaded with its parameters and applied on the device after its penalties.
import {
  type SamplingParams,
  seededUniform,
  type TokenLogprobs,
  validateSamplingParams,
} from '@x/model';
import { GpuSamplerError } from '../errors.js';
import {
  FLAG_FILTERED,
  FLAG_GREEDY,
  FLAG_LOGPROBS,
  FLAG_MASKED,
  FLAG_REPETITION,
  FLAG_TOP_K,
  FLAG_TOP_P,
  GREEDY_EPS,
  PARAM_WORDS,
  PENALTY_WORDS,
  REDUCTION_FAN,
  RESULT_BYTES,
  RESULT_WORDS,
  SAMPLER_BINDINGS,
  SAMPLER_LOGITS_BINDINGS,
  type SamplerKernel,
  STAGES,
  samplerKernel,
} from './sampler-shader.js';

/** One row to sample, with what `sampleLogits` would be given for it. */
export interface SamplerRow {
  /** Row index into the logits buffer (rows of `vocabSize` f32). */
  row: number;
  /**
   * Sampling parameters, with `sampleLogits`' defaults (temperature 1, no filters, no penalties,
   * no token mask). `allowedTokens`, when set, holds exactly `ceil(vocabSize / 32)` words.
   */
  params: SamplingParams | undefined;
  /** Prompt token ids (for the repetition penalty). */
  promptTokenIds?: ArrayLike<number>;
  /** Tokens generated so far (for penalties, and the index of a seeded draw). */
  outputTokenIds?: ArrayLike<number>;
}

/** Options of {@link GpuSampler}. */
export interface GpuSamplerOptions {
  /** Logits per row. */
  vocabSize: number;
  /** Most rows one `prepare` may hold (one workgroup each). */
  maxRows: number;
  /**
   * Penalty entries (distinct penalized token ids, summed over the rows of one `prepare`) to
   * allocate room for up front; the buffer grows when a batch needs more. Default 4096.
   */
  initialPenaltyEntries?: number;
}

/** What {@link GpuSampler.decode} returns: the pieces of a `ForwardResult`. */
export interface SampledRows {
  /** The sampled token of each row, in `prepare` order. */
  tokens: Int32Array;
  /** Per row, its log-probabilities when its `params.logprobs` was set. */
  logprobs: Array<TokenLogprobs | undefined>;
}

interface LogitsBinding {
  bindGroup: GPUBindGroup;
  /** The kernel's `Dispatch` uniform: the sub-alignment offset of row 0 and loop bounds. */
  uniform: GPUBuffer;
  /** Elements of the bound range the rows may use (past the sub-alignment start). */
  elements: number;
}

/** Pipelines per device and vocabulary size, shared by every sampler. */
/** Logits bindings kept per sampler (least recently used dropped first). */
const MAX_LOGITS_BINDINGS = 8;

/**
 * Samples rows of logits held in a device buffer, drawing the tokens `sampleLogits` draws for
 * the same logits (seeded and greedy rows), and reading back only token ids and log-probabilities.
 *
 * Per step: `prepare(rows)` writes the rows' parameters with `queue.writeBuffer`, `encode(pass,
 * logits)` records one dispatch into the caller's compute pass, the caller copies
 * `resultBytes(rows.length)` bytes of `result` to its own readback buffer, and `decode` turns
 * them into tokens and log-probabilities. The logits rows sampled with penalties or a token mask
 * are modified in place (penalties applied; masked tokens set to the lowest finite f32 where
 * `sampleLogits` sets −∞), as `sampleLogits` modifies its argument; other rows are only read.
 * A `prepare` rewrites what the next dispatch reads (and may reallocate the penalty buffers), so
 * submit each `encode` before the next `prepare`.
 *
 * Matches `sampleLogits` up to f32 rounding: the device sums probabilities in f32 where the CPU
 * uses f64, so a draw landing within about 1e-7 of the total mass from a boundary between two
 * tokens may pick the neighbour, and top log-probabilities within an ulp of each other may swap.
 */
export class GpuSampler {
  /** Result records, one per row in `prepare` order (STORAGE | COPY_SRC). */
  readonly result: GPUBuffer;
  readonly vocabSize: number;
  readonly maxRows: number;
  readonly #device: GPUDevice;
  readonly #kernel: SamplerKernel;
  readonly #params: GPUBuffer;
  readonly #paramWords: Uint32Array<ArrayBuffer>;
  readonly #paramFloats: Float32Array<ArrayBuffer>;
  #penalties: GPUBuffer;
  /** One token mask slot per row (`#maskWords` u32 each), filled densely by the masked rows. */
  readonly #masks: GPUBuffer;
  readonly #maskWords: number;
  #penaltyRaw: GPUBuffer;
  #penaltyWords: Uint32Array<ArrayBuffer>;
  #penaltyFloats: Float32Array<ArrayBuffer>;
  #ownBindGroup: GPUBindGroup;
  readonly #logitsBindings = new Map<GPUBuffer, Map<number, LogitsBinding>>();
  #rowCount = 0;
  #maxRowIndex = -1;
  readonly #counts = new Map<number, number>();
  #sortScratch = new Uint32Array(256);
  /** Logits rows a prepared row writes in place (penalties, a token mask), and rows sampled. */
  readonly #modifiedRows = new Set<number>();
  readonly #sampledRows = new Set<number>();
  /** The masks of the rows being prepared, slot after slot (grown as batches need). */
  #maskStaging = new Uint32Array(0);

  /**
   * Compiles (once per device and vocabulary size) the sampling pipeline and allocates the
   * parameter, penalty, token-mask (`maxRows × ceil(vocabSize / 32)` words) and result buffers.
   * @throws GpuSamplerError `SAMPLER_BAD_OPTIONS` for a vocabulary size not in [1, 2^24),
   *   `maxRows` not in [1, maxComputeWorkgroupsPerDimension], or token masks for `maxRows` rows
   *   over the device's storage binding limit
   */
  constructor(device: GPUDevice, options: GpuSamplerOptions) {
    const { vocabSize, maxRows } = options;
    // Counts are summed in f32 on the device: exact below 2^24.
    if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize >= 2 ** 24) {
      throw new GpuSamplerError(
        `vocabSize must be an integer in [1, 2^24), got ${vocabSize}`,
        'SAMPLER_BAD_OPTIONS',
      );
    }
    const maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > maxWorkgroups) {
      throw new GpuSamplerError(
        `maxRows must be an integer in [1, ${maxWorkgroups}], got ${maxRows}`,
        'SAMPLER_BAD_OPTIONS',
      );
    }
    this.#maskWords = Math.ceil(vocabSize / 32);
    const maskBytes = maxRows * this.#maskWords * 4;
    const maxBinding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
    );
    if (maskBytes > maxBinding) {
      throw new GpuSamplerError(
        `token masks for ${maxRows} rows of ${vocabSize} tokens take ${maskBytes} bytes, over ` +
          `this device's storage binding limit of ${maxBinding}: lower maxRows`,
        'SAMPLER_BAD_OPTIONS',
      );
    }
    this.#device = device;
    this.vocabSize = vocabSize;
    this.maxRows = maxRows;
    this.#kernel = samplerKernel(device, vocabSize);
    const paramBytes = maxRows * PARAM_WORDS * 4;
    this.#params = device.createBuffer({
      label: 'sampler params',
      size: paramBytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    this.#masks = device.createBuffer({
      label: 'sampler token masks',
      size: maskBytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    const staging = new ArrayBuffer(paramBytes);
    this.#paramWords = new Uint32Array(staging);
    this.#paramFloats = new Float32Array(staging);
    this.result = device.createBuffer({
      label: 'sampler result',
      size: maxRows * RESULT_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const entries = Math.max(1, Math.ceil(options.initialPenaltyEntries ?? 4096));
    this.#penalties = this.#createPenaltyBuffer(entries);
    this.#penaltyRaw = this.#createPenaltyRawBuffer(entries);
    const penaltyStaging = new ArrayBuffer(entries * PENALTY_WORDS * 4);
    this.#penaltyWords = new Uint32Array(penaltyStaging);
    this.#penaltyFloats = new Float32Array(penaltyStaging);
    this.#ownBindGroup = this.#createOwnBindGroup();
  }

  /** Bytes of `result` holding the records of the first `rows` rows. */
  resultBytes(rows: number): number {
    return rows * RESULT_BYTES;
  }

  /**
   * Writes the rows' parameters for the next `encode`: uniform draws made here exactly as
   * `sampleLogits` makes them (`seededUniform(seed, outputTokenIds.length)`, else `Math.random()`),
   * each row's penalized token ids (prompt ∪ output) with their output counts, and the token
   * masks of the rows that have one (`queue.writeBuffer`, one slot each).
   * @throws GpuSamplerError `SAMPLER_TOO_MANY_ROWS`, `SAMPLER_BAD_ROW`, `SAMPLER_ROW_CONFLICT`,
   *   `SAMPLER_BAD_MASK`
   * @throws SamplingParamsError (from @x/model) for parameters out of range
   */
  prepare(rows: readonly SamplerRow[]): void {
    if (rows.length > this.maxRows) {
      throw new GpuSamplerError(
        `cannot sample ${rows.length} rows: this sampler was created with maxRows ${this.maxRows}`,
        'SAMPLER_TOO_MANY_ROWS',
      );
    }
    const words = this.#paramWords;
    const floats = this.#paramFloats;
    words.fill(0, 0, rows.length * PARAM_WORDS);
    let penaltyCount = 0;
    let maxRowIndex = -1;
    this.#modifiedRows.clear();
    this.#sampledRows.clear();
    let maskCount = 0;
    for (let r = 0; r < rows.length; r++) {
      const entry = rows[r] as SamplerRow;
      const params = entry.params ?? {};
      if (!Number.isInteger(entry.row) || entry.row < 0 || entry.row >= 2 ** 32 / this.vocabSize) {
        throw new GpuSamplerError(
          `rows[${r}].row must be a non-negative integer logits row, got ${entry.row}`,
          'SAMPLER_BAD_ROW',
        );
      }
      validateSamplingParams(params);
      maxRowIndex = Math.max(maxRowIndex, entry.row);
      const at = r * PARAM_WORDS;
      const temperature = params.temperature ?? 1;
      const topK = params.topK ?? 0;
      const topP = params.topP ?? 1;
      const minP = params.minP ?? 0;
      const repetition = params.repetitionPenalty ?? 1;
      const topKActive = topK > 0 && topK < this.vocabSize;
      let flags = 0;
      if (temperature < GREEDY_EPS) flags |= FLAG_GREEDY;
      if (topKActive || topP < 1 || minP > 0) flags |= FLAG_FILTERED;
      if (topKActive) flags |= FLAG_TOP_K;
      if (topP < 1) flags |= FLAG_TOP_P;
      if (repetition !== 1) flags |= FLAG_REPETITION;
      if (params.logprobs !== undefined) flags |= FLAG_LOGPROBS;
      const mask = params.allowedTokens;
      if (mask !== undefined) {
        this.#checkMask(mask, r);
        flags |= FLAG_MASKED;
      }
      let u = 0;
      if (temperature >= GREEDY_EPS) {
        const outputs = entry.outputTokenIds?.length ?? 0;
        u = params.seed === undefined ? Math.random() : seededUniform(params.seed, outputs);
      }
      const start = penaltyCount;
      penaltyCount = this.#collectPenalties(entry, params, penaltyCount);
      const penalized = penaltyCount - start;
      this.#claimRow(entry.row, r, penalized > 0 || mask !== undefined);
      if (mask !== undefined) words[at + 6] = this.#stageMask(mask, maskCount++);
      words[at] = entry.row;
      words[at + 1] = flags;
      words[at + 2] = topKActive ? topK : 0;
      words[at + 3] = Math.min(params.logprobs ?? 0, this.vocabSize);
      words[at + 4] = start;
      words[at + 5] = penalized;
      floats[at + 8] = temperature;
      floats[at + 9] = topP;
      floats[at + 10] = minP;
      // A draw just below 1 must not round up to 1 in f32.
      floats[at + 11] = Math.min(Math.fround(u), 1 - 2 ** -24);
      floats[at + 12] = repetition;
    }
    const queue = this.#device.queue;
    if (rows.length > 0) queue.writeBuffer(this.#params, 0, words, 0, rows.length * PARAM_WORDS);
    if (penaltyCount > 0) {
      queue.writeBuffer(this.#penalties, 0, this.#penaltyWords, 0, penaltyCount * PENALTY_WORDS);
    }
    if (maskCount > 0) {
      queue.writeBuffer(this.#masks, 0, this.#maskStaging, 0, maskCount * this.#maskWords);
    }
    this.#rowCount = rows.length;
    this.#maxRowIndex = maxRowIndex;
  }

  /**
   * Makes (or finds) the bind group of `logits` from `logitsOffsetBytes` ahead of the first
   * `encode` that reads it, so that its allocation happens when the caller plans memory.
   */
  bindLogits(logits: GPUBuffer, logitsOffsetBytes = 0): void {
    this.#logitsBinding(logits, logitsOffsetBytes);
  }

  /**
   * Records the sampling of the prepared rows into `pass`: one dispatch, which sets the pass's
   * pipeline and bind groups 0 and 1 (nothing when the last `prepare` had no rows). `logits` holds
   * rows of `vocabSize` f32 from `logitsOffsetBytes` (any multiple of 4); it must have STORAGE
   * usage and is modified in place for rows with penalties or a token mask. Bind groups are made
   * once per (buffer, offset) and reused.
   * @throws GpuSamplerError `SAMPLER_BAD_LOGITS` when the buffer lacks STORAGE usage or the offset
   *   is not a multiple of 4; `SAMPLER_BAD_ROW` when a prepared row lies past the buffer's end
   */
  encode(pass: GPUComputePassEncoder, logits: GPUBuffer, logitsOffsetBytes = 0): void {
    if (this.#rowCount === 0) return;
    const binding = this.#logitsBinding(logits, logitsOffsetBytes);
    if ((this.#maxRowIndex + 1) * this.vocabSize > binding.elements) {
      throw new GpuSamplerError(
        `logits row ${this.#maxRowIndex} ends past the logits buffer: ${binding.elements} f32 ` +
          `from offset ${logitsOffsetBytes} hold ${Math.floor(binding.elements / this.vocabSize)} ` +
          `rows of ${this.vocabSize}`,
        'SAMPLER_BAD_ROW',
      );
    }
    pass.setPipeline(this.#kernel.pipeline);
    pass.setBindGroup(0, this.#ownBindGroup);
    pass.setBindGroup(1, binding.bindGroup);
    pass.dispatchWorkgroups(this.#rowCount);
  }

  /**
   * Decodes result records (copied from `result`, starting at its first byte) for `rows`, the
   * rows last prepared.
   * @throws GpuSamplerError `SAMPLER_SHORT_RESULT` when `bytes` holds fewer than
   *   `resultBytes(rows.length)` bytes
   */
  decode(bytes: ArrayBuffer, rows: readonly SamplerRow[]): SampledRows {
    const needed = this.resultBytes(rows.length);
    if (bytes.byteLength < needed) {
      throw new GpuSamplerError(
        `decode needs ${needed} bytes for ${rows.length} rows, got ${bytes.byteLength}`,
        'SAMPLER_SHORT_RESULT',
      );
    }
    const words = new Uint32Array(bytes, 0, needed / 4);
    const floats = new Float32Array(bytes, 0, needed / 4);
    const tokens = new Int32Array(rows.length);
    const logprobs: Array<TokenLogprobs | undefined> = [];
    for (let r = 0; r < rows.length; r++) {
      const at = r * RESULT_WORDS;
      tokens[r] = words[at] as number;
      const wanted = rows[r]?.params?.logprobs;
      if (wanted === undefined) {
        logprobs.push(undefined);
        continue;
      }
      const top: TokenLogprobs['top'] = [];
      for (let i = 0; i < Math.min(wanted, this.vocabSize); i++) {
        top.push({
          tokenId: words[at + 2 + 2 * i] as number,
          logprob: floats[at + 3 + 2 * i] as number,
        });
      }
      logprobs.push({ logprob: floats[at + 1] as number, top });
    }
    return { tokens, logprobs };
  }

  /**
   * Bytes this sampler holds on the device now: parameters, results, the token masks, the penalty
   * lists (which grow only when a batch needs more entries than they hold) and the logits-binding
   * uniforms.
   */
  get deviceBytes(): number {
    let bytes =
      this.#params.size +
      this.result.size +
      this.#masks.size +
      this.#penalties.size +
      this.#penaltyRaw.size;
    for (const byOffset of this.#logitsBindings.values()) {
      for (const binding of byOffset.values()) bytes += binding.uniform.size;
    }
    return bytes;
  }

  /** Frees the sampler's buffers (the shared pipeline stays cached for the device). */
  destroy(): void {
    for (const buffer of [
      this.#params,
      this.#penalties,
      this.#penaltyRaw,
      this.#masks,
      this.result,
    ]) {
      buffer.destroy();
    }
    for (const byOffset of this.#logitsBindings.values()) {
      for (const binding of byOffset.values()) binding.uniform.destroy();
    }
    this.#logitsBindings.clear();
  }

  /**
   * Records that `rows[r]` samples logits row `row`, writing it in place when `modifies`
   * (penalties or a token mask). A row written in place cannot be sampled twice in one dispatch:
   * the workgroups run concurrently, so the other sampling would read it half written.
   * @throws GpuSamplerError `SAMPLER_ROW_CONFLICT`
   */
  #claimRow(row: number, r: number, modifies: boolean): void {
    if (this.#modifiedRows.has(row) || (modifies && this.#sampledRows.has(row))) {
      throw new GpuSamplerError(
        `rows[${r}] samples logits row ${row} again, and one of its samplings applies penalties ` +
          'or a token mask to that row in place: give each such sampling its own logits row',
        'SAMPLER_ROW_CONFLICT',
      );
    }
    this.#sampledRows.add(row);
    if (modifies) this.#modifiedRows.add(row);
  }

  /**
   * Checks a token mask as `validateBatch` (@x/model) does: an Int32Array or Uint32Array of
   * `ceil(vocabSize / 32)` words allowing at least one token of the vocabulary.
   * @throws GpuSamplerError `SAMPLER_BAD_MASK`
   */
  #checkMask(mask: unknown, r: number): void {
    const words = this.#maskWords;
    if (!(mask instanceof Int32Array || mask instanceof Uint32Array) || mask.length !== words) {
      const got =
        mask instanceof Object
          ? `${mask.constructor.name} of ${(mask as { length?: number }).length} words`
          : String(mask);
      throw new GpuSamplerError(
        `rows[${r}].params.allowedTokens must be an Int32Array or Uint32Array of ${words} words ` +
          `(a bit per token of ${this.vocabSize}), got ${got}`,
        'SAMPLER_BAD_MASK',
      );
    }
    const tail = this.vocabSize % 32;
    for (let w = 0; w < words; w++) {
      const bits = w === words - 1 && tail ? (mask[w] as number) & ((1 << tail) - 1) : mask[w];
      if (bits !== 0) return;
    }
    throw new GpuSamplerError(
      `rows[${r}].params.allowedTokens allows no token`,
      'SAMPLER_BAD_MASK',
    );
  }

  /**
   * Copies `mask` into staging slot `slot` (as u32 words: an Int32Array's -1 is 0xffffffff) and
   * returns the slot's first word, where the kernel reads it.
   */
  #stageMask(mask: Int32Array | Uint32Array, slot: number): number {
    const start = slot * this.#maskWords;
    if (this.#maskStaging.length < start + this.#maskWords) {
      const grown = new Uint32Array(
        Math.min(this.maxRows, Math.max(slot + 1, 2 * slot)) * this.#maskWords,
      );
      grown.set(this.#maskStaging);
      this.#maskStaging = grown;
    }
    this.#maskStaging.set(mask, start);
    return start;
  }

  /**
   * Appends `entry`'s penalty list from `at`: each distinct in-range token id of its logit bias,
   * of prompt ∪ output under a repetition penalty, and of the output under presence or frequency
   * penalties, with its bias, what is subtracted after the repetition penalty (`presence +
   * frequency · count in output`) and whether it was seen. Returns the new end of the list.
   */
  #collectPenalties(entry: SamplerRow, params: SamplingParams, at: number): number {
    const repetition = params.repetitionPenalty ?? 1;
    const presence = params.presencePenalty ?? 0;
    const frequency = params.frequencyPenalty ?? 0;
    const additive = presence !== 0 || frequency !== 0;
    const bias = params.logitBias;
    if (repetition === 1 && !additive && !bias?.size) return at;
    // Token id → its count in the output (0: only in the prompt; -1: only biased, not seen).
    const counts = this.#counts;
    counts.clear();
    if (repetition !== 1 || additive) {
      const output = entry.outputTokenIds ?? [];
      for (let i = 0; i < output.length; i++) {
        const id = output[i] as number;
        if (this.#inVocab(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    if (repetition !== 1) {
      const prompt = entry.promptTokenIds ?? [];
      for (let i = 0; i < prompt.length; i++) {
        const id = prompt[i] as number;
        if (this.#inVocab(id) && !counts.has(id)) counts.set(id, 0);
      }
    }
    for (const id of bias?.keys() ?? []) {
      if (this.#inVocab(id) && !counts.has(id)) counts.set(id, -1);
    }
    this.#reservePenalties(at + counts.size);
    // Sorted by id: the kernel finds the sampled token's entry by bisection.
    if (this.#sortScratch.length < counts.size) {
      this.#sortScratch = new Uint32Array(Math.max(counts.size, 2 * this.#sortScratch.length));
    }
    const ids = this.#sortScratch.subarray(0, counts.size);
    let n = 0;
    for (const id of counts.keys()) ids[n++] = id;
    ids.sort();
    const words = this.#penaltyWords;
    const floats = this.#penaltyFloats;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const count = counts.get(id) as number;
      const e = (at + i) * PENALTY_WORDS;
      words[e] = id;
      floats[e + 1] = bias?.get(id) ?? 0;
      floats[e + 2] = additive && count > 0 ? presence + frequency * count : 0;
      words[e + 3] = count >= 0 ? 1 : 0;
    }
    return at + ids.length;
  }

  #inVocab(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize;
  }

  /** Grows the penalty buffers (and staging) to hold at least `entries` entries. */
  #reservePenalties(entries: number): void {
    const capacity = this.#penaltyWords.length / PENALTY_WORDS;
    if (entries <= capacity) return;
    const grown = Math.max(entries, capacity * 2);
    const staging = new ArrayBuffer(grown * PENALTY_WORDS * 4);
    new Uint32Array(staging).set(this.#penaltyWords);
    this.#penaltyWords = new Uint32Array(staging);
    this.#penaltyFloats = new Float32Array(staging);
    // Work already submitted keeps the old buffers alive until it completes.
    this.#penalties.destroy();
    this.#penaltyRaw.destroy();
    this.#penalties = this.#createPenaltyBuffer(grown);
    this.#penaltyRaw = this.#createPenaltyRawBuffer(grown);
    this.#ownBindGroup = this.#createOwnBindGroup();
  }

  #createPenaltyBuffer(entries: number): GPUBuffer {
    return this.#device.createBuffer({
      label: 'sampler penalties',
      size: entries * PENALTY_WORDS * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  /** The raw logits of penalized tokens, saved for the sampled token's log-probability. */
  #createPenaltyRawBuffer(entries: number): GPUBuffer {
    return this.#device.createBuffer({
      label: 'sampler penalized raw logits',
      size: entries * 4,
      usage: GPUBufferUsage.STORAGE,
    });
  }

  #createOwnBindGroup(): GPUBindGroup {
    return this.#device.createBindGroup({
      label: 'sampler',
      layout: this.#kernel.ownLayout,
      entries: [
        { binding: SAMPLER_BINDINGS.params.binding, resource: { buffer: this.#params } },
        { binding: SAMPLER_BINDINGS.penalties.binding, resource: { buffer: this.#penalties } },
        { binding: SAMPLER_BINDINGS.penaltyRaw.binding, resource: { buffer: this.#penaltyRaw } },
        { binding: SAMPLER_BINDINGS.result.binding, resource: { buffer: this.result } },
        { binding: SAMPLER_BINDINGS.mask.binding, resource: { buffer: this.#masks } },
      ],
    });
  }

  /**
   * The bind group of `logits` from `offsetBytes`, made once per (buffer, offset). The binding
   * starts at the offset rounded down to the storage alignment; a small uniform holds the rest.
   */
  #logitsBinding(logits: GPUBuffer, offsetBytes: number): LogitsBinding {
    const byOffset = this.#logitsBindings.get(logits);
    const cached = byOffset?.get(offsetBytes);
    if (cached) {
      // Most recently used last.
      this.#logitsBindings.delete(logits);
      this.#logitsBindings.set(logits, byOffset as Map<number, LogitsBinding>);
      return cached;
    }
    if ((logits.usage & GPUBufferUsage.STORAGE) === 0) {
      throw new GpuSamplerError(
        'the logits buffer needs STORAGE usage to be sampled',
        'SAMPLER_BAD_LOGITS',
      );
    }
    if (!Number.isInteger(offsetBytes) || offsetBytes < 0 || offsetBytes % 4 !== 0) {
      throw new GpuSamplerError(
        `logitsOffsetBytes must be a non-negative multiple of 4, got ${offsetBytes}`,
        'SAMPLER_BAD_LOGITS',
      );
    }
    const limits = this.#device.limits;
    const aligned = offsetBytes - (offsetBytes % limits.minStorageBufferOffsetAlignment);
    const size = Math.min(logits.size - aligned, limits.maxStorageBufferBindingSize) & ~3;
    const skip = (offsetBytes - aligned) / 4;
    if (size <= skip * 4) {
      throw new GpuSamplerError(
        `logitsOffsetBytes ${offsetBytes} is past the end of the ${logits.size}-byte logits buffer`,
        'SAMPLER_BAD_LOGITS',
      );
    }
    const uniform = this.#device.createBuffer({
      label: 'sampler dispatch',
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#device.queue.writeBuffer(uniform, 0, new Uint32Array([skip, REDUCTION_FAN, STAGES, 0]));
    const bindGroup = this.#device.createBindGroup({
      label: 'sampler logits',
      layout: this.#kernel.logitsLayout,
      entries: [
        {
          binding: SAMPLER_LOGITS_BINDINGS.logits.binding,
          resource: { buffer: logits, offset: aligned, size },
        },
        { binding: SAMPLER_LOGITS_BINDINGS.dispatch.binding, resource: { buffer: uniform } },
      ],
    });
    const binding = { bindGroup, uniform, elements: size / 4 - skip };
    const entries = byOffset ?? new Map<number, LogitsBinding>();
    entries.set(offsetBytes, binding);
    this.#logitsBindings.delete(logits);
    this.#logitsBindings.set(logits, entries);
    if (this.#logitsBindings.size > MAX_LOGITS_BINDINGS) {
      const [oldest, dropped] = this.#logitsBindings.entries().next().value as [
        GPUBuffer,
        Map<number, LogitsBinding>,
      ];
      this.#logitsBindings.delete(oldest);
      for (const old of dropped.values()) old.uniform.destroy();
    }
    return binding;
  }
}
