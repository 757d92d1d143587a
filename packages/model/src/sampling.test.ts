import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyTokenMask,
  argmax,
  SamplingParamsError,
  sampleLogits,
  seededUniform,
  sortDescending,
  tokenAllowed,
  validateSamplingParams,
} from './sampling.js';

const logits = () => Float32Array.from([1, 3, 2, 0.5, 2.9]);

function histogram(params: Parameters<typeof sampleLogits>[1], draws = 2000): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < draws; i++) {
    const { tokenId } = sampleLogits(
      logits(),
      { ...params, seed: 99 },
      { outputTokenIds: Array(i).fill(0) },
    );
    counts[tokenId]!++;
  }
  return counts;
}

describe('sampleLogits', () => {
  it('takes the argmax at temperature 0, the lowest id among ties', () => {
    expect(sampleLogits(logits(), { temperature: 0 }).tokenId).toBe(1);
    expect(argmax([2, 5, 5, 1])).toBe(1);
  });

  it('draws the same token for the same seed and output position, whatever else happens', () => {
    const a = sampleLogits(logits(), { temperature: 1, seed: 5 }, { outputTokenIds: [1, 2] });
    Math.random();
    const b = sampleLogits(logits(), { temperature: 1, seed: 5 }, { outputTokenIds: [4, 4] });
    expect(b.tokenId).toBe(a.tokenId);
    expect(seededUniform(5, 2)).toBe(seededUniform(5, 2));
    expect(seededUniform(5, 2)).not.toBe(seededUniform(5, 3));
  });

  it('samples in proportion to softmax(logits / temperature)', () => {
    const counts = histogram({ temperature: 1 }, 4000);
    const z = [1, 3, 2, 0.5, 2.9].map(Math.exp);
    const total = z.reduce((a, b) => a + b);
    for (let i = 0; i < 5; i++) expect(counts[i]! / 4000).toBeCloseTo(z[i]! / total, 1);
  });

  it('keeps only the k most likely tokens with top-k, and the nucleus with top-p', () => {
    expect(histogram({ topK: 2 }).filter((c, i) => c > 0 && i !== 1 && i !== 4)).toEqual([]);
    expect(histogram({ topK: 1, temperature: 5 })).toEqual([0, 2000, 0, 0, 0]);
    // p(1) ≈ 0.40 and p(4) ≈ 0.36 together pass 0.7: tokens 2, 0 and 3 are cut.
    expect(histogram({ topP: 0.7 }).filter((c, i) => c > 0 && i !== 1 && i !== 4)).toEqual([]);
  });

  it('drops tokens below min-p times the top probability', () => {
    // p(2)/p(1) = e^-1 ≈ 0.37 survives 0.3; p(0)/p(1) = e^-2 ≈ 0.14 does not.
    const counts = histogram({ minP: 0.3 });
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    expect(counts[2]).toBeGreaterThan(0);
  });

  it('applies repetition, presence and frequency penalties as vLLM does', () => {
    const l = Float32Array.from([2, -2, 1, 1]);
    sampleLogits(
      l,
      { temperature: 0, repetitionPenalty: 2 },
      { promptTokenIds: [0], outputTokenIds: [1] },
    );
    expect([...l]).toEqual([1, -4, 1, 1]);
    const m = Float32Array.from([2, 2, 2, 2]);
    const out = sampleLogits(
      m,
      { temperature: 0, presencePenalty: 0.5, frequencyPenalty: 0.25 },
      { outputTokenIds: [0, 0, 1] },
    );
    expect([...m]).toEqual([1, 1.25, 2, 2]);
    expect(out.tokenId).toBe(2);
  });

  it('adds the logit bias before the penalties, and reports raw log-probabilities', () => {
    // Token 1 is the argmax; -100 bans it, and +3 on token 3 makes it the best.
    const l = logits();
    const out = sampleLogits(l, {
      temperature: 0,
      logprobs: 1,
      logitBias: new Map([
        [1, -100],
        [3, 3],
        [99, 5],
      ]),
    });
    expect(out.tokenId).toBe(3);
    expect([...l]).toEqual([1, -97, 2, 3.5, Math.fround(2.9)]);
    expect(out.logprobs!.top[0]!.tokenId).toBe(1);
    // The repetition penalty divides the biased logit.
    const m = Float32Array.from([2, 2]);
    sampleLogits(
      m,
      { temperature: 0, repetitionPenalty: 2, logitBias: new Map([[0, 2]]) },
      { promptTokenIds: [0] },
    );
    expect([...m]).toEqual([2, 2]);
  });

  it('returns log-probabilities of the unfiltered distribution', () => {
    const { tokenId, logprobs } = sampleLogits(logits(), { temperature: 0, logprobs: 2 });
    const z = [1, 3, 2, 0.5, 2.9].map(Math.exp).reduce((a, b) => a + b);
    expect(tokenId).toBe(1);
    expect(logprobs!.logprob).toBeCloseTo(3 - Math.log(z), 5);
    expect(logprobs!.top.map((t) => t.tokenId)).toEqual([1, 4]);
  });

  it('names the first parameter out of range', () => {
    expect(() => validateSamplingParams({ temperature: -1 })).toThrow(SamplingParamsError);
    expect(() => validateSamplingParams({ topP: 1.5 })).toThrow(
      'sampling.topP must be in (0, 1], got 1.5',
    );
    expect(() => validateSamplingParams({ topK: 2.5 })).toThrow('sampling.topK');
    expect(() => validateSamplingParams({ logprobs: 21 })).toThrow('sampling.logprobs');
    expect(() => validateSamplingParams({ presencePenalty: 3 })).toThrow(
      'sampling.presencePenalty',
    );
    expect(() =>
      validateSamplingParams({ temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, seed: 1 }),
    ).not.toThrow();
    expect(() => validateSamplingParams({ logitBias: new Map([[3, 101]]) })).toThrow(
      'sampling.logitBias[3] must be in [-100, 100], got 101',
    );
    expect(() => validateSamplingParams({ logitBias: new Map([[-1, 1]]) })).toThrow(
      'sampling.logitBias must be keyed by token ids, got -1',
    );
    const many = new Map(Array.from({ length: 301 }, (_, i) => [i, 1] as const));
    expect(() => validateSamplingParams({ logitBias: many })).toThrow('at most 300 entries');
  });
});

