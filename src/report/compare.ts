/**
 * @module report/compare — two runs paired on the features both scored (same model, layer, kind, index and SAE)
 * for one score kind: the mean difference candidate − baseline with a seeded paired-bootstrap CI (normal approximation
 * from `normalApproximationMinimum` pairs on), overall and per
 * layer, the features that moved most, every feature that could not be paired (null score, failed, absent) counted
 * by cause, and warnings when the two runs did not measure the same way (simulator, simulation mode, simulation
 * prompt, score records; for a judged scorer's kind its judge and its prompt instead of the simulation's).
 */
import type { SqliteDatabase } from '../store/database.ts';
import {
  compareLayers,
  featureScoresOfRun,
  featureStatusesOfRun,
  scoreExplanationsOfFeatures,
  judgesOfRun,
  runConfig,
  runPromptVersions,
  scoreKindsOfRun,
  scorePromptVersionsOfRun,
  simulationModesOfRun,
  simulatorsOfRun,
  storedFeature,
  storedFeatureKey,
  type FeatureScoreRow,
  runIdentity,
  type RunIdentity,
} from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { type RunCostPerFeature, runCostPerFeature } from '../store/run-cost-queries.ts';
import { normalApproximationMinimum, pairedBootstrapDifference, type PairedDifference } from './bootstrap.ts';
import { InputError } from '../common/errors.ts';
import { scoreFamily } from './score-families.ts';

export interface CompareOptions {
  /** Default correlation.all. */
  scoreKind?: string;
  /** Bootstrap resamples (default 5000), CI level (default 0.95) and seed (default 12345). */
  resamples?: number;
  level?: number;
  seed?: number;
  /** How many most-improved and most-worsened features to list (default 10). */
  top?: number;
}

export interface ComparedRun extends RunIdentity {
  simulationModes: string[];
  /** What the run paid per finished feature (calls, prompt tokens, USD): the price of its score. */
  costPerFeature: RunCostPerFeature;
}

export interface PairedFeature {
  featureKey: string;
  model: string;
  layer: string;
  featureKind: string;
  sae: string;
  index: number;
  baseline: number;
  candidate: number;
  /** candidate − baseline */
  difference: number;
  baselineExplanation: string | null;
  candidateExplanation: string | null;
}

/** What a feature is in one run: a defined score, a null score, a failed or skipped unit, or not there at all. */
export type SideStatus = 'scored' | 'null' | 'failed' | 'skipped' | 'absent';

/** Features that could not be paired, counted by (baseline status, candidate status), with null-score reasons. */
export interface UnpairedCount {
  baseline: SideStatus;
  candidate: SideStatus;
  count: number;
  /** Reasons of null scores / failures on either side, counted. */
  reasons: Record<string, number>;
  /** Up to 5 feature keys, for a look. */
  examples: string[];
}

export interface LayerComparison extends PairedDifference {
  model: string;
  layer: string;
  featureKind: string;
  sae: string;
}

export interface CompareWarning {
  /** simulator | simulation-mode | simulate-prompt | judge | scorer-prompt | score-records | source | run-status */
  code: string;
  message: string;
  /** Whether it changes what the score measures (then `--strict` refuses the comparison). */
  instrument: boolean;
}

export interface Comparison {
  scoreKind: string;
  baseline: ComparedRun;
  candidate: ComparedRun;
  /** Features in either run (by feature identity). */
  features: number;
  paired: number;
  unpaired: UnpairedCount[];
  overall: PairedDifference;
  layers: LayerComparison[];
  mostImproved: PairedFeature[];
  mostWorsened: PairedFeature[];
  warnings: CompareWarning[];
  /** The interval's settings: bootstrap below `normalFrom` pairs, normal approximation from there on (`ci.method`). */
  bootstrap: { resamples: number; level: number; seed: number; normalFrom: number };
}

/** A comparison that cannot be made (unknown score kind, nothing paired): a data error, exit code 2. */
export class ComparisonError extends InputError {
  override readonly name = 'ComparisonError';
}

