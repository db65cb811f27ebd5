/**
 * @module score/classifier/classifier-scores — the score rows of one feature's judgements under a family
 * (`detection`, `fuzzing`): balanced accuracy, F1, precision and recall over the examples the judge answered; recall
 * per source of the activating examples (`recall.top`, `recall.quantile-i`); AUROC where the judge gave
 * probabilities. `nTokens` counts the examples that entered a score, `nMissing` those left out for want of an answer.
 */
import type { FeatureScore, Judgement, ScoreKind } from '../scorer.ts';
import type { ScoredValue } from '../scored-value.ts';
import { auroc } from '../auroc.ts';
import { balancedAccuracy, confusionMatrix, f1, precision, recall } from './confusion-matrix.ts';

const answered = (judgements: readonly Judgement[]) =>
  judgements.flatMap((j) => (j.predicted === null ? [] : [{ truth: j.truth, predicted: j.predicted }]));

function row(family: string, metric: string, value: ScoredValue, nMissing: number): FeatureScore {
  return { kind: `${family}.${metric}` as ScoreKind, ...value, nMissing };
}

/** `top` first, then the quantile bins in index order, then anything else by name. */
function compareGroups(a: string, b: string): number {
  const rank = (group: string) => (group === 'top' ? -1 : group.startsWith('quantile-') ? Number(group.slice(9)) : 1e9);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function classifierScores(family: string, judgements: readonly Judgement[]): FeatureScore[] {
  const missing = judgements.filter((j) => j.predicted === null).length;
  const matrix = confusionMatrix(answered(judgements));
  const scores: FeatureScore[] = [
    row(family, 'balanced_accuracy', balancedAccuracy(matrix), missing),
    row(family, 'f1', f1(matrix), missing),
    row(family, 'precision', precision(matrix), missing),
    row(family, 'recall', recall(matrix), missing),
  ];
  const withProbability = judgements.flatMap((j) =>
    j.probability === null ? [] : [{ truth: j.truth, probability: j.probability }],
  );
  if (withProbability.length > 0) {
    scores.push(row(family, 'auroc', auroc(withProbability), judgements.length - withProbability.length));
  }
  const groups = [...new Set(judgements.filter((j) => j.truth).map((j) => j.source))].sort(compareGroups);
  for (const group of groups) {
    const members = judgements.filter((j) => j.truth && j.source === group);
    const groupMissing = members.filter((j) => j.predicted === null).length;
    scores.push(row(family, `recall.${group}`, recall(confusionMatrix(answered(members))), groupMissing));
  }
  return scores;
}
