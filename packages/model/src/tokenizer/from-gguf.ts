import type { GgufValue } from '../gguf/types.js';
import { badTokenizer, TokenizerMetadata } from './metadata.js';
import { preTokenizerSpec, SUPPORTED_PRE_TOKENIZERS } from './pre-tokenizers.js';
import { type RankedMerges, spmMerges } from './spm-merges.js';
import { PARSED_AS_ONE_TOKEN, SPECIAL_ATTRS, TokenType, tokenTypeToAttr } from './token-type.js';
import { resolveSpecialTokens, type SpecialTokenIds, type Vocabulary } from './vocabulary.js';

type Json = Record<string, unknown>;

/** A tokenizer.json equivalent to a GGUF vocabulary, and what the tokenizer needs besides. */
export interface GgufTokenizerParts {
  tokenizerJson: Json;
  vocabulary: Vocabulary;
  /**
   * Merge ranks to install in place of the tokenizer.json order, where merges share ranks (the
   * ties of SentencePiece scores), keyed as `@huggingface/tokenizers` keys them: the JSON of the
   * pair.
   */
  ranks?: Map<string, number>;
}

const ID_KEYS: [string, keyof SpecialTokenIds][] = [
  ['bos_token_id', 'bos'],
  ['eos_token_id', 'eos'],
  ['eot_token_id', 'eot'],
  ['eom_token_id', 'eom'],
  ['unknown_token_id', 'unk'],
  ['padding_token_id', 'pad'],
  ['fim_pre_token_id', 'fimPre'],
  ['fim_suf_token_id', 'fimSuf'],
  ['fim_mid_token_id', 'fimMid'],
  ['fim_pad_token_id', 'fimPad'],
  ['fim_rep_token_id', 'fimRep'],
  ['fim_sep_token_id', 'fimSep'],
  ['prefix_token_id', 'fimPre'],
  ['suffix_token_id', 'fimSuf'],
  ['middle_token_id', 'fimMid'],
];

/**
 * Reads a GGUF vocabulary the way llama.cpp's `llama_vocab::impl::load` does and writes the
 * tokenizer.json that makes `@huggingface/tokenizers` tokenize as llama.cpp does:
 *
 * - `gpt2`: byte-level BPE with the file's merges, the pre-tokenizer regexes llama.cpp selects by
 *   `tokenizer.ggml.pre`, and `ignore_merges` where llama.cpp sets it.
 * - `llama`: SentencePiece; spaces become `▁`, a `▁` is prepended to each run of text when
 *   `add_space_prefix` (the default), merges are derived from the scores (see {@link spmMerges}),
 *   and characters without a token fall back to `<0xXX>` tokens.
 *
 * Control, user-defined and unknown tokens become added tokens, split out of the text before
 * the model sees it, as llama.cpp's special-token partition does.
 * @throws ModelFileError `MODEL_BAD_TOKENIZER` naming the key that is missing or unusable
 */
