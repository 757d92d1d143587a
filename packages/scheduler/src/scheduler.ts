import { DEFAULT_BLOCK_SIZE } from '@x/budget';
import { BlockManager } from '@x/kvcache';
import { SchedulerError } from './errors.js';
import { resolveSchedulerConfig, type SchedulerConfig } from './scheduler-config.js';
import type {
  FinishedSequence,
  PreemptionMode,
  Rejection,
  SchedulerOptions,
  SchedulerOutput,
  SchedulerRequest,
  SchedulerStats,
} from './scheduler-types.js';

interface Seq {
  id: number;
  tokens: number[];
  promptLength: number;
  maxTokens: number;
  priority: number;
  arrival: number;
  stop: ReadonlySet<number>;
  /** Tokens whose K/V is computed. */
  numComputed: number;
  /** Forks waiting for the prompt to be computed up to its last token (see `SchedulerRequest.forks`). */
  forks: number[] | undefined;
}

/** Longest a sequence may grow: `maxModelLen`, and never more than the whole pool holds. */
function maxSequenceTokens(config: SchedulerConfig, kv: BlockManager): number {
  return Math.min(config.maxModelLen, kv.device.numBlocks * kv.blockSize);
}

export type {
  FinishedSequence,
  PreemptionMode,
  Rejection,
  ScheduledSequence,
  SchedulerOptions,
  SchedulerOutput,
  SchedulerRequest,
  SchedulerStats,
} from './scheduler-types.js';

/**
 * Continuous batching over a paged KV cache, after vLLM: every step, running sequences decode
 * (or continue a chunked prefill), swapped ones come back, and waiting ones are admitted, within
 * the token, batch and sequence budgets. When blocks run out, the lowest-priority, latest
 * sequence is preempted (recompute by default, or swap) and resumed later with every generated
 * token kept.
 */
export class Scheduler {
  readonly config: SchedulerConfig;
  private readonly kv: BlockManager;
  private readonly mode: PreemptionMode;
  private waiting: Seq[] = [];
  private running: Seq[] = [];
  private swapped: Seq[] = [];
  private readonly byId = new Map<number, Seq>();
  private arrivals = 0;
  private rejections: Rejection[] = [];
  /** One step's slots and token ids, before they are copied into the step's output. */
  private readonly slotScratch: Int32Array;
  private readonly tokenScratch: Int32Array;

  constructor(options: SchedulerOptions) {
    const {
      numBlocks,
      blockSize,
      numHostBlocks,
      enablePrefixCaching,
      preemptionMode,
      watermark,
      ...budgets
    } = options;
    this.config = resolveSchedulerConfig(budgets);
    this.kv = new BlockManager({
      numBlocks,
      blockSize: blockSize ?? DEFAULT_BLOCK_SIZE,
      numHostBlocks: numHostBlocks ?? 0,
      enablePrefixCaching: enablePrefixCaching ?? true,
      watermark,
    });
    this.mode = preemptionMode ?? 'recompute';
    this.slotScratch = new Int32Array(this.config.maxTotalTokens);
    this.tokenScratch = new Int32Array(this.config.maxTotalTokens);
  }

  /** The KV cache now: blocks in the pool and free, the share in use, and prefix-cache hits. */
  stats(): SchedulerStats {
    const { queriedTokens, hitTokens } = this.kv.prefixCacheStats;
    return {
      numBlocks: this.kv.device.numBlocks,
      numFreeBlocks: this.kv.numFreeBlocks,
      blockSize: this.kv.blockSize,
      kvUsage: this.kv.usage,
      prefixCacheQueriedTokens: queriedTokens,
      prefixCacheHitTokens: hitTokens,
    };
  }

  /**
   * The block manager, for tests that check its invariants against the scheduler's view.
   * @internal
   */
  inspectBlocks(): BlockManager {
    return this.kv;
  }

  get numWaiting(): number {
    return this.waiting.length;
  }
  get numRunning(): number {
    return this.running.length;
  }
  get numSwapped(): number {
    return this.swapped.length;
  }

