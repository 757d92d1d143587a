// Weight matrices on the device, in their file types. Rows are repacked so every block starts on
// a 4-byte boundary (WGSL reads storage as u32), and each type gets a WGSL loader that decodes
// four consecutive weights: `fn <name>_load4(row, chunk, i) -> vec4<f32>` returns elements
// `[32·chunk + 4·i, 32·chunk + 4·i + 4)` of `row`. Every kernel that reads weights (embedding,
// matmuls) goes through these loaders, so a new type is one packer and one loader.
import { GgmlType, ggmlTypeTraits, type WeightMatrix } from '@x/model';
import { GpuExecutorError } from '../errors.js';

/** A weight matrix repacked for the device. */
export interface PackedWeight {
  type: number;
  rows: number;
  cols: number;
  /** u32 words per row. */
  rowWords: number;
  words: Uint32Array;
}

/**
 * How a type's blocks move to the device: blocks of `srcBytes` become `dstBytes` (a multiple of 4);
 * `headToTail` moves the leading f16 scale after the quants, so the quants start word-aligned.
 */
interface Repack {
  srcBytes: number;
  dstBytes: number;
  headToTail: boolean;
}

const REPACK: ReadonlyMap<number, Repack> = new Map([
  [GgmlType.F32, { srcBytes: 4, dstBytes: 4, headToTail: false }],
  [GgmlType.F16, { srcBytes: 4, dstBytes: 4, headToTail: false }],
  [GgmlType.BF16, { srcBytes: 4, dstBytes: 4, headToTail: false }],
  // d (f16) then 32 int8 → 32 int8, d, 2 bytes of padding.
  [GgmlType.Q8_0, { srcBytes: 34, dstBytes: 36, headToTail: true }],
  // d (f16) then 16 bytes of nibbles → nibbles, d, padding.
  [GgmlType.Q4_0, { srcBytes: 18, dstBytes: 20, headToTail: true }],
  // d, m (f16), (qh,) 16 bytes of nibbles: word-aligned as they are.
  [GgmlType.Q4_1, { srcBytes: 20, dstBytes: 20, headToTail: false }],
  [GgmlType.Q5_1, { srcBytes: 24, dstBytes: 24, headToTail: false }],
  // d (f16), qh, 16 bytes of nibbles → qh, nibbles, d, padding.
  [GgmlType.Q5_0, { srcBytes: 22, dstBytes: 24, headToTail: true }],
  // d (f16) then 16 bytes of indices → indices, d, padding (as Q4_0).
  [GgmlType.IQ4_NL, { srcBytes: 18, dstBytes: 20, headToTail: true }],
  // d, scales_h, scales_l, indices: word-aligned as they are.
  [GgmlType.IQ4_XS, { srcBytes: 136, dstBytes: 136, headToTail: false }],
  // scales, qs, d, dmin: word-aligned as they are.
  [GgmlType.Q2_K, { srcBytes: 84, dstBytes: 84, headToTail: false }],
  // hmask, qs, scales, d: already in that order; 2 bytes of padding.
  [GgmlType.Q3_K, { srcBytes: 110, dstBytes: 112, headToTail: false }],
  [GgmlType.Q4_K, { srcBytes: 144, dstBytes: 144, headToTail: false }],
  [GgmlType.Q5_K, { srcBytes: 176, dstBytes: 176, headToTail: false }],
  // ql, qh, scales, d: already in that order; 2 bytes of padding.
  [GgmlType.Q6_K, { srcBytes: 210, dstBytes: 212, headToTail: false }],
]);

/** Weight types the device kernels decode. */
export const GPU_WEIGHT_TYPES: readonly number[] = [...REPACK.keys()];

/**
 * Repacks a weight matrix for the device, keeping it in its file type.
 * @throws GpuExecutorError `GPU_UNSUPPORTED_MODEL` for a type without a device loader, or rows
 *   not a multiple of 32 elements
 */
