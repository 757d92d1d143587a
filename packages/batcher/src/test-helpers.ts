import { vi } from 'vitest';
import type { BatchContext } from './options.js';

/** One call of a {@link controlledFn}: what it got, and the handles to finish it. */
export interface Call<Rec, Res> {
  records: Rec[];
  context: BatchContext;
  resolve(results: readonly Res[]): void;
  reject(error: unknown): void;
}

/**
 * A process function whose batches finish only when the test says so, recording every call and
 * the most batches running at once.
 */
export function controlledFn<Rec, Res = Rec>() {
  const calls: Call<Rec, Res>[] = [];
  let running = 0;
  let maxRunning = 0;
  const fn = vi.fn((records: Rec[], context: BatchContext) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<readonly Res[]>((resolve, reject) => {
      calls.push({
        records,
        context,
        resolve: (results) => {
          running--;
          resolve(results);
        },
        reject: (error) => {
          running--;
          reject(error);
        },
      });
    });
  });
  return {
    fn,
    calls,
    get maxRunning() {
      return maxRunning;
    },
    /** Finishes call `i` with its records as results. */
    echo(i: number): void {
      const call = calls[i]!;
      call.resolve(call.records as unknown as Res[]);
    },
  };
}

/** Lets pending promise callbacks run (fake timers stay where they are). */
export async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** Records the outcome of a promise without leaving an unhandled rejection behind. */
export function outcome<T>(promise: Promise<T>) {
  const seen: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = {
    status: 'pending',
  };
  promise.then(
    (value) => {
      seen.status = 'fulfilled';
      seen.value = value;
    },
    (reason: unknown) => {
      seen.status = 'rejected';
      seen.reason = reason;
    },
  );
  return seen;
}
