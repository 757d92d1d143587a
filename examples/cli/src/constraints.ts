// Constrained generation in the CLI: `xinfer generate`'s constraint options (llama.cpp's names),
// read and checked before a model runs, and the error lines `generate` and `batch` share.
import { readFileSync } from 'node:fs';
import {
  type Constraint,
  GenerationParamsError,
  type InferenceEngine,
  JSON_WHITESPACE,
  type JsonSchema,
  type JsonWhitespace,
  resolveGenerationParams,
} from '@x/engine';
import { Option } from 'commander';
import { CliInputError, CliUsageError, cannotRead } from './errors.js';

/** A constraint and where it came from (`--grammar-file g.gbnf`, `response_format`), for errors. */
export interface SourcedConstraint {
  constraint: Constraint;
  /** What an error line starts with: the option (and file), or the input line's field. */
  source: string;
}

/** What the constraint options of {@link constraintOptions} parse to. */
export interface ConstraintCliOptions {
  jsonSchema?: string;
  jsonObject?: boolean;
  jsonWhitespace?: JsonWhitespace;
  grammar?: string;
  grammarFile?: string;
  regex?: string;
  choice?: readonly string[];
}

/** The options that each give a constraint; at most one may be used. */
const CONSTRAINT_OPTIONS = [
  'jsonSchema',
  'jsonObject',
  'grammar',
  'grammarFile',
  'regex',
  'choice',
] as const;

const others = (name: (typeof CONSTRAINT_OPTIONS)[number]) =>
  CONSTRAINT_OPTIONS.filter((other) => other !== name);

/**
 * `-j, --json-schema`, `--json-object`, `--json-whitespace`, `--grammar`, `--grammar-file`,
 * `--regex` and `--choice` (repeatable): what the output must match. Two of them together are a
 * usage error from commander naming both.
 */
export function constraintOptions(): Option[] {
  return [
    new Option(
      '-j, --json-schema <schema>',
      'output JSON valid under this JSON Schema: a file, or inline JSON (a value starting with "{", or true/false)',
    ).conflicts(others('jsonSchema')),
    new Option('--json-object', 'output any JSON object (JSON mode)').conflicts(
      others('jsonObject'),
    ),
    new Option(
      '--json-whitespace <style>',
      'whitespace of --json-schema and --json-object output: compact (one line; the default), pretty (two-space indents) or any',
    ).choices(JSON_WHITESPACE),
    new Option(
      '--grammar <gbnf>',
      "output text matching this GBNF grammar (llama.cpp's format, start rule root)",
    ).conflicts(others('grammar')),
    new Option('--grammar-file <file>', 'like --grammar, the grammar read from a file').conflicts(
      others('grammarFile'),
    ),
    new Option(
      '--regex <pattern>',
      'output text that this regular expression matches as a whole',
    ).conflicts(others('regex')),
    new Option('--choice <text>', 'output exactly one of these strings (repeatable)')
      .argParser((value: string, all: string[] | undefined) => [...(all ?? []), value])
      .conflicts(others('choice')),
  ];
}

/**
 * The constraint the options ask for, read (files) and checked for form (JSON Schema keywords
 * the grammar engine would not enforce included); undefined when none is given. Whether it
 * compiles is {@link prepareConstraint}'s to say, once a model's vocabulary is loaded.
 * @throws CliUsageError naming the option (and file) at fault
 */
