import {
  buildModelGraph,
  dequantizeRow,
  ExecutorError,
  type ForwardBatch,
  type ForwardResult,
  GgmlType,
  type KvCacheShape,
  kvGeometry,
  type ModelConfig,
  type ModelExecutor,
  type ModelGraph,
  type ModelWeights,
  sampleSequences,
  validateBatch,
  type WeightMatrix,
} from '@x/model';
import { CpuWasmError } from './errors.js';
import { type Arg, type LoweredGraph, lowerGraph, ropeBuffer } from './lower.js';
import {
  align16,
  isKGroups,
  type PackedWeight,
  packedBytes,
  packWeight,
  unpackKGroupsRow,
  unpackQ8_0Row,
} from './pack.js';
import { ThreadPool, type WorkerFactory } from './threads.js';
import {
  instantiateKernels,
  type KernelExports,
  kernelMemory,
  kernelsModule,
  WASM32_MAX_BYTES,
} from './wasm.js';

/** Options of {@link CpuWasmExecutor.create}. */
export interface CpuWasmExecutorOptions {
  /** KV blocks. */
  numBlocks: number;
  /** Tokens per block. Default `DEFAULT_BLOCK_SIZE` (16). */
  blockSize?: number;
  /** Host blocks for swapping. Default 0. */
  numHostBlocks?: number;
  /** Worker threads. Default: the machine's cores (`navigator.hardwareConcurrency`). */
  threads?: number;
  /**
   * Element type of the K/V cache: `'f32'` (default), or `'f16'` (half the memory, K and V
   * rounded to f16 as they are stored; head sizes a multiple of 4).
   */
  kvCacheDtype?: 'f32' | 'f16';
  /**
   * Batch tokens to lay out activations for up front; larger batches grow them on first use.
   * Default 512.
   */
  maxBatchTokens?: number;
  /**
   * Atomic loads a thread spins through at a barrier before it sleeps on the futex. Default
   * 100000 (tens of µs): a futex wake costs 20–50 µs, and a decode step crosses about five
   * barriers a layer, so sleeping at every one costs more than the matmuls between them; past
   * the spin a thread sleeps, so a busy machine loses at most that much per barrier.
   */
  barrierSpins?: number;
}

/** Time spent in one kind of op, from {@link CpuWasmExecutor.stopProfile}. */
export interface CpuOpProfile {
  /** The graph node's name without its layer (`attn_output+attn_residual`, `ffn_down`, …). */
  name: string;
  /** Milliseconds the profiled thread spent computing its share. */
  ms: number;
  /** Milliseconds the profiled thread waited at the barrier before it for the others. */
  barrierMs: number;
  /** How many ops of the program have this name (one per layer, typically). */
  ops: number;
  /** Multiply-accumulates per row of the ops' input (matmuls; 0 for other ops). */
  macs: number;
}

/** The platform part the Node and browser entries pass in. */
export interface CpuWasmPlatform {
  /**
   * Makes worker threads; absent where there is no SharedArrayBuffer (a browser page that is not
   * cross-origin isolated): then one thread, the caller's, runs each step.
   */
  workers: WorkerFactory | undefined;
  defaultThreads: () => number;
}

// Control block words (assembly/program.ts).
const CTL_WORDS = 16;
const CTL_THREADS = 6;
const CTL_PROGRAM = 7;
const CTL_STEP = 8;
const CTL_SPINS = 9;
const CTL_PROFILE = 10;
const CTL_PROFILED_THREAD = 11;

// Step header words.
const STEP_WORDS = 16;

/** Where the dynamic region's pieces are, for the current capacity. */
interface Layout {
  rows: number;
  sampled: number;
  /** Positions of context a step's scores have room for. */
  context: number;
  /** i32 words of block tables a step has room for. */
  tableWords: number;
  /** i32 words of sequence records a step has room for (4 a sequence). */
  sequences: number;
  program: number;
  buffers: Map<string, number>;
  step: number;
  positions: number;
  slots: number;
  records: number;
  tables: number;
  sampledRows: number;
  tokenSeq: number;
  scores: number;
  end: number;
}

