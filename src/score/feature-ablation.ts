/**
 * @module score/feature-ablation — the ablation score of one feature on the subject model (docs/DESIGN.md §4): the
 * forward passes of subject/feature-ablation.ts, their per-position JSDs pooled by score/ablation.ts.
 */
import {
  ablationJsdPerRecord,
  type AblationPassOptions,
  type AblationRecord,
  type FeatureTarget,
  type RecordJsd,
} from '../subject/feature-ablation.ts';
import type { Gpt2Model } from '../subject/gpt2-model.ts';
import { ablationScore, type AblationScore, type AblationScoreOptions } from './ablation.ts';

export interface FeatureAblationOptions extends AblationPassOptions, AblationScoreOptions {}

export interface FeatureAblationResult extends AblationScore {
  /** Per record, in input order: JSD(orig, sim) and JSD(orig, mean) at each window position, nats. */
  records: RecordJsd[];
}

/**
 * Runs the three forward passes for every record and returns the ablation score with the per-position JSDs.
 * Needs a started tfjs backend; yields to the event loop between batches.
 */
export async function scoreFeatureAblation(
  model: Gpt2Model,
  target: FeatureTarget,
  records: readonly AblationRecord[],
  options: FeatureAblationOptions = {},
): Promise<FeatureAblationResult> {
  const perRecord = await ablationJsdPerRecord(model, target, records, options);
  const score = ablationScore(
    perRecord.flatMap((r) => r.jsdSimulated),
    perRecord.flatMap((r) => r.jsdMean),
    options,
  );
  return { ...score, records: perRecord };
}
