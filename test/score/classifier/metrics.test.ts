import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/common/random.ts';
import { auroc } from '../../../src/score/auroc.ts';
import { classifierScores } from '../../../src/score/classifier/classifier-scores.ts';
import {
  balancedAccuracy,
  confusionMatrix,
  f1,
  precision,
  recall,
} from '../../../src/score/classifier/confusion-matrix.ts';
import type { Judgement } from '../../../src/score/scorer.ts';

/** The O(n²) definition: over all (activating, non-activating) pairs, 1 when the activating one is higher, ½ on ties. */
function pairwiseAuroc(rows: readonly { truth: boolean; probability: number }[]): number {
  let sum = 0;
  let pairs = 0;
  for (const positive of rows.filter((row) => row.truth)) {
    for (const negative of rows.filter((row) => !row.truth)) {
      sum += positive.probability > negative.probability ? 1 : positive.probability === negative.probability ? 0.5 : 0;
      pairs += 1;
    }
  }
  return sum / pairs;
}

const pairs = (truth: number[], predicted: number[]) =>
  truth.map((value, i) => ({ truth: value === 1, predicted: predicted[i] === 1 }));

describe('classifier metrics', () => {
  it('match a confusion matrix written out by hand', () => {
    // truth:     1 1 1 1 1 1 0 0 0 0
    // predicted: 1 1 1 1 0 0 1 0 0 0  → TP 4, FN 2, FP 1, TN 3
    const matrix = confusionMatrix(pairs([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 1, 0, 0, 0]));
    expect(matrix).toEqual({ truePositives: 4, falseNegatives: 2, falsePositives: 1, trueNegatives: 3 });
    // recall 4/6, specificity 3/4 → balanced accuracy (4/6 + 3/4) / 2 = 17/24
    expect(balancedAccuracy(matrix).value).toBeCloseTo(17 / 24, 12);
    expect(recall(matrix).value).toBeCloseTo(4 / 6, 12);
    expect(precision(matrix).value).toBeCloseTo(4 / 5, 12);
    // F1 = 2PR / (P + R) = 2 · 0.8 · (2/3) / (0.8 + 2/3) = 8/11
    expect(f1(matrix).value).toBeCloseTo(8 / 11, 12);
    expect(balancedAccuracy(matrix).nTokens).toBe(10);
  });

  it('are null with a reason where a denominator is empty; F1 is 0 for a judge that never says 1', () => {
    const onlyActivating = confusionMatrix(pairs([1, 1], [1, 0]));
    expect(balancedAccuracy(onlyActivating)).toMatchObject({
      value: null,
      reason: 'no non-activating example with an answer',
    });
    expect(recall(onlyActivating).value).toBe(0.5);
    const neverOne = confusionMatrix(pairs([1, 0, 0], [0, 0, 0]));
    expect(precision(neverOne)).toMatchObject({ value: null, reason: 'the judge answered 1 for no example' });
    expect(f1(neverOne).value).toBe(0);
    expect(balancedAccuracy(neverOne).value).toBe(0.5);
    const nothingActivating = confusionMatrix(pairs([0, 0], [0, 0]));
    expect(recall(nothingActivating).value).toBeNull();
    expect(f1(nothingActivating).value).toBeNull();
  });

  it('AUROC equals the pairwise definition, ties counted one half', () => {
    const handmade = [
      { truth: true, probability: 0.9 },
      { truth: true, probability: 0.5 },
      { truth: false, probability: 0.5 },
      { truth: false, probability: 0.2 },
      { truth: true, probability: 0.2 },
    ];
    // pairs (pos, neg): .9>.5 1, .9>.2 1, .5=.5 ½, .5>.2 1, .2<.5 0, .2=.2 ½ → 4 / 6
    expect(auroc(handmade).value).toBeCloseTo(4 / 6, 12);
    const random = mulberry32(11);
    for (let trial = 0; trial < 20; trial++) {
      const rows = Array.from({ length: 30 }, (_, i) => ({
        truth: i % 3 === 0 || random() < 0.3,
        probability: Math.round(random() * 10) / 10,
      }));
      expect(auroc(rows).value).toBeCloseTo(pairwiseAuroc(rows), 12);
    }
    expect(auroc([{ truth: true, probability: 1 }]).value).toBeNull();
  });

  it('score rows: unanswered examples are missing, AUROC only with probabilities, recall per source', () => {
    const judgement = (
      truth: boolean,
      predicted: boolean | null,
      source: Judgement['source'],
      probability: number | null,
    ) => ({ tokens: ['x'], truth, predicted, source, probability }) as Judgement;
    const judgements = [
      judgement(true, true, 'top', 0.9),
      judgement(true, false, 'quantile-1', 0.4),
      judgement(true, null, 'quantile-1', null),
      judgement(false, false, 'random-negative', 0.1),
      judgement(false, true, 'hard-negative', 0.6),
    ];
    const rows = Object.fromEntries(classifierScores('detection', judgements).map((row) => [row.kind, row]));
    expect(Object.keys(rows)).toEqual([
      'detection.balanced_accuracy',
      'detection.f1',
      'detection.precision',
      'detection.recall',
      'detection.auroc',
      'detection.recall.top',
      'detection.recall.quantile-1',
    ]);
    expect(rows['detection.balanced_accuracy']).toMatchObject({ value: 0.5, nTokens: 4, nMissing: 1 });
    // probabilities: pos .9 .4, neg .1 .6 → pairs: 1, 1, 1, 0 → 3/4
    expect(rows['detection.auroc']).toMatchObject({ value: 0.75, nTokens: 4, nMissing: 1 });
    expect(rows['detection.recall.top']).toMatchObject({ value: 1, nMissing: 0 });
    expect(rows['detection.recall.quantile-1']).toMatchObject({ value: 0, nTokens: 1, nMissing: 1 });
    const labelsOnly = classifierScores(
      'fuzzing',
      judgements.map((j) => ({ ...j, probability: null })),
    );
    expect(labelsOnly.some((row) => row.kind === 'fuzzing.auroc')).toBe(false);
  });
});
