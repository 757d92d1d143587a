import { badTokenizer } from './metadata.js';
import { BYTE_TOKEN, PARSED_AS_ONE_TOKEN, TokenAttr } from './token-type.js';
import {
  type DecodeStyle,
  resolveSpecialTokens,
  type SpecialTokenIds,
  type Vocabulary,
} from './vocabulary.js';

type Json = Record<string, unknown>;

/** Whether `value` is a plain JSON object. */
export const isJsonObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The content of a tokenizer_config.json token entry (`"<s>"` or `{ "content": "<s>" }`). */
export function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isJsonObject(entry) && typeof entry.content === 'string') return entry.content;
  return undefined;
}

/** The added tokens of a tokenizer.json that have an id and a content. */
export function addedTokens(json: Json): { id: number; content: string; special: boolean }[] {
  const list = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  return list.flatMap((entry) =>
    isJsonObject(entry) && typeof entry.id === 'number' && typeof entry.content === 'string'
      ? [{ id: entry.id, content: entry.content, special: entry.special === true }]
      : [],
  );
}

/** The model's own vocabulary, as (text, id) pairs. */
export function modelVocab(json: Json, file: string | undefined): [string, number][] {
  const model = json.model;
  if (!isJsonObject(model)) throw badTokenizer('tokenizer.json has no model', file, 'model');
  const vocab = model.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], …] in id order.
    return vocab.map((entry, id) => [Array.isArray(entry) ? String(entry[0]) : '', id]);
  }
  if (!isJsonObject(vocab))
    throw badTokenizer('tokenizer.json has no model.vocab', file, 'model.vocab');
  return Object.entries(vocab).filter((e): e is [string, number] => typeof e[1] === 'number');
}

/** The decoders of a tokenizer.json, `Sequence`s flattened. */
export function decoderSteps(decoder: unknown): Json[] {
  if (!isJsonObject(decoder)) return [];
  if (decoder.type === 'Sequence' && Array.isArray(decoder.decoders)) {
    return decoder.decoders.flatMap(decoderSteps);
  }
  return [decoder];
}

function decodeStyle(json: Json): DecodeStyle {
  const steps = decoderSteps(json.decoder);
  if (steps.some((s) => s.type === 'ByteLevel')) return 'byte-level';
  const model = isJsonObject(json.model) ? json.model : {};
  const metaspace = steps.some(
    (s) =>
      s.type === 'Metaspace' ||
      s.type === 'ByteFallback' ||
      (s.type === 'Replace' && isJsonObject(s.pattern) && s.pattern.String === '▁'),
  );
  return metaspace || model.byte_fallback === true ? 'spm' : 'hf';
}

/** Whether decoding drops the space a SentencePiece tokenizer puts before the first word. */
function stripsLeadingSpace(json: Json): boolean {
  return decoderSteps(json.decoder).some(
    (s) =>
      (s.type === 'Strip' && s.content === ' ' && Number(s.start) > 0) ||
      (s.type === 'Metaspace' && s.prepend_scheme !== 'never' && s.add_prefix_space !== false),
  );
}

/** The first and last special tokens a post-processor wraps a single sequence in. */
function templateEnds(json: Json): { first?: string; last?: string } {
  const post = json.post_processor;
  const steps = isJsonObject(post)
    ? post.type === 'Sequence' && Array.isArray(post.processors)
      ? post.processors
      : [post]
    : [];
  for (const step of steps) {
    if (!isJsonObject(step)) continue;
    if (step.type === 'TemplateProcessing' && Array.isArray(step.single)) {
      const special = (item: unknown) =>
        isJsonObject(item) && isJsonObject(item.SpecialToken) ? item.SpecialToken.id : undefined;
      const first = special(step.single[0]);
      const last = step.single.length > 1 ? special(step.single.at(-1)) : undefined;
      return {
        ...(typeof first === 'string' ? { first } : {}),
        ...(typeof last === 'string' ? { last } : {}),
      };
    }
    if (step.type === 'RobertaProcessing' || step.type === 'BertProcessing') {
      const cls = Array.isArray(step.cls) ? step.cls[0] : undefined;
      const sep = Array.isArray(step.sep) ? step.sep[0] : undefined;
      return {
        ...(typeof cls === 'string' ? { first: cls } : {}),
        ...(typeof sep === 'string' ? { last: sep } : {}),
      };
    }
  }
  return {};
}

