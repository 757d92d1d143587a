import { unsupportedSchemaFeature } from './grammar/schema-support.js';

// What a request's output must match (GenerationParams.constraint), checked and keyed for the
// compiled-grammar cache.

/**
 * The whitespace JSON output may have: `compact` (the default) is one line with `", "` and
 * `": "` between items, as OpenAI's structured outputs and vLLM's `disable_any_whitespace`;
 * `pretty` is indented by two spaces, as `JSON.stringify(v, null, 2)`; `any` lets the model put
 * up to 22 spaces, tabs and newlines between tokens (llama.cpp's allowance), which small models
 * can spend their whole budget on.
 */
export type JsonWhitespace = 'compact' | 'pretty' | 'any';

export const JSON_WHITESPACE: readonly JsonWhitespace[] = ['compact', 'pretty', 'any'];

/** A JSON Schema, as an object (or `true`/`false`). */
export type JsonSchema = { readonly [key: string]: unknown } | boolean;

/**
 * What the generated text must match; each token is sampled from those that keep it matchable
 * (xgrammar, the grammar engine of vLLM, SGLang and WebLLM). The end-of-generation token is
 * allowed only where the text is complete. The kinds and their names follow vLLM's structured
 * outputs (`json`, `regex`, `choice`, `grammar`, `json_object`, `structural_tag`).
 */
export type Constraint =
  /** Any JSON object (OpenAI's JSON mode, `response_format: {"type": "json_object"}`). */
  | { readonly type: 'json_object'; readonly whitespace?: JsonWhitespace }
  /**
   * JSON valid under `schema` (draft 2020-12 keywords xgrammar supports: types, `properties`,
   * `required`, `items`, `minItems`/`maxItems`, `enum`, `const`, `anyOf`/`oneOf`, `$ref`/`$defs`,
   * string `pattern`/`format`/length, number ranges). Properties the schema does not name are
   * not generated.
   */
  | {
      readonly type: 'json_schema';
      readonly schema: JsonSchema;
      readonly whitespace?: JsonWhitespace;
    }
  /**
   * A grammar in GBNF (llama.cpp's format) or xgrammar's EBNF, which accepts it: rules
   * `name ::= …`, the start rule `root`.
   */
  | { readonly type: 'grammar'; readonly grammar: string }
  /** A regular expression the whole output matches (no anchors needed). */
  | { readonly type: 'regex'; readonly pattern: string }
  /** Exactly one of these strings. */
  | { readonly type: 'choice'; readonly choices: readonly string[] }
  /**
   * An xgrammar structural tag (`{"type": "structural_tag", "format": {…}}`): free text with
   * tagged regions held to a schema or grammar, as tool calls are.
   */
  | {
      readonly type: 'structural_tag';
      readonly structuralTag: { readonly [key: string]: unknown };
    };

/** The kinds of {@link Constraint}. */
export const CONSTRAINT_TYPES = [
  'json_object',
  'json_schema',
  'grammar',
  'regex',
  'choice',
  'structural_tag',
] as const;

/** Longest grammar, schema or pattern text taken, in UTF-16 units: 1 MiB. */
export const MAX_CONSTRAINT_LENGTH = 1 << 20;

/**
 * Why a constraint is malformed, or undefined when it is well formed. The grammar itself is
 * checked when it compiles.
 */
