/** @module test/helpers/character-tokens — a judge's answer as completion tokens, one per character, for logprob tests. */
import type { TokenLogprob } from '../../src/llm/types.ts';

/** Tokens of `text`, one per character (offsets in the completion), with top alternatives at the given offsets. */
export function characterTokens(text: string, alternatives: Record<number, Record<string, number>>): TokenLogprob[] {
  return [...text].map((token, offset) => ({
    token,
    logprob: 0,
    topLogprobs: alternatives[offset] ?? {},
    textOffset: offset,
  }));
}
