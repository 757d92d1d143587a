import { z } from 'zod';
import { structuredOutputFields } from './structured-output.js';
import { toolCallField, toolChoiceField, toolsField } from './tools.js';

// Request bodies of the OpenAI API that the server takes. Unknown fields are ignored, as OpenAI's
// own server and vLLM do; known fields of the wrong type are a 400 naming the field, and so are
// OpenAI fields the server does not implement (functions, suffix, best_of) unless they ask for
// nothing. Structured output (OpenAI's, llama.cpp's and vLLM's fields) is read in
// structured-output.ts. Ranges are checked by the engine's `resolveGenerationParams`, whose
// error names the field too.

const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullish();

/** Sampling fields shared by both endpoints. */
const sampling = {
  model: z.string(),
  max_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().int().nullish(),
  min_p: z.number().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  repetition_penalty: z.number().nullish(),
  seed: z.number().int().nullish(),
  stop,
  // Token id (as a string) → bias; the engine checks the ids and ranges and names the field.
  logit_bias: z.record(z.string().regex(/^\d+$/, 'keys must be token ids'), z.number()).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
};

/**
 * An OpenAI field this server does not implement: a 400 naming it, rather than a reply that
 * silently ignores what the client asked for. Absent, null and `allowed` values pass.
 */
const unsupported = (what: string, allowed: (value: unknown) => boolean = () => false) =>
  z
    .unknown()
    .refine((value) => value === null || allowed(value), {
      message: `${what} is not supported by this server`,
    })
    .optional();
const isEmpty = (value: unknown) =>
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && value !== null && Object.keys(value).length === 0);

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const chatCompletionRequest = z.object({
  ...sampling,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: z.union([z.string(), z.array(textPart)]).nullish(),
        name: z.string().optional(),
        // An assistant turn's calls, and the id a tool result answers.
        tool_calls: z.array(toolCallField).nullish(),
        tool_call_id: z.string().nullish(),
      }),
    )
    .min(1),
  max_completion_tokens: z.number().int().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: toolsField,
  tool_choice: toolChoiceField,
  parallel_tool_calls: z.boolean().nullish(),
  functions: unsupported('functions (function calling)', isEmpty),
  function_call: unsupported('function_call (function calling)', (v) => v === 'none'),
  ...structuredOutputFields,
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export const completionRequest = z.object({
  ...sampling,
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  suffix: unsupported('suffix (insertion)', (v) => v === ''),
  best_of: unsupported('best_of above 1', (v) => v === 1),
  ...structuredOutputFields,
});
export type CompletionRequest = z.infer<typeof completionRequest>;