function summarize(db: SqliteDatabase, run: RunRow): ComparedRun {
  return {
    ...runIdentity(run),
    simulationModes: simulationModesOfRun(db, run.id),
    costPerFeature: runCostPerFeature(db, run.id),
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Ways in which the two runs measured differently. */
export function comparisonWarnings(
  db: SqliteDatabase,
  baseline: RunRow,
  candidate: RunRow,
  scoreKind: string,
): CompareWarning[] {
  const warnings: CompareWarning[] = [];
  const scorerPrompts = [
    scorePromptVersionsOfRun(db, baseline.id, scoreKind),
    scorePromptVersionsOfRun(db, candidate.id, scoreKind),
  ] as const;
  if (scorerPrompts[0].length > 0 || scorerPrompts[1].length > 0) {
    // a scorer with its own prompt and judge (detection, fuzzing, intervention): those are its instrument
    warnings.push(...judgedScorerWarnings(db, baseline, candidate, scoreKind, scorerPrompts));
  } else {
    const simulators = [
      [...new Set([baseline.simulator, ...simulatorsOfRun(db, baseline.id)])].sort(),
      [...new Set([candidate.simulator, ...simulatorsOfRun(db, candidate.id)])].sort(),
    ] as const;
    if (!sameSet(simulators[0], simulators[1])) {
      warnings.push({
        code: 'simulator',
        instrument: true,
        message: `different simulators (baseline ${simulators[0].join(', ')}; candidate ${simulators[1].join(', ')}): score differences mix explanation quality with simulator quality`,
      });
    }
    const modes = [simulationModesOfRun(db, baseline.id), simulationModesOfRun(db, candidate.id)] as const;
    if (!sameSet(modes[0], modes[1])) {
      warnings.push({
        code: 'simulation-mode',
        instrument: true,
        message: `different simulation modes (baseline ${modes[0].join(', ') || 'none'}; candidate ${modes[1].join(', ') || 'none'}): expected values are read differently`,
      });
    }
    const prompts = [runPromptVersions(baseline).simulate, runPromptVersions(candidate).simulate];
    if (prompts[0] !== prompts[1]) {
      warnings.push({
        code: 'simulate-prompt',
        instrument: true,
        message: `different simulation prompts (baseline ${prompts[0]}; candidate ${prompts[1]})`,
      });
    }
  }
  const configs = [runConfig(baseline), runConfig(candidate)] as const;
  const recordKeys = [
    'scoreTop',
    'scoreRandom',
    ...(/^(rsquared|absdev)\./.test(scoreKind) ? ['calibrationTop', 'calibrationRandom'] : []),
  ];
  const differing = recordKeys.filter((key) => JSON.stringify(configs[0][key]) !== JSON.stringify(configs[1][key]));
  if (differing.length > 0) {
    warnings.push({
      code: 'score-records',
      instrument: true,
      message: `different score-record settings (${differing.map((key) => `${key} ${JSON.stringify(configs[0][key])} vs ${JSON.stringify(configs[1][key])}`).join(', ')})`,
    });
  }
  if (baseline.source !== candidate.source) {
    warnings.push({
      code: 'source',
      instrument: true,
      message: `different record sources (baseline ${baseline.source}; candidate ${candidate.source}): the held-out records may differ`,
    });
  }
  for (const [label, run] of [
    ['baseline', baseline],
    ['candidate', candidate],
  ] as const) {
    if (run.status !== 'finished') {
      warnings.push({
        code: 'run-status',
        instrument: false,
        message: `${label} run ${run.id} is ${run.status}: only the features it finished are compared`,
      });
    }
  }
  if (baseline.id === candidate.id)
    warnings.push({
      code: 'same-run',
      instrument: false,
      message: `baseline and candidate are the same run (${baseline.id})`,
    });
  return warnings;
}

/** How two runs' judged scores of one kind were measured differently: another judge, another scorer prompt. */
function judgedScorerWarnings(
  db: SqliteDatabase,
  baseline: RunRow,
  candidate: RunRow,
  scoreKind: string,
  scorerPrompts: readonly [string[], string[]],
): CompareWarning[] {
  const warnings: CompareWarning[] = [];
  const family = scoreFamily(scoreKind);
  const judges = [judgesOfRun(db, baseline.id, family), judgesOfRun(db, candidate.id, family)] as const;
  if (!sameSet(judges[0], judges[1])) {
    warnings.push({
      code: 'judge',
      instrument: true,
      message: `different ${family} judges (baseline ${judges[0].join(', ') || 'none'}; candidate ${judges[1].join(', ') || 'none'}): score differences mix explanation quality with judge quality`,
    });
  }
  if (!sameSet(scorerPrompts[0], scorerPrompts[1])) {
    warnings.push({
      code: 'scorer-prompt',
      instrument: true,
      message: `different ${family} prompts (baseline ${scorerPrompts[0].join(', ') || 'none'}; candidate ${scorerPrompts[1].join(', ') || 'none'})`,
    });
  }
  return warnings;
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

export function compareRuns(
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
