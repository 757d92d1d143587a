import {
  type GraphNode,
  type ModelGraph,
  type MulMatNode,
  type RopeSpec,
  readBeforeWritten,
  vecDotType,
  type WeightMatrix,
} from '@x/model';

// The model graph lowered to the interpreter's op list (assembly/program.ts). Each op runs on
// every thread over that thread's share: rows of the step's tokens (or sampled rows), or columns
// in whole units (a matmul's weight rows, an attention's KV heads). A barrier goes before an op
// only where it reads, or overwrites, what another thread's share of an op since the last
// barrier wrote or read: so a matmul's residual add, or SwiGLU over the gate and up matmuls'
// columns, runs on the columns each thread just computed, with no barrier between.

/** Opcodes of assembly/program.ts. */
export const Op = {
  norm: 1,
  quant: 2,
  matmul: 3,
  rope: 4,
  kvStore: 5,
  attn: 6,
  add: 7,
  glu: 8,
  rows: 9,
  softcap: 10,
} as const;

/** Row kinds, as the interpreter reads them. */
const ROWS = { tokens: 0, sampled: 1 } as const;
type RowKind = keyof typeof ROWS;

/** How an op's work is split over threads, on one activation. */
type Partition =
  | { kind: 'rows'; rows: RowKind }
  | { kind: 'cols'; unit: number; width: number }
  /** Token t and KV head h as item t · kvHeads + h (RoPE, the K/V store, attention). */
  | { kind: 'items'; kvHeads: number }
  /** Every thread reads all of it (a matmul's input). */
  | { kind: 'all' };

const samePartition = (a: Partition, b: Partition): boolean => {
  if (a.kind === 'rows') return b.kind === 'rows' && a.rows === b.rows;
  if (a.kind === 'items') return b.kind === 'items' && a.kvHeads === b.kvHeads;
  return a.kind === 'cols' && b.kind === 'cols' && a.unit === b.unit && a.width === b.width;
};

/** A buffer of the dynamic region (its pointer is fixed when the region is laid out). */
export interface BufferSpec {
  name: string;
  /** Bytes per row. */
  rowBytes: number;
  rows: RowKind;
}

/** An activation as ops address it: a buffer, an element offset into each row, a row stride. */
interface View {
  buffer: string;
  /** f32 elements from the row's start. */
  offset: number;
  /** f32 elements per row. */
  stride: number;
  width: number;
  rows: RowKind;
}

/** An argument of a lowered op: a number, or a pointer resolved when the program is written. */
export type Arg =
  | number
  | { f32: number }
  | { buffer: string; byteOffset: number }
  | { weight: WeightMatrix; part: 'type' | 'rows' | 'aux' | 'rowBytes' }
  | { kv: 'k' | 'v'; layer: number }
  | { f32s: Float32Array };

/** One op of the program, before its pointers are resolved. */
export interface LoweredOp {
  op: number;
  /** The graph node(s) it computes, for profiles and errors. */
  name: string;
  /**
   * Whether the threads meet before it: always, or only in steps where some sequence computes
   * several tokens (attention then reads K/V other threads stored in the same step).
   */
  barrier: boolean | 'multi-token';
  args: Arg[];
  /** Multiply-accumulates per input row (a matmul's weight rows × columns; 0 otherwise). */
  macs: number;
}

/** What the executor needs to run a graph: its ops, its buffers and what the host fills in. */
export interface LoweredGraph {
  ops: LoweredOp[];
  buffers: BufferSpec[];
  /** Weights in the order they first appear (each once). */
  weights: WeightMatrix[];
  /** Distinct RoPE specs, whose per-step (cos, sin) tables the host writes. */
  ropes: RopeSpec[];
  /** The embedding gather the host does into `x` before the program runs. */
  embedding: { weight: WeightMatrix; scale: number; out: View };
  logits: View;
  kvLayers: number;
  kvDim: number;
}

/** Options of {@link lowerGraph}. */
export interface LowerOptions {
  threads: number;
  /** Whether the kernels have a matmul for a GGML type. */
  supports: (type: number) => boolean;
  /** Bytes of a prepared activation row of type `actType` and `n` values. */
  actRowBytes: (actType: number, n: number) => number;
  /** Whether the K/V cache holds f16 (else f32). */
  kvF16: boolean;
}

