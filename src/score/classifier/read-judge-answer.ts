/**
 * @module score/classifier/read-judge-answer — reads a detection or fuzzing judge's answer as delphi does
 * (docs/DESIGN.md §4): the first `[...]` of the text, JSON-decoded, must be a list of n values 0 or 1, else the whole
 * prompt's labels are unreadable (null: left out of the metrics, counted as missing). With logprobs, the probability
 * of "1" at each answer token (a completion token inside that list holding a "0" or "1") is the mass of its top
 * alternatives that hold "1" over the mass of those that hold "0" or "1"; the count of such tokens must be n.
 */
import type { TokenLogprob } from '../../llm/types.ts';

export interface JudgeAnswer {
  /** One label per example (true = "1"), or null for all when the answer could not be read. */
  labels: (boolean | null)[];
  /** Probability of "1" per example, or null for all when the answer gave no usable logprobs. */
  probabilities: (number | null)[];
}

const firstList = /\[[\s\S]*?\]/;

/** The n labels of the first list in `text`, or null when there is none, it is no JSON list, or its length is not n. */
export function parseLabelList(text: string, n: number): boolean[] | null {
  const match = firstList.exec(text);
  if (!match) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(match[0]);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== n) return null;
  if (!parsed.every((value) => value === 0 || value === 1)) return null;
  return parsed.map((value) => value === 1);
}

/** P("1") at one answer token: top alternatives holding "1" over those holding "0" or "1"; null when none do. */
function probabilityOfOne(token: TokenLogprob): number | null {
  let ones = 0;
  let both = 0;
  for (const [text, logprob] of Object.entries(token.topLogprobs)) {
    const probability = Math.exp(logprob);
    const hasOne = text.includes('1');
    if (hasOne) ones += probability;
    if (hasOne || text.includes('0')) both += probability;
  }
  return both > 0 ? ones / both : null;
}

/** Probabilities of "1" for the n answer tokens inside the first list of `text`, or null. */
export function readAnswerProbabilities(
  text: string,
  tokens: readonly TokenLogprob[] | undefined,
  n: number,
): number[] | null {
  const match = firstList.exec(text);
  if (!match || !tokens || tokens.length === 0) return null;
  const start = match.index;
  const end = start + match[0].length;
  const answerTokens = tokens.filter(
    (token) => token.textOffset < end && token.textOffset + token.token.length > start && /[01]/.test(token.token),
  );
  if (answerTokens.length !== n) return null;
  const probabilities = answerTokens.map(probabilityOfOne);
  return probabilities.every((p): p is number => p !== null) ? probabilities : null;
}

/** The labels and probabilities of one answer to a prompt of `n` examples. */
export function readJudgeAnswer(text: string, tokens: readonly TokenLogprob[] | undefined, n: number): JudgeAnswer {
  const labels = parseLabelList(text, n);
  const probabilities = labels ? readAnswerProbabilities(text, tokens, n) : null;
  return {
    labels: labels ?? new Array<null>(n).fill(null),
    probabilities: probabilities ?? new Array<null>(n).fill(null),
  };
}
