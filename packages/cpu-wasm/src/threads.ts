// The worker threads that run the interpreter beside each other on one shared memory. The host
// (the thread that owns the executor) never blocks: it bumps the control block's epoch, wakes the
// workers, and awaits the finished epoch with Atomics.waitAsync.

/** What a worker gets to start: the compiled kernels, the memory, its thread id and scratch. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The control block's address. */
  ctl: number;
  tid: number;
  /** 16 bytes of this thread's own scratch. */
  range: number;
}

/** One worker, as the platform makes it (worker_threads in Node, Web Workers in browsers). */
export interface WorkerHandle {
  /** Resolves once the worker has instantiated the kernels and entered its loop. */
  ready: Promise<void>;
  /** Rejects when the worker fails (a trap in a kernel, an uncaught error, an exit). */
  failed: Promise<never>;
  /** Whether the worker keeps the process alive (Node): only while a step runs. */
  keepAlive(on: boolean): void;
  terminate(): Promise<void>;
}

/** Makes workers: the platform part of the executor. */
export type WorkerFactory = (init: WorkerInit) => WorkerHandle;

/**
 * The loop every worker runs, as source both platforms' worker scripts embed: sleep until the
 * host bumps the epoch, run the step as thread `tid`, and the last thread to finish publishes the
 * epoch as finished. The loop is JavaScript, not WebAssembly, so the kernels are entered once a
 * step: V8 tiers a wasm function up from its baseline compiler only between calls.
 */
export const WORKER_LOOP = `
function workerLoop(exports, memory, ctl, tid, range) {
  const i32 = new Int32Array(memory.buffer, ctl, 16);
  let seen = 0;
  for (;;) {
    Atomics.wait(i32, 0, seen);
    seen = Atomics.load(i32, 0);
    if (Atomics.load(i32, 1) === 2) return;
    exports.run(ctl, tid, range);
    if (Atomics.add(i32, 2, 1) === Atomics.load(i32, 6) - 1) {
      Atomics.store(i32, 2, 0);
      Atomics.store(i32, 3, seen);
      Atomics.notify(i32, 3);
    }
  }
}
`;

// Control block words (assembly/program.ts).
const EPOCH = 0;
const COMMAND = 1;
const FINISHED = 3;
const RUN = 1;
const EXIT = 2;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** Starts `threads` workers over `memory` and runs steps on them. */
export class ThreadPool {
  private readonly workers: WorkerHandle[] = [];
  private failure: Promise<never> | undefined;
  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly ctl: number,
  ) {}

  /** Spawns the workers and waits until each is in its loop. */
  static async start(
    factory: WorkerFactory,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    ctl: number,
    threads: number,
    ranges: number,
  ): Promise<ThreadPool> {
    const pool = new ThreadPool(memory, ctl);
    for (let tid = 0; tid < threads; tid++) {
      pool.workers.push(factory({ module, memory, ctl, tid, range: ranges + tid * 16 }));
    }
    pool.failure = Promise.race(pool.workers.map((w) => w.failed));
    // A failure before the first step is reported by start; later ones by run.
    pool.failure.catch(() => {});
    try {
      await Promise.race([Promise.all(pool.workers.map((w) => w.ready)), pool.failure]);
    } catch (error) {
      await pool.dispose();
      throw error;
    }
    return pool;
  }

  /** Runs the step the control block points at on every worker; resolves when all are done. */
  async run(): Promise<void> {
    const i32 = new Int32Array(this.memory.buffer, this.ctl, 16);
    Atomics.store(i32, COMMAND, RUN);
    const epoch = Atomics.add(i32, EPOCH, 1) + 1;
    Atomics.notify(i32, EPOCH);
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    for (const w of this.workers) w.keepAlive(true);
    try {
      for (;;) {
        const finished = Atomics.load(i32, FINISHED);
        if (finished === epoch) return;
        const wait = waitAsync(i32, FINISHED, finished);
        if (wait.async) await Promise.race([wait.value, this.failure!]);
      }
    } finally {
      for (const w of this.workers) w.keepAlive(false);
    }
  }

  /** Asks the workers to leave their loops and terminates them. */
  async dispose(): Promise<void> {
    const i32 = new Int32Array(this.memory.buffer, this.ctl, 16);
    Atomics.store(i32, COMMAND, EXIT);
    Atomics.add(i32, EPOCH, 1);
    Atomics.notify(i32, EPOCH);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
