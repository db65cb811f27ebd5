/**
 * @module score/auroc — area under the ROC curve of a score against a binary truth (a judge's probability of "1"; a scorer's value for true vs wrong explanations),
 * by the Mann–Whitney U statistic with average ranks for ties: the probability that a random activating example
 * gets a higher probability than a random non-activating one, ties counting one half.
 */
import { defined, type ScoredValue, undefinedScore } from './scored-value.ts';

/** AUROC of `probability` for separating `truth` true from false; null when a class is empty. */
export function auroc(rows: readonly { truth: boolean; probability: number }[]): ScoredValue {
  const positiveCount = rows.filter((row) => row.truth).length;
  const negativeCount = rows.length - positiveCount;
  if (positiveCount === 0) return undefinedScore('no activating example with a probability', rows.length);
  if (negativeCount === 0) return undefinedScore('no non-activating example with a probability', rows.length);
  const sorted = [...rows].sort((a, b) => a.probability - b.probability);
  let positiveRankSum = 0;
  for (let start = 0; start < sorted.length; ) {
    let end = start;
    while (end + 1 < sorted.length && sorted[end + 1]!.probability === sorted[start]!.probability) end += 1;
    const averageRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) if (sorted[i]!.truth) positiveRankSum += averageRank;
    start = end + 1;
  }
  const u = positiveRankSum - (positiveCount * (positiveCount + 1)) / 2;
  return defined(u / (positiveCount * negativeCount), rows.length);
}
