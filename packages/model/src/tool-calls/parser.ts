// Model output to OpenAI chat-completion tool calls, as it streams. Each model family writes calls
// in its own text format (see ToolCallFormat); the parser turns the text into content and tool-call
// events, holding back only what might still be part of a call's markup.
//
// Malformed calls. vLLM's tool parsers (hermes, mistral, llama3_json), when a complete reply does
// not parse, log the error and return the whole reply as content with no tool calls
// (`tools_called=False, content=model_output`); while streaming they log and drop the chunk. This
// parser does as vLLM does wherever it still can: a call that turns out not to be one before it was
// announced comes back as content, verbatim, markup included, and `parseToolCalls` returns the whole
// text as content, with no calls, when any call was malformed. A call already announced (its
// `tool_call_start` sent) cannot be taken back: when its arguments turn out not to be JSON, or the
// output ends inside them, the parser drops the rest of the output, reports it in `error`, and
// `end()` throws that ToolCallError (TOOL_CALL_MALFORMED or TOOL_CALL_UNFINISHED).
import { CallObject, type CallSink } from './call-object.js';
import { ToolCallError, type ToolCallErrorCode } from './errors.js';
import type { ToolCallFormat } from './format.js';
import { isJsonWhitespace, JsonValueScanner } from './json-scanner.js';

/**
 * What the parser makes of model output. `content` is plain assistant text, never part of a tool
 * call's markup; a call is `tool_call_start` (id and name), then `tool_call_arguments` fragments
 * whose concatenation is the arguments' JSON text, then `tool_call_end`. Calls are numbered from 0
 * and never interleave.
 */
export type ToolCallEvent =
  | { type: 'content'; text: string }
  | { type: 'tool_call_start'; index: number; id: string; name: string }
  | { type: 'tool_call_arguments'; index: number; delta: string }
  | { type: 'tool_call_end'; index: number };

/** Options of {@link ToolCallParser}. */
export interface ToolCallParserOptions {
  /** What call ids start with. Default `call_`, as OpenAI's. */
  idPrefix?: string;
  /** The rest of a call id. Default: 24 random letters and digits. */
  random?: () => string;
}

/** A parsed tool call, as OpenAI's `tool_calls[].function` plus the call's id. */
export interface ParsedToolCall {
  id: string;
  name: string;
  /** The arguments' JSON text. */
  arguments: string;
}

const HERMES_OPEN = '<tool_call>';
const HERMES_CLOSE = '</tool_call>';
const PHI4_OPEN = '<|tool_call|>';
const PHI4_CLOSE = '<|/tool_call|>';
const MISTRAL_OPEN = '[TOOL_CALLS]';
const MISTRAL_ARGS = '[ARGS]';
const MISTRAL_CALL_ID = '[CALL_ID]';
const PYTHON_TAG = '<|python_tag|>';
const MISTRAL_NAME_CHAR = /^[A-Za-z0-9_.-]$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The marker that opens a call in running text, per format (Llama 3 has none: see `llama-start`). */
const MARKERS: Record<ToolCallFormat, string | undefined> = {
  hermes: HERMES_OPEN,
  mistral: MISTRAL_OPEN,
  llama3: undefined,
  phi4: PHI4_OPEN,
  none: undefined,
};

/** The tag that closes a call's markup, per format, where it has one. */
const CLOSERS: Partial<Record<ToolCallFormat, string>> = {
  hermes: HERMES_CLOSE,
  phi4: PHI4_CLOSE,
};

type State =
  /** Content, watching for the format's marker. */
  | 'text'
  /** Right after a call: whitespace held until the next call or other text. */
  | 'after'
  /** Inside a call object ({@link CallObject}). */
  | 'object'
  /** After a Hermes or Phi-4 call: whitespace, then `</tool_call>` or `<|/tool_call|>`. */
  | 'close'
  /** After `<|tool_call|>`: an object, or an array of them. */
  | 'phi4-open'
  /** After `[TOOL_CALLS]`: an array, an object, or a name. */
  | 'mistral-open'
  /** After a call in a Mistral array: `,` and the next, or `]`. */
  | 'array-next'
  /** `[TOOL_CALLS]name`, before `[ARGS]`. */
  | 'mistral-name'
  /** `[ARGS]` or `[CALL_ID]` after the name. */
  | 'mistral-tag'
  /** The call id after `[CALL_ID]`. */
  | 'mistral-call-id'
  /** After `[ARGS]`, before the arguments. */
  | 'mistral-args'
  /** Streaming `[ARGS]` arguments. */
  | 'mistral-args-in'
  /** The start of a Llama 3 reply: whitespace and `<|python_tag|>` held until `{` or other text. */
  | 'llama-start'
  /** After a Llama 3 call: `;` and the next call. */
  | 'llama-after'
  /** An announced call broke: the rest of the output is dropped. */
  | 'failed';

