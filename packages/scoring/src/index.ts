export * from './cards/index.js';
export {
  CONTRACT_VERSION,
  ContractError,
  defaultScoringContract,
  KNOWN_METRICS,
  type MetricName,
  type MetricThreshold,
  parseScoringContract,
  type ScoringContract,
  validateScoringContract,
} from './contract.js';
export {
  type ChatMessage,
  DEFAULT_PROMPTS,
  type LoadPrompt,
  type LoadTestOptions,
  LoadTestOptionsError,
  type LoadTestOutcome,
  type LoadTestProgress,
  parsePromptsJsonl,
  runLoadTest,
} from './load-generator.js';
export {
  type DriftAnalysis,
  DriftAnalysisSchema,
  type GpuTelemetry,
  GpuTelemetrySchema,
  type JitterAnalysis,
  JitterAnalysisSchema,
  type JitterSpike,
  type LoadTestResult,
  LoadTestResultSchema,
  type OutputTokensDist,
  parseLoadTestResult,
  type QualityResult,
  QualityResultSchema,
  type RequestDetail,
  RequestDetailSchema,
  ResultFileError,
  type ResultFileErrorCode,
  type TailAnalysis,
  TailAnalysisSchema,
  type TelemetryStat,
  toLoadTestResult,
} from './load-test-result.js';
export { buildLoadTestResult, DEFAULT_SLO, type LoadTestRun } from './load-test-stats.js';
export {
  assignGrade,
  computeJitterPenalty,
  computeMetricScore,
  roundHalfAwayFromZero,
} from './metric-score.js';
export { type LatencySummary, percentile, percentileOfSorted, summarize } from './percentile.js';
export type { RequestStatus, RequestTiming } from './request-timing.js';
export {
  computeScorecard,
  formatMarkdown,
  formatTable,
  type MetricScore,
  type RuntimeScore,
  type Scorecard,
  type ScoredResult,
  stripConcurrencySuffix,
} from './scorecard.js';
