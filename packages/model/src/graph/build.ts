import type { ModelConfig } from '../config.js';
import type { ModelWeights } from '../weights.js';
import type { GraphNode, GraphValue, ModelGraph, MulMatOutput, RopeSpec } from './graph.js';

/**
 * Per-pair inverse rotary frequencies of one layer, as ggml's `rope_yarn` turns them into angles:
 * `θ_i = base^(-2i / rotaryDim) / freqFactor_i`, then linear scaling (`· 1/scale`) and, with
 * YaRN, a per-pair blend of the interpolated and extrapolated frequency. The magnitude correction
 * (`attnFactor`) is returned beside them.
 */
export function ropeSpec(config: ModelConfig, layer: number, maxModelLen?: number): RopeSpec {
  const swa = (config.layerSlidingWindow[layer] ?? 0) > 0;
  const base = swa ? config.ropeThetaSwa : config.ropeTheta;
  const freqScale = 1 / (swa ? config.ropeLinearScaleSwa : config.ropeLinearScale);
  const rotaryDim = config.rotaryDim;
  const half = rotaryDim / 2;
  const inverseFrequencies = new Float64Array(half);
  // LongRoPE: the long factors where the context runs past the original one, as llama.cpp picks.
  const long = (maxModelLen ?? config.contextLength) > config.ropeOriginalContextLength;
  const factors = swa
    ? undefined
    : long && config.ropeLongFreqFactors
      ? config.ropeLongFreqFactors
      : config.ropeFreqFactors;
  const yarn = swa ? undefined : config.ropeYarn;
  let attnFactor = config.ropeAttnFactor;
  // ggml_rope_yarn_corr_dims: the pairs below `low` keep the extrapolated frequency, those above
  // `high` take the interpolated one, and a linear ramp joins them.
  let low = 0;
  let high = 0;
  if (yarn) {
    const corrDim = (rotations: number) =>
      (rotaryDim * Math.log(yarn.originalContextLength / (rotations * 2 * Math.PI))) /
      (2 * Math.log(base));
    low = Math.max(0, Math.floor(corrDim(yarn.betaFast)));
    high = Math.min(rotaryDim - 1, Math.ceil(corrDim(yarn.betaSlow)));
    attnFactor *= 1 + 0.1 * Math.log(1 / freqScale);
  }
  for (let i = 0; i < half; i++) {
    const extrapolated = base ** ((-2 * i) / rotaryDim) / (factors ? (factors[i] as number) : 1);
    let theta = freqScale * extrapolated;
    if (yarn) {
      const y = (i - low) / Math.max(0.001, high - low);
      const ramp = (1 - Math.min(1, Math.max(0, y))) * yarn.extFactor;
      theta = theta * (1 - ramp) + extrapolated * ramp;
    }
    inverseFrequencies[i] = theta;
  }
  return {
    style: config.ropeStyle,
    headDim: config.headDim,
    rotaryDim,
    inverseFrequencies,
    attnFactor,
  };
}

/** Options of {@link buildModelGraph}. */
export interface GraphOptions {
  /**
   * The longest sequence the executor runs: picks LongRoPE's long or short factors. Default the
   * model's context length.
   */
  maxModelLen?: number;
}

/**
 * The forward pass of a decoder-only transformer as a {@link ModelGraph}: the one layer loop of
 * xinfer. Every architecture is this loop with its config's switches (norm placement, q/k norm,
 * activation, soft-capping, sliding windows, layers without RoPE) and its file's tensors (fused
 * QKV or gate·up where the file stores them so).
 */
