/**
 * @module pipeline/validate-scorers-metrics — how well a scorer separates true from wrong explanations: AUROC (the
 * probability that a true explanation outscores a wrong one, ties counting half: the Mann–Whitney U statistic over
 * the pairs), pooled over features and averaged per feature, and how often the true explanation ranks first. A null
 * score (the scorer could not score that explanation: a constant simulation, say) ranks below every number.
 */
import { auroc as rankAuroc } from '../score/auroc.ts';

/** A null score (the scorer could not score that explanation) ranks below every number. */
const rank = (value: number | null) => value ?? Number.NEGATIVE_INFINITY;

/** One scored candidate explanation of one feature. */
export interface ScoredCandidate {
  correct: boolean;
  value: number | null;
}

/** P(true outscores wrong) over all pairs, ties counting half; null when either side is empty (score/auroc.ts). */
export function auroc(positives: readonly (number | null)[], negatives: readonly (number | null)[]): number | null {
  return rankAuroc([
    ...positives.map((value) => ({ truth: true, probability: rank(value) })),
    ...negatives.map((value) => ({ truth: false, probability: rank(value) })),
  ]).value;
}

const valuesOf = (candidates: readonly ScoredCandidate[], correct: boolean) =>
  candidates.filter((candidate) => candidate.correct === correct).map((candidate) => candidate.value);

/** True when the feature's true explanation scores strictly above every wrong one. */
export function trueRanksFirst(candidates: readonly ScoredCandidate[]): boolean {
  const [truth] = valuesOf(candidates, true);
  if (truth === undefined) return false;
  return valuesOf(candidates, false).every((wrong) => rank(truth) > rank(wrong));
}

export interface SeparationSummary {
  /** AUROC of all true against all wrong explanations of every feature together. */
  pooledAuroc: number | null;
  /** The mean over features of each feature's AUROC (its true explanation against its wrong ones). */
  meanFeatureAuroc: number | null;
  /** The fraction of features whose true explanation scored strictly above all their wrong ones. */
  trueFirstRate: number | null;
}

/** Separation of true from wrong over features, each a list of scored candidates. */
export function summarizeSeparation(features: readonly (readonly ScoredCandidate[])[]): SeparationSummary {
  const all = features.flat();
  const perFeature = features
    .map((candidates) => auroc(valuesOf(candidates, true), valuesOf(candidates, false)))
    .filter((value): value is number => value !== null);
  const mean = (values: readonly number[]) =>
    values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    pooledAuroc: auroc(valuesOf(all, true), valuesOf(all, false)),
    meanFeatureAuroc: mean(perFeature),
    trueFirstRate:
      features.length === 0 ? null : mean(features.map((candidates) => (trueRanksFirst(candidates) ? 1 : 0))),
  };
}