/** A call not yet announced: what to give back as content if it turns out to be none. */
interface Attempt {
  /** Held text before the marker (whitespace, separators). */
  prefix: string;
  marker: string;
  /** Everything consumed since the marker. */
  raw: string;
}

/**
 * Parses one reply's text, fed as it streams, into content and OpenAI tool-call events.
 * Text that might begin a call's markup (a trailing `<tool`, `[TOOL_`, a Llama reply's leading `{`)
 * is held back until that is decided, and no longer. Feed `push` each text delta, then call `end`.
 */
export class ToolCallParser {
  private readonly marker: string | undefined;
  private readonly closer: string | undefined;
  private readonly idPrefix: string;
  private readonly random: () => string;
  private state: State;
  /** Input not yet consumed. */
  private input = '';
  private pos = 0;
  private finishing = false;
  private events: ToolCallEvent[] = [];
  /** Text held in the current state (whitespace, a partial tag). */
  private held = '';
  private attempt: Attempt | undefined;
  private call: CallObject | undefined;
  /** Where to go when the call object closes. */
  private afterObject: State = 'after';
  private mistralName = '';
  private scanner = new JsonValueScanner();
  /** The `<|python_tag|>` read so far at the start of a Llama 3 reply. */
  private pythonTag = '';
  private index = -1;
  private rejectedCount = 0;
  /** Where {@link CallObject} reports calls. */
  private readonly sink: CallSink = {
    start: (name) => this.startCall(name),
    args: (text) => this.argsDelta(text),
    end: () => this.endCall(),
  };
  private failure: ToolCallError | undefined;

  constructor(
    readonly format: ToolCallFormat,
    options: ToolCallParserOptions = {},
  ) {
    this.marker = MARKERS[format];
    this.closer = CLOSERS[format];
    this.idPrefix = options.idPrefix ?? 'call_';
    this.random = options.random ?? randomCallIdSuffix;
    this.state = format === 'llama3' ? 'llama-start' : 'text';
  }

  /** The error of an announced call that broke, once it did; `end()` throws it. */
  get error(): ToolCallError | undefined {
    return this.failure;
  }

  /** How many would-be calls (a marker, or a Llama reply's `{`) were given back as content. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /**
   * Feeds the next text delta; returns the events it completes.
   * @throws ToolCallError (TOOL_CALL_PARSER_ENDED) after `end()`
   */
  push(textDelta: string): ToolCallEvent[] {
    if (this.finishing) {
      throw new ToolCallError(
        'push after end(): a parser reads one reply',
        'TOOL_CALL_PARSER_ENDED',
      );
    }
    this.input += textDelta;
    this.run();
    return this.drain();
  }

  /**
   * Ends the reply: held text is decided (a would-be call that is not complete comes back as
   * content; whitespace and closing markup after a complete call are dropped).
   * @throws ToolCallError when an announced call is malformed or unfinished
   */
  end(): ToolCallEvent[] {
    this.finishing = true;
    this.run();
    while (this.attempt) {
      this.reject();
      this.run();
    }
    this.settle();
    if (this.failure) throw this.failure;
    return this.drain();
  }

  /** Announces a call. */
  private startCall(name: string): void {
    this.index += 1;
    this.attempt = undefined;
    const id = `${this.idPrefix}${this.random()}`;
    this.events.push({ type: 'tool_call_start', index: this.index, id, name });
  }