/** Elements per block of an activation type (what a quantized column range aligns to). */
function actBlock(actType: number): number {
  if (actType === 8 || actType === 9) return 32;
  if (actType === 15) return 256;
  return 1;
}

/**
 * The weight rows one unit of a matmul's split covers: a whole activation block where the rows
 * split evenly (so the next op can quantize the columns it computed), else four rows (the Q8_0
 * kernel's tile).
 */
function matmulUnit(rows: number, threads: number): number {
  for (const block of [256, 32]) {
    const units = rows / block;
    if (Number.isInteger(units) && (units % threads === 0 || units >= 4 * threads)) return block;
  }
  return 4;
}

/** Thrown for a graph the kernels cannot run (a weight type without a kernel). */
export class LoweringError extends Error {
  override readonly name = 'LoweringError';
}

/**
 * Lowers `graph` to the interpreter's ops: matmuls with their activation quantization, the
 * residual add folded into the matmul that feeds it, and barriers only where threads' shares
 * meet.
 */
export function lowerGraph(graph: ModelGraph, options: LowerOptions): LoweredGraph {
  const { threads } = options;
  const buffers = new Map<string, BufferSpec>();
  const views = new Map<string, View>();
  const addBuffer = (name: string, rowBytes: number, rows: RowKind) => {
    if (!buffers.has(name)) buffers.set(name, { name, rowBytes, rows });
  };
  // Storage: a split matmul's outputs are views into one buffer; other values own theirs.
  for (const node of graph.nodes) {
    if (node.op !== 'mul_mat' || node.outputs.length < 2) continue;
    const total = node.outputs.reduce((n, o) => n + o.rows, 0);
    const name = node.outputs.map((o) => o.value).join('+');
    addBuffer(name, total * 4, graph.values[node.outputs[0]!.value]!.rows);
    let offset = 0;
    for (const o of node.outputs) {
      const prior = views.get(o.value);
      if (prior && prior.buffer !== name) {
        throw new LoweringError(`${o.value} is an output of two different split matmuls`);
      }
      views.set(o.value, { buffer: name, offset, stride: total, width: o.rows, rows: 'tokens' });
      offset += o.rows;
    }
  }
  for (const [name, value] of Object.entries(graph.values)) {
    const v = views.get(name);
    if (v) {
      v.rows = value.rows;
      continue;
    }
    addBuffer(name, value.width * 4, value.rows);
    views.set(name, {
      buffer: name,
      offset: 0,
      stride: value.width,
      width: value.width,
      rows: value.rows,
    });
  }
  const view = (name: string) => views.get(name)!;
  const viewKey = (v: View) => `${v.buffer}@${v.offset}`;

  // Hazards since the last barrier: who wrote and who read each view, with which split.
  let written = new Map<string, Partition>();
  let read = new Map<string, Partition[]>();
  const ops: LoweredOp[] = [];
  const emit = (
    op: number,
    name: string,
    args: Arg[],
    reads: Array<[string, Partition]>,
    writes: Array<[string, Partition]>,
    multiToken = false,
  ) => {
    const conflict =
      reads.some(([key, p]) => {
        const w = written.get(key);
        return w !== undefined && !samePartition(w, p);
      }) ||
      writes.some(([key, p]) => {
        const w = written.get(key);
        if (w !== undefined && !samePartition(w, p)) return true;
        return (read.get(key) ?? []).some((r) => !samePartition(r, p));
      });
    if (conflict) {
      written = new Map();
      read = new Map();
    }
    for (const [key, p] of reads) read.set(key, [...(read.get(key) ?? []), p]);
    for (const [key, p] of writes) written.set(key, p);
    ops.push({
      op,
      name,
      barrier: conflict && ops.length > 0 ? true : multiToken ? 'multi-token' : false,
      args,
      macs: op === Op.matmul ? (args[4] as number) * (args[5] as number) : 0,
    });
  };
  const rowsPartition = (v: View): Partition => ({ kind: 'rows', rows: v.rows });
  const bufferArg = (v: View): Arg => ({ buffer: v.buffer, byteOffset: v.offset * 4 });
  /**
   * The split an elementwise op over `v` takes: the columns split of whoever wrote `v` since the
   * last barrier, when `unitMultiple` divides its unit; else rows.
   */
  const elementwisePartition = (v: View, unitMultiple = 1): Partition => {
    const w = written.get(viewKey(v));
    if (w?.kind === 'cols' && w.width === v.width && w.unit % unitMultiple === 0) return w;
    return rowsPartition(v);
  };
  const partitionArgs = (p: Partition): number[] =>
    p.kind === 'cols' ? [1, p.unit] : p.kind === 'items' ? [2, p.kvHeads] : [0, 0];

  // Prepared activations: one buffer per activation type, sized for the widest input of that type.
  const actBuffer = (actType: number) => `act${actType}`;
  const actWidths = new Map<number, number>();
  for (const node of graph.nodes) {
    if (node.op !== 'mul_mat') continue;
    if (!options.supports(node.weight.type)) {
      throw new LoweringError(
        `${node.name}: no CPU kernel for weight type ${node.weight.type} (${node.weight.name})`,
      );
    }
    const actType = vecDotType(node.weight.type);
    actWidths.set(actType, Math.max(actWidths.get(actType) ?? 0, node.weight.cols));
  }
  // Which value each activation buffer holds, prepared, since the value was last written.
  const prepared = new Map<number, string>();

  const quantize = (node: MulMatNode, input: View, actType: number) => {
    const buffer = actBuffer(actType);
    // Sampled-row inputs (the logits' matmul) share the buffer: size it for the larger row kind.
    addBuffer(buffer, options.actRowBytes(actType, actWidths.get(actType)!), 'tokens');
    if (prepared.get(actType) === node.input) return;
    const p = elementwisePartition(input, actBlock(actType));
    emit(
      Op.quant,
      `${node.name}.quantize`,
      [
        ROWS[input.rows],
        bufferArg(input),
        input.stride,
        input.width,
        actType,
        { buffer, byteOffset: 0 },
        options.actRowBytes(actType, input.width),
        ...partitionArgs(p),
      ],
      [[viewKey(input), p]],
      [[buffer, p]],
    );
    prepared.set(actType, node.input);
  };
  const invalidate = (value: string) => {
    for (const [type, v] of prepared) if (v === value) prepared.delete(type);
  };

  const weights: WeightMatrix[] = [];
  const ropes: RopeSpec[] = [];
  let embedding: LoweredGraph['embedding'] | undefined;
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node: GraphNode = nodes[i]!;
    switch (node.op) {
      case 'get_rows':
        embedding = { weight: node.weight, scale: node.scale, out: view(node.out) };
        invalidate(node.out);
        break;
      case 'rms_norm': {
        const input = view(node.input);
        const out = view(node.out);
        const group = node.weight.length;
        // A per-head norm (q/k norm) runs on the (token, KV head) items RoPE and attention take.
        const p: Partition =
          group < input.width ? { kind: 'items', kvHeads: kvHeadsOf(graph) } : rowsPartition(input);
        emit(
          Op.norm,
          node.name,
          [
            ROWS[input.rows],
            bufferArg(input),
            input.stride,
            bufferArg(out),
            out.stride,
            input.width,
            group,
            { f32s: node.weight },
            { f32: node.eps },
            ...partitionArgs(p),
          ],
          [[viewKey(input), p]],
          [[viewKey(out), p]],
        );
        invalidate(node.out);
        break;
      }
      case 'mul_mat': {
        const input = view(node.input);
        const actType = vecDotType(node.weight.type);
        quantize(node, input, actType);
        if (!weights.includes(node.weight)) weights.push(node.weight);
        // The residual add that follows a single-output matmul folds into it (out += W·x).
        const next = nodes[i + 1];
        const single = node.outputs.length === 1 ? node.outputs[0]!.value : undefined;
        const fold =
          single !== undefined &&
          next?.op === 'add' &&
          next.b === single &&
          next.a === next.out &&
          next.a !== node.input &&
          !readBeforeWritten(nodes, i + 2, single);
        const target = fold ? view(next.out) : single !== undefined ? view(single) : undefined;
        const outView: View = target ?? {
          ...view(node.outputs[0]!.value),
          offset: 0,
          width: node.weight.rows,
        };
        const unit = matmulUnit(node.weight.rows, threads);
        const p: Partition = { kind: 'cols', unit, width: node.weight.rows };
        const writes: Array<[string, Partition]> =
          node.outputs.length === 1
            ? [[viewKey(outView), p]]
            : node.outputs.map((o) => [viewKey(view(o.value)), p]);
        emit(
          Op.matmul,
          fold ? `${node.name}+${next.name}` : node.name,
          [
            ROWS[input.rows],
            { weight: node.weight, part: 'type' },
            { weight: node.weight, part: 'rows' },
            { weight: node.weight, part: 'aux' },
            node.weight.rows,
            node.weight.cols,
            { buffer: actBuffer(actType), byteOffset: 0 },
            options.actRowBytes(actType, node.weight.cols),
            bufferArg(outView),
            outView.stride,
            fold ? 1 : 0,
            node.bias ? { f32s: node.bias } : 0,
            unit,
            { weight: node.weight, part: 'rowBytes' },
          ],
          [
            [actBuffer(actType), { kind: 'all' }],
            ...(fold ? ([[viewKey(outView), p]] as Array<[string, Partition]>) : []),
          ],
          writes,
        );
        for (const o of node.outputs) invalidate(o.value);
        if (fold) {
          invalidate(next.out);
          i++;
        }
        break;
      }
      case 'rope': {
        const v = view(node.value);
        const kvHeads = kvHeadsOf(graph);
        const p: Partition = { kind: 'items', kvHeads };
        let index = ropes.indexOf(node.rope);
        if (index < 0) index = ropes.push(node.rope) - 1;
        // The step's (cos, sin) table of this rope, f64, one row per token, written by the host.
        addBuffer(ropeBuffer(index), node.rope.rotaryDim * 8, 'tokens');
        emit(
          Op.rope,
          node.name,
          [
            bufferArg(v),
            v.stride,
            node.heads,
            kvHeads,
            node.rope.headDim,
            node.rope.rotaryDim,
            node.rope.style === 'neox' ? 1 : 0,
            { buffer: ropeBuffer(index), byteOffset: 0 },
          ],
          [[viewKey(v), p]],
          [[viewKey(v), p]],
        );
        invalidate(node.value);
        break;
      }
      case 'kv_store': {
        const k = view(node.k);
        const v = view(node.v);
        const kvHeads = kvHeadsOf(graph);
        const hd = graph.kvDim / kvHeads;
        const p: Partition = { kind: 'items', kvHeads };
        emit(
          Op.kvStore,
          node.name,
          [
            bufferArg(k),
            k.stride,
            bufferArg(v),
            v.stride,
            kvHeads,
            hd,
            { kv: 'k', layer: node.kvLayer },
            { kv: 'v', layer: node.kvLayer },
            options.kvF16 ? 1 : 0,
          ],
          [
            [viewKey(k), p],
            [viewKey(v), p],
          ],
          [[`kv${node.kvLayer}`, p]],
        );
        break;
      }
      case 'attn_paged': {
        const q = view(node.q);
        const out = view(node.out);
        const p: Partition = { kind: 'items', kvHeads: node.kvHeads };
        // The K/V it reads are the items' own (a decode's token) or other threads' (earlier
        // tokens of a prefill in the same step): the threads meet first in steps with the latter.
        const kv = `kv${node.kvLayer}`;
        const stored = written.has(kv);
        written.delete(kv);
        // Its output quantized for the matmul that reads it, item by item, where an item's
        // columns are whole activation blocks.
        const reader = nodes.slice(i + 1).find((n): n is MulMatNode => n.op === 'mul_mat');
        const groupWidth = (node.heads / node.kvHeads) * node.headDim;
        const actType = reader && reader.input === node.out ? vecDotType(reader.weight.type) : -1;
        const fuse = actType >= 0 && groupWidth % actBlock(actType) === 0 && out.offset === 0;
        if (fuse) {
          addBuffer(
            actBuffer(actType),
            options.actRowBytes(actType, actWidths.get(actType)!),
            'tokens',
          );
        }
        emit(
          Op.attn,
          node.name,
          [
            bufferArg(q),
            q.stride,
            bufferArg(out),
            out.stride,
            { kv: 'k', layer: node.kvLayer },
            { kv: 'v', layer: node.kvLayer },
            node.heads,
            node.kvHeads,
            node.headDim,
            { f32: node.scale },
            { f32: node.softcap },
            node.slidingWindow,
            fuse ? actType : 0,
            fuse ? { buffer: actBuffer(actType), byteOffset: 0 } : 0,
            fuse ? options.actRowBytes(actType, out.width) : 0,
            options.kvF16 ? 1 : 0,
          ],
          [
            [viewKey(q), p],
            [kv, p],
          ],
          [
            [viewKey(out), p],
            ...(fuse ? ([[actBuffer(actType), p]] as Array<[string, Partition]>) : []),
          ],
          stored,
        );
        invalidate(node.out);
        if (fuse) prepared.set(actType, node.out);
        break;
      }
      case 'add': {
        const a = view(node.a);
        const b = view(node.b);
        const out = view(node.out);
        const p = elementwisePartition(b);
        emit(
          Op.add,
          node.name,
          [
            ROWS[out.rows],
            bufferArg(a),
            a.stride,
            bufferArg(b),
            b.stride,
            bufferArg(out),
            out.stride,
            out.width,
            ...partitionArgs(p),
          ],
          [
            [viewKey(a), p],
            [viewKey(b), p],
          ],
          [[viewKey(out), p]],
        );
        invalidate(node.out);
        break;
      }
      case 'glu': {
        const gate = view(node.gate);
        const up = view(node.up);
        const out = view(node.out);
        const p = elementwisePartition(gate);
        emit(
          Op.glu,
          node.name,
          [
            ROWS[out.rows],
            bufferArg(gate),
            gate.stride,
            bufferArg(up),
            up.stride,
            bufferArg(out),
            out.stride,
            out.width,
            node.activation === 'silu' ? 0 : 1,
            ...partitionArgs(p),
          ],
          [
            [viewKey(gate), p],
            [viewKey(up), p],
          ],
          [[viewKey(out), p]],
        );
        invalidate(node.out);
        break;
      }
      case 'output_rows': {
        const input = view(node.input);
        const out = view(node.out);
        const p: Partition = { kind: 'rows', rows: 'sampled' };
        emit(
          Op.rows,
          node.name,
          [bufferArg(input), input.stride, bufferArg(out), out.stride, input.width],
          [[viewKey(input), { kind: 'all' }]],
          [[viewKey(out), p]],
        );
        invalidate(node.out);
        break;
      }
      case 'softcap': {
        const v = view(node.value);
        const p = elementwisePartition(v);
        emit(
          Op.softcap,
          node.name,
          [ROWS[v.rows], bufferArg(v), v.stride, v.width, { f32: node.cap }, ...partitionArgs(p)],
          [[viewKey(v), p]],
          [[viewKey(v), p]],
        );
        invalidate(node.value);
        break;
      }
    }
  }
  if (!embedding) throw new LoweringError('the graph has no embedding gather (get_rows)');
  return {
    ops,
    buffers: [...buffers.values()],
    weights,
    ropes,
    embedding,
    logits: view(graph.logits),
    kvLayers: graph.kvLayers,
    kvDim: graph.kvDim,
  };
}

/** The buffer of the step's (cos, sin) table of the `index`-th distinct RoPE. */
export const ropeBuffer = (index: number): string => `rope${index}`;

/** KV heads of the graph's attention (every attention node has the same). */
function kvHeadsOf(graph: ModelGraph): number {
  for (const n of graph.nodes) if (n.op === 'attn_paged') return n.kvHeads;
  throw new LoweringError('the graph has no attention node');
}
