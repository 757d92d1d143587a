import { Worker } from 'node:worker_threads';
import { WORKER_LOOP, type WorkerFactory, type WorkerHandle } from './threads.js';

// A worker's whole program: instantiate the kernels on the shared memory and enter the loop,
// which returns when the host sends exit. Evaluated as CommonJS by worker_threads.
const SOURCE = `${WORKER_LOOP}
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, ctl, tid, range } = workerData;
const { exports } = new WebAssembly.Instance(module, { env: { memory, now: () => performance.now() } });
parentPort.postMessage('ready');
workerLoop(exports, memory, ctl, tid, range);
`;

/** Workers as Node's worker_threads. */
export const nodeWorkers: WorkerFactory = (init): WorkerHandle => {
  const worker = new Worker(SOURCE, { eval: true, workerData: init });
  worker.unref();
  let exited = false;
  const ready = new Promise<void>((resolve) => {
    worker.once('message', () => resolve());
  });
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', (error) =>
      reject(new Error(`CPU worker ${init.tid} failed: ${error.message}`)),
    );
    worker.once('exit', (code) => {
      exited = true;
      reject(new Error(`CPU worker ${init.tid} exited (code ${code})`));
    });
  });
  failed.catch(() => {});
  return {
    ready,
    failed,
    keepAlive(on) {
      if (on) worker.ref();
      else worker.unref();
    },
    async terminate() {
      if (!exited) await worker.terminate();
    },
  };
};