describe('allowedTokens (a token mask)', () => {
  const maskOf = (n: number, allowed: Iterable<number>) => {
    const mask = new Int32Array(Math.ceil(n / 32));
    for (const id of allowed) mask[id >> 5]! |= 1 << (id & 31);
    return mask;
  };

  it('never samples outside the mask, whatever the logits, penalties, bias and filters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }).chain((n) =>
          fc.record({
            logits: fc.array(fc.float({ min: -20, max: 20, noNaN: true }), {
              minLength: n,
              maxLength: n,
            }),
            allowed: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1 }),
            temperature: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 3, noNaN: true })),
            topK: fc.integer({ min: -1, max: 10 }),
            topP: fc.double({ min: 0.01, max: 1, noNaN: true }),
            minP: fc.double({ min: 0, max: 1, noNaN: true }),
            repetitionPenalty: fc.double({ min: 0.5, max: 2, noNaN: true }),
            presencePenalty: fc.double({ min: -2, max: 2, noNaN: true }),
            bias: fc.integer({ min: 0, max: n - 1 }),
            seed: fc.integer({ min: 0, max: 1000 }),
          }),
        ),
        (c) => {
          const n = c.logits.length;
          const allowedTokens = maskOf(n, c.allowed);
          const { tokenId } = sampleLogits(
            Float32Array.from(c.logits),
            {
              temperature: c.temperature,
              topK: c.topK,
              topP: c.topP,
              minP: c.minP,
              repetitionPenalty: c.repetitionPenalty,
              presencePenalty: c.presencePenalty,
              // The largest bias on a token the mask may forbid.
              logitBias: new Map([[c.bias, 100]]),
              seed: c.seed,
              allowedTokens,
            },
            { promptTokenIds: [0, 1, 2], outputTokenIds: [c.bias] },
          );
          expect(c.allowed).toContain(tokenId);
          expect(tokenAllowed(allowedTokens, tokenId)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('picks the best allowed token greedily, and reports raw log-probabilities', () => {
    const mask = maskOf(5, [2, 3]);
    const { tokenId, logprobs } = sampleLogits(logits(), {
      temperature: 0,
      allowedTokens: mask,
      logprobs: 1,
    });
    expect(tokenId).toBe(2);
    // Token 1 (logit 3) is the most likely of the raw logits, masked or not.
    expect(logprobs?.top[0]?.tokenId).toBe(1);
  });

  it('masks exactly the clear bits, for words all set, all clear and mixed, and a partial last word', () => {
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    for (const n of [1, 31, 32, 33, 100, 1000, 4097]) {
      for (let trial = 0; trial < 20; trial++) {
        const mask = new Int32Array(Math.ceil(n / 32));
        for (let w = 0; w < mask.length; w++) {
          const kind = random() % 4;
          mask[w] = kind === 0 ? 0 : kind === 1 ? -1 : random() | 0;
        }
        const x = Float32Array.from({ length: n }, (_, i) => i);
        applyTokenMask(x, mask);
        for (let i = 0; i < n; i++) {
          const allowed = ((mask[i >> 5]! >>> (i & 31)) & 1) === 1;
          expect(x[i], `n ${n}, token ${i}`).toBe(allowed ? i : Number.NEGATIVE_INFINITY);
        }
      }
    }
  });

  it('sorts ids by descending value, ties by id, as the comparator does (±0, infinities, ties)', () => {
    let state = 99;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const specials = [0, -0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 1.5, -1.5];
    for (const n of [1, 2, 17, 500, 3000]) {
      for (let trial = 0; trial < 10; trial++) {
        const values = Float32Array.from({ length: n }, () =>
          random() < 0.3
            ? (specials[Math.floor(random() * specials.length)] as number)
            : Math.round((random() - 0.5) * 40) / 4,
        );
        const ids = Int32Array.from({ length: n }, (_, i) => i);
        const expected = [...ids].sort(
          (a, b) => (values[b] as number) - (values[a] as number) || a - b,
        );
        // The comparator leaves equal infinities to the id order, as NaN || a - b does.
        expect([...sortDescending(values, ids)], `n ${n}`).toEqual(expected);
      }
    }
  });

  it('masks tokens past the words given, and keeps words of all ones as they are', () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => i);
    applyTokenMask(x, Uint32Array.from([0xffffffff]));
    expect(x.slice(0, 32)).toEqual(Float32Array.from({ length: 32 }, (_, i) => i));
    expect([...x.slice(32)].every((v) => v === Number.NEGATIVE_INFINITY)).toBe(true);
  });
});
