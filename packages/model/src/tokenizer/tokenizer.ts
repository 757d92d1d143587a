import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelArgumentError } from '../errors.js';
import type { GgufValue } from '../gguf/types.js';
import { type DecodeStream, PieceDecodeStream, RedecodeStream } from './decode-stream.js';
import { detokenize, TokenPieces } from './detokenize.js';
import { tokenizerPartsFromGguf } from './from-gguf.js';
import { isJsonObject, vocabularyFromJson, withVocabularySpecials } from './from-json.js';
import { badTokenizer } from './metadata.js';
import { SPECIAL_ATTRS, TokenAttr } from './token-type.js';
import type { Vocabulary } from './vocabulary.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add BOS (and EOS) as the vocabulary asks (`add_bos_token` / `add_eos_token`). Default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode} and {@link Tokenizer.createDecodeStream}. */
export interface DecodeOptions {
  /** Leave out control and unknown tokens (`<s>`, `<|eot_id|>`). Default false. */
  skipSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.createDecodeStream}. */
export interface DecodeStreamOptions extends DecodeOptions {
  /**
   * The tokens continue earlier text (a prompt): keep the first token's leading space, which a
   * SentencePiece vocabulary otherwise drops at the start of a text, as llama.cpp's server does
   * when it streams a completion. (Tokenizers from tokenizer.json decode as their decoder says.)
   * Default false.
   */
  continuation?: boolean;
}

/**
 * A text tokenizer for a model: byte-level BPE (Llama 3, Qwen, GPT-2 style) or SentencePiece
 * (Llama 2 style), from a Hugging Face tokenizer.json or from the vocabulary in a GGUF file.
 *
 * Encoding runs in `@huggingface/tokenizers`; {@link Tokenizer.fromGguf} builds the tokenizer.json
 * that reproduces llama.cpp's tokenization of the GGUF vocabulary. Special-token text in the input
 * (`<|eot_id|>`) is parsed as the special token. Decoding follows llama.cpp's `llama_detokenize`
 * for both sources: the first token's leading space is dropped in SentencePiece vocabularies
 * (also when that token is a BOS, which leaves the space of the next token in place), and
 * spaces before punctuation are cleaned up where the vocabulary asks for it.
 */
export class Tokenizer {
  private readonly pieces: TokenPieces;

  private constructor(
    private readonly engine: HfTokenizer,
    private readonly vocab: Vocabulary,
  ) {
    this.pieces = new TokenPieces(vocab);
  }

  /**
   * A tokenizer from a tokenizer.json and, optionally, its tokenizer_config.json (parsed, or as
   * JSON text). The config names BOS/EOS, whether they are added, and the chat template.
   * @param file name used in errors
   * @throws ModelFileError `MODEL_BAD_TOKENIZER` when the JSON is not a tokenizer
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig?: unknown, file?: string): Tokenizer {
    const json = parseJson(tokenizerJson, file, 'tokenizer.json');
    const config =
      tokenizerConfig === undefined
        ? {}
        : parseJson(tokenizerConfig, file, 'tokenizer_config.json');
    const vocab = vocabularyFromJson(json, config, file);
    return new Tokenizer(createEngine(withVocabularySpecials(json, vocab), config, file), vocab);
  }

  /**
   * A tokenizer from the `tokenizer.*` metadata of a GGUF file, tokenizing as llama.cpp does
   * (`tokenizer.ggml.model` `gpt2` or `llama`; see `tokenizer.ggml.pre` for the pre-tokenizers).
   * @param file name used in errors
   * @throws ModelFileError `MODEL_BAD_TOKENIZER` naming the key that is missing or unsupported
   */
  static fromGguf(metadata: Record<string, GgufValue>, file?: string): Tokenizer {
    const parts = tokenizerPartsFromGguf(metadata, file);
    const engine = createEngine(parts.tokenizerJson, {}, file);
    if (parts.ranks !== undefined) {
      // The BPE model ranks pairs by this map (keyed by the pair's JSON); shared ranks are ties.
      const model = engine.model as unknown as { bpe_ranks?: unknown } | null;
      if (!(model?.bpe_ranks instanceof Map)) {
        throw badTokenizer('the tokenizer engine did not build a BPE model', file);
      }
      model.bpe_ranks = parts.ranks;
    }
    return new Tokenizer(engine, parts.vocabulary);
  }

  /** Number of tokens in the vocabulary. */
  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  /**
   * The beginning-of-sequence token, if the vocabulary has one. As in node-llama-cpp, an id that
   * names a normal token (llama.cpp's default of 11 for a BPE vocabulary without
   * `tokenizer.ggml.bos_token_id`) counts as none.
   */
  get bosTokenId(): number | undefined {
    return this.controlToken(this.vocab.ids.bos);
  }

  /** The end-of-sequence token, if the vocabulary has one (a normal token counts as none). */
  get eosTokenId(): number | undefined {
    return this.controlToken(this.vocab.ids.eos);
  }

  /** The text of the BOS token. */
  get bosToken(): string | undefined {
    const id = this.bosTokenId;
    return id === undefined ? undefined : this.vocab.tokens[id];
  }

  /** The text of the EOS token. */
  get eosToken(): string | undefined {
    const id = this.eosTokenId;
    return id === undefined ? undefined : this.vocab.tokens[id];
  }

  /** Whether {@link encode} adds BOS by default. */
  get addBosToken(): boolean {
    return this.vocab.addBos && this.bosTokenId !== undefined;
  }

