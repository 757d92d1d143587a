/** Stable codes of {@link ToolCallError}. */
export type ToolCallErrorCode =
  /** A tool call already announced (its `tool_call_start` sent) whose arguments are not JSON. */
  | 'TOOL_CALL_MALFORMED'
  /** The output ended inside the arguments of a tool call already announced. */
  | 'TOOL_CALL_UNFINISHED'
  /** `push` after `end`: a parser reads one reply. */
  | 'TOOL_CALL_PARSER_ENDED'
  /** A structural tag asked for a format that has no tool-call syntax (`none`). */
  | 'TOOL_CALL_NO_FORMAT'
  /** A structural tag asked for with no tools to call. */
  | 'TOOL_CALL_NO_TOOLS';

/**
 * A tool call that cannot be parsed once part of it has been streamed, or a structural tag that
 * cannot be built. `index` names the tool call, where there is one.
 */
export class ToolCallError extends Error {
  override readonly name = 'ToolCallError';
  readonly code: ToolCallErrorCode;
  readonly index: number | undefined;

  constructor(message: string, code: ToolCallErrorCode, index?: number) {
    super(message);
    this.code = code;
    this.index = index;
  }
}