  /** Passes on arguments text, merged with the previous fragment of this push. */
  private argsDelta(text: string): void {
    const last = this.events[this.events.length - 1];
    if (last?.type === 'tool_call_arguments' && last.index === this.index) last.delta += text;
    else this.events.push({ type: 'tool_call_arguments', index: this.index, delta: text });
  }

  private endCall(): void {
    this.events.push({ type: 'tool_call_end', index: this.index });
  }

  private drain(): ToolCallEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  private run(): void {
    while (this.pos < this.input.length && this.step()) {}
    this.input = this.input.slice(this.pos);
    this.pos = 0;
  }

  /** One step in the current state; false when it must wait for more input. */
  private step(): boolean {
    switch (this.state) {
      case 'text':
        return this.text();
      case 'after':
        return this.after();
      case 'object':
        return this.object();
      case 'failed':
        this.pos = this.input.length;
        return true;
      default:
        this.stepChar(this.state, this.input[this.pos]!);
        return true;
    }
  }

  /** The states that read one character at a time. */
  private stepChar(state: State, ch: string): void {
    if (state === 'close') this.close(ch);
    else if (state === 'phi4-open') this.phi4Open(ch);
    else if (state === 'mistral-open') this.mistralOpen(ch);
    else if (state === 'array-next') this.arrayNext(ch);
    else if (state === 'mistral-name') this.mistralNameChar(ch);
    else if (state === 'mistral-tag') this.mistralTag(ch);
    else if (state === 'mistral-call-id') this.mistralCallId(ch);
    else if (state === 'mistral-args') this.mistralArgs(ch);
    else if (state === 'mistral-args-in') this.mistralArgsIn(ch);
    else if (state === 'llama-start') this.llamaStart(ch);
    else if (state === 'llama-after') this.llamaAfter(ch);
    else throw new Error(`unreachable parser state ${state}`);
  }

  private text(): boolean {
    const rest = this.input.slice(this.pos);
    if (this.marker === undefined) {
      this.content(rest);
      this.pos = this.input.length;
      return true;
    }
    const at = rest.indexOf(this.marker);
    if (at >= 0) {
      this.content(rest.slice(0, at));
      this.pos += at + this.marker.length;
      this.openCall('');
      return true;
    }
    const keep = this.finishing ? 0 : partialMarkerLength(rest, this.marker);
    this.content(rest.slice(0, rest.length - keep));
    this.pos = this.input.length - keep;
    return keep === 0;
  }

  /** After a call: whitespace is held; the next marker drops it, other text gets it back. */
  private after(): boolean {
    const ch = this.input[this.pos]!;
    if (isJsonWhitespace(ch)) {
      this.held += ch;
      this.pos += 1;
      return true;
    }
    const marker = this.marker!;
    const rest = this.input.slice(this.pos);
    if (rest.startsWith(marker)) {
      this.pos += marker.length;
      this.openCall(this.held);
      return true;
    }
    if (marker.startsWith(rest) && !this.finishing) return false;
    this.content(this.held);
    this.enter('text');
    return true;
  }

  /** The marker was read: a call attempt begins. */
  private openCall(prefix: string): void {
    this.attempt = { prefix, marker: this.marker!, raw: '' };
    if (this.format === 'hermes') this.openObject('close');
    else if (this.format === 'phi4') this.enter('phi4-open');
    else this.enter('mistral-open');
  }

  private openObject(next: State): void {
    this.enter('object');
    this.call = new CallObject(this.sink);
    this.afterObject = next;
  }

  private object(): boolean {
    const outcome = this.call!.step(this.input[this.pos]!);
    if (outcome === 'more') this.skip();
    else if (outcome === 'done') {
      this.skip();
      this.call = undefined;
      this.enter(this.afterObject);
    } else if (outcome === 'reject') this.reject();
    else if (outcome === 'fail') this.fail('TOOL_CALL_MALFORMED');
    else this.enter(this.format === 'llama3' ? 'llama-after' : 'after');
    return true;
  }

  /** The closing tag after a call (`</tool_call>`, `<|/tool_call|>`), read into `held`. */
  private close(ch: string): void {
    const closer = this.closer!;
    if (this.held === '' && isJsonWhitespace(ch)) {
      this.skip();
    } else if (closer.startsWith(this.held + ch)) {
      this.hold(ch);
      if (this.held === closer) this.enter('after');
    } else {
      // The call is complete but its closing tag is not there: read on as after the call.
      this.refeed(this.held);
      this.enter('after');
    }
  }

