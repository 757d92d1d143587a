/**
 * The byte-level BPE pre-tokenizers of llama.cpp (`llm_tokenizer_bpe` in src/llama-vocab.cpp),
 * selected by the GGUF key `tokenizer.ggml.pre`. Each is a list of regexes applied in turn, every
 * one splitting each piece of the previous into matches and the text between them.
 */

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Mistral's tekken, as llama.cpp rewrites it: `((?=[\p{L}])([^a-z]))` (a letter other than a–z)
// stands for the tokenizer.json's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], and `([^A-Z])` for
// [\p{Ll}\p{Lm}\p{Lo}\p{M}], so words split where lower case turns upper.
const TEKKEN =
  '[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const QWEN2 =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** One llama.cpp pre-tokenizer: its regexes and the vocabulary flags that come with it. */
export interface PreTokenizerSpec {
  regexes: string[];
  /** A pre-tokenized word that is itself a token is not split by merges. */
  ignoreMerges: boolean;
  /** Detokenizing removes spaces before punctuation (llama.cpp's `clean_spaces`). */
  cleanSpaces: boolean;
  /** BOS is added unless `tokenizer.ggml.add_bos_token` says otherwise. */
  addBos: boolean;
}

const spec = (regexes: string[], flags: Partial<PreTokenizerSpec> = {}): PreTokenizerSpec => ({
  regexes,
  ignoreMerges: false,
  cleanSpaces: true,
  addBos: false,
  ...flags,
});

const DEFAULT = spec(['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]']);
const LLAMA3_SPEC = spec([LLAMA3], { ignoreMerges: true, addBos: true });
const SMOLLM_REGEXES = ['\\p{N}', GPT2];

const TABLE: Record<string, PreTokenizerSpec> = {
  default: DEFAULT,
  dbrx: spec([LLAMA3]),
  'smaug-bpe': spec([LLAMA3]),
  qwen2: spec([QWEN2], { cleanSpaces: false }),
  'deepseek-r1-qwen': spec([QWEN2], { cleanSpaces: false }),
  kormo: spec([QWEN2], { cleanSpaces: false }),
  f2llmv2: spec([QWEN2], { cleanSpaces: false }),
  megrez: spec([QWEN2]),
  stablelm2: spec([QWEN2]),
  smollm: spec(SMOLLM_REGEXES, { cleanSpaces: false }),
  'command-r': spec(SMOLLM_REGEXES, { cleanSpaces: false }),
  starcoder: spec(SMOLLM_REGEXES),
  refact: spec(SMOLLM_REGEXES),
  codeshell: spec(SMOLLM_REGEXES),
  exaone: spec(SMOLLM_REGEXES),
  'minerva-7b': spec(SMOLLM_REGEXES),
  mellum2: spec(SMOLLM_REGEXES),
  tekken: spec([TEKKEN], { ignoreMerges: true, cleanSpaces: false, addBos: true }),
  // DeepSeek Coder: line breaks alone, letters and punctuation with one leading space, CJK runs,
  // single digits.
  'deepseek-coder': spec(['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'], {
    cleanSpaces: false,
  }),
  mpt: spec([GPT2]),
  olmo: spec([GPT2]),
  exaone4: spec([GPT2]),
};
for (const name of [
  'llama3',
  'llama-v3',
  'llama-bpe',
  'falcon3',
  'falcon-h1',
  'pixtral',
  'midm-2.0',
  'lfm2',
  'jina-v5-nano',
]) {
  TABLE[name] = LLAMA3_SPEC;
}
for (const name of [
  'gpt-2',
  'phi-2',
  'jina-es',
  'jina-de',
  'gigachat',
  'jina-v2-es',
  'jina-v2-de',
  'a.x-4.0',
  'mellum',
  'modern-bert',
]) {
  TABLE[name] = spec([GPT2]);
}

/**
 * The llama.cpp pre-tokenizer named `pre` (the value of `tokenizer.ggml.pre`; absent means
 * `default`), or undefined for one this package does not implement.
 */
export function preTokenizerSpec(pre: string | undefined): PreTokenizerSpec | undefined {
  return Object.hasOwn(TABLE, pre ?? 'default') ? TABLE[pre ?? 'default'] : undefined;
}

/** The `tokenizer.ggml.pre` values this package implements. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(TABLE).sort();

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `(?i:'s|…)` as tokenizer.json writes it, `(?:'[sS]|…)` as llama.cpp rewrites it. */
const caseless = (regex: string) =>
  regex.replace(
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)",
  );

/**
 * The `tokenizer.ggml.pre` value for a byte-level BPE tokenizer.json, found from its
 * pre-tokenizer's shape: convert_hf_to_gguf.py hashes the tokenization of a probe text instead,
 * which needs the reference tokenizer; the shapes here are those of the vocabularies it maps to
 * `llama-bpe`, `qwen2`, `smollm` and `gpt-2`. Undefined when the shape is not one of them.
 */
export function detectPreTokenizer(tokenizerJson: Json): string | undefined {
  const pre = tokenizerJson.pre_tokenizer;
  if (!isObject(pre)) return undefined;
  const steps: unknown[] =
    pre.type === 'Sequence' ? ((pre.pretokenizers as unknown[]) ?? []) : [pre];
  const [first, second] = steps;
  if (!isObject(first)) return undefined;
  if (steps.length === 1 && first.type === 'ByteLevel' && first.use_regex !== false) return 'gpt-2';
  if (steps.length !== 2 || !isObject(second) || second.type !== 'ByteLevel') return undefined;
  if (first.type === 'Digits' && first.individual_digits === true && second.use_regex !== false) {
    return 'smollm';
  }
  const pattern = isObject(first.pattern) ? first.pattern.Regex : undefined;
  if (first.type !== 'Split' || typeof pattern !== 'string' || second.use_regex !== false) {
    return undefined;
  }
  if (pattern === caseless(LLAMA3) || pattern === LLAMA3) return 'llama-bpe';
  if (pattern === caseless(QWEN2) || pattern === QWEN2) return 'qwen2';
  return undefined;
}
