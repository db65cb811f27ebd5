/**
 * @module score/classifier/confusion-matrix — the confusion matrix of a judge's labels against the truth, and the
 * metrics read from it (docs/DESIGN.md §4). Unlike delphi, which writes 0 where a denominator is empty, a metric
 * that is undefined is null with the reason: balanced accuracy needs both classes, recall needs an activating
 * example, precision needs a "1" answer; F1 = 2TP / (2TP + FP + FN) is defined unless there is no activating example
 * and no "1" answer (so a judge that answers 0 everywhere gets F1 0, not null).
 */
import { defined, type ScoredValue, undefinedScore } from '../scored-value.ts';

export interface ConfusionMatrix {
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

/** Counts (truth, predicted) pairs; pairs without a prediction must be left out by the caller. */
export function confusionMatrix(pairs: readonly { truth: boolean; predicted: boolean }[]): ConfusionMatrix {
  const matrix: ConfusionMatrix = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (const { truth, predicted } of pairs) {
    if (truth && predicted) matrix.truePositives += 1;
    else if (truth) matrix.falseNegatives += 1;
    else if (predicted) matrix.falsePositives += 1;
    else matrix.trueNegatives += 1;
  }
  return matrix;
}

const total = (m: ConfusionMatrix) => m.truePositives + m.falsePositives + m.trueNegatives + m.falseNegatives;
const positives = (m: ConfusionMatrix) => m.truePositives + m.falseNegatives;
const negatives = (m: ConfusionMatrix) => m.trueNegatives + m.falsePositives;

const noActivating = 'no activating example with an answer';
const noNonActivating = 'no non-activating example with an answer';

/** (TP/P + TN/N) / 2. */
export function balancedAccuracy(m: ConfusionMatrix): ScoredValue {
  if (positives(m) === 0) return undefinedScore(noActivating, total(m));
  if (negatives(m) === 0) return undefinedScore(noNonActivating, total(m));
  return defined((m.truePositives / positives(m) + m.trueNegatives / negatives(m)) / 2, total(m));
}

/** TP / P. */
export function recall(m: ConfusionMatrix): ScoredValue {
  if (positives(m) === 0) return undefinedScore(noActivating, total(m));
  return defined(m.truePositives / positives(m), total(m));
}

/** TP / (TP + FP). */
export function precision(m: ConfusionMatrix): ScoredValue {
  const predictedPositive = m.truePositives + m.falsePositives;
  if (predictedPositive === 0) return undefinedScore('the judge answered 1 for no example', total(m));
  return defined(m.truePositives / predictedPositive, total(m));
}

/** 2TP / (2TP + FP + FN), the harmonic mean of precision and recall. */
export function f1(m: ConfusionMatrix): ScoredValue {
  const denominator = 2 * m.truePositives + m.falsePositives + m.falseNegatives;
  if (denominator === 0) return undefinedScore(`${noActivating} and no "1" answer`, total(m));
  return defined((2 * m.truePositives) / denominator, total(m));
}
