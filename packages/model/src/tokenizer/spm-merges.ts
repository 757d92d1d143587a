/** BPE merges, best first, each with the rank it competes at (equal ranks tie). */
export interface RankedMerges {
  merges: [string, string][];
  ranks: number[];
}

/**
 * BPE merges that make a rank-ordered BPE tokenizer behave as llama.cpp's SentencePiece tokenizer
 * (`llm_tokenizer_spm_session`). That one starts from the characters of the text and repeatedly
 * joins the adjacent pair whose concatenation is a token with the highest score, the leftmost pair
 * among equal scores. So every split of a token into two parts that can meet as symbols (each a
 * token, or a single character) is a merge, ranked by the score of the token it makes: the higher
 * the score, the lower the rank, with one rank per distinct score so that ties fall to the
 * leftmost pair, as they do in llama.cpp. This is what transformers' SentencePiece converter does
 * to write the merges of a tokenizer.json, except that it orders equal scores by token id.
 *
 * Scores compare as float32, as llama.cpp stores them. A text that appears under several ids
 * counts once, with the last id's score (llama.cpp's text-to-id map keeps the last).
 */
export function spmMerges(tokens: readonly string[], scores: ArrayLike<number>): RankedMerges {
  const textToId = new Map<string, number>();
  tokens.forEach((text, id) => {
    textToId.set(text, id);
  });
  const candidates: { left: string; right: string; score: number; id: number }[] = [];
  for (const [text, id] of textToId) {
    const chars = Array.from(text);
    if (chars.length < 2) continue;
    const score = Math.fround(scores[id] ?? 0);
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      const symbol = (part: string, length: number) => length === 1 || textToId.has(part);
      if (symbol(left, i) && symbol(right, chars.length - i)) {
        candidates.push({ left, right, score, id });
      }
    }
  }
  candidates.sort((a, b) => b.score - a.score || a.id - b.id);
  const merges: [string, string][] = [];
  const ranks: number[] = [];
  let rank = -1;
  let previous = Number.NaN;
  for (const { left, right, score } of candidates) {
    if (score !== previous) {
      rank++;
      previous = score;
    }
    merges.push([left, right]);
    ranks.push(rank);
  }
  return { merges, ranks };
}
