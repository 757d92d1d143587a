export { type LatencySummary, percentile, percentileOfSorted, summarize } from './percentile.js';