  /** Whether any request is waiting, running or swapped. */
  hasPendingWork(): boolean {
    return this.byId.size > 0;
  }

  /**
   * Queues a request, or rejects it with a reason when it can never run: a prompt longer than
   * `maxModelLen`, or one that cannot fit the whole KV pool.
   */
  addRequest(request: SchedulerRequest): Rejection | undefined {
    const rejection = this.admissionCheck(request);
    if (rejection) {
      this.rejections.push(rejection);
      return rejection;
    }
    const { id, promptTokens } = request;
    const seq: Seq = {
      id,
      tokens: [...promptTokens],
      promptLength: promptTokens.length,
      maxTokens: request.maxTokens,
      priority: request.priority ?? 0,
      arrival: this.arrivals++,
      stop: new Set(request.stopTokenIds ?? []),
      numComputed: 0,
      forks: undefined,
    };
    this.byId.set(id, seq);
    this.waiting.push(seq);
    const forks = request.forks ?? [];
    if (forks.length > 0) {
      // A one-token prompt has nothing to share: its forks are requests of their own.
      if (promptTokens.length > 1) seq.forks = [...forks];
      else for (const fork of forks) this.queueCopy(seq, fork);
    }
    if (this.config.policy === 'priority') this.waiting.sort(byPriority);
    return undefined;
  }

  private admissionCheck({
    id,
    promptTokens,
    forks = [],
  }: SchedulerRequest): Rejection | undefined {
    if (this.byId.has(id) || this.isPendingFork(id)) {
      return { id, reason: `request ${id} is already queued` };
    }
    const ids = new Set([id]);
    for (const fork of forks) {
      if (ids.has(fork) || this.byId.has(fork) || this.isPendingFork(fork)) {
        return { id, reason: `fork ${fork} of request ${id} is already queued` };
      }
      ids.add(fork);
    }
    if (promptTokens.length === 0) return { id, reason: 'the prompt is empty' };
    if (promptTokens.length >= this.config.maxModelLen) {
      return {
        id,
        reason: `the prompt has ${promptTokens.length} tokens; maxModelLen ${this.config.maxModelLen} leaves no room to generate`,
      };
    }
    const blocksNeeded = Math.ceil((promptTokens.length + 1) / this.kv.blockSize);
    if (blocksNeeded > this.kv.device.numBlocks) {
      return {
        id,
        reason: `the prompt needs ${blocksNeeded} KV blocks; the pool has ${this.kv.device.numBlocks}`,
      };
    }
    return undefined;
  }

  /** Removes a request in any state (a fork not yet made included) and frees its blocks; false when it is unknown. */
  abort(id: number): boolean {
    const seq = this.byId.get(id);
    if (!seq) {
      for (const parent of this.byId.values()) {
        const i = parent.forks?.indexOf(id) ?? -1;
        if (i >= 0) {
          parent.forks!.splice(i, 1);
          return true;
        }
      }
      return false;
    }
    this.byId.delete(id);
    for (const queue of [this.waiting, this.running, this.swapped]) {
      const i = queue.indexOf(seq);
      if (i >= 0) queue.splice(i, 1);
    }
    if (this.kv.has(id)) this.kv.free(id);
    // Its forks not yet made are choices of their own: the first takes its place.
    const [next, ...rest] = seq.forks ?? [];
    if (next !== undefined) this.queueCopy(seq, next).forks = rest.length > 0 ? rest : undefined;
    return true;
  }

