// The JSON Lines files of `xinfer batch`: what one input line asks for, what one output line says,
// and which input lines an earlier run's output has done.
import { type JsonSchema, resolveGenerationParams } from '@x/engine';
import type { ChatMessage } from '@x/model';
import { z } from 'zod';
import { constraintErrorLine, type SourcedConstraint } from './constraints.js';

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
  /**
   * What the output must match, from the line's `response_format`, `json_schema`, `grammar`,
   * `regex` or `choice` field (its `source` names the field, for errors).
   */
  constraint: SourcedConstraint | undefined;
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
const jsonSchema = z.custom<JsonSchema>(
  (value) =>
    typeof value === 'boolean' ||
    (typeof value === 'object' && value !== null && !Array.isArray(value)),
  'expected a JSON Schema: an object, or true or false',
);
// OpenAI's response_format (and llama.cpp's `schema` beside `type`); strict, so that a misspelt
// key is an error rather than a constraint silently dropped.
const responseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object'), schema: jsonSchema.nullish() }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z
      .strictObject({
        name: z.string().optional(),
        description: z.string().optional(),
        schema: jsonSchema.nullish(),
        strict: z.boolean().nullish(),
      })
      .nullish(),
    schema: jsonSchema.nullish(),
  }),
]);
const inputLine = z.object({
  id,
  prompt: z.string().optional(),
  messages: z.array(z.object({ role: z.string(), content: z.string() })).optional(),
  max_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  seed: z.number().int().nullish(),
  // What the output must match: at most one of these (the engine checks the rest).
  response_format: responseFormat.nullish(),
  json_schema: jsonSchema.nullish(),
  grammar: z.string().nullish(),
  regex: z.string().nullish(),
  choice: z.array(z.string()).nullish(),
});
type InputLine = z.infer<typeof inputLine>;

type LineConstraint = SourcedConstraint | { error: string };

/** What `response_format` asks for; undefined for `{"type": "text"}` (no constraint). */
function responseFormatConstraint(
  format: z.infer<typeof responseFormat>,
): LineConstraint | undefined {
  if (format.type === 'text') return undefined;
  const nested = format.type === 'json_schema' ? format.json_schema?.schema : undefined;
  if (nested != null && format.schema != null) {
    return { error: 'response_format: give json_schema.schema or schema, not both' };
  }
  if (nested != null) {
    const source = 'response_format.json_schema.schema';
    return { constraint: { type: 'json_schema', schema: nested }, source };
  }
  if (format.schema != null) {
    const source = 'response_format.schema';
    return { constraint: { type: 'json_schema', schema: format.schema }, source };
  }
  if (format.type === 'json_schema') {
    return { error: 'response_format: type json_schema needs json_schema.schema' };
  }
  return { constraint: { type: 'json_object' }, source: 'response_format' };
}

/**
 * The line's constraint (its form checked: JSON Schema keywords the grammar engine would not
 * enforce are errors), or why it has none it can use; undefined when it asks for none.
 */
function lineConstraint(data: InputLine): LineConstraint | undefined {
  const given = new Map<string, LineConstraint>();
  if (data.response_format != null) {
    const format = responseFormatConstraint(data.response_format);
    if (format) given.set('response_format', format);
  }
  if (data.json_schema != null) {
    given.set('json_schema', {
      constraint: { type: 'json_schema', schema: data.json_schema },
      source: 'json_schema',
    });
  }
  if (data.grammar != null) {
    given.set('grammar', {
      constraint: { type: 'grammar', grammar: data.grammar },
      source: 'grammar',
    });
  }
  if (data.regex != null) {
    given.set('regex', { constraint: { type: 'regex', pattern: data.regex }, source: 'regex' });
  }
  if (data.choice != null) {
    given.set('choice', { constraint: { type: 'choice', choices: data.choice }, source: 'choice' });
  }
  if (given.size > 1) {
    const fields = [...given.keys()];
    return {
      error:
        'give at most one of response_format, json_schema, grammar, regex and choice, got ' +
        `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`,
    };
  }
  const [only] = given.values();
  if (only === undefined || 'error' in only) return only;
  try {
    resolveGenerationParams({ constraint: only.constraint });
  } catch (error) {
    const line = constraintErrorLine(error, only);
    if (line === undefined) throw error;
    return { error: line };
  }
  return only;
}

const EXPECTED = 'expected {"prompt": string} or {"messages": [{"role", "content"}, …]}';

/**
 * Parses one non-blank input line. Ranges (`temperature` in [0, 2]…) are left to the engine,
 * whose error names the field; a constraint's form is checked here (the error names the line's
 * field) and whether it compiles when the line runs.
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
  const constraint = lineConstraint(parsed.data);
  if (constraint !== undefined && 'error' in constraint) {
    return { id: lineId, line, error: constraint.error };
  }
  const params: BatchRequest['params'] = {};
  if (max_tokens != null) params.maxTokens = max_tokens;
  if (temperature != null) params.temperature = temperature;
  if (seed != null) params.seed = seed;
  return { line, id: lineId, prompt, messages, params, constraint };
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
