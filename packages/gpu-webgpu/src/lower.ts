// The model graph lowered to this package's kernels. Each rule matches a run of graph nodes and
// emits the dispatches of one fused kernel (an RMS norm folded into the matmuls that read it, Q, K
// and V as one matmul, gate·up·activation as one, RoPE with the K/V write, a residual add folded
// into the matmul before it); a node no rule takes is an error that names it. No architecture is
// named here: an architecture is its graph.
import {
  type AttnPagedNode,
  type GraphNode,
  type ModelGraph,
  type MulMatNode,
  type RmsNormNode,
  type RopeSpec,
  readBeforeWritten,
  type WeightMatrix,
} from '@x/model';
import { GpuExecutorError } from './errors.js';
import type { Kernel } from './kernels/bindings.js';
import {
  type AttentionShape,
  attentionShader,
  groupRmsShader,
  type MatmulVariant,
  normAddShader,
  rmsShader,
  ropeKvShader,
  softcapShader,
} from './kernels/kernels.js';

/** Workgroup counts for a step of `tokens` tokens, `samples` sampled rows and `tiles` attention tiles. */
export type Grid = (tokens: number, samples: number, tiles: number) => [number, number, number];

/** What the lowering needs from the executor: buffers, weights and the dispatches it records. */
export interface LoweringTarget {
  /** The buffer of a graph value (allocated on first use, sized for the step budget). */
  value(name: string): GPUBuffer;
  /** A scratch buffer of one f32 per token (the RMS norms' inverse roots). */
  inv: GPUBuffer;
  /** A small f32 vector (norm weight, bias) on the device. */
  vector(label: string, data: Float32Array): GPUBuffer;
  /** The cos/sin table of a rope, `[position][pair]`, shared by every layer that uses it. */
  ropeTable(rope: RopeSpec): GPUBuffer;
  keys: readonly GPUBuffer[];
  values: readonly GPUBuffer[];
  kvType: 'f32' | 'f16';
  blockSize: number;
  /**
   * Query tokens per tiled-attention workgroup, the tile size the step data is packed for (1: no
   * tiled kernel).
   */
  tileTokens: number;
  /**
   * Records a dispatch of a kernel, its bindings by name (the step uniform and data are bound for
   * every kernel).
   */
  op(label: string, kernel: Kernel, bindings: Record<string, GPUBuffer>, grid: Grid): void;
  /**
   * Records a matmul (both its split-K and tiled kernels) against `weights`: one weight, or Q, K
   * and V as one (`weights.length` 3, same type), or gate and up (`variant.dual`: two weights).
   */
  matmul(
    label: string,
    weights: readonly WeightMatrix[],
    variant: Omit<MatmulVariant, 'dual'> & { dual?: boolean },
    bindings: Record<string, GPUBuffer>,
  ): void;
  /** Records the embedding gather of `weight` rows (scaled) into `out`, `width` floats a row. */
  embed(label: string, weight: WeightMatrix, scale: number, out: GPUBuffer, width: number): void;
}

const perToken: Grid = (T) => [T, 1, 1];

/**
 * Lowers every node of `graph` to dispatches on `target`, in order.
 * @throws GpuExecutorError `GPU_UNSUPPORTED_MODEL` naming the first node no rule lowers
 */
