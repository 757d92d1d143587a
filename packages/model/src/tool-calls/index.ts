// Tool calls in local models' own text formats: which format a chat template teaches, a streaming
// parser to OpenAI tool-call events, and xgrammar structural tags that constrain calls.
export { ToolCallError, type ToolCallErrorCode } from './errors.js';
export {
  detectMistralToolCallStyle,
  detectToolCallFormat,
  type MistralToolCallStyle,
  type ToolCallFormat,
} from './format.js';
export {
  collectEvents,
  type ParsedToolCall,
  parseToolCalls,
  randomCallIdSuffix,
  type ToolCallEvent,
  ToolCallParser,
  type ToolCallParserOptions,
} from './parser.js';
export {
  type FunctionTool,
  namedToolStructuralTag,
  type StructuralTag,
  type StructuralTagFormat,
  type StructuralTagTag,
  type ToolCallStructuralTagOptions,
  toolCallStructuralTag,
} from './structural-tag.js';