  /** Plans one step. */
  schedule(): SchedulerOutput {
    const out: SchedulerOutput = {
      scheduled: [],
      numBatchedTokens: 0,
      tokenIds: EMPTY,
      slotMapping: EMPTY,
      copies: [],
      swapIn: [],
      swapOut: [],
      preempted: [],
      rejected: this.rejections,
    };
    this.rejections = [];
    let tokenBudget = this.config.maxTotalTokens;
    if (this.config.policy === 'priority') this.running.sort(byPriority);

    // 1. Running sequences: decodes and unfinished prefill chunks, oldest / highest priority first.
    const kept: Seq[] = [];
    const queue = this.running;
    // Walk the queue by index; preemption victims come off the back (`end`).
    let end = queue.length;
    for (let i = 0; i < end; i++) {
      const seq = queue[i]!;
      if (out.scheduled.length >= this.config.maxBatchSize || tokenBudget === 0) {
        kept.push(seq);
        continue;
      }
      // A decode needs a slot for its last sampled token; make room by preempting from the back.
      let preemptedSelf = false;
      while (!this.ensureSlots(seq, out)) {
        const victim = end - 1 > i ? queue[--end]! : seq;
        this.preempt(victim, out);
        if (victim === seq) {
          preemptedSelf = true;
          break;
        }
      }
      if (preemptedSelf) continue;
      tokenBudget -= this.plan(seq, tokenBudget, out);
      kept.push(seq);
    }
    this.running = kept;

    // 2 and 3 only when nothing was preempted: blocks are short.
    if (out.preempted.length === 0) {
      while (this.swapped.length > 0 && this.canTakeMore(out, tokenBudget)) {
        const seq = this.swapped[0]!;
        // Its blocks, plus any block the token sampled just before the swap-out still needs.
        const held = this.kv.blockTable(seq.id).length;
        const needed = Math.max(held, Math.ceil(seq.tokens.length / this.kv.blockSize));
        if (this.kv.numFreeBlocks < needed) break;
        this.swapped.shift();
        out.swapIn.push(...this.kv.swapIn(seq.id));
        this.ensureSlots(seq, out);
        tokenBudget -= this.plan(seq, tokenBudget, out);
        this.running.push(seq);
      }
      while (
        this.waiting.length > 0 &&
        this.canTakeMore(out, tokenBudget) &&
        this.running.length + this.swapped.length < this.config.maxNumSeqs &&
        this.kv.usage <= this.config.memoryThreshold
      ) {
        const seq = this.waiting[0]!;
        // With nothing running, the watermark protects nobody: admit whatever fits, so a
        // sequence as large as the pool still runs.
        const fits =
          this.running.length === 0
            ? Math.ceil(seq.tokens.length / this.kv.blockSize) <= this.kv.numFreeBlocks
            : this.kv.canAllocate(seq.tokens) === 'ok';
        if (!fits) break;
        this.waiting.shift();
        seq.numComputed = this.kv.allocate(seq.id, seq.tokens).numCachedTokens;
        if (seq.forks && seq.numComputed >= seq.promptLength - 1) {
          // The prefix cache already holds all but the last prompt token: fork now; all of them
          // compute that token from the next step on.
          seq.numComputed = seq.promptLength - 1;
          this.running.push(seq);
          this.spawnForks(seq);
          continue;
        }
        tokenBudget -= this.plan(seq, tokenBudget, out);
        this.running.push(seq);
      }
    }
    out.slotMapping = this.slotScratch.slice(0, out.numBatchedTokens);
    out.tokenIds = this.tokenScratch.slice(0, out.numBatchedTokens);
    return out;
  }

