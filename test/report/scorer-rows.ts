/**
 * Test helper: the rows judged scorers leave in a run (migration 9): `scores` rows of kinds such as
 * `detection.balanced_accuracy` with their prompt version, and `judgements` rows with the judge's answers, planted
 * with SQL beside a synthetic run (test/report/synthetic-store.ts), so the report tests need no scorer.
 */
import type { SqliteDatabase } from '../../src/store/database.ts';
import type { StoredJudgement } from '../../src/store/queries.ts';

/** The stored id of a run's feature by index (and layer, where indices repeat). */
function featureIdOf(db: SqliteDatabase, runId: number, index: number, layer?: string | number): number {
  const row = db
    .prepare(
      `SELECT f.id FROM features f JOIN run_features r ON r.feature_id = f.id
       WHERE r.run_id = ? AND f.idx = ? AND (? IS NULL OR f.layer = ?)`,
    )
    .get(runId, index, layer === undefined ? null : String(layer), layer === undefined ? null : String(layer)) as
    | { id: number }
    | undefined;
  if (!row) throw new Error(`run ${runId} has no feature ${index}${layer === undefined ? '' : ` in layer ${layer}`}`);
  return row.id;
}

export interface PlantedScore {
  index: number;
  layer?: string | number;
  kind: string;
  value: number | null;
  reason?: string;
  /** Default `<family>.v1`. */
  promptVersion?: string | null;
  /** The simulation mode stored with the row (default null: a judged score needs no simulation). */
  simulationMode?: string | null;
}

export function plantScores(db: SqliteDatabase, runId: number, scores: readonly PlantedScore[]): void {
  const insert = db.prepare(
    `INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode, prompt_version)
     VALUES (?, ?, (SELECT id FROM explanations WHERE run_id = ? AND feature_id = ?), ?, ?, ?, 20, 0, ?, ?)`,
  );
  for (const score of scores) {
    const featureId = featureIdOf(db, runId, score.index, score.layer);
    insert.run(
      runId,
      featureId,
      runId,
      featureId,
      score.kind,
      score.value,
      score.value === null ? (score.reason ?? 'no examples') : null,
      score.simulationMode ?? null,
      score.promptVersion === undefined ? `${score.kind.split('.')[0]}.v1` : score.promptVersion,
    );
  }
}

export interface PlantedJudgements {
  index: number;
  layer?: string | number;
  scorer: string;
  judge?: string;
  promptVersion?: string;
  examples: StoredJudgement[];
}

export function plantJudgements(db: SqliteDatabase, runId: number, sets: readonly PlantedJudgements[]): void {
  const insert = db.prepare(
    'INSERT INTO judgements (run_id, feature_id, scorer, judge, prompt_version, examples) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const set of sets) {
    insert.run(
      runId,
      featureIdOf(db, runId, set.index, set.layer),
      set.scorer,
      set.judge ?? 'mock:judge',
      set.promptVersion ?? `${set.scorer}.v1`,
      JSON.stringify(set.examples),
    );
  }
}

/** A judged example: `tokens` split on spaces; answered as `predicted` (default: right). */
export const judged = (
  text: string,
  truth: boolean,
  options: Partial<Omit<StoredJudgement, 'tokens' | 'truth'>> = {},
): StoredJudgement => ({
  tokens: text.split(' '),
  source: truth ? 'top' : 'random-negative',
  truth,
  predicted: truth,
  probability: null,
  ...options,
});
