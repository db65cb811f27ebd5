/**
 * @module score/classifier/read-judge-answer — a detection or fuzzing judge's answer as the classifier metrics take
 * it: the labels and P("1") that score/judge-answer reads (delphi's reading, docs/DESIGN.md §4), with null for every
 * example where the answer could not be read (left out of the metrics, counted as missing) or gave no usable logprobs.
 */
import type { TokenLogprob } from '../../llm/types.ts';
import { readAnswerProbabilities, readLabelList } from '../judge-answer.ts';

export interface JudgeAnswer {
  /** One label per example (true = "1"), or null for all when the answer could not be read. */
  labels: (boolean | null)[];
  /** Probability of "1" per example, or null for all when the answer gave no usable logprobs. */
  probabilities: (number | null)[];
}

/** The n labels of the first list in `text`, or null when there is none, it is no JSON list, or its length is not n. */
export function parseLabelList(text: string, n: number): boolean[] | null {
  const labels = readLabelList(text, n);
  return Array.isArray(labels) ? labels : null;
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
