/**
 * @module pipeline/ablation-input — what the ablation scorer (ablation-scorer.ts) hands its tfjs side
 * (ablation-library.ts) for each simulated window: a file of its own so that neither imports the other's types.
 */
import type { ActivationRecord } from '../records/types.ts';

/** A simulated score-set window. */
export interface AblationInput {
  record: ActivationRecord;
  /** Simulated expected values, 0–10 scale; null = missing (replaced by the mean). */
  expected: readonly (number | null)[];
}
