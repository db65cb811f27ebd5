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
  runIdentity,
  type RunIdentity,
} from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import {
  definedScoresInValueOrder,
  featureIndexLookup,
  nullScoresOfRun,
  unitsWithoutScoreOfKind,
} from '../store/score-streams.ts';
import { type RunCostPerFeature, runCostPerFeature } from '../store/run-cost-queries.ts';
import { normalApproximationMinimum, pairedBootstrapDifference, type PairedDifference } from './bootstrap.ts';
import { InputError } from '../common/errors.ts';
import { featureGroupIndex, type GrowableArray, growableFloat64 } from './feature-groups.ts';
import type { FeatureSlots } from './feature-slots.ts';
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

/**
 * Ways in which the two runs measured differently. `simulationModes`: each run's simulationModesOfRun where the
 * caller has read them already (a read of every score of the run).
 */
export function comparisonWarnings(
  db: SqliteDatabase,
  baseline: RunRow,
  candidate: RunRow,
  scoreKind: string,
  simulationModes?: readonly [string[], string[]],
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
    const modes = simulationModes ?? [simulationModesOfRun(db, baseline.id), simulationModesOfRun(db, candidate.id)];
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

/** What a feature is in one run, as stored in a side's status array. */
const SIDE_STATUSES: readonly SideStatus[] = ['absent', 'scored', 'null', 'failed', 'skipped'];
const SCORED = SIDE_STATUSES.indexOf('scored');

/**
 * One run's scores of the kind in typed arrays indexed by feature id: the value, the side status (an index into
 * SIDE_STATUSES) and the reason of a null score or unfinished unit (an index into the shared reason list, -1 none).
 * 13 bytes per feature id, whatever the text of the rows.
 */
interface Side {
  values: Float64Array;
  statuses: Uint8Array;
  reasons: Int32Array;
}

/** Reason texts, each stored once, by their index. */
class ReasonList {
  readonly texts: string[] = [];
  private readonly indexes = new Map<string, number>();

  indexOf(text: string): number {
    let index = this.indexes.get(text);
    if (index === undefined) this.indexes.set(text, (index = this.texts.push(text) - 1));
    return index;
  }
}

/** One run's side, in arrays indexed by feature slot (report/feature-slots.ts). */
function loadSide(db: SqliteDatabase, run: RunRow, scoreKind: string, slots: FeatureSlots, reasons: ReasonList): Side {
  const side: Side = {
    values: new Float64Array(slots.size),
    statuses: new Uint8Array(slots.size),
    reasons: new Int32Array(slots.size).fill(-1),
  };
  for (const [value, featureId] of definedScoresInValueOrder(db, run.id, scoreKind)) {
    const slot = slots.slotOf(featureId);
    side.values[slot] = value;
    side.statuses[slot] = SCORED;
  }
  for (const [featureId, reason] of nullScoresOfRun(db, run.id, scoreKind)) {
    const slot = slots.slotOf(featureId);
    side.statuses[slot] = SIDE_STATUSES.indexOf('null');
    side.reasons[slot] = reasons.indexOf(reason ?? 'unknown');
  }
  // units of work with no score of this kind: failed, skipped, or scored without this kind
  for (const [featureId, status, reason] of unitsWithoutScoreOfKind(db, run.id, scoreKind)) {
    const slot = slots.slotOf(featureId);
    const failedOrSkipped = status === 'failed' || status === 'skipped';
    side.statuses[slot] = SIDE_STATUSES.indexOf(failedOrSkipped ? status : 'null');
    side.reasons[slot] = reasons.indexOf(
      failedOrSkipped ? (reason ?? 'unknown') : 'scored, but no score of this kind stored',
    );
  }
  return side;
}

/** A most-moved feature while the comparison streams: its key is read only when it could be listed. */
interface MovedCandidate {
  featureId: number;
  group: number;
  baseline: number;
  candidate: number;
  difference: number;
  featureKey?: string;
}

/**
 * The `limit` first features by `order` (difference first, then feature key) among those offered, kept in a sorted
 * list of at most `limit`: a feature's key is read only when its difference ties with the last one kept or beats it.
 */
class MostMoved {
  readonly kept: MovedCandidate[] = [];

  constructor(
    private readonly limit: number,
    /** −1 for the most worsened (ascending difference, then key), +1 for the most improved (both descending). */
    private readonly direction: -1 | 1,
    private readonly keyOf: (candidate: MovedCandidate) => string,
  ) {}

  private compare(a: MovedCandidate, b: MovedCandidate): number {
    // a comparison, not a subtraction: two infinite differences of one sign tie (their subtraction is NaN)
    const byDifference = this.direction * (b.difference < a.difference ? -1 : b.difference > a.difference ? 1 : 0);
    if (byDifference !== 0) return byDifference;
    a.featureKey ??= this.keyOf(a);
    b.featureKey ??= this.keyOf(b);
    return -this.direction * a.featureKey.localeCompare(b.featureKey);
  }

  offer(candidate: MovedCandidate): void {
    if (this.limit === 0) return;
    if (this.kept.length === this.limit && this.compare(candidate, this.kept.at(-1)!) >= 0) return;
    let at = this.kept.length;
    while (at > 0 && this.compare(candidate, this.kept[at - 1]!) < 0) at--;
    this.kept.splice(at, 0, candidate);
    if (this.kept.length > this.limit) this.kept.pop();
  }
}

/** The paired values of one layer (or of all), in feature id order. */
interface PairedValues {
  baseline: GrowableArray<Float64Array>;
  candidate: GrowableArray<Float64Array>;
}

const pairedValues = (): PairedValues => ({ baseline: growableFloat64(), candidate: growableFloat64() });

/**
 * The comparison of two runs on one score kind. Each run's scores are read as (value, feature id) from the index into
 * arrays indexed by feature slot (13 bytes a feature per run; report/feature-slots.ts), then walked in feature id order: a paired feature adds
 * its two values to its layer's arrays and is offered to the bounded most-moved lists; an unpaired one is counted.
 * Memory is these arrays (with the paired values' and the statistics' copies, under 100 bytes a feature), never a row
 * per feature.
 */
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
  const { groups, slots, groupOf } = featureGroupIndex(db);
  const reasons = new ReasonList();
  const baseline = loadSide(db, baselineRun, scoreKind, slots, reasons);
  const candidate = loadSide(db, candidateRun, scoreKind, slots, reasons);

  const indexOf = featureIndexLookup(db);
  const keyOf = (moved: MovedCandidate) =>
    storedFeatureKey({ ...groups[moved.group]!, index: indexOf(moved.featureId)! });
  const mostWorsened = new MostMoved(top, -1, keyOf);
  const mostImproved = new MostMoved(top, 1, keyOf);
  const all = pairedValues();
  const byGroup = new Map<number, PairedValues>();
  const unpaired = new Map<string, UnpairedCount>();
  let features = 0;
  for (let slot = 0; slot < slots.size; slot++) {
    const left = baseline.statuses[slot]!;
    const right = candidate.statuses[slot]!;
    if (left === 0 && right === 0) continue;
    features++;
    const featureId = slots.featureIdOf(slot);
    if (left === SCORED && right === SCORED) {
      const group = groupOf[slot]!;
      const a = baseline.values[slot]!;
      const b = candidate.values[slot]!;
      let layer = byGroup.get(group);
      if (!layer) byGroup.set(group, (layer = pairedValues()));
      for (const values of [layer, all]) {
        values.baseline.push(a);
        values.candidate.push(b);
      }
      const difference = b - a;
      const moved = { featureId, group, baseline: a, candidate: b, difference };
      if (difference < 0) mostWorsened.offer(moved);
      else if (difference > 0) mostImproved.offer(moved);
      continue;
    }
    const statuses = [SIDE_STATUSES[left]!, SIDE_STATUSES[right]!] as const;
    const key = `${statuses[0]}|${statuses[1]}`;
    let entry = unpaired.get(key);
    if (!entry)
      unpaired.set(
        key,
        (entry = { baseline: statuses[0], candidate: statuses[1], count: 0, reasons: {}, examples: [] }),
      );
    entry.count++;
    for (const [label, side] of [
      ['baseline', baseline],
      ['candidate', candidate],
    ] as const) {
      const reason = side.reasons[slot]!;
      if (reason >= 0) {
        const text = `${label}: ${reasons.texts[reason]}`;
        entry.reasons[text] = (entry.reasons[text] ?? 0) + 1;
      }
    }
    if (entry.examples.length < 5) entry.examples.push(storedFeatureKey(storedFeature(db, featureId)!));
  }
  if (all.baseline.length === 0) {
    throw new ComparisonError(
      `runs ${baselineRun.id} and ${candidateRun.id} share no feature with a defined "${scoreKind}" score (${features} features in either run)`,
    );
  }

  const difference = (values: PairedValues) =>
    pairedBootstrapDifference(values.baseline.view(), values.candidate.view(), bootstrap);
  const layers: LayerComparison[] = [...byGroup]
    .map(([group, values]) => ({
      model: groups[group]!.model,
      layer: groups[group]!.layer,
      featureKind: groups[group]!.kind,
      sae: groups[group]!.sae,
      ...difference(values),
    }))
    .sort(
      (a, b) =>
        a.model.localeCompare(b.model) ||
        compareLayers(a.layer, b.layer) ||
        a.featureKind.localeCompare(b.featureKind) ||
        a.sae.localeCompare(b.sae),
    );
  const listed = (moved: MostMoved) =>
    withExplanations(
      db,
      [baselineRun.id, candidateRun.id],
      scoreKind,
      moved.kept.map((feature) => {
        const group = groups[feature.group]!;
        return {
          featureId: feature.featureId,
          featureKey: feature.featureKey ?? keyOf(feature),
          model: group.model,
          layer: group.layer,
          featureKind: group.kind,
          sae: group.sae,
          index: indexOf(feature.featureId)!,
          baseline: feature.baseline,
          candidate: feature.candidate,
          difference: feature.difference,
          baselineExplanation: null,
          candidateExplanation: null,
        };
      }),
    );
  const summaries = [summarize(db, baselineRun), summarize(db, candidateRun)] as const;
  return {
    scoreKind,
    baseline: summaries[0],
    candidate: summaries[1],
    features,
    paired: all.baseline.length,
    unpaired: [...unpaired.values()].sort((a, b) => b.count - a.count),
    overall: difference(all),
    layers,
    mostImproved: listed(mostImproved),
    mostWorsened: listed(mostWorsened),
    warnings: comparisonWarnings(db, baselineRun, candidateRun, scoreKind, [
      summaries[0].simulationModes,
      summaries[1].simulationModes,
    ]),
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
