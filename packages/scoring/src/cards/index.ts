// The scorecards beside the main one: one module a card, each with its text and markdown renderers.
export {
  COLD_START_EXCELLENT_MS,
  COLD_START_GOOD_MS,
  type ColdStartScore,
  type ColdStartScorecard,
  computeColdStartScorecard,
  formatColdStartMarkdown,
  formatColdStartTable,
} from './cold-start.js';
export {
  type CorrectnessScore,
  type CorrectnessScorecard,
  computeCorrectnessScorecard,
  formatCorrectnessMarkdown,
  formatCorrectnessTable,
} from './correctness.js';
export {
  computeLayerScorecard,
  formatLayerMarkdown,
  formatLayerTable,
  LAYER_US_EXCELLENT,
  LAYER_US_GOOD,
  type LayerScore,
  type LayerScorecard,
} from './layer.js';
export {
  computeMemoryScorecard,
  formatMemoryMarkdown,
  formatMemoryTable,
  MEMORY_EFFICIENCY_EXCELLENT,
  MEMORY_EFFICIENCY_GOOD,
  type MemoryScore,
  type MemoryScorecard,
} from './memory.js';
export {
  computeOutputLengthScorecard,
  formatOutputLengthMarkdown,
  formatOutputLengthTable,
  OutputLengthCategory,
  type OutputLengthEntry,
  type OutputLengthScorecard,
} from './output-length.js';
export {
  computePowerEfficiencyScorecard,
  formatPowerMarkdown,
  formatPowerTable,
  POWER_EFFICIENCY_EXCELLENT,
  POWER_EFFICIENCY_GOOD,
  type PowerEfficiencyScore,
  type PowerEfficiencyScorecard,
} from './power.js';
export {
  type ConsistencyScore,
  computeProfileScorecard,
  formatProfileMarkdown,
  formatProfileTable,
  type ProfileEntry,
  type ProfileScorecard,
  PromptCategory,
} from './profile.js';
export {
  type ConcurrencyScalingScore,
  type ConcurrencyScalingScorecard,
  computeConcurrencyScalingScorecard,
  formatScalingMarkdown,
  formatScalingTable,
  SCALING_EFFICIENCY_EXCELLENT,
  SCALING_EFFICIENCY_GOOD,
} from './scaling.js';
export type { CardInput, Grades } from './shared.js';
export {
  classifyBottleneck,
  computeTrainingStepScorecard,
  formatTrainingStepMarkdown,
  formatTrainingStepTable,
  TRAINING_TOK_S_EXCELLENT,
  TRAINING_TOK_S_GOOD,
  TrainingBottleneck,
  type TrainingStepRun,
  type TrainingStepScore,
  type TrainingStepScorecard,
} from './training-step.js';
