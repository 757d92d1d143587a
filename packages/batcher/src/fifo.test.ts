import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('returns items in insertion order across compactions', () => {
    const fifo = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Push three, take two, many times over: the dead prefix grows past the compaction point.
    for (let round = 0; round < 5000; round++) {
      fifo.push(next++);
      fifo.push(next++);
      fifo.push(next++);
      out.push(fifo.shift()!, fifo.shift()!);
    }
    expect(fifo.length).toBe(5000);
    while (fifo.length > 0) out.push(fifo.shift()!);
    expect(out).toEqual(Array.from({ length: 15_000 }, (_, i) => i));
  });

  it('peeks without removing and reports empty as undefined', () => {
    const fifo = new Fifo<string>();
    expect(fifo.peek()).toBeUndefined();
    expect(fifo.shift()).toBeUndefined();
    fifo.push('a');
    expect(fifo.peek()).toBe('a');
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBe('a');
    expect(fifo.length).toBe(0);
  });
});
