// The step interpreter: every thread runs the same op list over its share of each op, with a
// barrier where an op reads what another thread's share of an earlier op wrote (the lowering in
// src/lower.ts decides where). Threads meet through a control block of i32 words:
//
//   0 epoch (bumped by the host to start a step)   1 command (1 run, 2 exit)
//   2 threads done with the step                    3 epoch of the last finished step
//   4 barrier arrivals                              5 barrier generation
//   6 threads                                       7 program pointer
//   8 step pointer                                  9 barrier spin count
//  10 profile pointer (0: off): the profiled thread adds each op's milliseconds, and the
//     barrier wait before it, to two f64 per op
//  11 the profiled thread
//
// A program is `[opCount, op...]`, each op `[words, opcode, barrierBefore, args...]`; a
// `barrierBefore` of 2 is kept only in steps where some sequence computes several tokens (where
// attention reads K/V other threads just stored). The step header (i32 words): 0 T, 1 S,
// 2 sequences, 3 positions*, 4 slots*, 5 sequence records*, 6 sampled rows*, 7 block size,
// 8 scores*, 9 score bytes per thread, 10 each token's sequence record index*, 11 whether some
// sequence computes several tokens.
//
// Elementwise ops split rows (mode 0), columns in whole units (mode 1) or items (mode 2: token
// t and KV head h for item t · kvHeads + h, what RoPE, the K/V store and attention split; thread
// `tid` takes every `threads`-th item from `tid`, so a prefill's long and short causal rows mix).

import { prepareRange } from './act';
import { shareStart } from './common';
import { matmulFloat, W_BF16, W_F16, W_F32 } from './matmul-float';
import { matmulBlocks } from './matmul-blocks';
import { matmulQ8_0 } from './matmul-q8';
import { matmulQ5_K, matmulQ6_K } from './matmul-kgroups';
import { add, attention, glu, kvStore, rmsNorm, rope, softcapRows } from './ops';

/** The host's clock in milliseconds (`performance.now`), for profiles. */
@external('env', 'now')
declare function now(): f64;

const OP_NORM: i32 = 1;
const OP_QUANT: i32 = 2;
const OP_MATMUL: i32 = 3;
const OP_ROPE: i32 = 4;
const OP_KV_STORE: i32 = 5;
const OP_ATTN: i32 = 6;
const OP_ADD: i32 = 7;
const OP_GLU: i32 = 8;
const OP_ROWS: i32 = 9;
const OP_SOFTCAP: i32 = 10;

const W_Q8_0: i32 = 8;
/** Q6_K widened to int8 in four-row groups (src/pack.ts `Q6_K_GROUPS`). */
const W_Q6_K_GROUPS: i32 = 0x100 + 14;
/** Q5_K widened to int8 in four-row groups (src/pack.ts `Q5_K_GROUPS`). */
const W_Q5_K_GROUPS: i32 = 0x100 + 13;