  /**
   * Applies a step's results: advances computed tokens, appends each sampled token, and finishes
   * sequences that hit a stop token, `maxTokens` or `maxModelLen`.
   * @param sampled the token sampled for each scheduled sequence whose `sample` was set
   * @throws SchedulerError `SCHEDULER_MISSING_TOKEN` when a sequence that was to be sampled has
   *   no token (checked before anything changes)
   */
  update(output: SchedulerOutput, sampled: ReadonlyMap<number, number>): FinishedSequence[] {
    for (const item of output.scheduled) {
      if (item.sample && !sampled.has(item.seqId) && this.byId.has(item.seqId)) {
        throw new SchedulerError(
          `update: no sampled token for sequence ${item.seqId}`,
          'SCHEDULER_MISSING_TOKEN',
        );
      }
    }
    const finished: FinishedSequence[] = [];
    const maxTokens = maxSequenceTokens(this.config, this.kv);
    for (const item of output.scheduled) {
      const seq = this.byId.get(item.seqId);
      if (!seq || !this.kv.has(seq.id) || this.kv.isSwappedOut(seq.id)) continue; // aborted meanwhile
      seq.numComputed = item.start + item.numTokens;
      this.kv.commitComputed(seq.id, seq.numComputed);
      if (seq.forks && seq.numComputed === seq.promptLength - 1) this.spawnForks(seq);
      if (!item.sample) continue;
      const token = sampled.get(seq.id)!;
      seq.tokens.push(token);
      const generated = seq.tokens.length - seq.promptLength;
      const reason = seq.stop.has(token)
        ? 'stop'
        : generated >= seq.maxTokens || seq.tokens.length >= maxTokens
          ? 'length'
          : undefined;
      if (reason) {
        finished.push({
          id: seq.id,
          outputTokens: seq.tokens.slice(seq.promptLength),
          finishReason: reason,
        });
        this.byId.delete(seq.id);
        this.kv.free(seq.id);
      }
    }
    // Finished sequences were running: drop them in one pass rather than one search each.
    if (finished.length > 0) this.running = this.running.filter((s) => this.byId.has(s.id));
    return finished;
  }

  /**
   * Forks a running sequence (parallel sampling, beams): the child shares every K/V block of the
   * parent (copy-on-write) and then runs on its own. For `n` samples of one prompt, sample `n`
   * tokens from the prefill's logits, give the first to the parent through `update`, then fork a
   * child for each other one: `firstToken` replaces the parent's last, not yet computed, token.
   * @throws SchedulerError `SCHEDULER_UNKNOWN_SEQUENCE`, `SCHEDULER_DUPLICATE_SEQUENCE`,
   *   `SCHEDULER_NOT_RUNNING` (waiting or swapped out), `SCHEDULER_BAD_FORK` (a `firstToken` while
   *   the parent has no sampled token pending), `SCHEDULER_TOO_MANY_SEQUENCES` (`maxNumSeqs`)
   */
  fork(parentId: number, childId: number, firstToken?: number): void {
    const parent = this.byId.get(parentId);
    if (!parent)
      throw new SchedulerError(`fork: unknown sequence ${parentId}`, 'SCHEDULER_UNKNOWN_SEQUENCE');
    if (this.byId.has(childId)) {
      throw new SchedulerError(
        `fork: sequence ${childId} already exists`,
        'SCHEDULER_DUPLICATE_SEQUENCE',
      );
    }
    const index = this.running.indexOf(parent);
    if (index < 0 || !this.kv.has(parentId) || this.kv.isSwappedOut(parentId)) {
      throw new SchedulerError(
        `fork: sequence ${parentId} is not running`,
        'SCHEDULER_NOT_RUNNING',
      );
    }
    if (this.running.length + this.swapped.length >= this.config.maxNumSeqs) {
      throw new SchedulerError(
        `fork: maxNumSeqs ${this.config.maxNumSeqs} sequences are alive`,
        'SCHEDULER_TOO_MANY_SEQUENCES',
      );
    }
    const tokens = [...parent.tokens];
    if (firstToken !== undefined) {
      const pending =
        tokens.length > parent.promptLength &&
        parent.numComputed === tokens.length - 1 &&
        this.kv.numTokens(parentId) === parent.numComputed;
      if (!pending) {
        throw new SchedulerError(
          `fork: sequence ${parentId} has no sampled token pending to replace with ${firstToken}`,
          'SCHEDULER_BAD_FORK',
        );
      }
      tokens[tokens.length - 1] = firstToken;
    }
    this.kv.fork(parentId, childId);
    const child: Seq = { ...parent, id: childId, tokens, forks: undefined };
    this.byId.set(childId, child);
    // After the parent and its earlier forks (siblings share the parent's arrival).
    let at = index + 1;
    while (this.running[at]?.arrival === parent.arrival) at++;
    this.running.splice(at, 0, child);
  }