export function lowerGraph(graph: ModelGraph, target: LoweringTarget): void {
  const nodes = graph.nodes;
  const width = (name: string) => graph.values[name]!.width;
  const unsupported = (node: GraphNode, why: string): never => {
    throw new GpuExecutorError(
      `${node.name}: the WebGPU executor has no kernel for this ${node.op} (${why})`,
      'GPU_UNSUPPORTED_MODEL',
    );
  };
  /** Whether any node from `from` on reads `value` before a node writes it again. */
  const readLater = (value: string, from: number): boolean => readBeforeWritten(nodes, from, value);

  let i = 0;
  while (i < nodes.length) {
    const node = nodes[i]!;
    const label = node.name;
    switch (node.op) {
      case 'get_rows':
        target.embed(label, node.weight, node.scale, target.value(node.out), width(node.out));
        i++;
        break;
      case 'rms_norm': {
        if (node.weight.length !== width(node.input)) {
          // Per-head norm, in place (q/k norm).
          if (node.input !== node.out) unsupported(node, 'a per-head norm that is not in place');
          target.op(
            label,
            groupRmsShader(width(node.input), node.weight.length, node.eps),
            { x: target.value(node.input), w: target.vector(label, node.weight) },
            (T) => [T, width(node.input) / node.weight.length, 1],
          );
          i++;
          break;
        }
        i = lowerNormedMatmuls(graph, i, target, unsupported, readLater);
        break;
      }
      case 'rope':
      case 'kv_store':
        i = lowerRopeKv(graph, i, target, unsupported);
        break;
      case 'attn_paged':
        lowerAttention(node, target);
        i++;
        break;
      case 'mul_mat': {
        // A projection whose output is added to the residual, directly or through a norm.
        const out = node.outputs[0]!.value;
        const next = nodes[i + 1];
        const after = nodes[i + 2];
        if (node.outputs.length !== 1 || node.bias)
          unsupported(node, 'a split or biased output matmul');
        const variant = { n: node.weight.rows, k: node.weight.cols };
        if (next?.op === 'add' && next.b === out && next.a === next.out && !readLater(out, i + 2)) {
          target.matmul(
            label,
            [node.weight],
            { ...variant, residual: true },
            {
              x: target.value(node.input),
              out: target.value(next.out),
            },
          );
          i += 2;
        } else if (
          next?.op === 'rms_norm' &&
          next.input === out &&
          next.out === out &&
          after?.op === 'add' &&
          after.b === out &&
          after.a === after.out &&
          !readLater(out, i + 3)
        ) {
          const h = target.value(out);
          target.matmul(label, [node.weight], variant, { x: target.value(node.input), out: h });
          const x = target.value(after.out);
          target.op(
            next.name,
            normAddShader(width(out), next.eps),
            { x, h, w: target.vector(next.name, next.weight) },
            perToken,
          );
          i += 3;
        } else {
          unsupported(node, 'a matmul neither normed on its input nor added to the residual');
        }
        break;
      }
      case 'output_rows':
        i = lowerOutput(graph, i, target, unsupported);
        break;
      case 'softcap': {
        if (graph.values[node.value]!.rows !== 'sampled')
          unsupported(node, 'soft-capping per token');
        const w = width(node.value);
        target.op(label, softcapShader(w, node.cap), { x: target.value(node.value) }, (_, S) => [
          Math.ceil(w / 256),
          S,
          1,
        ]);
        i++;
        break;
      }
      default:
        unsupported(node, 'no lowering rule starts with it');
    }
  }
}

/**
 * An RMS norm of the residual stream and the matmuls that read it: the norm's inverse roots are
 * computed once, each matmul normalizes its input on load. Q, K and V of one type become one
 * matmul with three outputs; gate and up followed by their gated activation become one dual
 * matmul, whether the file stores them apart or as one matrix.
 */
