import { describe, expect, it } from 'vitest';
import { applyCalibration, fitLinearCalibration } from '../../src/score/calibration.ts';
import {
  absoluteDevExplainedScore,
  correlationScore,
  correlationWithReason,
  rsquaredScore,
} from '../../src/score/correlation.ts';
import { scoreFeature } from '../../src/score/score-feature.ts';

describe('flattened scores (reference formulas, hand-computed)', () => {
  it('correlation pools tokens of all records, not a mean of per-record r', () => {
    // Per record r is +1 and +1, but pooled values differ: pooled real [0,1,10,11] vs pred [0,1,0,1]
    const real = [
      [0, 1],
      [10, 11],
    ];
    const predicted = [
      [0, 1],
      [0, 1],
    ];
    // hand: mean r=5.5, mean p=0.5; cov = Σ(r-5.5)(p-0.5) = (-5.5)(-.5)+(-4.5)(.5)+(4.5)(-.5)+(5.5)(.5)=2.75-2.25-2.25+2.75=1
    // Σ(r-5.5)^2 = 30.25+20.25+20.25+30.25 = 101 ; Σ(p-.5)^2 = 1 → r = 1/sqrt(101)
    expect(correlationScore(real, predicted)).toBeCloseTo(1 / Math.sqrt(101), 12);
  });
  it('rsquared = 1 − mean((r−p)²)/mean(r²) and absdev = 1 − mean|r−p|/mean|r|', () => {
    const real = [[1, 2], [3]];
    const predicted = [[1, 1], [5]];
    // errors 0, 1, -2 → mse = 5/3 ; mean r² = 14/3 → 1 − 5/14
    expect(rsquaredScore(real, predicted)).toBeCloseTo(1 - 5 / 14, 12);
    // mean |err| = 1 ; mean |r| = 2 → 0.5
    expect(absoluteDevExplainedScore(real, predicted)).toBeCloseTo(0.5, 12);
  });
  it('a constant series gives null with a reason, never NaN', () => {
    expect(correlationWithReason([[0, 0, 0]], [[1, 2, 3]])).toEqual({
      value: null,
      reason: 'constant true activations',
      nTokens: 3,
    });
    expect(correlationWithReason([[0, 1, 3]], [[2, 2, 2]])).toEqual({
      value: null,
      reason: 'constant simulated activations',
      nTokens: 3,
    });
    expect(rsquaredScore([[0, 0]], [[1, 1]])).toBeNull();
  });
  it('drops missing predictions pairwise', () => {
    expect(correlationWithReason([[1, 2, 3, 100]], [[1, 2, 3, null]])).toEqual({ value: 1, reason: null, nTokens: 3 });
  });
  it('rejects mismatched shapes', () => {
    expect(() => correlationScore([[1, 2]], [[1]])).toThrow(/record 0/);
  });
});

describe('linear calibration', () => {
  it('fits true ≈ a·sim + b by least squares (hand-computed)', () => {
    // sim [0,1,2] true [1,3,5] → exactly 2x + 1
    const fit = fitLinearCalibration([[1, 3], [5]], [[0, 1], [2]])!;
    expect(fit.slope).toBeCloseTo(2, 12);
    expect(fit.intercept).toBeCloseTo(1, 12);
    // sim [0,0,1,1] true [0,2,2,4] → slope = cov/var = 2, intercept = mean t − 2·mean s = 2 − 1 = 1
    const noisy = fitLinearCalibration([[0, 2, 2, 4]], [[0, 0, 1, 1]])!;
    expect(noisy.slope).toBeCloseTo(2, 12);
    expect(noisy.intercept).toBeCloseTo(1, 12);
    expect(applyCalibration(noisy, [[0.5, null]])).toEqual([[2, null]]);
  });
  it('a constant simulation calibrates to the mean of the true values', () => {
    expect(fitLinearCalibration([[1, 3]], [[5, 5]])).toMatchObject({ slope: 0, intercept: 2, method: 'constant-mean' });
  });
  it('correlation is invariant to calibration; rsquared uses it', () => {
    const records = [
      { source: 'top' as const, real: [0, 2, 4], expected: [0, 5, 10] },
      { source: 'random' as const, real: [0, 0, 2], expected: [0, 0, 5] },
    ];
    const calibration = [{ source: 'top' as const, real: [0, 4], expected: [0, 10] }];
    const { scores, calibration: fit } = scoreFeature(records, calibration, 4);
    const byKind = Object.fromEntries(scores.map((s) => [s.kind, s.value]));
    expect(fit.slope).toBeCloseTo(0.4, 12);
    expect(byKind['correlation.all']).toBeCloseTo(1, 12);
    expect(byKind['rsquared.all']).toBeCloseTo(1, 12);
    expect(byKind['absdev.all']).toBeCloseTo(1, 12);
    expect(byKind['correlation.top']).toBeCloseTo(1, 12);
  });
});

describe('degenerate inputs never give NaN', () => {
  it('a nearly constant simulation calibrates to the mean instead of a non-finite slope', () => {
    const fit = fitLinearCalibration([[1, 2, 3]], [[1e-200, 0, 0]])!;
    expect(fit.method).toBe('constant-mean');
    expect(fit.intercept).toBe(2);
  });
  it('scores with too many missing predictions are null with the reason', () => {
    const expected = [0, 10, null, null, 0, 10, 0, 10, 0, 10];
    const { scores } = scoreFeature([{ source: 'top', real: [0, 1, 1, 0, 0, 1, 0, 1, 0, 1], expected }], [], 1);
    const all = scores.find((s) => s.kind === 'correlation.all')!;
    expect(all.value).toBeNull();
    expect(all.reason).toBe('2 of 10 predictions missing (more than 10 %)');
    // one missing in ten is tolerated
    const fine = scoreFeature(
      [{ source: 'top', real: [0, 1, 1, 0, 0, 1, 0, 1, 0, 1], expected: [0, 10, 10, null, 0, 10, 0, 10, 0, 10] }],
      [],
      1,
    );
    expect(fine.scores.find((s) => s.kind === 'correlation.all')!.value).toBeCloseTo(1, 12);
  });
  it('every score of any input is a finite number or null with a reason', () => {
    const cases = [
      { real: [0, 0, 0], expected: [1, 2, 3] },
      { real: [1, 2, 3], expected: [5, 5, 5] },
      { real: [1, 2, 3], expected: [1e308, -1e308, 1e308] },
    ];
    for (const c of cases) {
      for (const score of scoreFeature([{ source: 'top', ...c }], [{ source: 'top', ...c }], 1).scores) {
        expect(
          score.value === null ? typeof score.reason : Number.isFinite(score.value),
          JSON.stringify({ c, score }),
        ).toBe(score.value === null ? 'string' : true);
      }
    }
  });
});
