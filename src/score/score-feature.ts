/**
 * @module score/score-feature — every score of one explanation from its simulated records: correlation on
 * all (top + random), top only and random only records; rsquared and absdev on calibrated predictions.
 */
import type { RecordSource } from '../records/types.ts';
import {
  applyCalibration,
  fitLinearCalibration,
  scaleByMaxCalibration,
  type LinearCalibration,
} from './calibration.ts';
import { absoluteDevExplainedWithReason, correlationWithReason, rsquaredWithReason } from './correlation.ts';
import type { FeatureScore, ScoreKind } from './scorer.ts';

export type { FeatureScore, ScoreKind } from './scorer.ts';

export interface SimulatedRecord {
  source: RecordSource;
  /** True raw activations. */
  real: number[];
  /** Simulated expected values on the 0–10 scale; null = missing. */
  expected: (number | null)[];
}

export interface FeatureScores {
  scores: FeatureScore[];
  calibration: LinearCalibration;
}

const missingIn = (records: readonly SimulatedRecord[]) =>
  records.reduce((sum, record) => sum + record.expected.filter((x) => x === null).length, 0);

/**
 * A score computed on what is left after dropping missing predictions is only trusted while little is missing:
 * above this fraction of a subset's tokens the score is null, with the reason.
 */
export const MAX_MISSING_FRACTION = 0.1;

function guardMissing(score: FeatureScore, records: readonly SimulatedRecord[]): FeatureScore {
  const total = records.reduce((sum, record) => sum + record.expected.length, 0);
  if (total === 0 || score.nMissing / total <= MAX_MISSING_FRACTION) return score;
  return {
    ...score,
    value: null,
    reason: `${score.nMissing} of ${total} predictions missing (more than ${MAX_MISSING_FRACTION * 100} %)`,
  };
}

/**
 * Scores the score-set records; `calibrationRecords` (may be empty) fit the linear calibration used for
 * rsquared and absdev, falling back to rescaling the 0–10 scale by `fallbackScale` (the feature's max activation)
 * when there are none.
 */
export function scoreFeature(
  scoreRecords: readonly SimulatedRecord[],
  calibrationRecords: readonly SimulatedRecord[],
  fallbackScale: number,
): FeatureScores {
  const subsets: [ScoreKind, SimulatedRecord[]][] = [
    ['correlation.all', scoreRecords.filter((r) => r.source === 'top' || r.source === 'random')],
    ['correlation.top', scoreRecords.filter((r) => r.source === 'top')],
    ['correlation.random', scoreRecords.filter((r) => r.source === 'random')],
  ];
  const quantileRecords = scoreRecords.filter((r) => r.source.startsWith('quantile-'));
  if (quantileRecords.length > 0) subsets.push(['correlation.quantiles', quantileRecords]);

  const scores: FeatureScore[] = subsets.map(([kind, records]) =>
    guardMissing(
      {
        kind,
        ...correlationWithReason(
          records.map((r) => r.real),
          records.map((r) => r.expected),
        ),
        nMissing: missingIn(records),
      },
      records,
    ),
  );

  const calibration =
    fitLinearCalibration(
      calibrationRecords.map((r) => r.real),
      calibrationRecords.map((r) => r.expected),
    ) ?? scaleByMaxCalibration(fallbackScale);
  const all = subsets[0]![1];
  const real = all.map((r) => r.real);
  const calibrated = applyCalibration(
    calibration,
    all.map((r) => r.expected),
  );
  scores.push(
    guardMissing({ kind: 'rsquared.all', ...rsquaredWithReason(real, calibrated), nMissing: missingIn(all) }, all),
  );
  scores.push(
    guardMissing(
      { kind: 'absdev.all', ...absoluteDevExplainedWithReason(real, calibrated), nMissing: missingIn(all) },
      all,
    ),
  );
  return { scores, calibration };
}