  /** Phi-4-mini writes one call object per `<|tool_call|>`, or an array of them. */
  private phi4Open(ch: string): void {
    if (isJsonWhitespace(ch)) {
      this.skip();
    } else if (ch === '[') {
      this.skip();
      this.openObject('array-next');
    } else if (ch === '{') {
      this.openObject('close');
    } else {
      this.reject();
    }
  }

  private mistralOpen(ch: string): void {
    if (isJsonWhitespace(ch)) {
      this.skip();
    } else if (ch === '[') {
      this.skip();
      this.openObject('array-next');
    } else if (ch === '{') {
      this.openObject('after');
    } else if (MISTRAL_NAME_CHAR.test(ch)) {
      this.mistralName = '';
      this.enter('mistral-name');
    } else {
      this.reject();
    }
  }

  private arrayNext(ch: string): void {
    const comma = this.held.includes(',');
    if (isJsonWhitespace(ch) || (ch === ',' && !comma)) {
      this.hold(ch);
    } else if (ch === ']' && !comma) {
      this.skip();
      this.enter(this.closer === undefined ? 'after' : 'close');
    } else if (ch === '{' && comma) {
      this.openHeldCall('array-next');
    } else {
      // The calls so far are complete but the array does not go on: read on as after the calls.
      this.refeed(this.held);
      this.enter('after');
    }
  }

  private mistralNameChar(ch: string): void {
    if (MISTRAL_NAME_CHAR.test(ch)) {
      this.mistralName += ch;
      this.skip();
    } else if (ch === '[') {
      this.enter('mistral-tag');
    } else if (ch === '{') {
      this.enter('mistral-args');
    } else {
      this.reject();
    }
  }

  /** `[ARGS]` or `[CALL_ID]`, read into `held`. */
  private mistralTag(ch: string): void {
    const tag = this.held + ch;
    if (!MISTRAL_ARGS.startsWith(tag) && !MISTRAL_CALL_ID.startsWith(tag)) {
      this.reject();
      return;
    }
    this.hold(ch);
    if (tag === MISTRAL_ARGS) this.enter('mistral-args');
    else if (tag === MISTRAL_CALL_ID) this.enter('mistral-call-id');
  }

  /** The call id is kept to no purpose: OpenAI ids are made here. */
  private mistralCallId(ch: string): void {
    if (ch === '[') this.enter('mistral-tag');
    else this.skip();
  }

  private mistralArgs(ch: string): void {
    if (isJsonWhitespace(ch)) {
      this.skip();
    } else if (ch === '{') {
      this.startCall(this.mistralName);
      this.scanner = new JsonValueScanner();
      this.enter('mistral-args-in');
      this.mistralArgsIn(ch);
    } else {
      this.reject();
    }
  }

  private mistralArgsIn(ch: string): void {
    const step = this.scanner.push(ch);
    if (step !== 'more' && step !== 'done') {
      this.fail('TOOL_CALL_MALFORMED');
      return;
    }
    this.skip();
    this.argsDelta(ch);
    if (step === 'done') {
      this.endCall();
      this.enter('after');
    }
  }

  /** A Llama 3 reply is a call only if it starts (after whitespace, `<|python_tag|>`) with `{`. */
  private llamaStart(ch: string): void {
    const tag = this.pythonTag;
    const tagOpen = tag === '' || tag === PYTHON_TAG;
    if (isJsonWhitespace(ch) && tagOpen) {
      this.hold(ch);
    } else if (tag !== PYTHON_TAG && PYTHON_TAG.startsWith(tag + ch)) {
      this.pythonTag = tag + ch;
      this.hold(ch);
    } else if (ch === '{' && tagOpen) {
      this.openHeldCall('llama-after');
    } else {
      this.content(this.held);
      this.enter('text');
    }
  }

  /** After a Llama 3 call: whitespace, one `;`, and the next call, or text. */
  private llamaAfter(ch: string): void {
    if (isJsonWhitespace(ch) || (ch === ';' && !this.held.includes(';'))) {
      this.hold(ch);
    } else if (ch === '{') {
      this.openHeldCall('llama-after');
    } else {
      this.content(this.held);
      this.enter('text');
    }
  }

