import { z } from 'zod';

// The `LoadTestResult` record of the source's load tester, field for field, with its snake_case
// JSON names so result files written by other tools in this schema load unchanged. Records are
// loose: fields this schema does not know are kept, not dropped. `Option<…>` fields of the source
// may be absent or null.

const count = z.number().int().nonnegative();
const num = z.number();

/** min / mean / max of one telemetry series. */
export const TelemetryStatSchema = z.looseObject({ mean: num, max: num, min: num });
export type TelemetryStat = z.infer<typeof TelemetryStatSchema>;

/** GPU telemetry sampled during a run. */
export const GpuTelemetrySchema = z.looseObject({
  samples: count,
  gpu_utilization_pct: TelemetryStatSchema,
  memory_used_mb: TelemetryStatSchema,
  memory_total_mb: num,
  power_draw_w: TelemetryStatSchema,
  temperature_c: TelemetryStatSchema,
  clock_gpu_mhz: TelemetryStatSchema,
  throttle_events: count,
  energy_total_wh: num,
  energy_per_token_mj: num,
  energy_per_request_mj: num,
});
export type GpuTelemetry = z.infer<typeof GpuTelemetrySchema>;

/** One inter-token gap above the spike threshold. */
export const JitterSpikeSchema = z.looseObject({
  request_index: count.optional(),
  token_index: count.optional(),
  itl_ms: num.optional(),
});
export type JitterSpike = z.infer<typeof JitterSpikeSchema>;

/** Inter-token latency jitter: coefficient of variation, IQR, spikes over a threshold. */
export const JitterAnalysisSchema = z.looseObject({
  itl_cv: num,
  itl_iqr_ms: num,
  spike_count: count,
  spike_threshold_ms: num,
  spikes: z.array(JitterSpikeSchema).default([]),
});
export type JitterAnalysis = z.infer<typeof JitterAnalysisSchema>;

/** Latency drift over the run: slopes in ms per minute and whether it degraded. */
export const DriftAnalysisSchema = z.looseObject({
  itl_slope_ms_per_min: num,
  ttft_slope_ms_per_min: num,
  degradation_detected: z.boolean(),
});
export type DriftAnalysis = z.infer<typeof DriftAnalysisSchema>;

/** The far tail (p99.9, p99.99), tail ratios (p99.9 / p50), jitter and drift. */
export const TailAnalysisSchema = z.looseObject({
  itl_p999_ms: num,
  itl_p9999_ms: num,
  ttft_p999_ms: num,
  ttft_p9999_ms: num,
  latency_p999_ms: num,
  latency_p9999_ms: num,
  tail_ratio_itl: num,
  tail_ratio_ttft: num,
  tail_ratio_latency: num,
  jitter: JitterAnalysisSchema,
  drift: DriftAnalysisSchema,
});
export type TailAnalysis = z.infer<typeof TailAnalysisSchema>;

/** Output validation of a run. */
export const QualityResultSchema = z.looseObject({
  validation_level: z.string(),
  total_validated: count,
  passed: count,
  failed: count,
  pass_rate: num,
  failures: z.array(z.unknown()).default([]),
});
export type QualityResult = z.infer<typeof QualityResultSchema>;

/**
 * One request of a run. `completion_tokens` and `itl_ms` (its mean inter-token latency) are what
 * the scorecards read; the other fields are what xinfer's load generator records.
 */
export const RequestDetailSchema = z.looseObject({
  completion_tokens: count,
  itl_ms: num,
  prompt_tokens: count.nullish(),
  ttft_ms: num.nullish(),
  latency_ms: num.nullish(),
  /** When the request started, in ms from the start of the run. */
  start_ms: num.nullish(),
  /** `ok`, `error` or `timeout`. */
  status: z.string().nullish(),
  error: z.string().nullish(),
});
export type RequestDetail = z.infer<typeof RequestDetailSchema>;

