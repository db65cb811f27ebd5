/**
 * @module store/candidate-queries — reads of `explanation_candidates` (best-of-n explanations, migration 11): how
 * much choosing the best candidate on the calibration split flattered it, per run.
 */
import type { SqliteDatabase } from './database.ts';

/** The selected candidates of a run: their mean calibration and held-out scores, over features that have both. */
export interface SelectionSummary {
  /** Features whose winner has both scores. */
  features: number;
  /** Candidates made per feature, on average (samples and revisions). */
  candidatesPerFeature: number;
  meanCalibration: number;
  meanHeldOut: number;
  /** meanCalibration − meanHeldOut: the optimism of a score read where the choice was made. */
  selectionBias: number;
}

/** The run's selection summary; null for a one-shot run, or one without a winner scored on both splits. */
export function selectionSummary(db: SqliteDatabase, runId: number): SelectionSummary | null {
  const row = db
    .prepare(
      `SELECT COUNT(*) AS features, AVG(calibration_score) AS calibration, AVG(held_out_score) AS heldOut,
              (SELECT COUNT(*) FROM explanation_candidates WHERE run_id = ?) * 1.0
                / (SELECT COUNT(DISTINCT feature_id) FROM explanation_candidates WHERE run_id = ?) AS perFeature
         FROM explanation_candidates
        WHERE run_id = ? AND selected = 1 AND calibration_score IS NOT NULL AND held_out_score IS NOT NULL`,
    )
    .get(runId, runId, runId) as {
    features: number;
    calibration: number | null;
    heldOut: number | null;
    perFeature: number | null;
  };
  if (row.features === 0 || row.calibration === null || row.heldOut === null) return null;
  return {
    features: row.features,
    candidatesPerFeature: row.perFeature ?? 0,
    meanCalibration: row.calibration,
    meanHeldOut: row.heldOut,
    selectionBias: row.calibration - row.heldOut,
  };
}
