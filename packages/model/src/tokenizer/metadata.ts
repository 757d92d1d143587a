import { ModelFileError } from '../errors.js';
import type { GgufValue } from '../gguf/types.js';

/** A `MODEL_BAD_TOKENIZER` error naming the file and key. */
export function badTokenizer(
  message: string,
  file: string | undefined,
  key?: string,
  cause?: unknown,
): ModelFileError {
  return new ModelFileError(message, 'MODEL_BAD_TOKENIZER', {
    file,
    ...(key === undefined ? {} : { key }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Typed reads of GGUF tokenizer metadata that fail with a {@link ModelFileError} naming the key. */
export class TokenizerMetadata {
  constructor(
    private readonly metadata: Record<string, GgufValue>,
    private readonly file: string | undefined,
  ) {}

  private fail(key: string, message: string): never {
    throw badTokenizer(`${key}: ${message}`, this.file, key);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.metadata, key);
  }

  string(key: string): string | undefined {
    const value = this.metadata[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(key, `expected a string, got ${describe(value)}`);
    return value;
  }

  requiredString(key: string): string {
    return this.string(key) ?? this.fail(key, 'missing');
  }

  bool(key: string): boolean | undefined {
    const value = this.metadata[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(key, `expected a boolean, got ${describe(value)}`);
    return value;
  }

  /** A non-negative integer (an id); 64-bit values are accepted when they fit. */
  integer(key: string): number | undefined {
    const value = this.metadata[key];
    if (value === undefined) return undefined;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      this.fail(key, `expected a non-negative integer, got ${describe(value)}`);
    }
    return n;
  }

  stringArray(key: string): string[] | undefined {
    const value = this.metadata[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      this.fail(key, `expected an array of strings, got ${describe(value)}`);
    }
    return value as string[];
  }

  requiredStringArray(key: string): string[] {
    return this.stringArray(key) ?? this.fail(key, 'missing');
  }

  /** A number array with at least `length` entries. */
  numberArray(key: string, length: number): number[] | undefined {
    const value = this.metadata[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) {
      this.fail(key, `expected an array of numbers, got ${describe(value)}`);
    }
    if (value.length < length) {
      this.fail(key, `has ${value.length} entries for ${length} tokens`);
    }
    return value as number[];
  }
}

function describe(value: GgufValue): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const shown = JSON.stringify(typeof value === 'bigint' ? String(value) : value);
  return `${typeof value} ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}`;
}