function lowerNormedMatmuls(
  graph: ModelGraph,
  at: number,
  target: LoweringTarget,
  unsupported: (node: GraphNode, why: string) => never,
  readLater: (value: string, from: number) => boolean,
): number {
  const nodes = graph.nodes;
  const norm = nodes[at] as RmsNormNode;
  const users: MulMatNode[] = [];
  let i = at + 1;
  while (nodes[i]?.op === 'mul_mat' && (nodes[i] as MulMatNode).input === norm.out) {
    users.push(nodes[i] as MulMatNode);
    i++;
  }
  if (users.length === 0) unsupported(norm, 'a norm that no matmul reads');
  if (graph.values[norm.input]!.rows !== 'tokens') unsupported(norm, 'a norm of sampled rows');
  if (readLater(norm.out, i)) unsupported(norm, 'a normed value read past its matmuls');
  const x = target.value(norm.input);
  const d = graph.values[norm.input]!.width;
  target.op(norm.name, rmsShader(d, norm.eps), { x, inv: target.inv }, perToken);
  const normed = { x, inv: target.inv, norm_w: target.vector(norm.name, norm.weight) };
  const glu = nodes[i];
  const gluOf = (gate: string, up: string) =>
    glu?.op === 'glu' && glu.gate === gate && glu.up === up && !readLater(up, i + 1)
      ? glu
      : undefined;
  // Gate and up, apart or as one matrix, then their activation: one dual matmul.
  const [a, b] = users;
  if (
    users.length === 2 &&
    a!.outputs.length === 1 &&
    b!.outputs.length === 1 &&
    !a!.bias &&
    !b!.bias
  ) {
    const g = gluOf(a!.outputs[0]!.value, b!.outputs[0]!.value);
    if (g && a!.weight.cols === b!.weight.cols) {
      target.matmul(
        `${a!.name}·up`,
        [a!.weight, b!.weight],
        { n: a!.weight.rows, k: a!.weight.cols, norm: true, dual: true, activation: g.activation },
        { ...normed, out: target.value(g.out) },
      );
      return i + 1;
    }
  }
  if (users.length === 1 && a!.outputs.length === 2 && !a!.bias) {
    const [gate, up] = a!.outputs;
    const g = gluOf(gate!.value, up!.value);
    if (g && gate!.rows === up!.rows) {
      const halves = splitRows(a!.weight, gate!.rows);
      target.matmul(
        a!.name,
        halves,
        { n: gate!.rows, k: a!.weight.cols, norm: true, dual: true, activation: g.activation },
        { ...normed, out: target.value(g.out) },
      );
      return i + 1;
    }
  }
  // Q, K and V apart, of one type: one matmul, three outputs.
  const single = users.every((u) => u.outputs.length === 1);
  if (
    users.length === 3 &&
    single &&
    users.every((u) => u.weight.type === a!.weight.type && u.weight.cols === a!.weight.cols)
  ) {
    const rows = users.map((u) => u.weight.rows) as [number, number, number];
    const bias = biasOf(users, target, `${a!.name}·k·v`);
    const bindings: Record<string, GPUBuffer> = {
      ...normed,
      out: target.value(users[0]!.outputs[0]!.value),
      out_b: target.value(users[1]!.outputs[0]!.value),
      out_c: target.value(users[2]!.outputs[0]!.value),
    };
    if (bias) bindings.bias = bias;
    target.matmul(
      `${a!.name}·k·v`,
      users.map((u) => u.weight),
      {
        n: rows[0] + rows[1] + rows[2],
        k: a!.weight.cols,
        norm: true,
        bias: bias !== undefined,
        split: rows,
      },
      bindings,
    );
    return i;
  }
  for (const u of users) {
    const bias = u.bias ? target.vector(`${u.name} bias`, u.bias) : undefined;
    const variant: Omit<MatmulVariant, 'dual'> = {
      n: u.weight.rows,
      k: u.weight.cols,
      norm: true,
      bias: bias !== undefined,
    };
    const bindings: Record<string, GPUBuffer> = { ...normed };
    if (bias) bindings.bias = bias;
    if (u.outputs.length === 1) bindings.out = target.value(u.outputs[0]!.value);
    else if (u.outputs.length === 3) {
      variant.split = u.outputs.map((o) => o.rows) as [number, number, number];
      bindings.out = target.value(u.outputs[0]!.value);
      bindings.out_b = target.value(u.outputs[1]!.value);
      bindings.out_c = target.value(u.outputs[2]!.value);
    } else unsupported(u, `a matmul with ${u.outputs.length} outputs and no activation after it`);
    target.matmul(u.name, [u.weight], variant, bindings);
  }
  return i;
}

/** The biases of matmuls fused into one, concatenated (zeros where one has none), or undefined. */
function biasOf(
  users: readonly MulMatNode[],
  target: LoweringTarget,
  label: string,
): GPUBuffer | undefined {
  if (users.every((u) => !u.bias)) return undefined;
  const all = new Float32Array(users.reduce((n, u) => n + u.weight.rows, 0));
  let at = 0;
  for (const u of users) {
    if (u.bias) all.set(u.bias, at);
    at += u.weight.rows;
  }
  return target.vector(`${label} bias`, all);
}

/** Rows `[0, n)` and `[n, rows)` of a matrix, as two (Phi-3's gate and up, stored as one). */
function splitRows(w: WeightMatrix, n: number): [WeightMatrix, WeightMatrix] {
  const cut = n * w.rowBytes;
  return [
    { ...w, name: `${w.name}[gate]`, rows: n, data: w.data.subarray(0, cut) },
    { ...w, name: `${w.name}[up]`, rows: w.rows - n, data: w.data.subarray(cut) },
  ];
}

