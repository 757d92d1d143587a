// Structured-output fields of the OpenAI API (`response_format`), llama.cpp's server (`grammar`,
// `json_schema`, `response_format.schema`) and vLLM's (`structured_outputs`, `guided_*`), read
// into one engine constraint. Every field either constrains the output or is a 400 naming it.
import type { Constraint, InferenceEngine, JsonWhitespace } from '@x/engine';
import { GenerationParamsError } from '@x/engine';
import { z } from 'zod';
import { HttpError } from './openai.js';

const jsonSchemaValue = z.union([z.record(z.string(), z.unknown()), z.boolean()]);
/** vLLM takes a schema as an object or as JSON text. */
const schemaOrText = z.union([z.string(), jsonSchemaValue]);

const unsupported = (what: string) =>
  z
    .unknown()
    .refine((value) => value === null || value === undefined, {
      message: `${what} is not supported by this server`,
    })
    .optional();

export const responseFormat = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }),
    // llama.cpp's server takes a schema here too.
    z.object({ type: z.literal('json_object'), schema: jsonSchemaValue.nullish() }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({
        name: z.string().nullish(),
        description: z.string().nullish(),
        schema: jsonSchemaValue.nullish(),
        strict: z.boolean().nullish(),
      }),
    }),
  ])
  .nullish();

/** vLLM's `structured_outputs` (StructuredOutputsParams); unknown keys are a 400. */
const structuredOutputs = z
  .object({
    json: schemaOrText.nullish(),
    regex: z.string().nullish(),
    choice: z.array(z.string()).nullish(),
    grammar: z.string().nullish(),
    json_object: z.boolean().nullish(),
    structural_tag: z.string().nullish(),
    disable_any_whitespace: z.boolean().nullish(),
    // Outputs never hold properties a schema does not name, and no other backend is tried.
    disable_additional_properties: z.boolean().nullish(),
    disable_fallback: z.boolean().nullish(),
    whitespace_pattern: unsupported('structured_outputs.whitespace_pattern'),
  })
  .strict()
  .nullish();

/** The structured-output fields both endpoints take. */
export const structuredOutputFields = {
  response_format: responseFormat,
  grammar: z.string().nullish(),
  json_schema: jsonSchemaValue.nullish(),
  guided_json: schemaOrText.nullish(),
  guided_regex: z.string().nullish(),
  guided_choice: z.array(z.string()).nullish(),
  guided_grammar: z.string().nullish(),
  guided_decoding_backend: z
    .string()
    .refine((v) => ['xgrammar', 'auto'].includes(v.split(':')[0] ?? ''), {
      message: 'guided_decoding_backend: this server constrains with xgrammar only',
    })
    .nullish(),
  guided_whitespace_pattern: unsupported("guided_whitespace_pattern (vLLM's structured output)"),
  structured_outputs: structuredOutputs,
};

type Fields = {
  [K in keyof typeof structuredOutputFields]?: z.infer<(typeof structuredOutputFields)[K]>;
};

/** A constraint and the request field it came from (named in errors). */
export interface RequestedConstraint {
  constraint: Constraint;
  field: string;
}

/**
 * The constraint a request asks for, or undefined. Empty values (`grammar: ""`,
 * `guided_choice: []`, `response_format: {"type": "text"}`) ask for nothing.
 * @throws HttpError 400 naming the fields when more than one asks for structured output, or the
 *   field whose schema text is not JSON
 */
export function requestedConstraint(body: Fields): RequestedConstraint | undefined {
  const found: RequestedConstraint[] = [];
  const add = (field: string, constraint: Constraint | undefined) => {
    if (constraint) found.push({ field, constraint });
  };
  const so = body.structured_outputs;
  const whitespace: JsonWhitespace = so?.disable_any_whitespace === false ? 'any' : 'compact';
  const rf = body.response_format;
  if (rf?.type === 'json_object') {
    add(
      'response_format',
      rf.schema != null ? { type: 'json_schema', schema: rf.schema } : { type: 'json_object' },
    );
  } else if (rf?.type === 'json_schema') {
    add('response_format', { type: 'json_schema', schema: rf.json_schema.schema ?? {} });
  }
  if (body.grammar) add('grammar', { type: 'grammar', grammar: body.grammar });
  if (body.json_schema != null)
    add('json_schema', { type: 'json_schema', schema: body.json_schema });
  if (body.guided_json != null) {
    add('guided_json', {
      type: 'json_schema',
      schema: schemaValue(body.guided_json, 'guided_json'),
      whitespace,
    });
  }
  if (body.guided_regex) add('guided_regex', { type: 'regex', pattern: body.guided_regex });
  if (body.guided_choice?.length)
    add('guided_choice', { type: 'choice', choices: body.guided_choice });
  if (body.guided_grammar) add('guided_grammar', { type: 'grammar', grammar: body.guided_grammar });
  if (so) {
    if (so.json != null) {
      add('structured_outputs.json', {
        type: 'json_schema',
        schema: schemaValue(so.json, 'structured_outputs.json'),
        whitespace,
      });
    }
    if (so.regex) add('structured_outputs.regex', { type: 'regex', pattern: so.regex });
    if (so.choice?.length) add('structured_outputs.choice', { type: 'choice', choices: so.choice });
    if (so.grammar) add('structured_outputs.grammar', { type: 'grammar', grammar: so.grammar });
    if (so.json_object) add('structured_outputs.json_object', { type: 'json_object', whitespace });
    if (so.structural_tag) {
      const tag = schemaValue(so.structural_tag, 'structured_outputs.structural_tag');
      if (typeof tag !== 'object') {
        throw new HttpError(
          400,
          'structured_outputs.structural_tag: must be a JSON object',
          'invalid_request_error',
          null,
          'structured_outputs.structural_tag',
        );
      }
      add('structured_outputs.structural_tag', { type: 'structural_tag', structuralTag: tag });
    }
  }
  if (found.length > 1) {
    const fields = found.map((f) => f.field);
    throw new HttpError(
      400,
      `${fields.join(' and ')} each ask for structured output; send one`,
      'invalid_request_error',
      null,
      fields[1] ?? null,
    );
  }
  return found[0];
}

/**
 * Compiles the constraint (once per distinct constraint: the engine caches it), so that a bad
 * grammar is a 400 before anything is queued.
 * @throws HttpError 400 naming the field, with the grammar engine's reason
 */
export async function prepareConstraint(
  engine: InferenceEngine,
  asked: RequestedConstraint,
): Promise<void> {
  try {
    await engine.prepareConstraint(asked.constraint);
  } catch (error) {
    if (error instanceof GenerationParamsError) {
      throw new HttpError(
        400,
        `${asked.field}: ${error.message.replace(/^constraint: /, '')}`,
        'invalid_request_error',
        null,
        asked.field,
      );
    }
    throw error;
  }
}

function schemaValue(value: unknown, field: string): Record<string, unknown> | boolean {
  if (typeof value !== 'string') return value as Record<string, unknown> | boolean;
  try {
    const parsed: unknown = JSON.parse(value);
    if (
      typeof parsed === 'boolean' ||
      (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
    ) {
      return parsed as Record<string, unknown> | boolean;
    }
  } catch (error) {
    throw new HttpError(
      400,
      `${field}: not JSON (${(error as Error).message})`,
      'invalid_request_error',
      null,
      field,
    );
  }
  throw new HttpError(
    400,
    `${field}: must be a JSON Schema object`,
    'invalid_request_error',
    null,
    field,
  );
}