/**
 * The CPU executor: the shared model graph lowered to WebAssembly SIMD kernels
 * (AssemblyScript, assembly/) and run on worker threads over one shared memory. Weights load once
 * into that memory and stay quantized (Q8_0 repacked with f32 scales); activations are quantized
 * per row as ggml's CPU backend does (Q8_0, Q8_1, Q8_K), so outputs follow llama.cpp's; the K/V
 * cache is f32 in the same memory, in blocks as the scheduler addresses them.
 *
 * wasm32 addresses 4 GiB: weights, KV pool and activations must fit in it together.
 */
export class CpuWasmExecutor implements ModelExecutor {
  readonly config: ModelConfig;
  readonly kvCache: KvCacheShape;
  /** Worker threads running each step. */
  readonly threads: number;
  /** What the steps need of the lowered graph (its ops are {@link ops}). */
  private readonly lowered: Pick<
    LoweredGraph,
    'buffers' | 'ropes' | 'logits' | 'kvLayers' | 'kvDim'
  >;
  private readonly kernels: KernelExports;
  private layout: Layout;
  /** The lowered ops, their weights and norm arrays resolved to addresses in the memory. */
  private readonly ops: LoweredGraph['ops'];
  private readonly embedding: { packed: PackedWeight; scale: number; out: LoweredGraph['logits'] };
  private readonly kvPtr: number;
  private readonly kvLayerBytes: number;
  /** Host blocks for swapping, as the cache's elements (f32 or f16 bits). */
  private hostKeys: Array<Float32Array | Uint16Array>;
  private hostValues: Array<Float32Array | Uint16Array>;
  /** Bytes of one cached K or V element. */
  private readonly kvElementBytes: number;
  private pool: ThreadPool | undefined;
  private disposed = false;
  private broken: Error | undefined;
  private running: Promise<unknown> = Promise.resolve();

  /** Use {@link CpuWasmExecutor.create}. */
  protected constructor(
    model: { config: ModelConfig; weights: ModelWeights },
    options: CpuWasmExecutorOptions,
    threads: number,
    private readonly memory: WebAssembly.Memory,
    staticEnd: number,
    plan: MemoryPlan,
  ) {
    const { lowered, expand } = plan;
    const { numBlocks, blockSize, numHostBlocks } = kvGeometry(options);
    this.config = model.config;
    const { buffers, ropes, logits, kvLayers, kvDim } = lowered;
    this.lowered = { buffers, ropes, logits, kvLayers, kvDim };
    this.threads = threads;
    this.kvCache = { numBlocks, blockSize, numHostBlocks };
    this.kernels = instantiateKernels(memory);
    let at = align16(this.kernels.heapBase());
    const ctl = at;
    at += CTL_WORDS * 4;
    at += threads * 16; // each thread's range scratch
    this.profilePtr = at;
    at = align16(at + lowered.ops.length * 16);
    // Norm weights and biases.
    const arrays = new Map<Float32Array, number>();
    for (const a of plan.arrays) {
      arrays.set(a, at);
      new Float32Array(memory.buffer, at, a.length).set(a);
      at = align16(at + a.byteLength);
    }
    const packed = new Map<WeightMatrix, PackedWeight>();
    for (const w of [...lowered.weights, lowered.embedding.weight]) {
      if (packed.has(w)) continue;
      const p = packWeight(w, memory.buffer, at, expand);
      packed.set(w, p);
      at = align16(at + p.bytes);
    }
    at += WEIGHT_TAIL;
    // The static arguments become numbers now: the executor keeps no reference to the model's
    // weights or norm arrays, whose bytes live on in its memory, so a caller that drops the model
    // frees the file's copy.
    this.ops = lowered.ops.map((op) => ({
      ...op,
      args: op.args.map((a): Arg => {
        if (typeof a !== 'object') return a;
        if ('weight' in a) {
          const p = packed.get(a.weight)!;
          return { type: p.type, rows: p.ptr, aux: p.aux, rowBytes: p.rowBytes }[a.part];
        }
        if ('f32s' in a) return arrays.get(a.f32s)!;
        return a;
      }),
    }));
    const { weight, scale, out } = lowered.embedding;
    this.embedding = { packed: packed.get(weight)!, scale, out };
    this.kvElementBytes = options.kvCacheDtype === 'f16' ? 2 : 4;
    this.kvLayerBytes = numBlocks * blockSize * lowered.kvDim * this.kvElementBytes;
    this.kvPtr = at;
    at += 2 * lowered.kvLayers * this.kvLayerBytes;
    if (at !== staticEnd) throw new Error(`static layout mismatch: ${at} != ${staticEnd}`);
    const hostFloats = numHostBlocks * blockSize * lowered.kvDim;
    const hostArray = () =>
      this.kvElementBytes === 2 ? new Uint16Array(hostFloats) : new Float32Array(hostFloats);
    this.hostKeys = Array.from({ length: lowered.kvLayers }, hostArray);
    this.hostValues = Array.from({ length: lowered.kvLayers }, hostArray);
    const i32 = new Int32Array(memory.buffer, ctl, CTL_WORDS);
    i32[CTL_THREADS] = threads;
    i32[CTL_SPINS] = options.barrierSpins ?? 100_000;
    this.ctl = ctl;
    this.layout = this.lay(options.maxBatchTokens ?? 512, 1, 1024, 256, 64);
  }
  private readonly ctl: number;
  private readonly profilePtr: number;

