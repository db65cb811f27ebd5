/**
 * Test helper: the leaderboard as it was before it streamed (issue 19), a row per feature read with its key; kept
 * only to check that the streamed buildLeaderboard gives the same board, number for number and key for key.
 */
import { median } from 'simple-statistics';
import { meanInterval } from '../../src/report/bootstrap.ts';
import type { FeatureScoreRef, Leaderboard, LeaderboardOptions, LeaderboardRow } from '../../src/report/leaderboard.ts';
import { scorerColumnKinds } from '../../src/report/score-families.ts';
import { stableMean } from '../../src/report/stable-mean.ts';
import type { SqliteDatabase } from '../../src/store/database.ts';
import {
  compareLayers,
  failedFeatureCountsOfRun,
  featureScoresOfRun,
  scoreExplanationsOfFeatures,
  scoreKindsOfRun,
  scoreValuesOfRun,
  storedFeatureKey,
  type FeatureScoreRow,
} from '../../src/store/queries.ts';
import type { RunRow } from '../../src/store/result-store.ts';

const ablationKind = 'ablation.all';

type GroupKey = {
  model: string;
  layer: string;
  kind: string;
  sae: string;
  mode: string | null;
  recordsPerCall: number | null;
};

export function inMemoryLeaderboard(
  db: SqliteDatabase,
  run: RunRow,
  scoreKind = 'correlation.all',
  options: LeaderboardOptions = {},
): Leaderboard {
  const filters = options.filters ?? {};
  const topCount = options.top ?? 3;
  const keep = (row: { model: string; layer: string; kind: string }) =>
    (filters.model === undefined || row.model === filters.model) &&
    (filters.layer === undefined || row.layer === filters.layer) &&
    (filters.featureKind === undefined || row.kind === filters.featureKind);
  // explanations are read afterwards for the few features the rows list, not for every feature
  const scores = featureScoresOfRun(db, run.id, scoreKind, { explanations: false }).filter(keep);
  const failures = failedFeatureCountsOfRun(db, run.id).filter(keep);

  const groups = new Map<string, { key: GroupKey; rows: FeatureScoreRow[]; failed: number }>();
  const groupOf = (key: GroupKey) => {
    // joined with NUL (in no name) rather than JSON.stringify: this runs once per feature
    const id = [key.model, key.layer, key.kind, key.sae, key.mode ?? '\u0001', key.recordsPerCall ?? '\u0001'].join(
      '\u0000',
    );
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { key, rows: [], failed: 0 }));
    return group;
  };
  // Rows with a mode define the groups; unsimulated features (null scores, failures) join their layer's group.
  const sameFeatureGroup = (model: string, layer: string, kind: string, sae: string) =>
    [...groups.values()].find(
      (g) => g.key.model === model && g.key.layer === layer && g.key.kind === kind && g.key.sae === sae,
    ) ?? groupOf({ model, layer, kind, sae, mode: null, recordsPerCall: null });
  for (const row of scores) {
    if (row.simulationMode !== null) {
      groupOf({
        model: row.model,
        layer: row.layer,
        kind: row.kind,
        sae: row.sae,
        mode: row.simulationMode,
        recordsPerCall: row.recordsPerCall,
      }).rows.push(row);
    }
  }
  for (const row of scores)
    if (row.simulationMode === null) sameFeatureGroup(row.model, row.layer, row.kind, row.sae).rows.push(row);
  for (const failure of failures)
    sameFeatureGroup(failure.model, failure.layer, failure.kind, failure.sae).failed += failure.n;

  const listed = new Map<FeatureScoreRef, number>(); // each listed feature's id, for its explanation
  let rows: LeaderboardRow[] = [...groups.values()].map(({ key, rows: members, failed }) => {
    const defined = members.filter((m): m is FeatureScoreRow & { value: number } => m.value !== null);
    const values = defined.map((m) => m.value);
    const nullReasons: Record<string, number> = {};
    for (const m of members)
      if (m.value === null) nullReasons[m.reason ?? 'unknown'] = (nullReasons[m.reason ?? 'unknown'] ?? 0) + 1;
    const { highest, lowest } = extremes(defined, Math.max(1, topCount));
    const ref = (m: (typeof defined)[number]): FeatureScoreRef => {
      const reference: FeatureScoreRef = {
        model: m.model,
        index: m.index,
        featureKey: storedFeatureKey(m),
        value: m.value,
        explanation: null,
      };
      listed.set(reference, m.featureId);
      return reference;
    };
    const fraction = (threshold: number) =>
      values.length ? values.filter((v) => v >= threshold).length / values.length : null;
    return {
      model: key.model,
      layer: key.layer,
      featureKind: key.kind,
      sae: key.sae,
      simulationMode: key.mode,
      recordsPerCall: key.recordsPerCall,
      features: members.length + failed,
      scored: values.length,
      undefinedScores: members.length - values.length,
      nullReasons,
      failed,
      mean: stableMean(values),
      median: values.length ? median(values) : null,
      ci: meanInterval(values, options.seed === undefined ? {} : { seed: options.seed }),
      fractionAtLeast05: fraction(0.5),
      fractionAtLeast08: fraction(0.8),
      best: highest.length ? ref(highest[0]!) : null,
      worst: lowest.length ? ref(lowest[0]!) : null,
      top: highest.slice(0, topCount).map(ref),
      bottom: topCount > 0 ? lowest.slice(0, topCount).map(ref) : [],
    };
  });
  const explanations = scoreExplanationsOfFeatures(db, run.id, scoreKind, [...new Set(listed.values())]);
  for (const [reference, featureId] of listed) reference.explanation = explanations.get(featureId) ?? null;
  // Other measures of the same features: a group's value is over the features of its rows (whatever mode, if
  // any, those other rows were stored with), so judged scores line up with the simulation's rows.
  const groupList = [...groups.values()];
  const valuesOfKind = (kind: string) => scoreValuesOfRun(db, run.id, kind);
  const valuesOfGroup = (byFeature: Map<number, number>, group: { rows: readonly FeatureScoreRow[] }) =>
    group.rows.flatMap((member) => {
      const value = byFeature.get(member.featureId);
      return value === undefined ? [] : [value];
    });
  if (scoreKind !== ablationKind) {
    const ablation = valuesOfKind(ablationKind);
    if (ablation.size > 0) {
      groupList.forEach((group, i) => {
        const values = valuesOfGroup(ablation, group);
        rows[i]!.ablationMedian = values.length ? median(values) : null;
      });
    }
  }
  const columnKinds = scorerColumnKinds(scoreKindsOfRun(db, run.id), scoreKind);
  if (columnKinds.length > 0) {
    const byKind = columnKinds.map((kind) => [kind, valuesOfKind(kind)] as const);
    groupList.forEach((group, i) => {
      rows[i]!.scorerMeans = Object.fromEntries(
        byKind.map(([kind, byFeature]) => {
          const values = valuesOfGroup(byFeature, group);
          return [kind, stableMean(values)];
        }),
      );
    });
  }
  if (filters.simulationMode !== undefined) rows = rows.filter((row) => row.simulationMode === filters.simulationMode);
  rows.sort(
    (a, b) =>
      a.model.localeCompare(b.model) ||
      compareLayers(a.layer, b.layer) ||
      a.featureKind.localeCompare(b.featureKind) ||
      a.sae.localeCompare(b.sae) ||
      (a.simulationMode ?? '').localeCompare(b.simulationMode ?? '') ||
      (a.recordsPerCall ?? 0) - (b.recordsPerCall ?? 0),
  );
  return { run, scoreKind, isBaseline: run.is_baseline === 1, filters, rows };
}

/** Best first: higher value, then lower index. */
const byRank = (a: { value: number; index: number }, b: { value: number; index: number }) =>
  b.value - a.value || a.index - b.index;

/**
 * The `count` best features, best first, and the `count` worst, worst first: what sorting every feature and slicing
 * both ends gives, but sorting only the features at or beyond the count-th value from either end (the values alone
 * sorted as numbers), so a row of 250,000 features does not sort 250,000 objects with a comparator.
 */
function extremes<T extends { value: number; index: number }>(
  defined: readonly T[],
  count: number,
): { highest: T[]; lowest: T[] } {
  if (2 * count >= defined.length) {
    const sorted = [...defined].sort(byRank);
    return { highest: sorted.slice(0, count), lowest: sorted.slice(-count).reverse() };
  }
  const values = Float64Array.from(defined, (member) => member.value).sort();
  const high = values[values.length - count]!;
  const low = values[count - 1]!;
  return {
    highest: defined
      .filter((member) => member.value >= high)
      .sort(byRank)
      .slice(0, count),
    lowest: defined
      .filter((member) => member.value <= low)
      .sort(byRank)
      .slice(-count)
      .reverse(),
  };
}
