/**
 * @module report/leaderboard — per layer (hook point) and feature kind: how many features were scored, how
 * many failed or had no defined score, mean / median score with a bootstrap 95 % CI, fractions above 0.5 and 0.8,
 * best and worst features. Rows never mix simulation modes: the mode is part of the grouping key.
 */
import { median } from 'simple-statistics';
import type { SqliteDatabase } from '../store/database.ts';
import type { RunRow } from '../store/result-store.ts';
import { bootstrapMeanInterval, type ConfidenceInterval } from './bootstrap.ts';

export interface FeatureScoreRef {
  model: string;
  index: number;
  value: number;
  explanation: string | null;
}

export interface LeaderboardRow {
  model: string;
  layer: string;
  featureKind: string;
  simulationMode: string | null;
  /** Features of this group in the run (scored, undefined score, or failed). */
  features: number;
  /** Features with a defined score. */
  scored: number;
  /** Features whose score is null (e.g. never activates), reasons counted in `nullReasons`. */
  undefinedScores: number;
  nullReasons: Record<string, number>;
  failed: number;
  mean: number | null;
  median: number | null;
  ci: ConfidenceInterval | null;
  fractionAtLeast05: number | null;
  fractionAtLeast08: number | null;
  best: FeatureScoreRef | null;
  worst: FeatureScoreRef | null;
}

export interface Leaderboard {
  run: RunRow;
  scoreKind: string;
  isBaseline: boolean;
  rows: LeaderboardRow[];
}

interface ScoreQueryRow {
  model: string;
  layer: string;
  kind: string;
  idx: number;
  value: number | null;
  reason: string | null;
  simulation_mode: string | null;
  explanation: string | null;
}

/** Natural order for layers: numbers numerically, then hook names alphabetically. */
const layerOrder = (a: string, b: string) =>
  /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b, 'en', { numeric: true });

export function buildLeaderboard(db: SqliteDatabase, run: RunRow, scoreKind = 'correlation.all'): Leaderboard {
  const scores = db
    .prepare(
      `SELECT f.model, f.layer, f.kind, f.idx, s.value, s.reason, s.simulation_mode, e.text AS explanation
       FROM scores s JOIN features f ON f.id = s.feature_id LEFT JOIN explanations e ON e.id = s.explanation_id
       WHERE s.run_id = ? AND s.kind = ?`,
    )
    .all(run.id, scoreKind) as ScoreQueryRow[];
  const failures = db
    .prepare(
      `SELECT f.model, f.layer, f.kind, COUNT(*) AS n FROM run_features r JOIN features f ON f.id = r.feature_id
       WHERE r.run_id = ? AND r.status = 'failed' GROUP BY f.model, f.layer, f.kind`,
    )
    .all(run.id) as { model: string; layer: string; kind: string; n: number }[];

  const groups = new Map<string, { key: Omit<ScoreQueryRow, 'idx' | 'value' | 'reason' | 'explanation'>; rows: ScoreQueryRow[]; failed: number }>();
  const groupOf = (model: string, layer: string, kind: string, mode: string | null) => {
    const key = JSON.stringify([model, layer, kind, mode]);
    let group = groups.get(key);
    if (!group) {
      group = { key: { model, layer, kind, simulation_mode: mode }, rows: [], failed: 0 };
      groups.set(key, group);
    }
    return group;
  };
  // Rows with a mode define the groups; unsimulated features (null scores, failures) join their layer's group.
  const sameFeatureGroup = (model: string, layer: string, kind: string) =>
    [...groups.values()].find((g) => g.key.model === model && g.key.layer === layer && g.key.kind === kind) ??
    groupOf(model, layer, kind, null);
  for (const row of scores) if (row.simulation_mode !== null) groupOf(row.model, row.layer, row.kind, row.simulation_mode).rows.push(row);
  for (const row of scores) if (row.simulation_mode === null) sameFeatureGroup(row.model, row.layer, row.kind).rows.push(row);
  for (const failure of failures) sameFeatureGroup(failure.model, failure.layer, failure.kind).failed += failure.n;

  const rows: LeaderboardRow[] = [...groups.values()].map(({ key, rows: members, failed }) => {
    const defined = members.filter((m): m is ScoreQueryRow & { value: number } => m.value !== null);
    const values = defined.map((m) => m.value);
    const nullReasons: Record<string, number> = {};
    for (const m of members) if (m.value === null) nullReasons[m.reason ?? 'unknown'] = (nullReasons[m.reason ?? 'unknown'] ?? 0) + 1;
    const sorted = [...defined].sort((a, b) => b.value - a.value || a.idx - b.idx);
    const ref = (m: (typeof sorted)[number] | undefined): FeatureScoreRef | null =>
      m ? { model: m.model, index: m.idx, value: m.value, explanation: m.explanation } : null;
    const fraction = (threshold: number) => (values.length ? values.filter((v) => v >= threshold).length / values.length : null);
    return {
      model: key.model,
      layer: key.layer,
      featureKind: key.kind,
      simulationMode: key.simulation_mode,
      features: members.length + failed,
      scored: values.length,
      undefinedScores: members.length - values.length,
      nullReasons,
      failed,
      mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null,
      median: values.length ? median(values) : null,
      ci: bootstrapMeanInterval(values),
      fractionAtLeast05: fraction(0.5),
      fractionAtLeast08: fraction(0.8),
      best: ref(sorted[0]),
      worst: ref(sorted.at(-1)),
    };
  });
  rows.sort((a, b) => a.model.localeCompare(b.model) || layerOrder(a.layer, b.layer) || a.featureKind.localeCompare(b.featureKind));
  return { run, scoreKind, isBaseline: run.is_baseline === 1, rows };
}
