import { GgufValueType } from '../gguf/types.js';
import { type GgufMetadataInput, gguf } from '../gguf/writer.js';
import {
  addedTokens,
  configChatTemplate,
  isJsonObject,
  modelVocab,
  tokenContent,
} from './from-json.js';
import { badTokenizer } from './metadata.js';
import { detectPreTokenizer, preTokenizerSpec } from './pre-tokenizers.js';
import { BYTE_TOKEN, TokenType } from './token-type.js';

type Json = Record<string, unknown>;

/** Options of {@link ggufTokenizerMetadata}. */
export interface GgufTokenizerOptions {
  /**
   * `tokenizer.ggml.pre` for a byte-level BPE vocabulary; by default found from the
   * pre-tokenizer of the tokenizer.json (`llama-bpe`, `qwen2`, `smollm`, `gpt-2`).
   */
  pre?: string;
  /** The model's config.json: its `vocab_size` pads the vocabulary, its `*_token_id`s fill gaps. */
  modelConfig?: unknown;
  /** Name used in errors. */
  file?: string;
}

const SPECIAL_ROLES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask', 'eot', 'eom'] as const;
type Role = (typeof SPECIAL_ROLES)[number];
const ID_KEY: Record<Role, string> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  eot: 'tokenizer.ggml.eot_token_id',
  eom: 'tokenizer.ggml.eom_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id',
  pad: 'tokenizer.ggml.padding_token_id',
  cls: 'tokenizer.ggml.cls_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
};

/** convert_hf_to_gguf.py's `does_token_look_special`. */
function looksSpecial(text: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text) ||
    (text.startsWith('<|') && text.endsWith('|>')) ||
    (text.startsWith('<｜') && text.endsWith('｜>')) ||
    (text.startsWith('<unused') && text.endsWith('>'))
  );
}

/**
 * The GGUF `tokenizer.*` metadata of a Hugging Face tokenizer, as llama.cpp's
 * convert_hf_to_gguf.py writes it, ready for `encodeGguf`:
 *
 * - Byte-level BPE (`_set_vocab_gpt2`): `tokenizer.ggml.model` `gpt2`, the tokens by id (gaps as
 *   `[PADn]`, unused), token types (added tokens that are special or look special, like `<|…|>`,
 *   are control tokens, other added tokens user-defined), the merges, and `tokenizer.ggml.pre`.
 * - SentencePiece-style BPE with byte fallback, such as Llama 2's tokenizer.json
 *   (`_set_vocab_llama_hf`): `tokenizer.ggml.model` `llama` with scores and types (`<0xXX>` are
 *   byte tokens). gguf-py's `LlamaHfVocab` writes -1000 for every score, with which llama.cpp
 *   merges leftmost-first instead of by merge rank; here each token scores minus the rank of its
 *   first merge, so that llama.cpp, merging the best-scoring pair, merges as the tokenizer.json
 *   does. Tokens no merge makes score below all others. Added tokens are control tokens when
 *   special, user-defined otherwise.
 *
 * Then, as gguf-py's `SpecialVocab`: the ids of the tokens tokenizer_config.json names as
 * bos/eos/unk/sep/pad/cls/mask (looked up among the added tokens), `add_bos_token` /
 * `add_eos_token` from the post-processor's template and the config, `add_space_prefix` from the
 * config's `add_prefix_space`, and the chat template.
 * @throws ModelFileError `MODEL_BAD_TOKENIZER` when the tokenizer is of another kind, or its
 *   pre-tokenizer is not one llama.cpp knows
 */
