/**
 * @module store/candidate-queries — reads of `explanation_candidates` (best-of-n explanations, migration 11): how
 * much choosing the best candidate on the calibration split flattered it, per run; and every candidate of a run (reports).
 */
import type { SqliteDatabase } from './database.ts';
import type { StoredCandidate } from './result-store.ts';

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

/** Every candidate of a run's best-of-n searches, by feature id, in the order made; empty for a one-shot run. */
export function candidatesOfRun(db: SqliteDatabase, runId: number): Map<number, StoredCandidate[]> {
  const rows = db
    .prepare(
      `SELECT feature_id AS featureId, candidate, parent, kind, text, prompt_version AS promptVersion,
              calibration_score AS calibrationScore, held_out_score AS heldOutScore, selected
         FROM explanation_candidates WHERE run_id = ? ORDER BY feature_id, candidate`,
    )
    .all(runId) as (Omit<StoredCandidate, 'index' | 'selected'> & {
    featureId: number;
    candidate: number;
    selected: number;
  })[];
  const byFeature = new Map<number, StoredCandidate[]>();
  for (const { featureId, candidate, selected, ...row } of rows) {
    const list = byFeature.get(featureId) ?? [];
    list.push({ ...row, index: candidate, selected: selected === 1 });
    byFeature.set(featureId, list);
  }
  return byFeature;
}
