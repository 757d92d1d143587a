import { dequantizeRow, f16ToF32, GgmlType, ggmlTypeTraits, type WeightMatrix } from '@x/model';

/** Where a weight lives in the kernels' memory, in the layout its kernel reads. */
export interface PackedWeight {
  /** The kernel's type id: the GGML type (Q8_0's kernel reads the four-row groups below). */
  type: number;
  rows: number;
  cols: number;
  /** Bytes from one row to the next at `ptr` (Q8_0: from one four-row group to the next). */
  rowBytes: number;
  /** The rows. */
  ptr: number;
  /** Q8_0: its row count (the kernel's second argument); 0 for other types. */
  aux: number;
  /** Bytes at `ptr`. */
  bytes: number;
}

/** Rounds `n` up to a multiple of 16 (every packed array starts 16-byte aligned). */
export const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Bytes of one Q8_0 block of a four-row group: 4 × 32 quants, then 4 f32 scales. */
const Q8_0_GROUP_BLOCK = 144;

/**
 * Types whose blocks are one f16 scale and 32 signed integers (after their offset or table):
 * with `expand`, they are widened to int8 and packed as Q8_0, and run on its kernel. The integer
 * sums with the Q8_0 activations are the same, so are the results; the weights take 36 bytes per
 * 32 values instead of 18–22, in exchange for the fastest kernel (prefill and batches gain most).
 */
const EXPANDABLE: ReadonlySet<number> = new Set([GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.IQ4_NL]);

/** Whether `w` is packed in the Q8_0 layout (Q8_0 itself, or an expandable type with `expand`). */
const asQ8_0 = (w: WeightMatrix, expand: boolean) =>
  w.type === GgmlType.Q8_0 || (expand && EXPANDABLE.has(w.type));

/**
 * Bytes a weight takes packed: its file bytes, except Q8_0 (and, with `expand`, Q4_0, Q5_0 and
 * IQ4_NL), repacked in groups of four rows with f32 scales (144 bytes per four blocks of 32; rows
 * padded to a multiple of 4).
 */
export function packedBytes(w: WeightMatrix, expand = false): number {
  if (asQ8_0(w, expand)) return align16(Math.ceil(w.rows / 4) * (w.cols / 32) * Q8_0_GROUP_BLOCK);
  const groups = expand ? K_GROUPS.get(w.type) : undefined;
  if (groups) return Math.ceil(w.rows / 4) * (w.cols / 256) * groups.groupBlock;
  return align16(w.rows * w.rowBytes);
}

/** get_scale_min_k4: sub-block `j`'s 6-bit scale (low 8 bits) and min (high 8) from the 12 bytes at `at`. */
function scaleMinK4(data: Uint8Array, at: number, j: number): number {
  const q = (i: number) => data[at + i] as number;
  if (j < 4) return (q(j) & 63) | ((q(j + 4) & 63) << 8);
  return (q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4) | (((q(j + 4) >> 4) | ((q(j) >> 6) << 4)) << 8);
}

const f16At = (data: Uint8Array, i: number) =>
  f16ToF32((data[i] as number) | ((data[i + 1] as number) << 8));

/**
 * A K-quant type that, with `expand`, is widened to int8 in four-row groups (assembly/
 * matmul-kgroups.ts has the layouts): its kernel's type id, the bytes of a group's super-block,
 * and how one row's file block becomes, and comes back from, its lane of a group block.
 */
interface KGroups {
  kernel: number;
  groupBlock: number;
  fileBlock: number;
  /** Writes lane `lane` of the group block at `dst` from the row's file block at `src`. */
  pack(
    data: Uint8Array,
    src: number,
    quants: Int8Array,
    view: DataView,
    dst: number,
    lane: number,
  ): void;
  /** Lane `lane` of the group block at `base` as 256 values into `out` at `at`, as dequantizeRow. */
  unpack(
    qs: Int8Array,
    view: DataView,
    base: number,
    lane: number,
    out: Float32Array,
    at: number,
  ): void;
}