export function ggufTokenizerMetadata(
  tokenizerJson: unknown,
  tokenizerConfig?: unknown,
  options: GgufTokenizerOptions = {},
): Record<string, GgufMetadataInput> {
  const { file } = options;
  const json = asObject(tokenizerJson, file, 'tokenizer.json');
  const config =
    tokenizerConfig === undefined ? {} : asObject(tokenizerConfig, file, 'tokenizer_config.json');
  const modelConfig =
    options.modelConfig === undefined ? {} : asObject(options.modelConfig, file, 'config.json');
  const model = isJsonObject(json.model) ? json.model : {};
  if (model.type !== 'BPE') {
    throw badTokenizer(
      `tokenizer.json model "${String(model.type)}" cannot be written as a GGUF vocabulary (only BPE)`,
      file,
      'model.type',
    );
  }
  const spm =
    model.byte_fallback === true && isJsonObject(json.decoder) && json.decoder.type === 'Sequence';
  const added = addedTokens(json);
  const addedById = new Map(added.map((t) => [t.id, t]));
  const pairs = modelVocab(json, file);
  let size = typeof modelConfig.vocab_size === 'number' ? modelConfig.vocab_size : 0;
  for (const [, id] of pairs) size = Math.max(size, id + 1);
  for (const token of added) size = Math.max(size, token.id + 1);
  const byId = new Map<number, string>(pairs.map(([text, id]) => [id, text]));
  for (const token of added) byId.set(token.id, token.content);

  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < size; id++) {
    const text = byId.get(id);
    const extra = addedById.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
    } else if (extra !== undefined) {
      const control = extra.special || looksSpecial(text);
      tokens.push(control ? text : text.replaceAll('▁', ' '));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(spm && BYTE_TOKEN.test(text) ? TokenType.BYTE : TokenType.NORMAL);
    }
  }

  const merges = bpeMerges(model.merges, file);
  const out: Record<string, GgufMetadataInput> = {};
  if (spm) {
    out['tokenizer.ggml.model'] = 'llama';
    out['tokenizer.ggml.pre'] = 'default';
    out['tokenizer.ggml.tokens'] = tokens;
    out['tokenizer.ggml.scores'] = gguf.array(
      GgufValueType.FLOAT32,
      rankScores(tokens, types, merges),
    );
  } else {
    const pre = options.pre ?? detectPreTokenizer(json);
    if (pre === undefined || preTokenizerSpec(pre) === undefined) {
      throw badTokenizer(
        pre === undefined
          ? 'cannot tell which llama.cpp pre-tokenizer this tokenizer.json uses; pass options.pre'
          : `llama.cpp pre-tokenizer "${pre}" is not supported`,
        file,
        'pre_tokenizer',
      );
    }
    out['tokenizer.ggml.model'] = 'gpt2';
    out['tokenizer.ggml.pre'] = pre;
    out['tokenizer.ggml.tokens'] = tokens;
  }
  out['tokenizer.ggml.token_type'] = gguf.array(GgufValueType.INT32, types);
  if (!spm) out['tokenizer.ggml.merges'] = merges.map(([a, b]) => `${a} ${b}`);

  const specials = specialVocab(json, config, modelConfig, added, size);
  for (const role of SPECIAL_ROLES) {
    const id = specials.ids[role];
    if (id !== undefined) out[ID_KEY[role]] = gguf.u32(id);
  }
  for (const role of ['bos', 'eos', 'sep'] as const) {
    const value = specials.add[role];
    if (value !== undefined) out[`tokenizer.ggml.add_${role}_token`] = gguf.bool(value);
  }
  if (typeof config.add_prefix_space === 'boolean') {
    out['tokenizer.ggml.add_space_prefix'] = gguf.bool(config.add_prefix_space);
  }
  writeChatTemplates(out, config);
  return out;
}