export function buildModelGraph(
  config: ModelConfig,
  weights: ModelWeights,
  options: GraphOptions = {},
): ModelGraph {
  const c = config;
  const d = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const values: Record<string, GraphValue> = {};
  const nodes: GraphNode[] = [];
  const value = (name: string, width: number, rows: GraphValue['rows'] = 'tokens') => {
    values[name] = { width, rows };
    return name;
  };
  const x = value('x', d);
  const h = value('h', d);
  const q = value('q', qDim);
  const k = value('k', kvDim);
  const v = value('v', kvDim);
  const attn = value('attn', qDim);
  const gate = value('gate', ff);
  const up = value('up', ff);
  nodes.push({
    op: 'get_rows',
    name: 'token_embd',
    layer: -1,
    weight: weights.tokenEmbedding,
    scale: c.embeddingScale,
    out: x,
  });
  // One spec object per distinct rope, so executors can share tables between layers.
  const ropes = new Map<string, RopeSpec>();
  weights.layers.forEach((w, l) => {
    const at = `blk.${l}.`;
    const norm = (name: string, input: string, weight: Float32Array, out: string) =>
      nodes.push({
        op: 'rms_norm',
        name: at + name,
        layer: l,
        input,
        weight,
        eps: c.rmsNormEps,
        out,
      });
    const mulMat = (
      name: string,
      input: string,
      weight: (typeof w)['wo'],
      outputs: MulMatOutput[],
      bias?: Float32Array,
    ) => nodes.push({ op: 'mul_mat', name: at + name, layer: l, input, weight, bias, outputs });

    norm('attn_norm', x, w.attnNorm, h);
    if (w.wqkv) {
      mulMat(
        'attn_qkv',
        h,
        w.wqkv,
        [
          { value: q, rows: qDim },
          { value: k, rows: kvDim },
          { value: v, rows: kvDim },
        ],
        w.bqkv,
      );
    } else {
      mulMat('attn_q', h, w.wq!, [{ value: q, rows: qDim }], w.bq);
      mulMat('attn_k', h, w.wk!, [{ value: k, rows: kvDim }], w.bk);
      mulMat('attn_v', h, w.wv!, [{ value: v, rows: kvDim }], w.bv);
    }
    if (w.qNorm) norm('attn_q_norm', q, w.qNorm, q);
    if (w.kNorm) norm('attn_k_norm', k, w.kNorm, k);
    if (c.layerRope[l] ?? true) {
      const spec = ropeSpec(c, l, options.maxModelLen);
      const key = `${spec.attnFactor}:${spec.inverseFrequencies.join(',')}`;
      const rope = ropes.get(key) ?? spec;
      ropes.set(key, rope);
      nodes.push({ op: 'rope', name: `${at}rope_q`, layer: l, value: q, heads: c.numHeads, rope });
      nodes.push({
        op: 'rope',
        name: `${at}rope_k`,
        layer: l,
        value: k,
        heads: c.numKvHeads,
        rope,
      });
    }
    nodes.push({ op: 'kv_store', name: `${at}kv_store`, layer: l, k, v, kvLayer: l });
    nodes.push({
      op: 'attn_paged',
      name: `${at}attn`,
      layer: l,
      q,
      kvLayer: l,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      scale: c.attentionScale,
      softcap: c.attnLogitSoftcap,
      slidingWindow: c.layerSlidingWindow[l] ?? 0,
      out: attn,
    });
    mulMat('attn_output', attn, w.wo, [{ value: h, rows: d }]);
    if (w.postAttnNorm) norm('post_attention_norm', h, w.postAttnNorm, h);
    nodes.push({ op: 'add', name: `${at}attn_residual`, layer: l, a: x, b: h, out: x });

    norm('ffn_norm', x, w.ffnNorm, h);
    if (w.wGate) {
      mulMat('ffn_gate', h, w.wGate, [{ value: gate, rows: ff }]);
      mulMat('ffn_up', h, w.wUp, [{ value: up, rows: ff }]);
    } else {
      // Phi-3 stores gate and up as one matrix, gate rows first.
      mulMat('ffn_up', h, w.wUp, [
        { value: gate, rows: ff },
        { value: up, rows: ff },
      ]);
    }
    nodes.push({
      op: 'glu',
      name: `${at}ffn_glu`,
      layer: l,
      activation: c.activation,
      gate,
      up,
      out: gate,
    });
    mulMat('ffn_down', gate, w.wDown, [{ value: h, rows: d }]);
    if (w.postFfnNorm) norm('post_ffw_norm', h, w.postFfnNorm, h);
    nodes.push({ op: 'add', name: `${at}ffn_residual`, layer: l, a: x, b: h, out: x });
  });
  const last = value('x_out', d, 'sampled');
  const normed = value('x_out_norm', d, 'sampled');
  const logits = value('logits', c.vocabSize, 'sampled');
  nodes.push({ op: 'output_rows', name: 'output_rows', layer: -1, input: x, out: last });
  nodes.push({
    op: 'rms_norm',
    name: 'output_norm',
    layer: -1,
    input: last,
    weight: weights.outputNorm,
    eps: c.rmsNormEps,
    out: normed,
  });
  nodes.push({
    op: 'mul_mat',
    name: 'output',
    layer: -1,
    input: normed,
    weight: weights.output,
    bias: undefined,
    outputs: [{ value: logits, rows: c.vocabSize }],
  });
  if (c.finalLogitSoftcap > 0) {
    nodes.push({
      op: 'softcap',
      name: 'final_logit_softcap',
      layer: -1,
      value: logits,
      cap: c.finalLogitSoftcap,
    });
  }
  return { values, nodes, logits, kvLayers: c.numLayers, kvDim };
}
