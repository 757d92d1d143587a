// An incremental JSON validator, one character at a time: it tells where a JSON value ends in a
// stream of model output without waiting for the rest, so that tool-call arguments can be passed
// on as they arrive and their end found exactly (strings, escapes and nesting tracked).

/** What {@link JsonValueScanner.push} made of one character. */
export type JsonScanStep =
  /** Consumed; the value goes on. */
  | 'more'
  /** Consumed; it ended the value. */
  | 'done'
  /** Not consumed: the value (a top-level number) had already ended before it. */
  | 'done-before'
  /** Not consumed: no JSON value goes on this way. */
  | 'error';

type Container = '{' | '[';

/** Where the scanner is in the JSON grammar. */
type ScanState =
  | 'value'
  | 'value-or-close'
  | 'key-or-close'
  | 'key'
  | 'colon'
  | 'after-value'
  | 'string'
  | 'escape'
  | 'unicode'
  | 'number'
  | 'literal'
  | 'done';

/** The states of a number in which it may end (`-`, `1.` and `1e` may not). */
const NUMBER_ENDS = new Set(['zero', 'int', 'frac', 'exp']);
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const LITERALS: Record<string, string> = { t: 'rue', f: 'alse', n: 'ull' };

/** Whether `ch` is JSON whitespace. */
export function isJsonWhitespace(ch: string): boolean {
  return WHITESPACE.has(ch);
}

/**
 * Validates one JSON value (RFC 8259) as it streams in, character by character, and says where it
 * ends. Leading whitespace is skipped; nothing after the value is consumed.
 */
export class JsonValueScanner {
  private state: ScanState = 'value';
  private readonly stack: Container[] = [];
  /** Whether the string being read is an object key. */
  private inKey = false;
  private hexLeft = 0;
  private numberState = '';
  private literalLeft = '';

  /** Whether the value has ended. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Feeds one character (one UTF-16 code unit). */
  push(ch: string): JsonScanStep {
    switch (this.state) {
      case 'value':
      case 'value-or-close':
        return this.value(ch);
      case 'key-or-close':
      case 'key':
        return this.key(ch);
      case 'colon':
        return this.colon(ch);
      case 'after-value':
        return this.afterValue(ch);
      case 'string':
        return this.string(ch);
      case 'escape':
        return this.escape(ch);
      case 'unicode':
        return this.unicode(ch);
      case 'number':
        return this.number(ch);
      case 'literal':
        return this.literal(ch);
      case 'done':
        return 'error';
    }
  }

  /** Whether the input so far is a whole value (a top-level number ends only with the input). */
  end(): boolean {
    if (this.state === 'number' && this.stack.length === 0) {
      return NUMBER_ENDS.has(this.numberState);
    }
    return this.state === 'done';
  }

  private value(ch: string): JsonScanStep {
    if (WHITESPACE.has(ch)) return 'more';
    if (ch === ']' && this.state === 'value-or-close') return this.close('[');
    if (ch === '{' || ch === '[') return this.open(ch);
    if (ch === '"') return this.startString(false);
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      this.state = 'number';
      this.numberState = ch === '-' ? 'sign' : ch === '0' ? 'zero' : 'int';
      return 'more';
    }
    const rest = LITERALS[ch];
    if (rest === undefined) return 'error';
    this.state = 'literal';
    this.literalLeft = rest;
    return 'more';
  }

  private open(ch: Container): JsonScanStep {
    this.stack.push(ch);
    this.state = ch === '{' ? 'key-or-close' : 'value-or-close';
    return 'more';
  }

  private close(container: Container): JsonScanStep {
    if (this.stack.pop() !== container) return 'error';
    return this.valueEnded();
  }

  private key(ch: string): JsonScanStep {
    if (WHITESPACE.has(ch)) return 'more';
    if (ch === '}' && this.state === 'key-or-close') return this.close('{');
    return ch === '"' ? this.startString(true) : 'error';
  }

  private colon(ch: string): JsonScanStep {
    if (WHITESPACE.has(ch)) return 'more';
    if (ch !== ':') return 'error';
    this.state = 'value';
    return 'more';
  }

  private afterValue(ch: string): JsonScanStep {
    if (WHITESPACE.has(ch)) return 'more';
    const top = this.stack[this.stack.length - 1];
    if (ch === ',') {
      this.state = top === '{' ? 'key' : 'value';
      return 'more';
    }
    if (ch === '}' && top === '{') return this.close('{');
    if (ch === ']' && top === '[') return this.close('[');
    return 'error';
  }

  private startString(isKey: boolean): JsonScanStep {
    this.inKey = isKey;
    this.state = 'string';
    return 'more';
  }

  private string(ch: string): JsonScanStep {
    if (ch === '\\') {
      this.state = 'escape';
      return 'more';
    }
    if (ch.charCodeAt(0) < 0x20) return 'error';
    if (ch !== '"') return 'more';
    if (this.inKey) {
      this.state = 'colon';
      return 'more';
    }
    return this.valueEnded();
  }

  private escape(ch: string): JsonScanStep {
    if (ch === 'u') {
      this.state = 'unicode';
      this.hexLeft = 4;
      return 'more';
    }
    if (!ESCAPES.has(ch)) return 'error';
    this.state = 'string';
    return 'more';
  }

  private unicode(ch: string): JsonScanStep {
    if (!/^[0-9a-fA-F]$/.test(ch)) return 'error';
    this.hexLeft -= 1;
    if (this.hexLeft === 0) this.state = 'string';
    return 'more';
  }

  private literal(ch: string): JsonScanStep {
    if (ch !== this.literalLeft[0]) return 'error';
    this.literalLeft = this.literalLeft.slice(1);
    return this.literalLeft === '' ? this.valueEnded() : 'more';
  }

  private number(ch: string): JsonScanStep {
    const next = nextNumberState(this.numberState, ch);
    if (next !== undefined) {
      this.numberState = next;
      return 'more';
    }
    if (!NUMBER_ENDS.has(this.numberState)) return 'error';
    // The number ended before `ch`, which belongs to whatever follows it.
    if (this.stack.length === 0) {
      this.state = 'done';
      return 'done-before';
    }
    this.state = 'after-value';
    return this.afterValue(ch);
  }

  private valueEnded(): JsonScanStep {
    if (this.stack.length === 0) {
      this.state = 'done';
      return 'done';
    }
    this.state = 'after-value';
    return 'more';
  }
}

/** The number grammar's next state after `ch`, or undefined when `ch` cannot continue it. */
function nextNumberState(state: string, ch: string): string | undefined {
  const digit = ch >= '0' && ch <= '9';
  switch (state) {
    case 'sign':
      return ch === '0' ? 'zero' : digit ? 'int' : undefined;
    case 'zero':
    case 'int':
      if (digit) return state === 'int' ? 'int' : undefined;
      if (ch === '.') return 'dot';
      return ch === 'e' || ch === 'E' ? 'e' : undefined;
    case 'dot':
      return digit ? 'frac' : undefined;
    case 'frac':
      if (digit) return 'frac';
      return ch === 'e' || ch === 'E' ? 'e' : undefined;
    case 'e':
      return ch === '+' || ch === '-' ? 'esign' : digit ? 'exp' : undefined;
    case 'esign':
    case 'exp':
      return digit ? 'exp' : undefined;
    default:
      return undefined;
  }
}
