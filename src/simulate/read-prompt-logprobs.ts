/**
 * @module simulate/read-prompt-logprobs — expected values from an echoed prompt (Completions `echo: true`).
 * Instead of walking tokens as the reference does (which asserts when tokenizers split or merge a subject token),
 * we look up the response token that begins at, or covers, the known character offset of each "unknown": any
 * tokenizer, split or merged subject tokens included, lines up by construction.
 *
 * Offsets are re-derived from the token strings where they spell the prompt (after any leading special token such
 * as a BOS that servers echo), because servers count `text_offset` differently (Python code points, not the UTF-16
 * units of JavaScript strings). Where the tokens do not spell the prompt (byte tokens decoded as "�"), the server's
 * offsets are read as code points and converted.
 */
import type { TokenLogprob } from '../llm/types.ts';
import { expectedValueFromTopLogprobs } from './expected-value.ts';

/** Leading tokens a server may echo that are not prompt text (e.g. `<|begin_of_text|>`, `<s>`). */
const MAX_LEADING_SPECIAL_TOKENS = 2;

/** Offsets (UTF-16, into `prompt`) of each token, or null for tokens before the prompt text starts. */
export function alignEchoedTokens(tokens: readonly TokenLogprob[], prompt: string): (number | null)[] {
  return spelledOffsets(tokens, prompt) ?? codePointOffsets(tokens, prompt);
}

/** True when the tokens spell the whole prompt (after any leading special tokens): the answer is its echo. */
export function spellsPrompt(tokens: readonly TokenLogprob[], prompt: string): boolean {
  return tokens.length > 0 && spelledOffsets(tokens, prompt) !== undefined;
}

/** The offsets of tokens that spell the prompt, or undefined when they do not. */
function spelledOffsets(tokens: readonly TokenLogprob[], prompt: string): (number | null)[] | undefined {
  for (let skip = 0; skip <= Math.min(MAX_LEADING_SPECIAL_TOKENS, tokens.length); skip++) {
    const offsets = new Array<number | null>(tokens.length);
    for (let i = 0; i < skip; i++) offsets[i] = null;
    let position = 0;
    let spells = true;
    let i = skip;
    for (; i < tokens.length && position < prompt.length; i++) {
      const text = tokens[i]!.token;
      if (!prompt.startsWith(text, position)) {
        spells = false;
        break;
      }
      offsets[i] = position;
      position += text.length;
    }
    if (spells && position >= prompt.length) {
      for (; i < tokens.length; i++) offsets[i] = prompt.length; // the completion after the prompt
      return offsets;
    }
  }
  return undefined;
}

/** The server's offsets read as code points and converted to UTF-16 positions in `prompt`. */
function codePointOffsets(tokens: readonly TokenLogprob[], prompt: string): (number | null)[] {
  const utf16AtCodePoint: number[] = [];
  let unit = 0;
  for (const character of prompt) {
    utf16AtCodePoint.push(unit);
    unit += character.length;
  }
  utf16AtCodePoint.push(unit);
  return tokens.map((token) =>
    token.textOffset < utf16AtCodePoint.length ? utf16AtCodePoint[token.textOffset]! : prompt.length,
  );
}

/** Index of the last token starting at or before `offset` (offsets ascending, nulls first), or -1. */
function tokenAt(offsets: readonly (number | null)[], offset: number): number {
  let low = 0;
  let high = offsets.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const start = offsets[middle];
    if (start === null || start === undefined || start <= offset) {
      if (start !== null && start !== undefined) found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/**
 * Per record, per token: the expected value at the offset of its "unknown", or null when none can be read (the
 * echo stops before it, or no number token is among the alternatives there).
 */
export function readPromptLogprobs(
  tokens: readonly TokenLogprob[],
  unknownOffsets: readonly (readonly number[])[],
  prompt: string,
): (number | null)[][] {
  const offsets = alignEchoedTokens(tokens, prompt);
  return unknownOffsets.map((recordOffsets) =>
    recordOffsets.map((offset) => {
      const index = tokenAt(offsets, offset);
      if (index < 0) return null;
      const end =
        index + 1 < offsets.length ? offsets[index + 1]! : offsets[index]! + Math.max(tokens[index]!.token.length, 1);
      if (offset >= Math.max(end, offsets[index]! + 1)) return null;
      return expectedValueFromTopLogprobs(tokens[index]!.topLogprobs);
    }),
  );
}