/** The chat template of a tokenizer_config.json: a string, or the `default` of a named list. */
export function configChatTemplate(config: Json): string | undefined {
  const template = config.chat_template;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template.filter(isJsonObject);
    const chosen = named.find((t) => t.name === 'default') ?? named[0];
    return typeof chosen?.template === 'string' ? chosen.template : undefined;
  }
  return undefined;
}

/**
 * What a {@link Tokenizer} needs to know about a tokenizer.json vocabulary besides its encoder:
 * token texts and types (added special tokens are control tokens, other added tokens user-defined,
 * `<0xXX>` byte-fallback tokens bytes), the special tokens named in tokenizer_config.json (or, when
 * it does not name them, by the post-processor), whether BOS/EOS are added (`add_bos_token` /
 * `add_eos_token`, else the post-processor's template), and llama.cpp's end-of-generation set.
 */
export function vocabularyFromJson(json: Json, config: Json, file?: string): Vocabulary {
  const pairs = modelVocab(json, file);
  const added = addedTokens(json);
  let size = 0;
  for (const [, id] of pairs) size = Math.max(size, id + 1);
  for (const token of added) size = Math.max(size, token.id + 1);
  const tokens = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const attrs = new Uint16Array(size).fill(TokenAttr.UNUSED);
  const style = decodeStyle(json);
  const byteFallback = isJsonObject(json.model) && json.model.byte_fallback === true;
  for (const [text, id] of pairs) {
    tokens[id] = text;
    attrs[id] = byteFallback && BYTE_TOKEN.test(text) ? TokenAttr.BYTE : TokenAttr.NORMAL;
  }
  for (const token of added) {
    tokens[token.id] = token.content;
    attrs[token.id] = token.special ? TokenAttr.CONTROL : TokenAttr.USER_DEFINED;
  }
  const textToId = new Map<string, number>();
  tokens.forEach((text, id) => {
    if (!textToId.has(text) || attrs[id] !== TokenAttr.UNUSED) textToId.set(text, id);
  });
  const idOf = (entry: unknown) => {
    const content = tokenContent(entry);
    return content === undefined ? undefined : textToId.get(content);
  };
  const ends = templateEnds(json);
  const model = isJsonObject(json.model) ? json.model : {};
  const ids: SpecialTokenIds = {
    bos: idOf(config.bos_token ?? config.cls_token) ?? idOf(ends.first),
    eos: idOf(config.eos_token ?? config.sep_token) ?? idOf(ends.last),
    unk: idOf(config.unk_token ?? model.unk_token),
    pad: idOf(config.pad_token),
  };
  const addBos =
    typeof config.add_bos_token === 'boolean'
      ? config.add_bos_token
      : ends.first !== undefined && idOf(ends.first) === ids.bos;
  const addEos =
    typeof config.add_eos_token === 'boolean'
      ? config.add_eos_token
      : ends.last !== undefined && idOf(ends.last) === ids.eos;
  const eog = resolveSpecialTokens(tokens, attrs, ids);
  const cleanup = config.clean_up_tokenization_spaces ?? true;
  return {
    tokens,
    attrs,
    style,
    ids,
    addBos,
    addEos,
    removeLeadingSpace: style === 'spm' && stripsLeadingSpace(json),
    cleanup: cleanup === true ? 'hf' : 'none',
    eog,
    chatTemplate: configChatTemplate(config),
  };
}

/**
 * The tokenizer.json with the tokens that llama.cpp makes control tokens by their text (an
 * end-of-generation text such as `</s>` that Qwen's vocabulary has as a normal token) added as
 * special added tokens, so that they are split out of the text as llama.cpp splits them.
 */
export function withVocabularySpecials(json: Json, vocab: Vocabulary): Json {
  const added = new Set(addedTokens(json).map((t) => t.id));
  const extra = vocab.tokens.flatMap((content, id) =>
    !added.has(id) && (vocab.attrs[id] ?? 0) & PARSED_AS_ONE_TOKEN
      ? [
          {
            id,
            content,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
        ]
      : [],
  );
  if (extra.length === 0) return json;
  const list = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  return { ...json, added_tokens: [...list, ...extra] };
}
