// The request bodies the server accepts: OpenAI's fields that change what is generated. Fields
// it does not use (logit_bias, user, …) are accepted and ignored, as llama.cpp's own server does.
import { z } from 'zod';

const sampling = {
  model: z.string().optional(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().nullish(),
  n: z.literal(1).nullish(),
};

const contentPart = z.object({ type: z.literal('text'), text: z.string() });

/** `POST /v1/chat/completions`. */
export const chatCompletionRequest = z.object({
  ...sampling,
  max_completion_tokens: z.number().int().min(1).nullish(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.union([z.string(), z.array(contentPart)]).nullish(),
      }),
    )
    .min(1),
});

/** `POST /v1/completions`: one text prompt. */
export const completionRequest = z.object({
  ...sampling,
  prompt: z.string(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;