export function tokenizerPartsFromGguf(
  metadata: Record<string, GgufValue>,
  file?: string,
): GgufTokenizerParts {
  const meta = new TokenizerMetadata(metadata, file);
  const key = (name: string) => `tokenizer.ggml.${name}`;
  const model = meta.requiredString(key('model'));
  if (model !== 'gpt2' && model !== 'llama') {
    throw badTokenizer(
      `tokenizer model "${model}" is not supported (this package reads "gpt2" and "llama")`,
      file,
      key('model'),
    );
  }
  const tokens = meta
    .requiredStringArray(key('tokens'))
    .map((text, i) => (text === '' ? `[EMPTY_${i}]` : text));
  const n = tokens.length;
  if (n === 0) throw badTokenizer(`${key('tokens')}: the vocabulary is empty`, file, key('tokens'));
  const types = meta.numberArray(key('token_type'), n);
  const scores = meta.numberArray(key('scores'), n);
  const attrs = new Uint16Array(n);
  for (let id = 0; id < n; id++) attrs[id] = tokenTypeToAttr(types?.[id] ?? TokenType.NORMAL);

  const spm = model === 'llama';
  const pre = meta.string(key('pre'));
  const preSpec = spm ? undefined : preTokenizerSpec(pre);
  if (!spm && preSpec === undefined) {
    throw badTokenizer(
      `pre-tokenizer "${pre}" is not supported (supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')})`,
      file,
      key('pre'),
    );
  }
  const inRange = (id: number) => (id < n ? id : undefined);
  const ids: SpecialTokenIds = spm
    ? { bos: inRange(1), eos: inRange(2), unk: inRange(0) }
    : { bos: inRange(11), eos: inRange(11) };
  for (const [name, role] of ID_KEYS) {
    const id = meta.integer(key(name));
    if (id !== undefined && id < n) ids[role] = id;
  }
  const addSpacePrefix = meta.bool(key('add_space_prefix')) ?? spm;
  const addBos = meta.bool(key('add_bos_token')) ?? (spm || preSpec?.addBos === true);
  const addEos = meta.bool(key('add_eos_token')) ?? false;
  const eog = resolveSpecialTokens(tokens, attrs, ids);

  const vocabulary: Vocabulary = {
    tokens,
    attrs,
    style: spm ? 'spm' : 'byte-level',
    ids,
    addBos,
    addEos,
    removeLeadingSpace: addSpacePrefix,
    cleanup: preSpec?.cleanSpaces ? 'llama' : 'none',
    eog,
    chatTemplate: meta.string('tokenizer.chat_template'),
  };

  const addedTokens: Json[] = [];
  for (let id = 0; id < n; id++) {
    const attr = attrs[id] ?? 0;
    if (!(attr & PARSED_AS_ONE_TOKEN)) continue;
    addedTokens.push({
      id,
      content: tokens[id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: (attr & SPECIAL_ATTRS) !== 0,
    });
  }
  const vocab = Object.fromEntries(tokens.map((text, id) => [text, id]));
  if (spm) {
    const ranked = spmMerges(tokens, scores ?? new Float32Array(n));
    return {
      tokenizerJson: {
        version: '1.0',
        added_tokens: addedTokens,
        normalizer: {
          type: 'Sequence',
          normalizers: [
            ...(addSpacePrefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
          ],
        },
        pre_tokenizer: null,
        post_processor: null,
        decoder: null,
        model: bpeModel(vocab, ranked.merges, {
          // llama.cpp writes a character without a token as its bytes' <0xXX> tokens.
          byte_fallback: true,
          unk_token: ids.unk === undefined ? null : tokens[ids.unk],
        }),
      },
      vocabulary,
      ranks: rankMap(ranked),
    };
  }
  return {
    tokenizerJson: {
      version: '1.0',
      added_tokens: addedTokens,
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          ...(preSpec?.regexes ?? []).map((regex) => ({
            type: 'Split',
            pattern: { Regex: regex },
            behavior: 'Isolated',
            invert: false,
          })),
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        ],
      },
      post_processor: null,
      decoder: null,
      model: bpeModel(vocab, ggufMerges(meta.requiredStringArray(key('merges'))), {
        ignore_merges: preSpec?.ignoreMerges === true,
        byte_fallback: false,
        unk_token: null,
      }),
    },
    vocabulary,
  };
}

function bpeModel(vocab: Json, merges: [string, string][], extra: Json): Json {
  return {
    type: 'BPE',
    dropout: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    ignore_merges: false,
    ...extra,
    vocab,
    merges,
  };
}

/**
 * GGUF merges (`"a b"`, split at the first space after the first character, as llama.cpp splits
 * them) as pairs; a pair listed twice keeps its first rank, as llama.cpp's rank map does.
 */
function ggufMerges(lines: readonly string[]): [string, string][] {
  const seen = new Set<string>();
  const merges: [string, string][] = [];
  for (const line of lines) {
    const at = line.indexOf(' ', 1);
    if (at < 0) continue;
    const pair: [string, string] = [line.slice(0, at), line.slice(at + 1)];
    const id = JSON.stringify(pair);
    if (seen.has(id)) continue;
    seen.add(id);
    merges.push(pair);
  }
  return merges;
}

function rankMap({ merges, ranks }: RankedMerges): Map<string, number> {
  const map = new Map<string, number>();
  merges.forEach((pair, i) => {
    const id = JSON.stringify(pair);
    if (!map.has(id)) map.set(id, ranks[i] ?? i);
  });
  return map;
}
