import { WORKER_LOOP, type WorkerFactory, type WorkerHandle } from './threads.js';

// A worker's whole program: instantiate the kernels on the shared memory and enter the loop,
// which returns when the host sends exit.
const SOURCE = `${WORKER_LOOP}
self.onmessage = (event) => {
  const { module, memory, ctl, tid, range } = event.data;
  const { exports } = new WebAssembly.Instance(module, { env: { memory, now: () => performance.now() } });
  self.postMessage('ready');
  workerLoop(exports, memory, ctl, tid, range);
  self.postMessage('exited');
};
`;

let url: string | undefined;

/** Workers as Web Workers, from a script made in memory (no file to serve beside the bundle). */
export const browserWorkers: WorkerFactory = (init): WorkerHandle => {
  url ??= URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const ready = new Promise<void>((resolve) => {
    worker.addEventListener('message', (e) => {
      if (e.data === 'ready') resolve();
    });
  });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) =>
      reject(new Error(`CPU worker ${init.tid} failed: ${e.message}`)),
    );
  });
  failed.catch(() => {});
  worker.postMessage(init);
  return {
    ready,
    failed,
    keepAlive() {},
    async terminate() {
      worker.terminate();
    },
  };
};