export function constraintProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `must be an object with a "type", got ${describe(value)}`;
  }
  const c = value as Record<string, unknown>;
  const tooLong = (text: string) =>
    text.length > MAX_CONSTRAINT_LENGTH
      ? `is ${text.length} characters, over the limit of ${MAX_CONSTRAINT_LENGTH}`
      : undefined;
  if (
    (c.type === 'json_object' || c.type === 'json_schema') &&
    c.whitespace !== undefined &&
    !JSON_WHITESPACE.includes(c.whitespace as JsonWhitespace)
  ) {
    return `${c.type}: whitespace must be one of ${JSON_WHITESPACE.join(', ')}, got ${describe(c.whitespace)}`;
  }
  switch (c.type) {
    case 'json_object':
      return undefined;
    case 'json_schema': {
      const schema = c.schema;
      if (typeof schema === 'boolean') return undefined;
      if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
        return `json_schema: schema must be a JSON Schema object or a boolean, got ${describe(schema)}`;
      }
      let text: string;
      try {
        text = JSON.stringify(schema);
      } catch (error) {
        return `json_schema: schema is not JSON (${(error as Error).message})`;
      }
      const long = tooLong(text);
      if (long) return `json_schema: the schema ${long}`;
      const unsupported = unsupportedSchemaFeature(schema);
      return unsupported
        ? `json_schema: the grammar engine does not enforce ${unsupported}; leave it out or ` +
            'check it after generation'
        : undefined;
    }
    case 'grammar': {
      if (typeof c.grammar !== 'string' || c.grammar.trim() === '') {
        return `grammar: grammar must be a non-empty string, got ${describe(c.grammar)}`;
      }
      const long = tooLong(c.grammar);
      return long ? `grammar: the grammar ${long}` : undefined;
    }
    case 'regex': {
      if (typeof c.pattern !== 'string' || c.pattern === '') {
        return `regex: pattern must be a non-empty string, got ${describe(c.pattern)}`;
      }
      const long = tooLong(c.pattern);
      return long ? `regex: the pattern ${long}` : undefined;
    }
    case 'choice': {
      const { choices } = c;
      if (!Array.isArray(choices) || choices.length === 0) {
        return `choice: choices must be a non-empty array of strings, got ${describe(choices)}`;
      }
      const bad = choices.findIndex((s) => typeof s !== 'string' || s === '');
      if (bad >= 0) {
        return `choice: choices[${bad}] must be a non-empty string, got ${describe(choices[bad])}`;
      }
      const long = tooLong(choices.join(''));
      return long ? `choice: the choices ${long}` : undefined;
    }
    case 'structural_tag': {
      const tag = c.structuralTag;
      if (tag === null || typeof tag !== 'object' || Array.isArray(tag)) {
        return `structural_tag: structuralTag must be an object, got ${describe(tag)}`;
      }
      const long = tooLong(JSON.stringify(tag));
      if (long) return `structural_tag: the structural tag ${long}`;
      // The schemas inside (a tool's parameters) are held to the same rule as json_schema's.
      for (const [path, schema] of tagSchemas(tag, '')) {
        const unsupported = unsupportedSchemaFeature(schema);
        if (unsupported) {
          return `structural_tag: the grammar engine does not enforce ${unsupported} in the schema at ${path || '/'}`;
        }
      }
      return undefined;
    }
    default:
      return `type must be one of ${CONSTRAINT_TYPES.join(', ')}, got ${describe(c.type)}`;
  }
}

/** The JSON Schemas inside a structural tag (`json_schema` and `qwen_xml_parameter` formats), with where. */
function tagSchemas(value: unknown, path: string): Array<[string, unknown]> {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => tagSchemas(v, `${path}/${i}`));
  const node = value as Record<string, unknown>;
  if (
    (node.type === 'json_schema' || node.type === 'qwen_xml_parameter') &&
    'json_schema' in node
  ) {
    return [[`${path}/json_schema`, node.json_schema]];
  }
  return Object.entries(node).flatMap(([k, v]) => tagSchemas(v, `${path}/${k}`));
}

/** A string that is equal for constraints that compile to the same grammar. */
export function constraintKey(c: Constraint): string {
  switch (c.type) {
    case 'json_object':
      return `json_object:${c.whitespace ?? 'compact'}`;
    case 'json_schema':
      return `json_schema:${c.whitespace ?? 'compact'}:${JSON.stringify(c.schema)}`;
    case 'grammar':
      return `grammar:${c.grammar}`;
    case 'regex':
      return `regex:${c.pattern}`;
    case 'choice':
      return `choice:${JSON.stringify(c.choices)}`;
    case 'structural_tag':
      return `structural_tag:${JSON.stringify(c.structuralTag)}`;
  }
}

/** `choices` as an EBNF rule: `root ::= "a" | "b"`, each string escaped. */
export function choiceGrammar(choices: readonly string[]): string {
  return `root ::= ${choices.map(ebnfString).join(' | ')}`;
}

/** An EBNF string literal for `text` (xgrammar's escapes: C style and \uXXXX). */
export function ebnfString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : String(value);
}
