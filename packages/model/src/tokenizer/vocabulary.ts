import { TokenAttr } from './token-type.js';

/** How a token's text turns back into bytes. */
export type DecodeStyle =
  /** GPT-2 byte-level BPE: each character of a token stands for one byte. */
  | 'byte-level'
  /** SentencePiece: `▁` is a space, `<0xXX>` tokens are raw bytes. */
  | 'spm'
  /** Anything else: decoded by the tokenizer.json decoder. */
  | 'hf';

/** Which clean-up of spaces before punctuation a decode applies. */
export type SpaceCleanup =
  | 'none'
  /** llama.cpp's `clean_spaces` passes (`" ."` → `"."`, `" 's"` → `"'s"`, …). */
  | 'llama'
  /** transformers' `clean_up_tokenization` (also `" n't"` → `"n't"`). */
  | 'hf';

/** Ids of the tokens llama.cpp tracks by role; undefined where the vocabulary has none. */
export interface SpecialTokenIds {
  bos?: number | undefined;
  eos?: number | undefined;
  eot?: number | undefined;
  eom?: number | undefined;
  unk?: number | undefined;
  pad?: number | undefined;
  fimPre?: number | undefined;
  fimSuf?: number | undefined;
  fimMid?: number | undefined;
  fimPad?: number | undefined;
  fimRep?: number | undefined;
  fimSep?: number | undefined;
}

/** Everything a {@link Tokenizer} knows about its vocabulary besides the encoder itself. */
export interface Vocabulary {
  /** Token texts by id, as the vocabulary spells them (`Ġthe`, `▁the`, `<0x0A>`). */
  tokens: string[];
  /** llama.cpp token attribute bits by id (see `TokenAttr`). */
  attrs: Uint16Array;
  style: DecodeStyle;
  ids: SpecialTokenIds;
  addBos: boolean;
  addEos: boolean;
  /** Drop one leading space from the first decoded token (llama.cpp's `add_space_prefix`). */
  removeLeadingSpace: boolean;
  cleanup: SpaceCleanup;
  /** End-of-generation tokens, ascending. */
  eog: number[];
  chatTemplate: string | undefined;
}

const EOT_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const FIM_TEXTS: Record<'fimPre' | 'fimSuf' | 'fimMid' | 'fimPad' | 'fimRep' | 'fimSep', string[]> =
  {
    fimPre: [
      '<|fim_prefix|>',
      '<fim-prefix>',
      '<fim_prefix>',
      '<｜fim▁begin｜>',
      '<PRE>',
      '▁<PRE>',
      '<|code_prefix|>',
      '<|prefix|>',
    ],
    fimSuf: [
      '<|fim_suffix|>',
      '<fim-suffix>',
      '<fim_suffix>',
      '<｜fim▁hole｜>',
      '<SUF>',
      '▁<SUF>',
      '<|code_suffix|>',
      '<|suffix|>',
    ],
    fimMid: [
      '<|fim_middle|>',
      '<fim-middle>',
      '<fim_middle>',
      '<｜fim▁end｜>',
      '<MID>',
      '▁<MID>',
      '<|code_middle|>',
      '<|middle|>',
    ],
    fimPad: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'],
    fimRep: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
    fimSep: ['<|file_sep|>'],
  };
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
]);
const ALWAYS_RENDERED = new Set(['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']);

/**
 * Applies llama.cpp's text-based special-token rules (`llama_vocab::impl::load`): finds the EOT,
 * EOM and FIM tokens the metadata does not name, marks them and the end-of-generation tokens as
 * control tokens, marks control tokens named `…unused…` as unused, and returns the EOG set. `ids`
 * and `attrs` are updated in place.
 *
 * llama.cpp scans an unordered map, so when several texts qualify for one role its pick is
 * unspecified; this takes the lowest id. The EOG set does not depend on that choice.
 */
export function resolveSpecialTokens(
  tokens: readonly string[],
  attrs: Uint16Array,
  ids: SpecialTokenIds,
): number[] {
  const textToId = new Map<string, number>();
  tokens.forEach((text, id) => {
    textToId.set(text, id);
  });
  const entries = [...textToId].sort((a, b) => a[1] - b[1]);
  const markControl = (id: number) => {
    attrs[id] = (attrs[id] ?? 0) | TokenAttr.CONTROL;
  };
  const roles: [keyof SpecialTokenIds, string[]][] = [
    ['eot', EOT_TEXTS],
    ['eom', ['<|eom_id|>']],
    ...(Object.entries(FIM_TEXTS) as [keyof SpecialTokenIds, string[]][]),
  ];
  for (const [text, id] of entries) {
    for (const [role, texts] of roles) {
      if (ids[role] === undefined && texts.includes(text)) {
        ids[role] = id;
        markControl(id);
      }
    }
  }
  for (const [text, id] of entries) {
    const attr = attrs[id] ?? 0;
    if (attr & TokenAttr.CONTROL && text.includes('unused')) attrs[id] = attr | TokenAttr.UNUSED;
  }
  const eog = new Set<number>();
  for (const id of [ids.fimPad, ids.fimRep, ids.fimSep]) if (id !== undefined) eog.add(id);
  for (const [text, id] of entries) {
    if (EOG_TEXTS.has(text)) {
      eog.add(id);
      markControl(id);
    }
  }
  for (const [text, id] of entries) {
    if (ALWAYS_RENDERED.has(text)) attrs[id] = TokenAttr.USER_DEFINED;
  }
  for (const id of [ids.eos, ids.eot, ids.eom]) if (id !== undefined) eog.add(id);
  const eogText = (text: string) => [...eog].find((id) => tokens[id] === text);
  // gpt-oss and solar-open: "<|end|>" ends a message, not the generation.
  const end = eogText('<|end|>');
  const hasCall = eogText('<|call|>') !== undefined || eogText('<|calls|>') !== undefined;
  if (
    end !== undefined &&
    hasCall &&
    (eogText('<|return|>') !== undefined || eogText('<|flush|>') !== undefined)
  ) {
    eog.delete(end);
    attrs[end] = TokenAttr.USER_DEFINED;
  }
  // gemma4 and paddleocr: "</s>" is not an EOG token when "<|tool_response>" is.
  const closeS = eogText('</s>');
  if (closeS !== undefined && eogText('<|tool_response>') !== undefined) {
    eog.delete(closeS);
    attrs[closeS] = TokenAttr.NORMAL;
  }
  return [...eog].sort((a, b) => a - b);
}