  /** Whether {@link encode} adds EOS by default. */
  get addEosToken(): boolean {
    return this.vocab.addEos && this.eosTokenId !== undefined;
  }

  /**
   * Tokens that end generation, ascending: EOS, end-of-turn tokens such as `<|eot_id|>`,
   * `<|im_end|>`, `<|end_of_text|>`, `<|endoftext|>`, and the FIM pad/repo/file-separator tokens,
   * as llama.cpp's EOG set (`llama_vocab_is_eog`).
   */
  get stopTokenIds(): readonly number[] {
    return this.vocab.eog;
  }

  /** The Jinja chat template (tokenizer_config.json `chat_template`, GGUF `tokenizer.chat_template`). */
  get chatTemplate(): string | undefined {
    return this.vocab.chatTemplate;
  }

  /**
   * The vocabulary's text of a token, as stored (`Ġthe`, `▁the`, `<0x0A>`, `<|eot_id|>`).
   * @throws RangeError when `id` is not a token id
   */
  tokenText(id: number): string {
    const text = this.vocab.tokens[id];
    if (!Number.isInteger(id) || text === undefined) {
      throw new ModelArgumentError(
        `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`,
        'MODEL_TOKEN_OUT_OF_RANGE',
      );
    }
    return text;
  }

  /**
   * The bytes token `id` decodes to, as llama.cpp's `token_to_piece` finds them: a normal token's
   * bytes (byte-level characters or SentencePiece text with `▁` as a space), a byte token's byte,
   * a user-defined token's text; control and unknown tokens give their text only with `special`
   * (else no bytes). A piece may be part of a UTF-8 character. What a grammar engine matches
   * tokens by.
   * @throws ModelArgumentError `MODEL_TOKEN_OUT_OF_RANGE` when `id` is not a token id
   */
  tokenBytes(id: number, { special = false }: { special?: boolean } = {}): Uint8Array {
    return this.pieces.piece(id, special);
  }

  /** Whether a token is a control or unknown token (left out by `skipSpecialTokens`). */
  isSpecial(id: number): boolean {
    return ((this.vocab.attrs[id] ?? 0) & SPECIAL_ATTRS) !== 0;
  }

  /** Token ids of `text`, with BOS/EOS as the vocabulary asks unless `addSpecialTokens` is false. */
  encode(text: string, { addSpecialTokens = true }: EncodeOptions = {}): number[] {
    // A piece with no token (a byte missing from a byte-level vocabulary) comes back without an
    // id; llama.cpp drops it too.
    const encoded: (number | undefined)[] =
      text === '' ? [] : this.engine.encode(text, { add_special_tokens: false }).ids;
    const ids = encoded.filter((id): id is number => id !== undefined);
    if (addSpecialTokens) {
      const bos = this.bosTokenId;
      const eos = this.eosTokenId;
      if (this.vocab.addBos && bos !== undefined) ids.unshift(bos);
      if (this.vocab.addEos && eos !== undefined) ids.push(eos);
    }
    return ids;
  }

  /**
   * The text of token ids.
   * @throws RangeError when an id is not a token id
   */
  decode(ids: readonly number[], { skipSpecialTokens = false }: DecodeOptions = {}): string {
    if (this.vocab.style === 'hf') return this.hfDecode(ids, skipSpecialTokens);
    return detokenize(this.vocab, this.pieces, ids, skipSpecialTokens);
  }

  /** A decoder for tokens that arrive one at a time; see {@link DecodeStream}. */
  createDecodeStream({
    skipSpecialTokens = false,
    continuation = false,
  }: DecodeStreamOptions = {}): DecodeStream {
    if (this.vocab.style === 'hf') {
      return new RedecodeStream((ids) => this.hfDecode(ids, skipSpecialTokens));
    }
    return new PieceDecodeStream(this.vocab, this.pieces, skipSpecialTokens, continuation);
  }

  /** `id` if it is a control token (as node-llama-cpp's `getNapiControlToken` requires). */
  private controlToken(id: number | undefined): number | undefined {
    if (id === undefined) return undefined;
    return (this.vocab.attrs[id] ?? 0) & TokenAttr.CONTROL ? id : undefined;
  }

  private hfDecode(ids: readonly number[], skipSpecialTokens: boolean): string {
    if (ids.length === 0) return '';
    for (const id of ids) this.tokenText(id);
    return this.engine.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }
}

function parseJson(
  value: unknown,
  file: string | undefined,
  what: string,
): Record<string, unknown> {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (cause) {
      throw badTokenizer(`${what} is not valid JSON: ${(cause as Error).message}`, file);
    }
  }
  if (!isJsonObject(parsed)) throw badTokenizer(`${what} is not a JSON object`, file);
  return parsed;
}

const JSON_DEFAULTS = {
  added_tokens: [],
  normalizer: null,
  pre_tokenizer: null,
  post_processor: null,
  decoder: null,
};

function createEngine(
  json: Record<string, unknown>,
  config: Record<string, unknown>,
  file: string | undefined,
): HfTokenizer {
  if (!isJsonObject(json.model)) throw badTokenizer('tokenizer.json has no model', file, 'model');
  try {
    return new HfTokenizer({ ...JSON_DEFAULTS, ...json }, config);
  } catch (cause) {
    throw badTokenizer(
      `cannot build the tokenizer: ${(cause as Error).message}`,
      file,
      undefined,
      cause,
    );
  }
}