  /** Tokens a sequence has generated so far. */
  outputTokens(id: number): number[] | undefined {
    const seq = this.byId.get(id);
    if (!seq) return this.isPendingFork(id) ? [] : undefined;
    return seq.tokens.slice(seq.promptLength);
  }

  /** Gives a sequence slots for all its tokens; false when the pool has no room. */
  private ensureSlots(seq: Seq, out: SchedulerOutput): boolean {
    const missing = seq.tokens.length - this.kv.numTokens(seq.id);
    if (missing <= 0) return true;
    if (!this.kv.canAppendSlots(seq.id, missing)) return false;
    const copies = this.kv.reserveSlots(
      seq.id,
      missing === 1 ? [seq.tokens.at(-1)!] : seq.tokens.slice(-missing),
    );
    if (copies.length > 0) out.copies.push(...copies);
    return true;
  }

  private canTakeMore(out: SchedulerOutput, tokenBudget: number): boolean {
    return tokenBudget > 0 && out.scheduled.length < this.config.maxBatchSize;
  }

  /** Schedules as many of a sequence's uncomputed tokens as the budget allows; returns how many. */
  private plan(seq: Seq, tokenBudget: number, out: SchedulerOutput): number {
    // A prompt with forks to make stops short of its last token, which each fork computes.
    const end = seq.forks ? seq.promptLength - 1 : seq.tokens.length;
    const remaining = end - seq.numComputed;
    const n = Math.min(remaining, tokenBudget);
    if (n <= 0) return 0;
    const start = seq.numComputed;
    // Slots and ids go to scratch buffers first; schedule() copies them out once per step.
    const offset = out.numBatchedTokens;
    this.kv.writeSlots(seq.id, start, start + n, this.slotScratch, offset);
    for (let i = 0; i < n; i++) this.tokenScratch[offset + i] = seq.tokens[start + i]!;
    out.scheduled.push({
      seqId: seq.id,
      start,
      numTokens: n,
      offset,
      blockTable: this.kv.blockTable(seq.id),
      sample: start + n === seq.tokens.length,
    });
    out.numBatchedTokens += n;
    return n;
  }

  /** Whether `id` is a fork some request has yet to make. */
  private isPendingFork(id: number): boolean {
    for (const seq of this.byId.values()) if (seq.forks?.includes(id)) return true;
    return false;
  }

  /**
   * Makes a request's pending forks, its prompt computed up to the last token: each shares its
   * blocks (copy-on-write) and runs after it. Forks past `maxNumSeqs` become requests of their
   * own, prefilled again later (from the prefix cache where it holds the prompt).
   */
  private spawnForks(seq: Seq): void {
    const forks = seq.forks ?? [];
    seq.forks = undefined;
    for (const id of forks) {
      if (this.running.length + this.swapped.length < this.config.maxNumSeqs) {
        this.fork(seq.id, id);
      } else {
        this.queueCopy(seq, id);
      }
    }
  }

  /** Queues request `id` with `seq`'s prompt and limits, as a request of its own. */
  private queueCopy(seq: Seq, id: number): Seq {
    const copy: Seq = {
      ...seq,
      id,
      tokens: seq.tokens.slice(0, seq.promptLength),
      arrival: this.arrivals++,
      numComputed: 0,
      forks: undefined,
    };
    this.byId.set(id, copy);
    this.waiting.push(copy);
    if (this.config.policy === 'priority') this.waiting.sort(byPriority);
    return copy;
  }

  private preempt(seq: Seq, out: SchedulerOutput): void {
    out.preempted.push(seq.id);
    if (this.mode === 'swap' && this.kv.canSwapOut(seq.id)) {
      out.swapOut.push(...this.kv.swapOut(seq.id));
      this.swapped.push(seq);
      return;
    }
    // Recompute: forget the K/V; prompt and generated tokens are prefilled again later.
    this.kv.free(seq.id);
    seq.numComputed = 0;
    this.waiting.unshift(seq);
  }
}

const EMPTY = new Int32Array(0);

function byPriority(a: Seq, b: Seq): number {
  return a.priority - b.priority || a.arrival - b.arrival;
}
