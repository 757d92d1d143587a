// Texts on which the tokenizers are compared with llama.cpp.

/**
 * Written text that exercises tokenizers: digits, whitespace runs, newlines, tabs, CRLF, accents,
 * CJK, emoji with modifiers and flags, characters without a token of their own (byte fallback),
 * leading spaces, contractions, punctuation that detokenizers clean up, and special-token text.
 */
export const CORPUS: readonly string[] = [
  'Hello world',
  'Hello',
  ' leading space',
  '   three leading spaces',
  'trailing spaces   ',
  ' ',
  '  ',
  '1234567',
  '3.14159',
  'Numbers: 12 345 6789 0.5 1,000,000 and ١٢٣ ½ Ⅻ',
  'multiple   spaces\tand\ttabs',
  'line one\nline two\n\nline four',
  'windows\r\nline endings\r\n',
  '\n\n\n',
  '\t\t indented\n    four spaces\n\tand a tab',
  'café naïve résumé Ångström',
  'e\u0301 decomposed accent',
  '你好，世界',
  '日本語のテキストです。한국어 텍스트',
  '👍🏽🇫🇷',
  '😶‍🌫️ emoji sequence ✅🦙🦙 🚀',
  'rare bytes: \u0001\u007f \u{10FFFD} \u{1D54F} ᚠᛇᚻ ꙮ \u200b\u2060',
  "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
  'Hello , world ! How are you ? Fine .',
  "a ' b don't it 's we 're they 've",
  'code: function f(x) { return x ** 2; } // comment <div class="a">',
  "------======= \"\"\"\"......!!!!!!?????? ''''''```````",
  '<|eot_id|> and <|im_end|> and <s> and </s> inside text',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
  '<s>[INST] Hello [/INST] Hi</s>',
  'Unicode spaces:\u00a0nbsp\u2003em\u3000ideographic \u0085next-line',
  '\u2581 literal lower one-eighth block \u2581\u2581',
  '<0x0A> written out, and <unk>',
  'ÄÖÜ äöü ß ﬁ ĳ',
  'Привет, мир! Γειά σου κόσμε. مرحبا بالعالم. שלום עולם',
  'कान्तैपिसेसाच ?我想在apple工作1314151天～ нещо на Български',
];

/** A deterministic pseudo-random string over characters that stress pre-tokenizers. */
function fuzzStrings(count: number, seed: number): string[] {
  const pool = [
    ...'aAbZ09 \n\t\r.,!?\'"-_()[]{}<>|/\\$+=^~`@#%&*;:',
    'é',
    'ß',
    '你',
    '好',
    'の',
    '😀',
    '👍🏽',
    '\u200d',
    '\u00a0',
    '\u3000',
    '١',
    '²',
    "'s",
    "'LL",
    '  ',
    '\r\n',
    '123',
    ' the',
    '<|eot_id|>',
    '<|im_end|>',
    '</s>',
    '<s>',
  ];
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 24);
    return Array.from({ length }, () => pool[Math.floor(next() * pool.length)]).join('');
  });
}

/** Random code points from many scripts and categories, for texts no one would write. */
function codePointStrings(count: number, seed: number): string[] {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0x24f],
    [0x300, 0x36f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x6ff],
    [0x900, 0x97f],
    [0xe00, 0xe7f],
    [0x1100, 0x11ff],
    [0x2000, 0x206f],
    [0x2190, 0x23ff],
    [0x3000, 0x30ff],
    [0x4e00, 0x4fff],
    [0xac00, 0xad00],
    [0xe000, 0xe010],
    [0xfe00, 0xfe0f],
    [0xff00, 0xffef],
    [0x1f300, 0x1f6ff],
    [0x1f900, 0x1f9ff],
    [0x20000, 0x20100],
    [0xe0000, 0xe007f],
  ];
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    let text = '';
    const length = 1 + Math.floor(next() * 16);
    for (let i = 0; i < length; i++) {
      const [from, to] = ranges[Math.floor(next() * ranges.length)] as [number, number];
      text += String.fromCodePoint(from + Math.floor(next() * (to - from + 1)));
    }
    return text;
  });
}

/** Random strings: stressing pre-tokenizers, and code points from many scripts. */
export const FUZZ = [...fuzzStrings(400, 20240601), ...codePointStrings(300, 7)];
/** Everything. */
export const ALL = [...CORPUS, ...FUZZ];