@inline
function word(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

@inline
function ptr(p: usize, i: i32): usize {
  return <usize>load<u32>(p + (<usize>i << 2));
}

@inline
function f32At(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/** Waits until all `threads` threads have arrived: a short spin, then a futex wait. */
export function barrier(ctl: usize, threads: i32): void {
  if (threads <= 1) return;
  const gen = atomic.load<i32>(ctl + 20);
  if (atomic.add<i32>(ctl + 16, 1) == threads - 1) {
    atomic.store<i32>(ctl + 16, 0);
    atomic.store<i32>(ctl + 20, gen + 1);
    atomic.notify(ctl + 20, threads);
    return;
  }
  const spins = atomic.load<i32>(ctl + 36);
  for (let i = 0; i < spins; i++) {
    if (atomic.load<i32>(ctl + 20) != gen) return;
  }
  while (atomic.load<i32>(ctl + 20) == gen) memory.atomic.wait32(ctl + 20, gen, -1);
}

/** Rows of a row kind (0: the step's tokens, 1: its sampled rows). */
@inline
function rowsOf(step: usize, kind: i32): i32 {
  return word(step, kind == 0 ? 0 : 1);
}

/**
 * This thread's share of an elementwise op: `mode` 0 splits rows, 1 splits columns in units of
 * `unit` columns. Returns rows `[r0, r1)` and columns `[c0, c1)` packed as four i32 in `range`.
 */
function share(
  mode: i32,
  unit: i32,
  rows: i32,
  width: i32,
  tid: i32,
  threads: i32,
  range: usize,
): void {
  if (mode == 0) {
    store<i32>(range, shareStart(rows, tid, threads));
    store<i32>(range, shareStart(rows, tid + 1, threads), 4);
    store<i32>(range, 0, 8);
    store<i32>(range, width, 12);
  } else {
    const units = (width + unit - 1) / unit;
    store<i32>(range, 0);
    store<i32>(range, rows, 4);
    store<i32>(range, min<i32>(width, shareStart(units, tid, threads) * unit), 8);
    store<i32>(range, min<i32>(width, shareStart(units, tid + 1, threads) * unit), 12);
  }
}

/**
 * Dispatches a weight type's matmul kernel over rows `[r0, r1)`: `type` is the GGML type id;
 * Q8_0 (8) reads the four-row groups src/pack.ts repacks it into, and takes its row count in
 * `aux`.
 */
export function matmul(
  type: i32,
  w: usize,
  aux: usize,
  rowBytes: i32,
  r0: i32,
  r1: i32,
  cols: i32,
  act: usize,
  actRowBytes: i32,
  T: i32,
  out: usize,
  outStride: i32,
  accumulate: bool,
): void {
  if (type == W_Q8_0) {
    // Q8_0's packed row count travels in `aux` (its layout has no separate scale table).
    matmulQ8_0(w, <i32>aux, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
  } else if (type == W_Q5_K_GROUPS) {
    matmulQ5_K(w, <i32>aux, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
  } else if (type == W_Q6_K_GROUPS) {
    matmulQ6_K(w, <i32>aux, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
  } else if (type == W_F32 || type == W_F16 || type == W_BF16) {
    matmulFloat(type, w, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
  } else {
    matmulBlocks(type, w, rowBytes, r0, r1, cols, act, actRowBytes, T, out, outStride, accumulate);
  }
}

function exec(op: i32, a: usize, step: usize, tid: i32, threads: i32, range: usize): void {
  const T = word(step, 0);
  if (op == OP_NORM) {
    const rows = rowsOf(step, word(a, 0));
    const width = word(a, 5);
    const group = word(a, 6);
    if (word(a, 9) == 2) {
      // Per-head norm over items: `word(a, 10)` KV heads, each owning width / kvHeads columns.
      const kvHeads = word(a, 10);
      const groups = width / group / kvHeads;
      const items = rows * kvHeads;
      for (let item = tid; item < items; item += threads) {
        const g0 = (item % kvHeads) * groups;
        rmsNorm(
          ptr(a, 1), word(a, 2), ptr(a, 3), word(a, 4),
          item / kvHeads, item / kvHeads + 1, group, g0, g0 + groups, ptr(a, 7), f32At(a, 8),
        );
      }
      return;
    }
    share(word(a, 9), word(a, 10), rows, width, tid, threads, range);
    rmsNorm(
      ptr(a, 1), word(a, 2), ptr(a, 3), word(a, 4),
      load<i32>(range), load<i32>(range, 4),
      group, load<i32>(range, 8) / group, load<i32>(range, 12) / group,
      ptr(a, 7), f32At(a, 8),
    );
  } else if (op == OP_QUANT) {
    const rows = rowsOf(step, word(a, 0));
    const width = word(a, 3);
    const type = word(a, 4);
    share(word(a, 7), word(a, 8), rows, width, tid, threads, range);
    const x = ptr(a, 1);
    const stride = word(a, 2);
    const out = ptr(a, 5);
    const rowBytes = word(a, 6);
    const c0 = load<i32>(range, 8);
    const c1 = load<i32>(range, 12);
    for (let r = load<i32>(range); r < load<i32>(range, 4); r++) {
      prepareRange(type, x + ((<usize>r * <usize>stride) << 2), width, c0, c1, out + <usize>r * <usize>rowBytes);
    }
  } else if (op == OP_MATMUL) {
    const rows = word(a, 4);
    const unit = word(a, 12);
    const units = (rows + unit - 1) / unit;
    const r0 = min<i32>(rows, shareStart(units, tid, threads) * unit);
    const r1 = min<i32>(rows, shareStart(units, tid + 1, threads) * unit);
    if (r0 >= r1) return;
    const n = rowsOf(step, word(a, 0));
    const out = ptr(a, 8);
    const outStride = word(a, 9);
    matmul(
      word(a, 1), ptr(a, 2), ptr(a, 3), word(a, 13), r0, r1, word(a, 5),
      ptr(a, 6), word(a, 7), n, out, outStride, word(a, 10) != 0,
    );
    const bias = ptr(a, 11);
    if (bias != 0) {
      for (let t = 0; t < n; t++) {
        const o = out + ((<usize>t * <usize>outStride) << 2);
        for (let r = r0; r < r1; r++) {
          const off = <usize>r << 2;
          store<f32>(o + off, load<f32>(o + off) + load<f32>(bias + off));
        }
      }
    }
  } else if (op == OP_ROPE) {
    const kvHeads = word(a, 3);
    const items = T * kvHeads;
    rope(
      ptr(a, 0), word(a, 1), tid, items, threads,
      kvHeads, word(a, 2) / kvHeads, word(a, 4), word(a, 5), word(a, 6) != 0, ptr(a, 7),
    );
  } else if (op == OP_KV_STORE) {
    const kvHeads = word(a, 4);
    const items = T * kvHeads;
    kvStore(
      ptr(a, 0), word(a, 1), ptr(a, 2), word(a, 3), tid, items, threads,
      kvHeads, ptr(step, 4), word(a, 5), ptr(a, 6), ptr(a, 7), word(a, 8) != 0,
    );
  } else if (op == OP_ATTN) {
    const kvHeads = word(a, 7);
    const items = T * kvHeads;
    attention(
      ptr(a, 0), word(a, 1), ptr(a, 2), word(a, 3), ptr(a, 4), ptr(a, 5),
      word(a, 6), kvHeads, word(a, 8), f32At(a, 9), f32At(a, 10), word(a, 11), tid, items, threads,
      ptr(step, 3), ptr(step, 10), ptr(step, 5), word(step, 7),
      ptr(step, 8) + <usize>tid * <usize>word(step, 9),
      word(a, 12), ptr(a, 13), word(a, 14), word(a, 15) != 0,
    );
  } else if (op == OP_ADD) {
    const rows = rowsOf(step, word(a, 0));
    share(word(a, 8), word(a, 9), rows, word(a, 7), tid, threads, range);
    add(
      ptr(a, 1), word(a, 2), ptr(a, 3), word(a, 4), ptr(a, 5), word(a, 6),
      load<i32>(range), load<i32>(range, 4), load<i32>(range, 8), load<i32>(range, 12),
    );
  } else if (op == OP_GLU) {
    const rows = rowsOf(step, word(a, 0));
    share(word(a, 9), word(a, 10), rows, word(a, 7), tid, threads, range);
    glu(
      ptr(a, 1), word(a, 2), ptr(a, 3), word(a, 4), ptr(a, 5), word(a, 6),
      load<i32>(range), load<i32>(range, 4), load<i32>(range, 8), load<i32>(range, 12),
      word(a, 8),
    );
  } else if (op == OP_ROWS) {
    const S = word(step, 1);
    const sampled = ptr(step, 6);
    const width = word(a, 4);
    for (let i = shareStart(S, tid, threads); i < shareStart(S, tid + 1, threads); i++) {
      const t = load<i32>(sampled + (<usize>i << 2));
      memory.copy(
        ptr(a, 2) + ((<usize>i * <usize>word(a, 3)) << 2),
        ptr(a, 0) + ((<usize>t * <usize>word(a, 1)) << 2),
        <usize>width << 2,
      );
    }
  } else if (op == OP_SOFTCAP) {
    const rows = rowsOf(step, word(a, 0));
    share(word(a, 5), word(a, 6), rows, word(a, 3), tid, threads, range);
    softcapRows(
      ptr(a, 1), word(a, 2),
      load<i32>(range), load<i32>(range, 4), load<i32>(range, 8), load<i32>(range, 12),
      f32At(a, 4),
    );
  }
}

/**
 * Runs the program of the control block's current step as thread `tid`. `range` is 16 bytes of
 * this thread's own scratch.
 */
export function run(ctl: usize, tid: i32, range: usize): void {
  const threads = atomic.load<i32>(ctl + 24);
  const program = <usize>atomic.load<u32>(ctl + 28);
  const step = <usize>atomic.load<u32>(ctl + 32);
  const count = load<i32>(program);
  const profile = tid == atomic.load<i32>(ctl + 44) ? <usize>atomic.load<u32>(ctl + 40) : 0;
  let p = program + 4;
  for (let i = 0; i < count; i++) {
    const words = load<i32>(p);
    const b = load<i32>(p, 8);
    const wait = b == 1 || (b == 2 && load<i32>(step, 44) != 0);
    if (profile != 0) {
      const t0 = now();
      if (wait) barrier(ctl, threads);
      const t1 = now();
      exec(load<i32>(p, 4), p + 12, step, tid, threads, range);
      const t2 = now();
      const at = profile + (<usize>i << 4);
      store<f64>(at, load<f64>(at) + (t2 - t1));
      store<f64>(at, load<f64>(at, 8) + (t1 - t0), 8);
    } else {
      if (wait) barrier(ctl, threads);
      exec(load<i32>(p, 4), p + 12, step, tid, threads, range);
    }
    p += <usize>words << 2;
  }
}
