/**
 * @module score/ablation/ablation-passes — the tfjs side of the ablation scorer (./ablation-scorer.ts), imported only
 * once a feature's model is loaded: one feature's `ablation.all` from its simulated score-set windows, through the
 * forward passes of score/feature-ablation.ts.
 */
import type { ActivationRecord, FeatureRecord } from '../../records/types.ts';
import type { LoadedFeatureModel } from '../scorer.ts';
import { calibratedReplacement } from '../ablation.ts';
import type { LinearCalibration } from '../calibration.ts';
import { scoreFeatureAblation } from '../feature-ablation.ts';
import type { FeatureScore } from '../score-feature.ts';
import type { AblationRecord } from '../../subject/feature-ablation.ts';

/** A simulated score-set window. */
export interface AblationInput {
  record: ActivationRecord;
  /** Simulated expected values, 0–10 scale; null = missing (replaced by the mean). */
  expected: readonly (number | null)[];
}

/** The feature's mean activation: its corpus mean, else the mean over the given windows. */
function featureMean(feature: FeatureRecord, inputs: readonly AblationInput[]): number {
  if (feature.stats.mean !== null) return feature.stats.mean;
  let sum = 0;
  let count = 0;
  for (const { record } of inputs) for (const value of record.activations) (sum += value), count++;
  return count > 0 ? sum / count : 0;
}

/** `ablation.all` of the windows (each with token ids); a failure of the passes is a null score with the reason. */
export async function ablationFeatureScore(
  { subject, target }: LoadedFeatureModel,
  feature: FeatureRecord,
  inputs: readonly AblationInput[],
  calibration: LinearCalibration,
): Promise<FeatureScore> {
  const mean = featureMean(feature, inputs);
  let missing = 0;
  const records: AblationRecord[] = inputs.map(({ record, expected }) => {
    const replacement = calibratedReplacement(calibration, expected, mean);
    missing += replacement.missing;
    return {
      contextIds: record.contextIds ?? [],
      tokenIds: record.tokenIds!,
      replacement: { simulated: replacement.simulated, mean: replacement.mean },
    };
  });
  const positions = records.reduce((sum, record) => sum + record.tokenIds.length, 0);
  try {
    const result = await scoreFeatureAblation(subject.model, target, records);
    return {
      kind: 'ablation.all',
      value: result.score,
      reason: result.score === null ? (result.reason ?? 'undefined') : null,
      nTokens: result.positions,
      nMissing: missing,
    };
  } catch (error) {
    return {
      kind: 'ablation.all',
      value: null,
      reason: `ablation failed: ${error instanceof Error ? error.message : String(error)}`,
      nTokens: positions,
      nMissing: missing,
    };
  }
}