  /** A call object with no marker begins at `{`: the held text is given back if it is none. */
  private openHeldCall(next: State): void {
    this.attempt = { prefix: this.held, marker: '', raw: '' };
    this.openObject(next);
  }

  /** The end of the input: decide what the current state still holds. */
  private settle(): void {
    if (this.state === 'mistral-args-in' || (this.state === 'object' && this.call?.streaming)) {
      this.fail('TOOL_CALL_UNFINISHED');
    } else if (this.state === 'llama-start') {
      this.content(this.held);
    }
    this.held = '';
  }

  /** A would-be call is none: its marker becomes content and what followed is read again. */
  private reject(): void {
    const attempt = this.attempt!;
    this.attempt = undefined;
    this.call = undefined;
    this.rejectedCount += 1;
    this.content(attempt.prefix + attempt.marker);
    this.refeed(attempt.raw);
    this.enter('text');
  }

  private fail(code: ToolCallErrorCode): void {
    const what =
      code === 'TOOL_CALL_UNFINISHED'
        ? 'the output ended inside its arguments'
        : 'its arguments are not JSON';
    this.failure = new ToolCallError(`tool call ${this.index}: ${what}`, code, this.index);
    this.attempt = undefined;
    this.call = undefined;
    this.enter('failed');
  }

  private enter(state: State): void {
    this.state = state;
    this.held = '';
  }

  /** Consumes the current character, keeping it with the call attempt if there is one. */
  private skip(): void {
    if (this.attempt) this.attempt.raw += this.input[this.pos];
    this.pos += 1;
  }

  private hold(ch: string): void {
    this.held += ch;
    this.skip();
  }

  /** Puts `text` back in front of the unconsumed input. */
  private refeed(text: string): void {
    this.input = text + this.input.slice(this.pos);
    this.pos = 0;
  }

  private content(text: string): void {
    if (text === '') return;
    const last = this.events[this.events.length - 1];
    if (last?.type === 'content') last.text += text;
    else this.events.push({ type: 'content', text });
  }
}

/** The length of the longest end of `text` that begins `marker` (and is shorter than it). */
function partialMarkerLength(text: string, marker: string): number {
  for (let length = Math.min(text.length, marker.length - 1); length > 0; length--) {
    if (marker.startsWith(text.slice(text.length - length))) return length;
  }
  return 0;
}

/** 24 random letters and digits, the part of an OpenAI call id after `call_`. */
export function randomCallIdSuffix(): string {
  let suffix = '';
  const bytes = new Uint8Array(32);
  while (suffix.length < 24) {
    globalThis.crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      // 248 = 4 × 62: bytes above it would favour the first letters.
      if (byte < 248 && suffix.length < 24) suffix += ID_ALPHABET[byte % 62];
    }
  }
  return suffix;
}

/**
 * Parses a complete reply. As vLLM does, a reply with any malformed call comes back whole as
 * content, with no tool calls.
 */
export function parseToolCalls(
  format: ToolCallFormat,
  text: string,
  options?: ToolCallParserOptions,
): { content: string; toolCalls: ParsedToolCall[] } {
  const parser = new ToolCallParser(format, options);
  let events: ToolCallEvent[];
  try {
    events = [...parser.push(text), ...parser.end()];
  } catch (error) {
    if (error instanceof ToolCallError) return { content: text, toolCalls: [] };
    throw error;
  }
  if (parser.rejected > 0) return { content: text, toolCalls: [] };
  return collectEvents(events);
}

/** Folds events into the content text and the calls they describe. */
export function collectEvents(events: readonly ToolCallEvent[]): {
  content: string;
  toolCalls: ParsedToolCall[];
} {
  let content = '';
  const toolCalls: ParsedToolCall[] = [];
  for (const event of events) {
    if (event.type === 'content') content += event.text;
    else if (event.type === 'tool_call_start') {
      toolCalls[event.index] = { id: event.id, name: event.name, arguments: '' };
    } else if (event.type === 'tool_call_arguments')
      toolCalls[event.index]!.arguments += event.delta;
  }
  return { content, toolCalls };
}
