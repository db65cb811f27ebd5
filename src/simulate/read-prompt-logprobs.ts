/**
 * @module simulate/read-prompt-logprobs — expected values from an echoed prompt (Completions `echo: true`).
 * Instead of walking tokens as the reference does (which asserts when tokenizers split or merge a subject token),
 * we look up the response token that begins at, or covers, the known character offset of each "unknown": any
 * tokenizer, split or merged subject tokens included, lines up by construction.
 */
import type { TokenLogprob } from '../llm/types.ts';
import { expectedValueFromTopLogprobs } from './expected-value.ts';

/** Index of the token covering character `offset` (tokens sorted by textOffset), or -1 past the end. */
function tokenAt(tokens: readonly TokenLogprob[], offset: number): number {
  let low = 0;
  let high = tokens.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (tokens[middle]!.textOffset <= offset) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  if (found < 0) return -1;
  const token = tokens[found]!;
  return offset < token.textOffset + Math.max(token.token.length, 1) ? found : -1;
}

/** Per record, per token: the expected value at the offset of its "unknown", or null when none can be read. */
export function readPromptLogprobs(tokens: readonly TokenLogprob[], unknownOffsets: readonly (readonly number[])[]): (number | null)[][] {
  return unknownOffsets.map((offsets) =>
    offsets.map((offset) => {
      const index = tokenAt(tokens, offset);
      return index < 0 ? null : expectedValueFromTopLogprobs(tokens[index]!.topLogprobs);
    }),
  );
}