export function packWeight(w: WeightMatrix): PackedWeight {
  const repack = REPACK.get(w.type);
  if (!repack) {
    let type = `GGML type ${w.type}`;
    try {
      type = ggmlTypeTraits(w.type).name;
    } catch {
      // Not a type @x/model reads either: keep the id.
    }
    const supported = GPU_WEIGHT_TYPES.map((t) => ggmlTypeTraits(t).name).join(', ');
    throw new GpuExecutorError(
      `${w.name}: ${type} weights have no WebGPU kernel (supported: ${supported})`,
      'GPU_UNSUPPORTED_MODEL',
    );
  }
  if (w.cols % 32 !== 0) {
    throw new GpuExecutorError(
      `${w.name}: rows of ${w.cols} elements; the WebGPU kernels need a multiple of 32`,
      'GPU_UNSUPPORTED_MODEL',
    );
  }
  const blocks = w.rowBytes / repack.srcBytes;
  const rowBytes = blocks * repack.dstBytes;
  const out = new Uint8Array(w.rows * rowBytes);
  if (repack.srcBytes === repack.dstBytes && !repack.headToTail) {
    for (let r = 0; r < w.rows; r++) {
      out.set(w.data.subarray(r * w.rowBytes, (r + 1) * w.rowBytes), r * rowBytes);
    }
  } else {
    const { srcBytes, dstBytes, headToTail } = repack;
    const body = srcBytes - 2;
    for (let r = 0; r < w.rows; r++) {
      for (let b = 0; b < blocks; b++) {
        const src = r * w.rowBytes + b * srcBytes;
        const dst = r * rowBytes + b * dstBytes;
        if (headToTail) {
          out.set(w.data.subarray(src + 2, src + srcBytes), dst);
          out[dst + body] = w.data[src] as number;
          out[dst + body + 1] = w.data[src + 1] as number;
        } else {
          out.set(w.data.subarray(src, src + srcBytes), dst);
        }
      }
    }
  }
  return {
    type: w.type,
    rows: w.rows,
    cols: w.cols,
    rowWords: rowBytes / 4,
    words: new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4),
  };
}

/**
 * WGSL for a weight binding `name` at `@group(0) @binding(binding)` of a packed matrix, and its
 * `fn <name>_load4(row: u32, chunk: u32, i: u32) -> vec4<f32>` (i in 0..8: elements 4i..4i+3 of
 * the 32-element chunk). Dequantization follows ggml's `dequantize_row_*` for each type.
 */