/** RoPE of Q and K (or none) and the K/V write: one kernel a layer. */
function lowerRopeKv(
  graph: ModelGraph,
  at: number,
  target: LoweringTarget,
  unsupported: (node: GraphNode, why: string) => never,
): number {
  const nodes = graph.nodes;
  let i = at;
  let ropeQ: Extract<GraphNode, { op: 'rope' }> | undefined;
  let ropeK: Extract<GraphNode, { op: 'rope' }> | undefined;
  while (nodes[i]?.op === 'rope') {
    const r = nodes[i] as Extract<GraphNode, { op: 'rope' }>;
    if (ropeQ === undefined) ropeQ = r;
    else if (ropeK === undefined) ropeK = r;
    else unsupported(r, 'a third rope before the K/V write');
    i++;
  }
  const store = nodes[i];
  if (store?.op !== 'kv_store')
    return unsupported(nodes[at]!, 'a rope not followed by the K/V write');
  if (ropeQ && (!ropeK || ropeK.value !== store.k || ropeK.rope !== ropeQ.rope)) {
    unsupported(ropeQ, 'RoPE of Q without the same RoPE of the K being stored');
  }
  const attention = nodes.slice(i + 1).find((n): n is AttnPagedNode => n.op === 'attn_paged');
  if (!attention) return unsupported(store, 'a K/V write no attention reads');
  const q = target.value(ropeQ?.value ?? attention.q);
  const rope = ropeQ?.rope;
  const shape = attentionShape(attention, target);
  const bindings: Record<string, GPUBuffer> = {
    q,
    k: target.value(store.k),
    v: target.value(store.v),
    kc: target.keys[store.kvLayer]!,
    vc: target.values[store.kvLayer]!,
  };
  if (rope) bindings.rope = target.ropeTable(rope);
  target.op(
    `${store.name.replace(/kv_store$/, '')}rope + kv write`,
    ropeKvShader(shape, rope?.style ?? 'neox', rope?.rotaryDim ?? 0),
    bindings,
    perToken,
  );
  return i + 1;
}

function attentionShape(node: AttnPagedNode, target: LoweringTarget): AttentionShape {
  return {
    numHeads: node.heads,
    numKvHeads: node.kvHeads,
    headDim: node.headDim,
    blockSize: target.blockSize,
    kvType: target.kvType,
    scale: node.scale,
    softcap: node.softcap,
    slidingWindow: node.slidingWindow,
  };
}

/**
 * Tiled attention where some sequence brings more than one token (prefill); one workgroup a token
 * where every sequence brings one (decode).
 */
function lowerAttention(node: AttnPagedNode, target: LoweringTarget): void {
  const shape = attentionShape(node, target);
  const { tileTokens } = target;
  const bindings = {
    q: target.value(node.q),
    kc: target.keys[node.kvLayer]!,
    vc: target.values[node.kvLayer]!,
    out: target.value(node.out),
  };
  const tiled = (T: number, tiles: number) => tileTokens > 1 && tiles < T;
  // Decode: every tile is one token (tiles = T).
  target.op(node.name, attentionShader(shape, 1), bindings, (T, _, tiles) =>
    tiled(T, tiles) ? [0, 0, 0] : [tiles, node.kvHeads, 1],
  );
  if (tileTokens > 1) {
    target.op(node.name, attentionShader(shape, tileTokens), bindings, (T, _, tiles) =>
      tiled(T, tiles) ? [tiles, node.kvHeads, 1] : [0, 0, 0],
    );
  }
}

/**
 * The sampled rows' final norm and output projection: the norm's roots over every token, then
 * one matmul that gathers the sampled rows and normalizes them on load.
 */
function lowerOutput(
  graph: ModelGraph,
  at: number,
  target: LoweringTarget,
  unsupported: (node: GraphNode, why: string) => never,
): number {
  const nodes = graph.nodes;
  const rows = nodes[at] as Extract<GraphNode, { op: 'output_rows' }>;
  const norm = nodes[at + 1];
  const mm = nodes[at + 2];
  if (
    norm?.op !== 'rms_norm' ||
    norm.input !== rows.out ||
    mm?.op !== 'mul_mat' ||
    mm.input !== norm.out ||
    mm.outputs.length !== 1 ||
    mm.bias
  ) {
    return unsupported(rows, 'output rows not followed by a norm and one projection');
  }
  const x = target.value(rows.input);
  const d = graph.values[rows.input]!.width;
  target.op(norm.name, rmsShader(d, norm.eps), { x, inv: target.inv }, perToken);
  target.matmul(
    mm.name,
    [mm.weight],
    { n: mm.weight.rows, k: mm.weight.cols, norm: true, gather: true },
    {
      x,
      out: target.value(mm.outputs[0]!.value),
      inv: target.inv,
      norm_w: target.vector(norm.name, norm.weight),
    },
  );
  return at + 3;
}