const K_GROUPS = new Map<number, KGroups>([
  [
    GgmlType.Q6_K,
    {
      kernel: 0x100 + GgmlType.Q6_K,
      groupBlock: 1104,
      fileBlock: 210, // block_q6_K: ql 128, qh 64, int8 scales 16, f16 d
      pack(data, src, quants, view, dst, lane) {
        // Element 128h + l + 32k (h half, l < 32, k quarter): the low nibble of ql[64h + l] (k 0)
        // or ql[64h + l + 32] (k 1), their high nibbles (k 2, 3); bits 2k, 2k + 1 of qh[32h + l].
        for (let h = 0; h < 2; h++) {
          for (let l = 0; l < 32; l++) {
            const ql0 = data[src + 64 * h + l] as number;
            const ql1 = data[src + 64 * h + l + 32] as number;
            const qh = data[src + 128 + 32 * h + l] as number;
            for (let k = 0; k < 4; k++) {
              const nibble = ((k & 1 ? ql1 : ql0) >> (k & 2 ? 4 : 0)) & 15;
              const e = 128 * h + l + 32 * k; // column within the super-block
              quants[dst + (e >> 5) * 128 + lane * 32 + (e & 31)] =
                (nibble | (((qh >> (2 * k)) & 3) << 4)) - 32;
            }
          }
        }
        for (let sub = 0; sub < 16; sub++) {
          quants[dst + 1024 + (sub >> 1) * 8 + (sub & 1) * 4 + lane] =
            ((data[src + 192 + sub] as number) << 24) >> 24;
        }
        view.setFloat32(dst + 1088 + lane * 4, f16At(data, src + 208), true);
      },
      unpack(qs, view, base, lane, out, at) {
        const d = view.getFloat32(base + 1088 + lane * 4, true);
        for (let e = 0; e < 256; e++) {
          const sub = e >> 4;
          const sc = qs[base + 1024 + (sub >> 1) * 8 + (sub & 1) * 4 + lane] as number;
          const q = qs[base + (e >> 5) * 128 + lane * 32 + (e & 31)] as number;
          out[at + e] = Math.fround(Math.fround(d * sc) * q);
        }
      },
    },
  ],
  [
    GgmlType.Q5_K,
    {
      kernel: 0x100 + GgmlType.Q5_K,
      groupBlock: 1120,
      fileBlock: 176, // block_q5_K: d, dmin, 12 bytes of scales and mins, qh 32, qs 128
      pack(data, src, quants, view, dst, lane) {
        // Element 32s + l: the low (s even) or high (s odd) nibble of qs[32·(s >> 1) + l], plus
        // 16 times bit s of qh[l].
        for (let s = 0; s < 8; s++) {
          for (let l = 0; l < 32; l++) {
            const byte = data[src + 48 + 32 * (s >> 1) + l] as number;
            const nibble = s & 1 ? byte >> 4 : byte & 15;
            const high = ((data[src + 16 + l] as number) >> s) & 1;
            quants[dst + s * 128 + lane * 32 + l] = nibble | (high << 4);
          }
          const sm = scaleMinK4(data, src + 4, s);
          quants[dst + 1024 + s * 4 + lane] = sm & 0xff;
          quants[dst + 1056 + s * 4 + lane] = sm >> 8;
        }
        view.setFloat32(dst + 1088 + lane * 4, f16At(data, src), true);
        view.setFloat32(dst + 1104 + lane * 4, f16At(data, src + 2), true);
      },
      unpack(qs, view, base, lane, out, at) {
        const d = view.getFloat32(base + 1088 + lane * 4, true);
        const dmin = view.getFloat32(base + 1104 + lane * 4, true);
        for (let s = 0; s < 8; s++) {
          const d1 = Math.fround(d * (qs[base + 1024 + s * 4 + lane] as number));
          const m1 = Math.fround(dmin * (qs[base + 1056 + s * 4 + lane] as number));
          for (let l = 0; l < 32; l++) {
            const q = qs[base + s * 128 + lane * 32 + l] as number;
            out[at + s * 32 + l] = Math.fround(d1 * q) - m1;
          }
        }
      },
    },
  ],
]);

/** The kernel type id of Q6_K widened to int8 in four-row groups. */
export const Q6_K_GROUPS = (K_GROUPS.get(GgmlType.Q6_K) as KGroups).kernel;

/** The kernel type id of Q5_K widened to int8 in four-row groups. */
export const Q5_K_GROUPS = (K_GROUPS.get(GgmlType.Q5_K) as KGroups).kernel;

/** The K-quant packing behind kernel type id `kernel`, if it is one. */
const kGroupsOfKernel = (kernel: number) =>
  kernel === Q6_K_GROUPS
    ? K_GROUPS.get(GgmlType.Q6_K)
    : kernel === Q5_K_GROUPS
      ? K_GROUPS.get(GgmlType.Q5_K)
      : undefined;

/** Whether kernel type id `kernel` is a K-quant widened to int8 four-row groups. */
export const isKGroups = (kernel: number): boolean => kGroupsOfKernel(kernel) !== undefined;

/**
 * Writes `w` into `memory` at byte `at` (16-byte aligned) in its kernel's layout. Q8_0 rows (and,
 * with `expand`, Q4_0, Q5_0 and IQ4_NL rows, widened to int8) are regrouped four at a time, block
 * by block, with their f16 scales widened to f32 once, here, instead of per dot; other types keep
 * GGUF's block layout.
 */
