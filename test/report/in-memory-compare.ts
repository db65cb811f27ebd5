/**
 * Test helper: compare as it was before it streamed (issue 19), every paired row held in memory; kept only to check
 * that the streamed compareRuns gives the same comparison, number for number and key for key.
 */
import {
  type Comparison,
  comparisonWarnings,
  ComparisonError,
  type ComparedRun,
  type CompareOptions,
  type LayerComparison,
  type PairedFeature,
  type SideStatus,
  type UnpairedCount,
} from '../../src/report/compare.ts';
import { normalApproximationMinimum, pairedBootstrapDifference } from '../../src/report/bootstrap.ts';
import type { SqliteDatabase } from '../../src/store/database.ts';
import {
  compareLayers,
  featureScoresOfRun,
  featureStatusesOfRun,
  runIdentity,
  scoreExplanationsOfFeatures,
  scoreKindsOfRun,
  simulationModesOfRun,
  storedFeature,
  storedFeatureKey,
  type FeatureScoreRow,
} from '../../src/store/queries.ts';
import type { RunRow } from '../../src/store/result-store.ts';
import { runCostPerFeature } from '../../src/store/run-cost-queries.ts';

function summarize(db: SqliteDatabase, run: RunRow): ComparedRun {
  return {
    ...runIdentity(run),
    simulationModes: simulationModesOfRun(db, run.id),
    costPerFeature: runCostPerFeature(db, run.id),
  };
}

interface Side {
  scores: Map<number, FeatureScoreRow>;
  statuses: Map<number, { status: string; reason: string | null }>;
}

function loadSide(db: SqliteDatabase, run: RunRow, scoreKind: string): Side {
  return {
    // no explanation text: only the most moved features show theirs (read for them alone, `withExplanations`)
    scores: new Map(
      featureScoresOfRun(db, run.id, scoreKind, { explanations: false }).map((row) => [row.featureId, row]),
    ),
    statuses: new Map(
      featureStatusesOfRun(db, run.id).map((row) => [row.featureId, { status: row.status, reason: row.reason }]),
    ),
  };
}

function statusOf(side: Side, featureId: number): { status: SideStatus; reason: string | null } {
  const score = side.scores.get(featureId);
  if (score)
    return score.value === null
      ? { status: 'null', reason: score.reason ?? 'unknown' }
      : { status: 'scored', reason: null };
  const unit = side.statuses.get(featureId);
  if (!unit) return { status: 'absent', reason: null };
  if (unit.status === 'failed') return { status: 'failed', reason: unit.reason ?? 'unknown' };
  if (unit.status === 'skipped') return { status: 'skipped', reason: unit.reason ?? 'unknown' };
  return { status: 'null', reason: 'scored, but no score of this kind stored' };
}

