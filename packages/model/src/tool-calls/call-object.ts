// One tool call written as a JSON object, `{"name": "f", "arguments": {…}}`, read a character at a
// time. The call is announced (`start`) as soon as its name is known and its arguments begin, and
// the arguments are passed on as they arrive; arguments written before the name, or as a JSON
// string, are passed on in one piece once both are known.
import { isJsonWhitespace, JsonValueScanner } from './json-scanner.js';

/** Where a parsed call goes. */
export interface CallSink {
  /** The call's name is known and its arguments follow: announce it. */
  start(name: string): void;
  /** More of the arguments' JSON text. */
  args(text: string): void;
  /** The arguments are complete. */
  end(): void;
}

/** What {@link CallObject.step} made of one character. */
export type CallStep =
  /** Consumed; the object goes on. */
  | 'more'
  /** Consumed; it closed the object, and the call is complete. */
  | 'done'
  /** Not consumed: this is no tool call, and nothing of it was announced. */
  | 'reject'
  /** Not consumed: the arguments of an announced call are not JSON. */
  | 'fail'
  /** Not consumed: the call is complete, but the object does not close as it should. */
  | 'deviate';

/** The keys that hold a call's arguments (Llama 3 writes `parameters`). */
const ARGUMENT_KEYS = new Set(['arguments', 'parameters']);
/** Other keys a call object may carry before it is announced (Mistral's templates write `id`). */
const TOLERATED_KEYS = new Set(['type', 'id']);

type ObjectState =
  | 'open'
  | 'key-or-close'
  | 'key'
  | 'in-key'
  | 'colon'
  | 'value'
  | 'in-value'
  | 'comma-or-close';

/** What becomes of the value being read. */
type Capture = 'key' | 'name' | 'args-object' | 'args-string' | 'stream' | 'skip';

/** Reads one call object (leading whitespace, then `{` … `}`) and reports it to a {@link CallSink}. */
export class CallObject {
  private state: ObjectState = 'open';
  private scanner = new JsonValueScanner();
  private capture: Capture = 'skip';
  /** The raw text of the key or value being read (not kept for streamed arguments). */
  private raw = '';
  private key = '';
  private name: string | undefined;
  /** Arguments read before they could be announced. */
  private args: string | undefined;
  private committed = false;
  private ended = false;

  constructor(private readonly sink: CallSink) {}

  /** Whether the call was announced and its arguments are still streaming. */
  get streaming(): boolean {
    return this.committed && !this.ended;
  }

  /** Feeds one character. */
  step(ch: string): CallStep {
    switch (this.state) {
      case 'open':
        if (isJsonWhitespace(ch)) return 'more';
        return ch === '{' ? this.goto('key-or-close') : this.broken();
      case 'key-or-close':
      case 'key':
        return this.keyStart(ch);
      case 'colon':
        if (isJsonWhitespace(ch)) return 'more';
        return ch === ':' ? this.goto('value') : this.broken();
      case 'value':
        return isJsonWhitespace(ch) ? 'more' : this.valueStart(ch);
      case 'in-key':
      case 'in-value':
        return this.feed(ch);
      case 'comma-or-close':
        if (isJsonWhitespace(ch)) return 'more';
        if (ch === ',') return this.goto('key');
        return ch === '}' ? this.close() : this.broken();
    }
  }

  private goto(state: ObjectState): CallStep {
    this.state = state;
    return 'more';
  }

  /** A character no call object has here: what that means depends on how far the call got. */
  private broken(): CallStep {
    if (this.ended) return 'deviate';
    return this.committed ? 'fail' : 'reject';
  }

  private keyStart(ch: string): CallStep {
    if (isJsonWhitespace(ch)) return 'more';
    if (ch === '}' && this.state === 'key-or-close') return this.close();
    if (ch !== '"') return this.broken();
    this.begin('key', 'in-key');
    return this.feed(ch);
  }

  private valueStart(ch: string): CallStep {
    const capture = this.captureFor(ch);
    if (capture === undefined) return this.broken();
    if (capture === 'stream') {
      this.committed = true;
      this.sink.start(this.name!);
    }
    this.begin(capture, 'in-value');
    return this.feed(ch);
  }

  private begin(capture: Capture, state: ObjectState): void {
    this.capture = capture;
    this.state = state;
    this.scanner = new JsonValueScanner();
    this.raw = '';
  }

  /** What to do with the value of the current key, which starts with `ch`; undefined: reject. */
  private captureFor(ch: string): Capture | undefined {
    if (this.key === 'name' && this.name === undefined) return ch === '"' ? 'name' : undefined;
    const hasArgs = this.args !== undefined || this.committed;
    if (ARGUMENT_KEYS.has(this.key) && !hasArgs) {
      if (ch === '{') return this.name === undefined ? 'args-object' : 'stream';
      return ch === '"' ? 'args-string' : undefined;
    }
    return this.committed || TOLERATED_KEYS.has(this.key) ? 'skip' : undefined;
  }

  private feed(ch: string): CallStep {
    const step = this.scanner.push(ch);
    if (step === 'error') return this.broken();
    if (step === 'done-before') {
      // Only a number ends this way, and numbers are only skipped.
      this.state = 'comma-or-close';
      return this.step(ch);
    }
    if (this.capture === 'stream') this.sink.args(ch);
    else this.raw += ch;
    return step === 'done' ? this.valueDone() : 'more';
  }

  private valueDone(): CallStep {
    this.state = this.capture === 'key' ? 'colon' : 'comma-or-close';
    switch (this.capture) {
      case 'key':
        this.key = JSON.parse(this.raw) as string;
        return 'more';
      case 'name':
        return this.nameDone(JSON.parse(this.raw) as string);
      case 'args-object':
        this.args = this.raw;
        return 'more';
      case 'args-string':
        return this.stringArgsDone(JSON.parse(this.raw) as string);
      case 'stream':
        this.ended = true;
        this.sink.end();
        return 'more';
      case 'skip':
        return 'more';
    }
  }

  private nameDone(name: string): CallStep {
    if (name === '') return this.broken();
    this.name = name;
    return this.announce();
  }

  /** Arguments written as a JSON string must hold a JSON object's text. */
  private stringArgsDone(text: string): CallStep {
    if (!isJsonObjectText(text)) return this.broken();
    this.args = text;
    return this.announce();
  }

  /** Announces a call whose arguments were read whole, once its name is known too. */
  private announce(): CallStep {
    if (this.name === undefined || this.args === undefined || this.committed) return 'more';
    this.committed = true;
    this.ended = true;
    this.sink.start(this.name);
    this.sink.args(this.args);
    this.sink.end();
    return 'more';
  }

  /** The object closes: a call only when it had both a name and arguments. */
  private close(): CallStep {
    return this.ended ? 'done' : this.broken();
  }
}

/** Whether `text` is a JSON object's text. */
function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