export function wgslWeight(
  w: Pick<PackedWeight, 'type' | 'rowWords'>,
  name: string,
  binding: number,
) {
  const decl = `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;`;
  const rw = `${w.rowWords}u`;
  const fn = `fn ${name}_load4(row: u32, chunk: u32, i: u32) -> vec4<f32>`;
  switch (w.type) {
    case GgmlType.F32:
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 32u + i * 4u;
  return vec4<f32>(bitcast<f32>(${name}[b]), bitcast<f32>(${name}[b + 1u]),
                   bitcast<f32>(${name}[b + 2u]), bitcast<f32>(${name}[b + 3u]));
}`;
    case GgmlType.F16:
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 16u + i * 2u;
  return vec4<f32>(unpack2x16float(${name}[b]), unpack2x16float(${name}[b + 1u]));
}`;
    case GgmlType.BF16:
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 16u + i * 2u;
  let a = ${name}[b];
  let c = ${name}[b + 1u];
  return vec4<f32>(bitcast<f32>(a << 16u), bitcast<f32>(a & 0xffff0000u),
                   bitcast<f32>(c << 16u), bitcast<f32>(c & 0xffff0000u));
}`;
    case GgmlType.Q8_0:
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 9u;
  let d = unpack2x16float(${name}[b + 8u]).x;
  let q = bitcast<i32>(${name}[b + i]);
  return vec4<f32>(f32(extractBits(q, 0u, 8u)), f32(extractBits(q, 8u, 8u)),
                   f32(extractBits(q, 16u, 8u)), f32(extractBits(q, 24u, 8u))) * d;
}`;
    case GgmlType.Q4_0:
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 5u;
  let d = unpack2x16float(${name}[b + 4u]).x;
  let q = ${name}[b + (i & 3u)] >> select(0u, 4u, i >= 4u);
  let n = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);
  return (vec4<f32>(n) - 8.0) * d;
}`;
    case GgmlType.Q4_1:
    case GgmlType.Q5_1: {
      // Word 0: d and m; Q5_1's fifth bits in word 1 (bit e: element e); then the nibbles, as
      // Q4_0's. Element value q·d + m.
      const five = w.type === GgmlType.Q5_1;
      const high = five
        ? `
  let h = ${name}[b + 1u] >> (4u * i);
  n |= vec4<u32>(h & 1u, (h >> 1u) & 1u, (h >> 2u) & 1u, (h >> 3u) & 1u) << vec4<u32>(4u);`
        : '';
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * ${five ? 6 : 5}u;
  let dm = unpack2x16float(${name}[b]);
  let q = ${name}[b + ${five ? 2 : 1}u + (i & 3u)] >> select(0u, 4u, i >= 4u);
  var n = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);${high}
  return vec4<f32>(n) * dm.x + dm.y;
}`;
    }
    case GgmlType.Q5_0:
      // Word 0: the fifth bits (bit e: element e), words 1–4: nibbles as Q4_0's, word 5: d.
      return `${decl}
${fn} {
  let b = row * ${rw} + chunk * 6u;
  let d = unpack2x16float(${name}[b + 5u]).x;
  let q = ${name}[b + 1u + (i & 3u)] >> select(0u, 4u, i >= 4u);
  let h = ${name}[b] >> (4u * i);
  let n = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u) |
          (vec4<u32>(h & 1u, (h >> 1u) & 1u, (h >> 2u) & 1u, (h >> 3u) & 1u) << vec4<u32>(4u));
  return (vec4<f32>(n) - 16.0) * d;
}`;
    case GgmlType.IQ4_NL:
    case GgmlType.IQ4_XS: {
      // Four indices into kvalues_iq4nl: elements 4i..4i+3 of a 32-element block are the low
      // nibbles of index bytes 4i.. (i < 4) or the high nibbles of bytes 4(i − 4).. (i ≥ 4).
      // IQ4_NL: indices in words 0–3, d in word 4. IQ4_XS: d and scales_h in word 0, scales_l in
      // word 1, sub-block c's indices in words 2 + 4c..; its scale d·(ls − 32).
      const levels = `var<private> ${name}_levels: array<f32, 16> = array<f32, 16>(-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);`;
      const lookup = `let n = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);
  return scale * vec4<f32>(${name}_levels[n.x], ${name}_levels[n.y], ${name}_levels[n.z], ${name}_levels[n.w]);`;
      return w.type === GgmlType.IQ4_NL
        ? `${decl}
${levels}
${fn} {
  let b = row * ${rw} + chunk * 5u;
  let scale = unpack2x16float(${name}[b + 4u]).x;
  let q = ${name}[b + (i & 3u)] >> select(0u, 4u, i >= 4u);
  ${lookup}
}`
        : `${decl}
${levels}
${fn} {
  let b = row * ${rw} + (chunk / 8u) * 34u;
  let c = chunk % 8u;
  let head = ${name}[b];
  let low = (${name}[b + 1u] >> (8u * (c / 2u) + 4u * (c % 2u))) & 15u;
  let ls = low | (((head >> (16u + 2u * c)) & 3u) << 4u);
  let scale = unpack2x16float(head).x * f32(i32(ls) - 32);
  let q = ${name}[b + 2u + 4u * c + (i & 3u)] >> select(0u, 4u, i >= 4u);
  ${lookup}
}`;
    }
    case GgmlType.Q2_K:
      // Element 128h + 32j + 4i + t of a super-block: bits 2j of byte 32h + 4i + t of qs (word
      // 4 + 8h + i); sub-block 8h + 2j + (i ≥ 4), its scale and min the nibbles of byte s.
      return `${decl}
${fn} {
  let b = row * ${rw} + (chunk / 8u) * 21u;
  let c = chunk % 8u;
  let h = c / 4u;
  let j = c % 4u;
  let dm = unpack2x16float(${name}[b + 20u]);
  let s = 8u * h + 2u * j + i / 4u;
  let sm = (${name}[b + s / 4u] >> (8u * (s % 4u))) & 255u;
  let q = ${name}[b + 4u + 8u * h + i] >> (2u * j);
  let n = vec4<u32>(q & 3u, (q >> 8u) & 3u, (q >> 16u) & 3u, (q >> 24u) & 3u);
  return dm.x * f32(sm & 15u) * vec4<f32>(n) - dm.y * f32(sm >> 4u);
}`;
    case GgmlType.Q3_K:
      // Element 128h + 32j + 4i + t: bits 2j of qs byte 32h + 4i + t (word 8 + 8h + i), minus 4
      // unless bit 4h + j of hmask byte 4i + t (word i) is set; sub-block 8h + 2j + (i ≥ 4) with
      // its 6-bit scale split over the low nibbles (sub-blocks 0–7) or high nibbles (8–15) of
      // bytes 0–7 and two bits of bytes 8–11.
      return `${decl}
fn ${name}_byte(word: u32, k: u32) -> u32 { return (${name}[word + k / 4u] >> (8u * (k % 4u))) & 255u; }
${fn} {
  let b = row * ${rw} + (chunk / 8u) * 28u;
  let c = chunk % 8u;
  let h = c / 4u;
  let j = c % 4u;
  let d = unpack2x16float(${name}[b + 27u]).x;
  let s = 8u * h + 2u * j + i / 4u;
  let low = (${name}_byte(b + 24u, s % 8u) >> (4u * (s / 8u))) & 15u;
  let high = (${name}_byte(b + 24u, 8u + s % 4u) >> (2u * (s / 4u))) & 3u;
  let sc = f32(i32(low | (high << 4u)) - 32);
  let q = ${name}[b + 8u + 8u * h + i] >> (2u * j);
  let hm = ${name}[b + i] >> (4u * h + j);
  let n = vec4<i32>(vec4<u32>(q & 3u, (q >> 8u) & 3u, (q >> 16u) & 3u, (q >> 24u) & 3u)) -
          4 * (vec4<i32>(1) - vec4<i32>(vec4<u32>(hm & 1u, (hm >> 8u) & 1u, (hm >> 16u) & 1u, (hm >> 24u) & 1u)));
  return d * sc * vec4<f32>(n);
}`;
    case GgmlType.Q4_K:
    case GgmlType.Q5_K: {
      // d, dmin, then the 6-bit scales and mins of the 8 sub-blocks (get_scale_min_k4); Q4_K's
      // nibbles follow in 32 words, Q5_K's after 8 words of high bits (bit c of byte e: element e
      // of sub-block c).
      const five = w.type === GgmlType.Q5_K;
      const qs = five ? 12 : 4;
      const high = five
        ? `
  let hb = ${name}[b + 4u + i] >> c;
  n |= vec4<u32>(hb & 1u, (hb >> 8u) & 1u, (hb >> 16u) & 1u, (hb >> 24u) & 1u) << vec4<u32>(4u);`
        : '';
      return `${decl}
fn ${name}_byte(word: u32, k: u32) -> u32 { return (${name}[word + k / 4u] >> (8u * (k % 4u))) & 255u; }
${fn} {
  let b = row * ${rw} + (chunk / 8u) * ${five ? 44 : 36}u;
  let c = chunk % 8u;
  let dm = unpack2x16float(${name}[b]);
  var sc: u32;
  var m: u32;
  if (c < 4u) {
    sc = ${name}_byte(b + 1u, c) & 63u;
    m = ${name}_byte(b + 1u, c + 4u) & 63u;
  } else {
    sc = (${name}_byte(b + 1u, c + 4u) & 15u) | ((${name}_byte(b + 1u, c - 4u) >> 6u) << 4u);
    m = (${name}_byte(b + 1u, c + 4u) >> 4u) | ((${name}_byte(b + 1u, c) >> 6u) << 4u);
  }
  let q = ${name}[b + ${qs}u + (c / 2u) * 8u + i] >> (4u * (c % 2u));
  var n = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);${high}
  return dm.x * f32(sc) * vec4<f32>(n) - dm.y * f32(m);
}`;
    }
    case GgmlType.Q6_K:
      return `${decl}
${fn} {
  let b = row * ${rw} + (chunk / 8u) * 53u;
  let c = chunk % 8u;
  let h = c / 4u;
  let k = c % 4u;
  let d = unpack2x16float(${name}[b + 52u]).x;
  let s = h * 8u + i / 4u + 2u * k;
  let sc = f32(extractBits(bitcast<i32>(${name}[b + 48u + s / 4u]), 8u * (s % 4u), 8u));
  let lo = ${name}[b + h * 16u + (k & 1u) * 8u + i] >> (4u * (k >> 1u));
  let hi = ${name}[b + 32u + h * 8u + i] >> (2u * k);
  let q = vec4<u32>(lo & 15u, (lo >> 8u) & 15u, (lo >> 16u) & 15u, (lo >> 24u) & 15u) |
          (vec4<u32>(hi & 3u, (hi >> 8u) & 3u, (hi >> 16u) & 3u, (hi >> 24u) & 3u) << vec4<u32>(4u));
  return d * sc * (vec4<f32>(q) - 32.0);
}`;
    default:
      throw new GpuExecutorError(
        `weight type ${w.type} has no WebGPU loader`,
        'GPU_UNSUPPORTED_MODEL',
      );
  }
}