/** Distribution of completion tokens per request. */
export const OutputTokensDistSchema = z.looseObject({
  min: num.optional(),
  max: num.optional(),
  mean: num.optional(),
  stddev: num.optional(),
  p50: num.optional(),
  p90: num.optional(),
  p99: num.optional(),
});
export type OutputTokensDist = z.infer<typeof OutputTokensDistSchema>;

/** The result of one load test of one runtime at one concurrency. */
export const LoadTestResultSchema = z.looseObject({
  total_requests: count,
  successful: count,
  failed: count,
  throughput_rps: num,
  latency_p50_ms: num,
  latency_p95_ms: num,
  latency_p99_ms: num,
  ttft_p50_ms: num,
  tokens_per_sec: num,
  avg_tok_per_req: num,
  itl_p50_ms: num,
  decode_tok_per_sec: num,
  prefill_tok_per_sec: num,
  timestamp: z.string(),
  runtime_name: z.string(),
  elapsed_secs: num,
  concurrency: count,
  ttft_p90_ms: num,
  ttft_p95_ms: num,
  ttft_p99_ms: num,
  tpot_p50_ms: num,
  tpot_p90_ms: num,
  tpot_p95_ms: num,
  tpot_p99_ms: num,
  latency_min_ms: num,
  latency_max_ms: num,
  latency_stddev_ms: num,
  error_rate: num,
  prompt_tokens_total: count,
  completion_tokens_total: count,
  truncated_pct: num,
  sse_batch_ratio: num,
  goodput_pct: num,
  output_tokens_dist: OutputTokensDistSchema.nullish(),
  decode_us_per_layer: num.nullish(),
  num_layers: count.nullish(),
  brick_trace_summary: z.record(z.string(), z.unknown()).nullish(),
  request_details: z.array(RequestDetailSchema).default([]),
  quality: QualityResultSchema.nullish(),
  tail_analysis: TailAnalysisSchema.nullish(),
  gpu_telemetry: GpuTelemetrySchema.nullish(),
  dataset_stats: z.record(z.string(), z.unknown()).nullish(),
  cold_start_ms: num.nullish(),
});
export type LoadTestResult = z.infer<typeof LoadTestResultSchema>;

/** Stable codes of {@link ResultFileError}. */
export type ResultFileErrorCode = 'RESULT_NOT_JSON' | 'RESULT_INVALID';

/** A result file that is not JSON or not a `LoadTestResult`; says which file and which field. */
export class ResultFileError extends Error {
  override readonly name = 'ResultFileError';
  readonly code: ResultFileErrorCode;
  /** The file (or label) the text came from. */
  readonly file: string;
  /** Dotted path of the first bad field (`tail_analysis.jitter.itl_cv`), empty for the root. */
  readonly path: string;

  constructor(message: string, code: ResultFileErrorCode, file: string, path = '') {
    super(message);
    this.code = code;
    this.file = file;
    this.path = path;
  }
}

/** Dotted path with array indices in brackets: `request_details[3].itl_ms`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** The path of a zod issue, down to the offending key for unknown keys. */
export function issuePath(issue: z.core.$ZodIssue): string {
  const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys : [];
  return formatFieldPath(keys.length > 0 ? [...issue.path, String(keys[0])] : issue.path);
}

/**
 * Validates a parsed value as a `LoadTestResult`.
 * @param file where the value came from, for the error message
 * @throws ResultFileError `RESULT_INVALID` naming the file and the first bad field
 */
export function toLoadTestResult(value: unknown, file = '<input>'): LoadTestResult {
  const parsed = LoadTestResultSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issuePath(issue);
  throw new ResultFileError(
    `${file}: ${path || '(root)'}: ${issue.message}`,
    'RESULT_INVALID',
    file,
    path,
  );
}

/**
 * Parses the text of a result file.
 * @throws ResultFileError `RESULT_NOT_JSON` or `RESULT_INVALID`, naming the file (and field)
 */
export function parseLoadTestResult(text: string, file = '<input>'): LoadTestResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(
      `${file}: not JSON: ${(error as Error).message}`,
      'RESULT_NOT_JSON',
      file,
    );
  }
  return toLoadTestResult(value, file);
}