export function inMemoryCompareRuns(
  db: SqliteDatabase,
  baselineRun: RunRow,
  candidateRun: RunRow,
  options: CompareOptions = {},
): Comparison {
  const scoreKind = options.scoreKind ?? 'correlation.all';
  const bootstrap = {
    resamples: options.resamples ?? 5000,
    level: options.level ?? 0.95,
    seed: options.seed ?? 12345,
    normalFrom: normalApproximationMinimum,
  };
  const top = options.top ?? 10;
  for (const run of [baselineRun, candidateRun]) {
    const kinds = scoreKindsOfRun(db, run.id);
    if (kinds.length > 0 && !kinds.includes(scoreKind)) {
      throw new ComparisonError(`run ${run.id} has no "${scoreKind}" scores (it has: ${kinds.join(', ')})`);
    }
  }
  const baseline = loadSide(db, baselineRun, scoreKind);
  const candidate = loadSide(db, candidateRun, scoreKind);
  const featureIds = [
    ...new Set([
      ...baseline.scores.keys(),
      ...baseline.statuses.keys(),
      ...candidate.scores.keys(),
      ...candidate.statuses.keys(),
    ]),
  ].sort((a, b) => a - b);

  const pairs: (PairedFeature & { featureId: number })[] = [];
  const unpaired = new Map<string, UnpairedCount>();
  const identity = (featureId: number) => {
    const row = baseline.scores.get(featureId) ?? candidate.scores.get(featureId);
    if (row) return row;
    return storedFeature(db, featureId)!;
  };
  for (const featureId of featureIds) {
    const left = statusOf(baseline, featureId);
    const right = statusOf(candidate, featureId);
    if (left.status === 'scored' && right.status === 'scored') {
      const a = baseline.scores.get(featureId)!;
      const b = candidate.scores.get(featureId)!;
      pairs.push({
        featureId,
        featureKey: storedFeatureKey(a),
        model: a.model,
        layer: a.layer,
        featureKind: a.kind,
        sae: a.sae,
        index: a.index,
        baseline: a.value!,
        candidate: b.value!,
        difference: b.value! - a.value!,
        baselineExplanation: a.explanation,
        candidateExplanation: b.explanation,
      });
      continue;
    }
    const key = `${left.status}|${right.status}`;
    let entry = unpaired.get(key);
    if (!entry)
      unpaired.set(
        key,
        (entry = { baseline: left.status, candidate: right.status, count: 0, reasons: {}, examples: [] }),
      );
    entry.count++;
    for (const [label, side] of [
      ['baseline', left],
      ['candidate', right],
    ] as const) {
      if (side.reason !== null)
        entry.reasons[`${label}: ${side.reason}`] = (entry.reasons[`${label}: ${side.reason}`] ?? 0) + 1;
    }
    if (entry.examples.length < 5) entry.examples.push(storedFeatureKey(identity(featureId)));
  }
  if (pairs.length === 0) {
    throw new ComparisonError(
      `runs ${baselineRun.id} and ${candidateRun.id} share no feature with a defined "${scoreKind}" score (${featureIds.length} features in either run)`,
    );
  }

  const layerGroups = new Map<string, PairedFeature[]>();
  for (const pair of pairs) {
    const key = JSON.stringify([pair.model, pair.layer, pair.featureKind, pair.sae]);
    let list = layerGroups.get(key);
    if (!list) layerGroups.set(key, (list = []));
    list.push(pair);
  }
  const difference = (list: readonly PairedFeature[]) =>
    pairedBootstrapDifference(
      list.map((p) => p.baseline),
      list.map((p) => p.candidate),
      bootstrap,
    );
  const layers: LayerComparison[] = [...layerGroups.values()]
    .map((list) => ({
      model: list[0]!.model,
      layer: list[0]!.layer,
      featureKind: list[0]!.featureKind,
      sae: list[0]!.sae,
      ...difference(list),
    }))
    .sort(
      (a, b) =>
        a.model.localeCompare(b.model) ||
        compareLayers(a.layer, b.layer) ||
        a.featureKind.localeCompare(b.featureKind) ||
        a.sae.localeCompare(b.sae),
    );

  const byDifference = [...pairs].sort(
    (a, b) => a.difference - b.difference || a.featureKey.localeCompare(b.featureKey),
  );
  return {
    scoreKind,
    baseline: summarize(db, baselineRun),
    candidate: summarize(db, candidateRun),
    features: featureIds.length,
    paired: pairs.length,
    unpaired: [...unpaired.values()].sort((a, b) => b.count - a.count),
    overall: difference(pairs),
    layers,
    mostImproved: withExplanations(
      db,
      [baselineRun.id, candidateRun.id],
      scoreKind,
      byDifference
        .filter((p) => p.difference > 0)
        .reverse()
        .slice(0, top),
    ),
    mostWorsened: withExplanations(
      db,
      [baselineRun.id, candidateRun.id],
      scoreKind,
      byDifference.filter((p) => p.difference < 0).slice(0, top),
    ),
    warnings: comparisonWarnings(db, baselineRun, candidateRun, scoreKind),
    bootstrap,
  };
}

/** The listed features with the explanations their scores were made from in each run (read for them alone). */
function withExplanations(
  db: SqliteDatabase,
  [baselineRunId, candidateRunId]: readonly [number, number],
  scoreKind: string,
  listed: readonly (PairedFeature & { featureId: number })[],
): PairedFeature[] {
  const ids = listed.map((pair) => pair.featureId);
  const baseline = scoreExplanationsOfFeatures(db, baselineRunId, scoreKind, ids);
  const candidate = scoreExplanationsOfFeatures(db, candidateRunId, scoreKind, ids);
  return listed.map(({ featureId, ...pair }) => ({
    ...pair,
    baselineExplanation: baseline.get(featureId) ?? null,
    candidateExplanation: candidate.get(featureId) ?? null,
  }));
}