  /**
   * Starts timing each op of the steps that follow (one thread's time, `thread` 0 by default, and
   * its wait at the barrier before the op), until {@link stopProfile}.
   */
  startProfile(thread = 0): void {
    new Float64Array(this.memory.buffer, this.profilePtr, this.ops.length * 2).fill(0);
    const ctl = new Int32Array(this.memory.buffer, this.ctl, CTL_WORDS);
    ctl[CTL_PROFILED_THREAD] = thread;
    ctl[CTL_PROFILE] = this.profilePtr;
  }

  /**
   * Stops timing and returns the milliseconds spent in each kind of op since
   * {@link startProfile}, summed over layers (`attn_q·k·v`-style graph node names without their
   * `blk.N.` prefix), most expensive first.
   */
  stopProfile(): CpuOpProfile[] {
    new Int32Array(this.memory.buffer, this.ctl, CTL_WORDS)[CTL_PROFILE] = 0;
    const times = new Float64Array(this.memory.buffer, this.profilePtr, this.ops.length * 2);
    const byName = new Map<string, CpuOpProfile>();
    this.ops.forEach((op, i) => {
      const name = op.name.replace(/^blk\.\d+\./, '').replace(/\+blk\.\d+\./, '+');
      const entry = byName.get(name) ?? { name, ms: 0, barrierMs: 0, ops: 0, macs: 0 };
      entry.ms += times[2 * i] as number;
      entry.barrierMs += times[2 * i + 1] as number;
      entry.ops++;
      entry.macs += op.macs;
      byName.set(name, entry);
    });
    return [...byName.values()].sort((a, b) => b.ms + b.barrierMs - (a.ms + a.barrierMs));
  }

