/** What the bundled model is, how it was trained, and under which terms. */
export interface DemoModelInfo {
  /** `general.name` in the file. */
  name: string;
  /** The GGUF file's name, in the package's `model/` folder. */
  file: string;
  /** `general.architecture`. */
  architecture: 'llama';
  /** Every weight, counting the tied embedding once. */
  parameters: number;
  /** GGML type of the weight matrices; norms are F32. */
  weightType: 'Q8_0';
  /** Tokens the model was trained with (`llama.context_length`); longer prompts leave its range. */
  contextLength: number;
  /** SentencePiece BPE vocabulary size, byte fallback included. */
  vocabSize: number;
  /** Tokens the training run read (steps × batch × context), repeats included. */
  trainingTokens: number;
  /** Tokens in the training split of the corpus (chapters as `<s>` … `</s>` documents). */
  corpusTokens: number;
  /** Mean next-token cross-entropy on the held-out verses, in nats per token (f32 weights). */
  heldOutLoss: number;
  /** Tokens in the held-out split. */
  heldOutTokens: number;
  /** The training text. */
  corpus: string;
  /** SPDX licence of the weights. */
  licence: string;
  /** The terms of the training text. */
  corpusLicence: string;
}

/** The bundled model, as `tools/demo-model` trained and exported it (see the README). */
export const demoModelInfo: DemoModelInfo = Object.freeze({
  name: 'KJV Demo',
  file: 'kjv-demo-5.6M-Q8_0.gguf',
  architecture: 'llama',
  parameters: 5_573_888,
  weightType: 'Q8_0',
  contextLength: 256,
  vocabSize: 4096,
  trainingTokens: 2_252_800,
  corpusTokens: 976_500,
  heldOutLoss: 4.079,
  heldOutTokens: 31_687,
  corpus:
    "King James Version of the Bible, Genesis 1:1 to Revelation 22:21, from Debian's bible-kjv " +
    'package (4.38), verse references stripped; the last 3% of the verses (Hebrews 10:36 on) held out',
  licence: 'Apache-2.0',
  corpusLicence:
    'Public domain outside the United Kingdom (in the UK the text is under Crown letters patent)',
});