export function constraintFromOptions(
  options: ConstraintCliOptions,
): SourcedConstraint | undefined {
  const whitespace = options.jsonWhitespace;
  let sourced: SourcedConstraint | undefined;
  if (options.jsonSchema !== undefined) {
    const value = options.jsonSchema;
    const inline = /^\s*\{/.test(value) || value === 'true' || value === 'false';
    const source = inline ? '--json-schema' : `--json-schema ${value}`;
    const text = inline ? value : readText(value, '--json-schema');
    // Whether it is a schema (an object, or true or false) is checked below with the rest.
    const schema = parseJson(text, source) as JsonSchema;
    sourced = { constraint: { type: 'json_schema', schema, whitespace }, source };
  } else if (options.jsonObject) {
    sourced = { constraint: { type: 'json_object', whitespace }, source: '--json-object' };
  } else if (options.grammar !== undefined) {
    sourced = { constraint: { type: 'grammar', grammar: options.grammar }, source: '--grammar' };
  } else if (options.grammarFile !== undefined) {
    const grammar = readText(options.grammarFile, '--grammar-file');
    sourced = {
      constraint: { type: 'grammar', grammar },
      source: `--grammar-file ${options.grammarFile}`,
    };
  } else if (options.regex !== undefined) {
    sourced = { constraint: { type: 'regex', pattern: options.regex }, source: '--regex' };
  } else if (options.choice !== undefined) {
    sourced = { constraint: { type: 'choice', choices: options.choice }, source: '--choice' };
  }
  const type = sourced?.constraint.type;
  if (whitespace !== undefined && type !== 'json_schema' && type !== 'json_object') {
    throw new CliUsageError('--json-whitespace needs --json-schema or --json-object');
  }
  if (sourced) {
    try {
      resolveGenerationParams({ constraint: sourced.constraint });
    } catch (error) {
      throw asCliError(error, sourced);
    }
  }
  return sourced;
}

/**
 * Compiles the constraint for the engine's vocabulary (cached there, so generating does not
 * compile it again): a grammar or schema that does not compile fails here, before any output.
 * @throws CliUsageError naming the option (and file), with the grammar engine's reason
 */
export async function prepareConstraint(
  engine: InferenceEngine,
  sourced: SourcedConstraint,
): Promise<void> {
  try {
    await engine.prepareConstraint(sourced.constraint);
  } catch (error) {
    throw asCliError(error, sourced);
  }
}

/**
 * `<source>: <reason>` for a `GenerationParamsError` on the constraint (the engine's `constraint:`
 * and kind prefixes left out: the source says which); undefined for any other error.
 */
export function constraintErrorLine(
  error: unknown,
  sourced: SourcedConstraint,
): string | undefined {
  if (!(error instanceof GenerationParamsError) || error.field !== 'constraint') return undefined;
  const reason = error.message
    .replace(/^constraint: /, '')
    .replace(new RegExp(`^${sourced.constraint.type}: `), '');
  return `${sourced.source}: ${reason}`;
}

function asCliError(error: unknown, sourced: SourcedConstraint): unknown {
  const line = constraintErrorLine(error, sourced);
  return line === undefined ? error : new CliUsageError(line, { cause: error });
}

/** A text file's contents (a leading byte order mark dropped). @throws CliInputError */
function readText(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new CliInputError(`${option}: ${cannotRead(path, error).message}`, { cause: error });
  }
}

/**
 * Parses JSON; when it is not JSON the error says where (line and column, 1-based), as
 * `JSON.parse` does not always.
 * @throws CliInputError `<source>: not valid JSON at line L, column C (<JSON.parse's reason>)`
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    let offset = jsonErrorOffset(text);
    if (offset < 0) {
      const position = /at position (\d+)/.exec((error as Error).message)?.[1];
      offset = position === undefined ? text.length : Number(position);
    }
    const before = text.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before.at(-1)?.length ?? 0) + 1;
    throw new CliInputError(
      `${source}: not valid JSON at line ${line}, column ${column} (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * Where the first JSON syntax error in `text` is (a UTF-16 offset; `text.length` for text that
 * ends too soon), or -1 when `text` is valid JSON (RFC 8259).
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  let failedAt = -1;
  const fail = (): false => {
    failedAt = i;
    return false;
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = (): boolean => {
    i++; // the opening quote
    while (i < text.length) {
      const char = text[i] as string;
      if (char === '"') {
        i++;
        return true;
      }
      if (char === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          return fail();
        }
      } else if (char.charCodeAt(0) < 0x20) return fail();
      else i++;
    }
    return fail();
  };
  const number = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const value = (): boolean => {
    space();
    const char = text[i];
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return true;
      }
      for (;;) {
        if (char === '{') {
          space();
          if (text[i] !== '"') return fail();
          if (!string()) return false;
          space();
          if (text[i] !== ':') return fail();
          i++;
        }
        if (!value()) return false;
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return true;
        } else return fail();
      }
    }
    if (char === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return true;
      }
    }
    number.lastIndex = i;
    const match = number.exec(text);
    if (match) {
      i += match[0].length;
      return true;
    }
    return fail();
  };
  if (value()) {
    space();
    if (i === text.length) return -1;
    fail();
  }
  return failedAt;
}