  /**
   * Loads `model`'s weights into a new shared memory, lowers its graph and starts the workers.
   * @throws CpuWasmError `CPU_WASM_TOO_LARGE` when weights, KV pool and activations exceed
   *   wasm32's 4 GiB (it says what would fit), `CPU_WASM_UNSUPPORTED` for a weight type without a
   *   kernel, `CPU_WASM_THREADS` when workers cannot start
   */
  protected static async createOn(
    platform: CpuWasmPlatform,
    model: { config: ModelConfig; weights: ModelWeights },
    options: CpuWasmExecutorOptions,
  ): Promise<CpuWasmExecutor> {
    const threads = platform.workers ? (options.threads ?? platform.defaultThreads()) : 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new CpuWasmError(
        `threads must be an integer from 1 to 256, not ${String(options.threads)}`,
        'CPU_WASM_BAD_OPTION',
      );
    }
    const { numBlocks } = kvGeometry(options);
    const plan = planMemory(model, threads, options.blockSize, options.kvCacheDtype);
    const { fixedBytes, blockBytes } = plan;
    const kvBytes = numBlocks * blockBytes;
    const staticEnd = fixedBytes + kvBytes;
    if (staticEnd + ACTIVATION_HEADROOM > WASM32_MAX_BYTES) {
      const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
      const fit = CpuWasmExecutor.kvCapacity(model, options).maxBlocks;
      throw new CpuWasmError(
        `the CPU executor's memory is wasm32's 4 GiB: ${gib(plan.weightBytes)} of weights and ` +
          `${gib(kvBytes)} of KV cache (${numBlocks} blocks) do not fit` +
          (fit > 0 ? `; at most ${fit} KV blocks would` : '; the weights alone do not'),
        'CPU_WASM_TOO_LARGE',
      );
    }
    const memory = kernelMemory(
      staticEnd + ACTIVATION_HEADROOM,
      WASM32_MAX_BYTES,
      !!platform.workers,
    );
    // `this`: the entry's subclass, so what `create` returns is an instance of the class users import.
    const executor = new this(model, options, threads, memory, staticEnd, plan);
    if (!platform.workers) return executor;
    try {
      executor.pool = await ThreadPool.start(
        platform.workers,
        kernelsModule(),
        memory,
        executor.ctl,
        threads,
        executor.ctl + CTL_WORDS * 4,
      );
    } catch (error) {
      throw new CpuWasmError(
        `the CPU executor's ${threads} worker threads did not start: ${(error as Error).message}`,
        'CPU_WASM_THREADS',
      );
    }
    return executor;
  }

  /**
   * The most KV blocks of `blockSize` tokens that fit beside `model`'s weights in wasm32's 4 GiB
   * (with room for a step's activations): what the engine caps the pool at.
   */
  static kvCapacity(
    model: { config: ModelConfig; weights: ModelWeights },
    options: { blockSize?: number; threads?: number; kvCacheDtype?: 'f32' | 'f16' } = {},
  ): { maxBlocks: number; blockBytes: number } {
    const { fixedBytes, blockBytes } = planMemory(
      model,
      options.threads ?? 1,
      options.blockSize,
      options.kvCacheDtype,
    );
    const room = WASM32_MAX_BYTES - ACTIVATION_HEADROOM - fixedBytes;
    return { maxBlocks: Math.max(0, Math.floor(room / blockBytes)), blockBytes };
  }

  async execute(
    batch: ForwardBatch,
    options: { signal?: AbortSignal } = {},
  ): Promise<ForwardResult> {
    return sampleSequences(batch.sequences, await this.forward(batch, options));
  }

  /**
   * Runs a batch without sampling, as `ReferenceExecutor.forward` does: the logits at the last
   * token of each sequence with `sample: true`, in batch order.
   * @throws ExecutorError when the batch is malformed (the cache is unchanged), the executor is
   *   disposed, or a worker failed
   */
  async forward(
    batch: ForwardBatch,
    options: { signal?: AbortSignal } = {},
  ): Promise<Float32Array[]> {
    // Steps run one at a time, in call order.
    const run = this.running.then(() => this.step(batch, options));
    this.running = run.catch(() => {});
    return run;
  }

  private async step(
    batch: ForwardBatch,
    options: { signal?: AbortSignal },
  ): Promise<Float32Array[]> {
    if (this.disposed)
      throw new ExecutorError('the executor has been disposed', 'EXECUTOR_DISPOSED');
    if (this.broken) {
      throw new ExecutorError(
        `the CPU executor failed earlier: ${this.broken.message}`,
        'EXECUTOR_DISPOSED',
      );
    }
    if (options.signal?.aborted)
      throw new ExecutorError('aborted before the batch ran', 'EXECUTOR_ABORTED');
    validateBatch(batch, this.kvCache, this.config.vocabSize);
    this.moveBlocks(batch);
    const T = batch.tokenIds.length;
    const sampledRows: number[] = [];
    let context = 0;
    let tableWords = 0;
    for (const s of batch.sequences) {
      context = Math.max(context, s.start + s.numTokens);
      tableWords += Math.ceil((s.start + s.numTokens) / this.kvCache.blockSize);
      if (s.sample) sampledRows.push(s.offset + s.numTokens - 1);
    }
    const S = sampledRows.length;
    const L = this.layout;
    if (
      T > L.rows ||
      S > L.sampled ||
      context > L.context ||
      tableWords > L.tableWords ||
      batch.sequences.length > L.sequences
    ) {
      this.layout = this.lay(
        Math.max(T, L.rows),
        Math.max(S, L.sampled),
        Math.max(context, L.context),
        Math.max(tableWords * 2, L.tableWords),
        Math.max(batch.sequences.length * 2, L.sequences),
      );
    }
    if (T === 0) return [];
    this.writeStep(batch, sampledRows);
    const ctl = new Int32Array(this.memory.buffer, this.ctl, CTL_WORDS);
    ctl[CTL_PROGRAM] = this.layout.program;
    ctl[CTL_STEP] = this.layout.step;
    try {
      if (this.pool) await this.pool.run();
      else this.kernels.run(this.ctl, 0, this.ctl + CTL_WORDS * 4);
    } catch (error) {
      this.broken = error as Error;
      throw new ExecutorError(
        `the CPU executor failed: ${(error as Error).message}`,
        'EXECUTOR_DISPOSED',
      );
    }
    const logits = this.lowered.logits;
    const f32 = new Float32Array(this.memory.buffer);
    const base = (this.layout.buffers.get(logits.buffer)! >> 2) + logits.offset;
    return Array.from({ length: S }, (_, i) =>
      f32.slice(base + i * logits.stride, base + i * logits.stride + logits.width),
    );
  }

  /** Writes the step header, its arrays, the RoPE tables and the embedded tokens. */
  private writeStep(batch: ForwardBatch, sampledRows: number[]): void {
    const L = this.layout;
    const buf = this.memory.buffer;
    const i32 = new Int32Array(buf);
    const T = batch.tokenIds.length;
    const h = L.step >> 2;
    i32[h] = T;
    i32[h + 1] = sampledRows.length;
    i32[h + 2] = batch.sequences.length;
    i32[h + 3] = L.positions;
    i32[h + 4] = L.slots;
    i32[h + 5] = L.records;
    i32[h + 6] = L.sampledRows;
    i32[h + 7] = this.kvCache.blockSize;
    i32[h + 8] = L.scores;
    i32[h + 9] = L.context * 8;
    i32[h + 10] = L.tokenSeq;
    i32[h + 11] = batch.sequences.some((s) => s.numTokens > 1) ? 1 : 0;
    i32.set(batch.positions, L.positions >> 2);
    i32.set(batch.slotMapping, L.slots >> 2);
    i32.set(sampledRows, L.sampledRows >> 2);
    let table = L.tables;
    batch.sequences.forEach((s, i) => {
      const r = (L.records >> 2) + i * 4;
      i32.fill(i, (L.tokenSeq >> 2) + s.offset, (L.tokenSeq >> 2) + s.offset + s.numTokens);
      i32[r] = s.offset;
      i32[r + 1] = s.numTokens;
      i32[r + 2] = s.start;
      i32[r + 3] = table;
      const blocks = Math.ceil((s.start + s.numTokens) / this.kvCache.blockSize);
      for (let b = 0; b < blocks; b++) i32[(table >> 2) + b] = s.blockTable[b] as number;
      table += blocks * 4;
    });
    // Each distinct RoPE's (cos, sin) per token and pair, scaled by its magnitude factor.
    const f64 = new Float64Array(buf);
    this.lowered.ropes.forEach((rope, index) => {
      const half = rope.rotaryDim / 2;
      const at = L.buffers.get(ropeBuffer(index))! >> 3;
      for (let t = 0; t < T; t++) {
        const pos = batch.positions[t] as number;
        for (let i = 0; i < half; i++) {
          const angle = pos * (rope.inverseFrequencies[i] as number);
          f64[at + (t * half + i) * 2] = Math.cos(angle) * rope.attnFactor;
          f64[at + (t * half + i) * 2 + 1] = Math.sin(angle) * rope.attnFactor;
        }
      }
    });
    this.embed(batch.tokenIds);
  }

  /** The embedding gather (ggml's get_rows) into the graph's first activation, on this thread. */
  private embed(tokenIds: Int32Array): void {
    const { packed: p, scale, out } = this.embedding;
    const buf = this.memory.buffer;
    const f32 = new Float32Array(buf);
    const d = p.cols;
    const base = (this.layout.buffers.get(out.buffer)! >> 2) + out.offset;
    const s = Math.fround(scale);
    for (let t = 0; t < tokenIds.length; t++) {
      const token = tokenIds[t] as number;
      const at = base + t * out.stride;
      if (p.type === GgmlType.Q8_0) {
        unpackQ8_0Row(p, buf, token, f32, at);
      } else if (isKGroups(p.type)) {
        unpackKGroupsRow(p, buf, token, f32, at);
      } else {
        dequantizeRow(p.type, new Uint8Array(buf), p.ptr + token * p.rowBytes, f32, at, d);
      }
      if (scale !== 1)
        for (let c = 0; c < d; c++) f32[at + c] = Math.fround((f32[at + c] as number) * s);
    }
  }

  /**
   * Lays out the dynamic region (program, activation buffers, step data) for batches of up to
   * `rows` tokens and `sampled` sampled rows, growing the memory when it needs to, and writes
   * the program with the new pointers.
   */
  private lay(
    rows: number,
    sampled: number,
    context: number,
    tableWords: number,
    sequences: number,
  ): Layout {
    const { ops } = this;
    const { buffers } = this.lowered;
    let at = this.kvPtr + 2 * this.lowered.kvLayers * this.kvLayerBytes;
    const program = at;
    const programWords = 1 + ops.reduce((n, op) => n + 3 + op.args.length, 0);
    at = align16(at + programWords * 4);
    const addresses = new Map<string, number>();
    for (const b of buffers) {
      addresses.set(b.name, at);
      at = align16(at + b.rowBytes * (b.rows === 'tokens' ? rows : sampled));
    }
    const step = at;
    at = align16(at + STEP_WORDS * 4);
    const positions = at;
    at = align16(at + rows * 4);
    const slots = at;
    at = align16(at + rows * 4);
    const records = at;
    at = align16(at + sequences * 16);
    const tables = at;
    at = align16(at + tableWords * 4);
    const sampledRows = at;
    at = align16(at + sampled * 4);
    const tokenSeq = at;
    at = align16(at + rows * 4);
    const scores = at;
    at = align16(at + this.threads * context * 8);
    if (at > WASM32_MAX_BYTES) {
      throw new ExecutorError(
        `a batch of ${rows} tokens needs ${at} bytes of CPU executor memory; wasm32 has 4 GiB`,
        'EXECUTOR_BAD_BATCH',
      );
    }
    const grow = Math.ceil((at - this.memory.buffer.byteLength) / 65536);
    if (grow > 0) this.memory.grow(grow);
    const layout: Layout = {
      rows,
      sampled,
      context,
      tableWords,
      sequences,
      program,
      buffers: addresses,
      step,
      positions,
      slots,
      records,
      tables,
      sampledRows,
      tokenSeq,
      scores,
      end: at,
    };
    this.writeProgram(layout);
    return layout;
  }

  private writeProgram(layout: Layout): void {
    const { ops } = this;
    const buf = this.memory.buffer;
    const i32 = new Int32Array(buf);
    const f32 = new Float32Array(buf);
    let w = layout.program >> 2;
    i32[w++] = ops.length;
    const resolve = (a: Arg, at: number): void => {
      if (typeof a === 'number') i32[at] = a;
      else if ('f32' in a) f32[at] = a.f32;
      else if ('buffer' in a) i32[at] = layout.buffers.get(a.buffer)! + a.byteOffset;
      else if ('kv' in a) {
        i32[at] = this.kvPtr + (2 * a.layer + (a.kv === 'k' ? 0 : 1)) * this.kvLayerBytes;
      } else throw new Error('a weight argument left unresolved when the weights were packed');
    };
    for (const op of ops) {
      i32[w] = 3 + op.args.length;
      i32[w + 1] = op.op;
      i32[w + 2] = op.barrier === 'multi-token' ? 2 : op.barrier ? 1 : 0;
      for (let i = 0; i < op.args.length; i++) resolve(op.args[i]!, w + 3 + i);
      w += 3 + op.args.length;
    }
  }

  private moveBlocks(batch: ForwardBatch): void {
    const floats = this.kvCache.blockSize * this.lowered.kvDim;
    const f32 =
      this.kvElementBytes === 2
        ? new Uint16Array(this.memory.buffer)
        : new Float32Array(this.memory.buffer);
    const layer = (l: number, v: 0 | 1) =>
      (this.kvPtr + (2 * l + v) * this.kvLayerBytes) / this.kvElementBytes;
    for (let l = 0; l < this.lowered.kvLayers; l++) {
      for (const [v, host] of [
        [0, this.hostKeys[l]!],
        [1, this.hostValues[l]!],
      ] as const) {
        const base = layer(l, v);
        for (const [dev, h] of batch.swapOut ?? []) {
          host.set(
            f32.subarray(base + dev * floats, base + (dev + 1) * floats) as never,
            h * floats,
          );
        }
        for (const [h, dev] of batch.swapIn ?? []) {
          f32.set(host.subarray(h * floats, (h + 1) * floats) as never, base + dev * floats);
        }
        for (const [src, dst] of batch.copies ?? []) {
          f32.copyWithin(base + dst * floats, base + src * floats, base + (src + 1) * floats);
        }
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.running;
    await this.pool?.dispose();
    this.pool = undefined;
    this.hostKeys = [];
    this.hostValues = [];
  }
}

/**
 * Bytes left after the last packed weight: the matmul kernels touch the weight stream up to
 * 4.7 KiB ahead of the block they compute (assembly/common.ts, `TOUCH_AHEAD`), and a touch past the
 * memory's end would trap.
 */
const WEIGHT_TAIL = 8192;

/** Largest packed weights for which Q4_0/Q5_0/IQ4_NL are widened to int8 (see pack.ts). */
const EXPAND_LIMIT = 2 ** 31;

/** Memory kept for a step's activations beyond the static region, when the executor is made. */
const ACTIVATION_HEADROOM = 64 << 20;

/**
 * The model's graph lowered for `threads` threads, and the static region's size: control,
 * scratch, profile, norm weights and packed weights (`fixedBytes`), and the KV pool's bytes per
 * block (`blockBytes`, K and V of every layer).
 * @throws CpuWasmError `CPU_WASM_UNSUPPORTED` for a weight type without a kernel
 */
function planMemory(
  model: { config: ModelConfig; weights: ModelWeights },
  threads: number,
  blockSizeOption: number | undefined,
  kvCacheDtype: 'f32' | 'f16' = 'f32',
): MemoryPlan {
  // The engine asks `kvCapacity` and then `create` for the same model: lower it once.
  const key = `${threads}:${blockSizeOption}:${kvCacheDtype}`;
  const cached = plans.get(model)?.get(key);
  if (cached) return cached;
  const plan = makePlan(model, threads, blockSizeOption, kvCacheDtype);
  if (!plans.has(model)) plans.set(model, new Map());
  plans.get(model)!.set(key, plan);
  return plan;
}

/** What {@link planMemory} says of a model. */
interface MemoryPlan {
  graph: ModelGraph;
  lowered: LoweredGraph;
  /** Whether Q4_0, Q5_0 and IQ4_NL weights are widened to the Q8_0 layout (see pack.ts). */
  expand: boolean;
  /** The distinct norm weights and biases the ops read, in the order they are laid out. */
  arrays: Float32Array[];
  fixedBytes: number;
  weightBytes: number;
  blockBytes: number;
}

/** Plans made, per model, by threads, block size and K/V type. */
const plans = new WeakMap<object, Map<string, MemoryPlan>>();

function makePlan(
  model: { config: ModelConfig; weights: ModelWeights },
  threads: number,
  blockSizeOption: number | undefined,
  kvCacheDtype: 'f32' | 'f16',
): MemoryPlan {
  const { blockSize } = kvGeometry({ numBlocks: 1, blockSize: blockSizeOption });
  const graph = buildModelGraph(model.config, model.weights);
  const probe = probeKernels();
  let lowered: LoweredGraph;
  try {
    lowered = lowerGraph(graph, {
      threads,
      supports: (type) => supportsType(probe, type),
      actRowBytes: (type, n) => probe.actRowBytes(type, n),
      kvF16: kvCacheDtype === 'f16',
    });
  } catch (error) {
    throw new CpuWasmError((error as Error).message, 'CPU_WASM_UNSUPPORTED', { cause: error });
  }
  if (kvCacheDtype !== 'f32' && (kvCacheDtype !== 'f16' || model.config.headDim % 4 !== 0)) {
    throw new CpuWasmError(
      kvCacheDtype === 'f16'
        ? `an f16 K/V cache needs head sizes a multiple of 4; this model's is ${model.config.headDim}`
        : `kvCacheDtype must be 'f32' or 'f16', not ${String(kvCacheDtype)}`,
      'CPU_WASM_BAD_OPTION',
    );
  }
  let size = align16(probe.heapBase()) + CTL_WORDS * 4 + threads * 16;
  size = align16(size + lowered.ops.length * 16); // the profile
  const arrays = new Set<Float32Array>();
  for (const op of lowered.ops) {
    for (const a of op.args) if (typeof a === 'object' && 'f32s' in a) arrays.add(a.f32s);
  }
  for (const a of arrays) size = align16(size + a.byteLength);
  const weights = new Set([...lowered.weights, lowered.embedding.weight]);
  const total = (expand: boolean) => {
    let bytes = 0;
    for (const w of weights) bytes += align16(packedBytes(w, expand));
    return bytes;
  };
  // Q4_0, Q5_0 and IQ4_NL run on the Q8_0 kernel, widened to int8, where that still leaves most
  // of wasm32's 4 GiB to the KV cache; larger models keep their compact blocks.
  const expand = total(true) <= EXPAND_LIMIT;
  const weightBytes = total(expand) + WEIGHT_TAIL;
  return {
    graph,
    lowered,
    expand,
    arrays: [...arrays],
    fixedBytes: size + weightBytes,
    weightBytes,
    blockBytes: 2 * lowered.kvLayers * blockSize * lowered.kvDim * (kvCacheDtype === 'f16' ? 2 : 4),
  };
}

let probe: KernelExports | undefined;

/** An instance of the kernels on a small memory of its own, for sizes and type support. */
function probeKernels(): KernelExports {
  probe ??= instantiateKernels(kernelMemory(65536, 65536, false));
  return probe;
}

/** Whether the kernels have a matmul for GGML type `type`. */
function supportsType(kernels: KernelExports, type: number): boolean {
  return (
    type === GgmlType.Q8_0 ||
    type === GgmlType.F32 ||
    type === GgmlType.F16 ||
    type === GgmlType.BF16 ||
    kernels.blocksSupport(type) !== 0
  );
}
