// The JSON Lines files of `xinfer batch`: what one input line asks for, what one output line says,
// and which input lines an earlier run's output has done.
import type { ChatMessage } from '@x/model';
import { z } from 'zod';

/** A request id as the input gives it; `null` when it gives none. */
export type BatchId = string | number | null;

/** One input line that parsed: a prompt or a conversation, and its own sampling fields. */
export interface BatchRequest {
  /** 1-based line number in the input file. */
  line: number;
  id: BatchId;
  prompt: string | undefined;
  messages: ChatMessage[] | undefined;
  /** Per-line overrides of the command's options (`max_tokens`, `temperature`, `seed`). */
  params: { maxTokens?: number; temperature?: number; seed?: number };
}

/** One output line: a result, or why that input line has none. */
export type BatchResult =
  | {
      id: BatchId;
      line: number;
      text: string;
      finish_reason: string;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    }
  | { id: BatchId; line: number; error: string };

const id = z.union([z.string(), z.number()]).nullish();
const inputLine = z.object({
  id,
  prompt: z.string().optional(),
  messages: z.array(z.object({ role: z.string(), content: z.string() })).optional(),
  max_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  seed: z.number().int().nullish(),
});

const EXPECTED = 'expected {"prompt": string} or {"messages": [{"role", "content"}, …]}';

/**
 * Parses one non-blank input line. Ranges (`temperature` in [0, 2]…) are left to the engine,
 * whose error names the field.
 * @returns the request, or an error result naming what is wrong (never throws)
 */
export function parseBatchLine(text: string, line: number): BatchRequest | BatchResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { id: null, line, error: `not valid JSON: ${(error as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { id: null, line, error: `not a JSON object: ${EXPECTED}` };
  }
  // The id is echoed even when the rest is wrong, so the caller can tell which request failed.
  const given = id.safeParse((json as { id?: unknown }).id);
  const lineId = given.success ? (given.data ?? null) : null;
  const parsed = inputLine.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { id: lineId, line, error: `${issue?.path.join('.') || 'line'}: ${issue?.message}` };
  }
  const { prompt, messages, max_tokens, temperature, seed } = parsed.data;
  if ((prompt === undefined) === (messages === undefined)) {
    return { id: lineId, line, error: `give exactly one of prompt and messages: ${EXPECTED}` };
  }
  const params: BatchRequest['params'] = {};
  if (max_tokens != null) params.maxTokens = max_tokens;
  if (temperature != null) params.temperature = temperature;
  if (seed != null) params.seed = seed;
  return { line, id: lineId, prompt, messages, params };
}

/** Whether a parsed line is a request (not an error result). */
export function isBatchRequest(value: BatchRequest | BatchResult): value is BatchRequest {
  return 'params' in value;
}

/** What an earlier run left in the output file. */
export interface BatchProgress {
  /** Input line numbers that have a result with `text` (errors are not done: they are retried). */
  done: Set<number>;
  /**
   * Bytes of the file that are whole lines. A run killed mid-write leaves a partial last line,
   * which is cut off before appending.
   */
  keepBytes: number;
  /** Whether the kept part ends without a newline (a last line that is whole JSON but unterminated). */
  needsNewline: boolean;
}

/** Reads the done lines from an output file's text (lines that are not results are ignored). */
export function batchProgress(text: string): BatchProgress {
  const done = new Set<number>();
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const isResult = (entry: string): boolean => {
    try {
      const json = JSON.parse(entry) as { line?: unknown; text?: unknown };
      if (Number.isInteger(json.line) && typeof json.text === 'string') {
        done.add(json.line as number);
      }
      return true;
    } catch {
      return false;
    }
  };
  for (const entry of lines) if (entry.trim() !== '') isResult(entry);
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const whole = bytes(text) - bytes(last);
  if (last.trim() !== '' && isResult(last)) {
    return { done, keepBytes: bytes(text), needsNewline: true };
  }
  return { done, keepBytes: whole, needsNewline: false };
}
