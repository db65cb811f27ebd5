/**
 * @module score/judge-answer — reads a judge's `[1, 0, …]` answer as delphi does (docs/DESIGN.md §4), for every
 * judged scorer (detection, fuzzing, intervention): the first `[...]` of the text, JSON-decoded, must be a list of
 * exactly one 0 or 1 per judged text, else the whole answer is unreadable. With logprobs, the probability of "1" at
 * each answer token (a completion token inside that list holding a "0" or "1") is p = Σ p(top alternatives holding
 * "1") / Σ p(top alternatives holding "0" or "1"); there must be one such token per text, each with such
 * alternatives, else there are no probabilities.
 */
import type { TokenLogprob } from '../llm/types.ts';

/** Why an answer cannot be read. */
export interface UnreadableAnswer {
  unreadable: string;
}

/** The answer's list: its first `[...]`. */
const answerList = /\[[^\]]*?\]/;

/** The `count` labels (true = "1") of the first list in `text`, or why there are none. */
export function readLabelList(text: string, count: number): boolean[] | UnreadableAnswer {
  const list = answerList.exec(text);
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  if (!list) return { unreadable: `the judge's answer has no [...] list: ${shown}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(list[0]);
  } catch {
    return { unreadable: `the judge's list is not JSON: ${JSON.stringify(list[0])}` };
  }
  if (!Array.isArray(parsed) || !parsed.every((value) => value === 0 || value === 1))
    return { unreadable: `the judge's list holds something other than 0 and 1: ${JSON.stringify(list[0])}` };
  if (parsed.length !== count) return { unreadable: `the judge answered ${parsed.length} labels for ${count} texts` };
  return parsed.map((value) => value === 1);
}

/** P("1") at one answer token: top alternatives holding "1" over those holding "0" or "1"; null when none do. */
function probabilityOfOne(token: TokenLogprob): number | null {
  let ones = 0;
  let either = 0;
  for (const [alternative, logprob] of Object.entries(token.topLogprobs)) {
    const probability = Math.exp(logprob);
    const holdsOne = alternative.includes('1');
    if (holdsOne) ones += probability;
    if (holdsOne || alternative.includes('0')) either += probability;
  }
  return either > 0 ? ones / either : null;
}

/**
 * P("1") at each of the `count` answer tokens inside the first list of `text`, or null when there are no tokens, they
 * are not one per text, or one of them has no alternative holding a 0 or 1 (a server that sent no top logprobs).
 */
export function readAnswerProbabilities(
  text: string,
  tokens: readonly TokenLogprob[] | undefined,
  count: number,
): number[] | null {
  const list = answerList.exec(text);
  if (!list || !tokens || tokens.length === 0) return null;
  const start = list.index;
  const end = start + list[0].length;
  const answerTokens = tokens.filter(
    (token) => token.textOffset < end && token.textOffset + token.token.length > start && /[01]/.test(token.token),
  );
  if (answerTokens.length !== count) return null;
  const probabilities = answerTokens.map(probabilityOfOne);
  return probabilities.every((probability): probability is number => probability !== null) ? probabilities : null;
}