function asObject(value: unknown, file: string | undefined, what: string): Json {
  const parsed = typeof value === 'string' ? safeParse(value) : value;
  if (!isJsonObject(parsed)) throw badTokenizer(`${what} is not a JSON object`, file);
  return parsed;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** tokenizer.json merges as pairs; a space inside a pair's part is written as U+0120, as gguf-py does. */
function bpeMerges(merges: unknown, file: string | undefined): [string, string][] {
  if (!Array.isArray(merges))
    throw badTokenizer('tokenizer.json has no model.merges', file, 'model.merges');
  return merges.map((entry): [string, string] => {
    if (typeof entry === 'string') {
      const at = entry.indexOf(' ', 1);
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }
    if (Array.isArray(entry) && entry.length === 2) {
      const spaced = (part: unknown) => String(part).replaceAll(' ', '\u0120');
      return [spaced(entry[0]), spaced(entry[1])];
    }
    throw badTokenizer(
      'tokenizer.json model.merges has an entry that is not a pair',
      file,
      'model.merges',
    );
  });
}

/**
 * SentencePiece scores that make llama.cpp's best-score-first merging follow the merge ranks:
 * minus the rank of the first merge that makes the token; below all of those for normal tokens
 * no merge makes (single characters), and 0 for the others (bytes, control tokens), which never
 * result from a merge.
 */
function rankScores(tokens: string[], types: number[], merges: [string, string][]): number[] {
  const firstRank = new Map<string, number>();
  merges.forEach(([a, b], rank) => {
    if (!firstRank.has(a + b)) firstRank.set(a + b, rank);
  });
  return tokens.map((text, id) => {
    if (types[id] !== TokenType.NORMAL) return 0;
    return -(firstRank.get(text) ?? merges.length + id);
  });
}

/** The first and last special tokens of a `TemplateProcessing` of one sequence. */
function templateSpecials(json: Json): { roberta: boolean; first?: string; last?: string } {
  const post = json.post_processor;
  const processors = isJsonObject(post)
    ? Array.isArray(post.processors)
      ? post.processors
      : [post]
    : [];
  const special = (item: unknown) => {
    const token = isJsonObject(item) ? item.SpecialToken : undefined;
    return isJsonObject(token) && typeof token.id === 'string' && token.id ? token.id : undefined;
  };
  for (const processor of processors.filter(isJsonObject)) {
    if (processor.type === 'RobertaProcessing') return { roberta: true };
    if (processor.type !== 'TemplateProcessing' || !Array.isArray(processor.single)) continue;
    const single = processor.single;
    if (single.length < 2) return { roberta: false };
    const first = special(single[0]);
    const last = special(single.at(-1));
    return {
      roberta: false,
      ...(first === undefined ? {} : { first }),
      ...(last === undefined ? {} : { last }),
    };
  }
  return { roberta: false };
}

/**
 * gguf-py's `SpecialVocab`: token names from tokenizer_config.json (and the post-processor's
 * template, which may make the old EOS an EOT), looked up among the added tokens; then ids from
 * config.json for roles still without one.
 */
function specialVocab(
  json: Json,
  config: Json,
  modelConfig: Json,
  added: { id: number; content: string }[],
  size: number,
): { ids: Partial<Record<Role, number>>; add: Partial<Record<Role, boolean>> } {
  const names: Partial<Record<Role, string>> = {};
  for (const role of SPECIAL_ROLES) {
    const content = tokenContent(config[`${role}_token`]);
    if (content) names[role] = content;
  }
  if (!names.bos && names.cls) names.bos = names.cls;
  if (!names.eos && names.sep) names.eos = names.sep;
  const add: Partial<Record<Role, boolean>> = {};
  const template = templateSpecials(json);
  if (template.roberta) Object.assign(add, { bos: true, eos: true, sep: true });
  const { first, last } = template;
  if (first !== undefined) {
    if (first !== names.bos && first !== names.cls) {
      names.bos ??= first;
      names.cls ??= first;
    }
    add.bos = first === names.bos || first === names.cls;
  }
  if (last !== undefined) {
    if (last !== names.eos) {
      // The old EOS ends a turn; the template's last token ends the sequence.
      if (names.eos !== undefined) {
        if (names.eot === undefined) names.eot = names.eos;
        else names.eom ??= names.eos;
      }
      names.eos = last;
    }
    add.eos = true;
  }
  const ids: Partial<Record<Role, number>> = {};
  for (const role of SPECIAL_ROLES) {
    const flag = config[`add_${role}_token`];
    if (typeof flag === 'boolean') add[role] = flag;
    const name = names[role];
    const id = name === undefined ? undefined : added.find((t) => t.content === name)?.id;
    if (id !== undefined && id < size) ids[role] = id;
  }
  for (const role of SPECIAL_ROLES) {
    const id = modelConfig[`${role}_token_id`];
    if (ids[role] === undefined && typeof id === 'number' && id >= 0 && id < size) ids[role] = id;
  }
  return { ids, add };
}

function writeChatTemplates(out: Record<string, GgufMetadataInput>, config: Json): void {
  const template = config.chat_template;
  if (typeof template === 'string') {
    out['tokenizer.chat_template'] = template;
    return;
  }
  const chosen = configChatTemplate(config);
  if (chosen !== undefined) out['tokenizer.chat_template'] = chosen;
  if (!Array.isArray(template)) return;
  for (const entry of template.filter(isJsonObject)) {
    if (
      entry.name !== 'default' &&
      typeof entry.name === 'string' &&
      typeof entry.template === 'string'
    ) {
      out[`tokenizer.chat_template.${entry.name}`] = entry.template;
    }
  }
}
