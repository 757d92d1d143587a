// Shared by the tool-call tests: feeding a parser in chunks, and checking the events it returns.
import { expect } from 'vitest';
import type { ToolCallFormat } from './format.js';
import {
  collectEvents,
  type ParsedToolCall,
  type ToolCallEvent,
  ToolCallParser,
} from './parser.js';

/** What a reply parsed to: content, calls, and the error `end()` threw, if any. */
export interface Parsed {
  content: string;
  toolCalls: ParsedToolCall[];
  error?: string;
}

/** Ids that do not depend on chance: `call_` + 24 characters numbering the calls. */
export function countingIds(): () => string {
  let n = 0;
  return () => String(n++).padStart(24, '0');
}

/** Feeds `chunks` one `push` each, then `end()`; checks the events' order as it goes. */
export function feed(format: ToolCallFormat, chunks: readonly string[]): Parsed {
  const parser = new ToolCallParser(format, { random: countingIds() });
  const events: ToolCallEvent[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  let error: string | undefined;
  try {
    events.push(...parser.end());
  } catch (caught) {
    error = (caught as { code?: string }).code ?? String(caught);
  }
  checkOrder(events);
  const parsed = collectEvents(events);
  return error === undefined ? parsed : { ...parsed, error };
}

/** `text` split at the given offsets. */
export function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts)].filter((c) => c > 0 && c < text.length).sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of [...points, text.length]) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  return chunks;
}

/** Each call: start, arguments, end, one call after another, numbered from 0; no empty events. */
function checkOrder(events: readonly ToolCallEvent[]): void {
  let open: number | undefined;
  let next = 0;
  for (const event of events) {
    if (event.type === 'content') {
      expect(event.text).not.toBe('');
      expect(open).toBeUndefined();
    } else if (event.type === 'tool_call_start') {
      expect(open).toBeUndefined();
      expect(event.index).toBe(next);
      expect(event.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
      open = event.index;
      next += 1;
    } else if (event.type === 'tool_call_arguments') {
      expect(event.index).toBe(open);
      expect(event.delta).not.toBe('');
    } else {
      expect(event.index).toBe(open);
      open = undefined;
    }
  }
}