export function packWeight(
  w: WeightMatrix,
  memory: ArrayBufferLike,
  at: number,
  expand = false,
): PackedWeight {
  const { rows, cols, rowBytes, data, type } = w;
  const bytes = packedBytes(w, expand);
  const out = new Uint8Array(memory, at, bytes);
  const groups = expand ? K_GROUPS.get(type) : undefined;
  if (groups) {
    out.fill(0);
    const quants = new Int8Array(memory, at, bytes);
    const view = new DataView(memory as ArrayBuffer, at, bytes);
    const nb = cols / 256;
    const groupBytes = nb * groups.groupBlock;
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < nb; b++) {
        const dst = (r >> 2) * groupBytes + b * groups.groupBlock;
        groups.pack(data, r * rowBytes + b * groups.fileBlock, quants, view, dst, r & 3);
      }
    }
    return { type: groups.kernel, rows, cols, rowBytes: groupBytes, ptr: at, aux: rows, bytes };
  }
  if (!asQ8_0(w, expand)) {
    out.set(data.subarray(0, rows * rowBytes));
    return { type, rows, cols, rowBytes, ptr: at, aux: 0, bytes };
  }
  out.fill(0);
  const nb = cols / 32;
  const groupBytes = nb * Q8_0_GROUP_BLOCK;
  const view = new DataView(memory as ArrayBuffer, at, bytes);
  const quants = new Int8Array(memory, at, bytes);
  const { typeSize } = ggmlTypeTraits(type);
  const values = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const group = (r >> 2) * groupBytes;
    const lane = r & 3;
    // Every expandable type decodes to (integer · d) exactly in f32: the integers come back whole.
    if (type !== GgmlType.Q8_0) dequantizeRow(type, data, r * rowBytes, values, 0, cols);
    for (let b = 0; b < nb; b++) {
      const src = r * rowBytes + b * typeSize;
      const dst = group + b * Q8_0_GROUP_BLOCK;
      // Each of these types starts its block with the f16 scale.
      const scale = f16ToF32((data[src] as number) | ((data[src + 1] as number) << 8));
      view.setFloat32(dst + 128 + lane * 4, scale, true);
      if (type === GgmlType.Q8_0) out.set(data.subarray(src + 2, src + typeSize), dst + lane * 32);
      else if (scale !== 0) {
        for (let j = 0; j < 32; j++) {
          quants[dst + lane * 32 + j] = Math.round((values[b * 32 + j] as number) / scale);
        }
      }
    }
  }
  return { type: GgmlType.Q8_0, rows, cols, rowBytes: groupBytes, ptr: at, aux: rows, bytes };
}

/** Row `row` of a Q8_0 weight packed by {@link packWeight}, dequantized into `out` at `offset`. */
export function unpackQ8_0Row(
  p: PackedWeight,
  memory: ArrayBufferLike,
  row: number,
  out: Float32Array,
  offset: number,
): void {
  const nb = p.cols / 32;
  const qs = new Int8Array(memory, p.ptr + (row >> 2) * p.rowBytes, p.rowBytes);
  const view = new DataView(memory as ArrayBuffer, p.ptr + (row >> 2) * p.rowBytes, p.rowBytes);
  const lane = row & 3;
  for (let b = 0; b < nb; b++) {
    const base = b * Q8_0_GROUP_BLOCK;
    const scale = view.getFloat32(base + 128 + lane * 4, true);
    for (let j = 0; j < 32; j++) {
      out[offset + b * 32 + j] = Math.fround((qs[base + lane * 32 + j] as number) * scale);
    }
  }
}

/**
 * Row `row` of a Q6_K or Q5_K weight packed by {@link packWeight} as int8 four-row groups,
 * dequantized into `out` at `offset` exactly as dequantizeRow makes it of the file's bytes.
 */
export function unpackKGroupsRow(
  p: PackedWeight,
  memory: ArrayBufferLike,
  row: number,
  out: Float32Array,
  offset: number,
): void {
  const groups = kGroupsOfKernel(p.type);
  if (!groups) throw new Error(`kernel type ${p.type} is not a K-quant in int8 groups`);
  const group = p.ptr + (row >> 2) * p.rowBytes;
  const qs = new Int8Array(memory, group, p.rowBytes);
  const view = new DataView(memory as ArrayBuffer, group, p.rowBytes);
  for (let b = 0; b < p.cols / 256; b++) {
    groups.unpack(qs, view, b * groups.groupBlock, row & 3, out, offset + b * 256);
  }
}
