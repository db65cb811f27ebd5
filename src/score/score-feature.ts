/**
 * @module score/score-feature — every score of one explanation from its simulated records: correlation on
 * all (top + random), top only and random only records; rsquared and absdev on calibrated predictions.
 */
import type { RecordSource } from '../records/types.ts';
import { applyCalibration, fitLinearCalibration, scaleByMaxCalibration, type LinearCalibration } from './calibration.ts';
import { absoluteDevExplainedWithReason, correlationWithReason, rsquaredWithReason } from './correlation.ts';
import type { ScoredValue } from './scored-value.ts';

/** Score kinds as stored: `<measure>.<subset>`. */
export type ScoreKind =
  | 'correlation.all'
  | 'correlation.top'
  | 'correlation.random'
  | 'correlation.quantiles'
  | 'rsquared.all'
  | 'absdev.all';

export interface SimulatedRecord {
  source: RecordSource;
  /** True raw activations. */
  real: number[];
  /** Simulated expected values on the 0–10 scale; null = missing. */
  expected: (number | null)[];
}

export interface FeatureScore extends ScoredValue {
  kind: ScoreKind;
  /** Predictions that were missing among this subset's tokens. */
  nMissing: number;
}

export interface FeatureScores {
  scores: FeatureScore[];
  calibration: LinearCalibration;
}

const missingIn = (records: readonly SimulatedRecord[]) =>
  records.reduce((sum, record) => sum + record.expected.filter((x) => x === null).length, 0);

/**
 * Scores the score-set records; `calibrationRecords` (may be empty) fit the linear calibration used for
 * rsquared and absdev, falling back to rescaling by `maxActivation` when there are none.
 */
export function scoreFeature(
  scoreRecords: readonly SimulatedRecord[],
  calibrationRecords: readonly SimulatedRecord[],
  maxActivation: number,
): FeatureScores {
  const subsets: [ScoreKind, SimulatedRecord[]][] = [
    ['correlation.all', scoreRecords.filter((r) => r.source === 'top' || r.source === 'random')],
    ['correlation.top', scoreRecords.filter((r) => r.source === 'top')],
    ['correlation.random', scoreRecords.filter((r) => r.source === 'random')],
  ];
  const quantileRecords = scoreRecords.filter((r) => r.source.startsWith('quantile-'));
  if (quantileRecords.length > 0) subsets.push(['correlation.quantiles', quantileRecords]);

  const scores: FeatureScore[] = subsets.map(([kind, records]) => ({
    kind,
    ...correlationWithReason(records.map((r) => r.real), records.map((r) => r.expected)),
    nMissing: missingIn(records),
  }));

  const calibration =
    fitLinearCalibration(calibrationRecords.map((r) => r.real), calibrationRecords.map((r) => r.expected)) ??
    scaleByMaxCalibration(maxActivation);
  const all = subsets[0]![1];
  const real = all.map((r) => r.real);
  const calibrated = applyCalibration(calibration, all.map((r) => r.expected));
  scores.push({ kind: 'rsquared.all', ...rsquaredWithReason(real, calibrated), nMissing: missingIn(all) });
  scores.push({ kind: 'absdev.all', ...absoluteDevExplainedWithReason(real, calibrated), nMissing: missingIn(all) });
  return { scores, calibration };
}
