/** How one request of a load test ended. */
export type RequestStatus = 'ok' | 'error' | 'timeout';

/**
 * The raw record of one streamed request, as a load generator observes it. Times are
 * milliseconds; chunk times are measured from the moment the request was sent.
 */
export interface RequestTiming {
  /** When the request was sent, in ms from the start of the run. */
  startMs: number;
  /** Arrival time of each chunk that carried content, in ms from `startMs`. */
  chunkTimesMs: number[];
  /** When the response ended (or failed), in ms from `startMs`. */
  latencyMs: number;
  /** Prompt tokens, from the server's `usage` (0 when it sent none). */
  promptTokens: number;
  /** Completion tokens: the server's `usage` when sent, else the number of content chunks. */
  completionTokens: number;
  status: RequestStatus;
  /** The finish reason of the (first) choice: `stop`, `length`, … */
  finishReason?: string | undefined;
  /** What went wrong, for `error` and `timeout`. */
  error?: string | undefined;
}
