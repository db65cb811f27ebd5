/**
 * @module report/leaderboard — per layer (hook point), feature kind and SAE: how many features were scored, how
 * many failed or had no defined score, mean / median score with a 95 % CI (bootstrap; normal approximation from
 * `normalApproximationMinimum` scores on, `ci.method`), fractions above 0.5 and 0.8,
 * the top and bottom features with their explanations; beside them the median ablation score and the mean of each
 * other scorer family's headline kind (detection, fuzzing, intervention) over the row's features. Rows never mix
 * models, simulation modes or simulation protocols (records per call): all are part of the grouping key.
 */
import { medianSorted } from 'simple-statistics';
import type { SqliteDatabase } from '../store/database.ts';
import {
  compareLayers,
  failedFeatureCountsOfRun,
  scoreExplanationsOfFeatures,
  scoreKindsOfRun,
  simulationProtocolLabel,
  storedFeatureKey,
} from '../store/queries.ts';
import {
  definedScoresInValueOrder,
  featureIdsOfProtocol,
  featureIndexesOf,
  nullScoresOfRun,
  type ScoreProtocol,
  scoreProtocolsOfRun,
} from '../store/score-streams.ts';
import type { RunRow } from '../store/result-store.ts';
import { lowerBound, upperBound } from '../common/sorted-search.ts';
import { type ConfidenceInterval, meanInterval } from './bootstrap.ts';
import {
  type FeatureGroup,
  featureGroupIndex,
  type GrowableArray,
  growableFloat64,
  growableInt32,
} from './feature-groups.ts';
import type { FeatureSlots } from './feature-slots.ts';
import { scorerColumnKinds } from './score-families.ts';
import { stableMean } from './stable-mean.ts';

export interface FeatureScoreRef {
  model: string;
  index: number;
  /** `model/layer/kind/index[@sae]`. */
  featureKey: string;
  value: number;
  explanation: string | null;
}

export interface LeaderboardRow {
  model: string;
  layer: string;
  featureKind: string;
  /** SAE name ('' for neurons or unnamed SAEs): features of different SAEs at one hook point are separate rows. */
  sae: string;
  simulationMode: string | null;
  /** The simulation protocol: records per call (null: all of a feature's records in one call). */
  recordsPerCall: number | null;
  /** Features of this group in the run (scored, undefined score, or failed). */
  features: number;
  /** Features with a defined score. */
  scored: number;
  /** Features whose score is null (e.g. never activates), reasons counted in `nullReasons`. */
  undefinedScores: number;
  nullReasons: Record<string, number>;
  /** Features whose unit of work failed (run_features status 'failed'), with no score. */
  failed: number;
  mean: number | null;
  median: number | null;
  ci: ConfidenceInterval | null;
  fractionAtLeast05: number | null;
  fractionAtLeast08: number | null;
  best: FeatureScoreRef | null;
  worst: FeatureScoreRef | null;
  /** The `top` best features, best first. */
  top: FeatureScoreRef[];
  /** The `top` worst features, worst first. */
  bottom: FeatureScoreRef[];
  /**
   * Median `ablation.all` of the group's features that have one (null when none do); absent when the run has no
   * ablation scores or the board ranks by ablation itself. The median, because the score is unbounded below: a
   * simulation that fires where the feature does not can move the model more than the mean does.
   */
  ablationMedian?: number | null;
  /**
   * Per scorer family the run stored besides the board's own (detection, fuzzing, intervention, correlation when
   * ranking by another; report/score-families.ts): the mean of its headline kind over the group's features that have
   * one, null when none do, keyed by that kind in column order. Absent when the run has no such family.
   */
  scorerMeans?: Record<string, number | null>;
}

/** Row filters; every field is optional and exact. */
export interface LeaderboardFilters {
  model?: string;
  layer?: string;
  /** neuron | sae */
  featureKind?: string;
  /** Only rows simulated in this mode (unsimulated features, having no mode, then drop out). */
  simulationMode?: string;
}

export interface LeaderboardOptions {
  filters?: LeaderboardFilters;
  /** How many best and worst features each row lists (default 3). */
  top?: number;
  /** Bootstrap seed (default 12345): the same scores always print the same interval. */
  seed?: number;
}

export interface Leaderboard {
  run: RunRow;
  scoreKind: string;
  isBaseline: boolean;
  filters: LeaderboardFilters;
  rows: LeaderboardRow[];
}

const ablationKind = 'ablation.all';

/** How a row's simulations were made, as the mode column shows it (the mode, and records per call unless all). */
export { simulationProtocolLabel };

/** The scores of one feature group made with one protocol, as streamed: values ascending, their feature slots beside. */
interface ProtocolGroup {
  group: number;
  protocol: number;
  values: GrowableArray<Float64Array>;
  /** The slot of each value's feature (report/feature-slots.ts; slots are in feature id order). */
  featureSlots: GrowableArray<Int32Array>;
  /** Null scores, counted by reason in the order of each reason's first feature id. */
  nullReasons: Map<string, { count: number; firstFeatureId: number }>;
  nullCount: number;
  /** The smallest feature id with a score here: the order rows were first met in feature id order. */
  firstFeatureId: number;
}

/** A leaderboard row in the making: the protocol groups it takes its scores from, and its failed features. */
interface RowGroup {
  group: FeatureGroup;
  protocol: ScoreProtocol;
  parts: ProtocolGroup[];
  failed: number;
}

/**
 * Per feature slot, the index of its protocol in `protocols` (null when the run used one protocol for every score of
 * the kind, the usual case: then no per-feature read is needed).
 */
function protocolIndex(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
  protocols: readonly ScoreProtocol[],
  slots: FeatureSlots,
): Uint16Array | null {
  if (protocols.length <= 1) return null;
  const index = new Uint16Array(slots.size);
  protocols.forEach((protocol, p) => {
    for (const featureId of featureIdsOfProtocol(db, runId, scoreKind, protocol)) {
      const slot = slots.slotOf(featureId);
      if (slot >= 0) index[slot] = p;
    }
  });
  return index;
}

/**
 * The leaderboard of one run and score kind. Scores are read as (value, feature id) in ascending order of value from
 * the index and grouped through a typed array of feature groups (report/feature-groups.ts): no row per feature with
 * its key, and every number is what sorting each row's values would give (means summed in ascending order), whatever
 * order the features were saved in. Only the listed best and worst features are read with their index and explanation.
 */
export function buildLeaderboard(
  db: SqliteDatabase,
  run: RunRow,
  scoreKind = 'correlation.all',
  options: LeaderboardOptions = {},
): Leaderboard {
  const filters = options.filters ?? {};
  const topCount = options.top ?? 3;
  const { groups, slots, groupOf } = featureGroupIndex(db, {
    ...(filters.model === undefined ? {} : { model: filters.model }),
    ...(filters.layer === undefined ? {} : { layer: filters.layer }),
    ...(filters.featureKind === undefined ? {} : { kind: filters.featureKind }),
  });
  const protocols = scoreProtocolsOfRun(db, run.id, scoreKind);
  const protocolOf = protocolIndex(db, run.id, scoreKind, protocols, slots);
  const protocolCount = Math.max(1, protocols.length);

  // each feature slot's protocol group (group × protocol), -1 when it has no score of the kind or is filtered out
  const partOf = new Int32Array(slots.size).fill(-1);
  const parts: (ProtocolGroup | undefined)[] = new Array(groups.length * protocolCount).fill(undefined);
  const partFor = (featureId: number, slot: number): ProtocolGroup | undefined => {
    const group = groupOf[slot] ?? -1;
    if (group < 0) return undefined;
    const protocol = protocolOf === null ? 0 : protocolOf[slot]!;
    const key = group * protocolCount + protocol;
    let part = parts[key];
    if (!part) {
      part = {
        group,
        protocol,
        values: growableFloat64(),
        featureSlots: growableInt32(),
        nullReasons: new Map(),
        nullCount: 0,
        firstFeatureId: featureId,
      };
      parts[key] = part;
    }
    partOf[slot] = key;
    if (featureId < part.firstFeatureId) part.firstFeatureId = featureId;
    return part;
  };
  for (const [value, featureId] of definedScoresInValueOrder(db, run.id, scoreKind)) {
    const slot = slots.slotOf(featureId);
    const part = partFor(featureId, slot);
    if (!part) continue;
    part.values.push(value);
    part.featureSlots.push(slot);
  }
  for (const [featureId, reason] of nullScoresOfRun(db, run.id, scoreKind).sort((a, b) => a[0] - b[0])) {
    const part = partFor(featureId, slots.slotOf(featureId));
    if (!part) continue;
    part.nullCount++;
    const counted = part.nullReasons.get(reason ?? 'unknown');
    if (counted) counted.count++;
    else part.nullReasons.set(reason ?? 'unknown', { count: 1, firstFeatureId: featureId });
  }

  // Rows with a mode are rows of their own; unsimulated features (null scores, failures) join their feature group's
  // row first met in feature id order, or one with no mode.
  const rowGroups: RowGroup[] = [];
  const rowOfPart = new Map<number, number>();
  const firstRowOfGroup = new Map<number, number>();
  const partEntries = parts.flatMap((part, key) => (part ? [[key, part] as const] : []));
  const moded = partEntries
    .filter(([, part]) => protocols[part.protocol]?.mode != null)
    .sort((a, b) => a[1].firstFeatureId - b[1].firstFeatureId);
  for (const [key, part] of moded) {
    rowOfPart.set(
      key,
      rowGroups.push({ group: groups[part.group]!, protocol: protocols[part.protocol]!, parts: [part], failed: 0 }) - 1,
    );
    if (!firstRowOfGroup.has(part.group)) firstRowOfGroup.set(part.group, rowOfPart.get(key)!);
  }
  const rowOfGroup = (group: number): RowGroup => {
    let row = firstRowOfGroup.get(group);
    if (row === undefined) {
      row =
        rowGroups.push({
          group: groups[group]!,
          protocol: { mode: null, recordsPerCall: null },
          parts: [],
          failed: 0,
        }) - 1;
      firstRowOfGroup.set(group, row);
    }
    return rowGroups[row]!;
  };
  const unmoded = partEntries
    .filter(([, part]) => protocols[part.protocol]?.mode == null)
    .sort((a, b) => a[1].firstFeatureId - b[1].firstFeatureId);
  for (const [key, part] of unmoded) {
    const row = rowOfGroup(part.group);
    row.parts.push(part);
    rowOfPart.set(key, rowGroups.indexOf(row));
  }
  const groupNumbers = new Map(groups.map((group, g) => [featureGroupId(group), g]));
  for (const failure of failedFeatureCountsOfRun(db, run.id)) {
    const group = groupNumbers.get(featureGroupId(failure));
    if (group !== undefined) rowOfGroup(group).failed += failure.n;
  }

  const listed = new Map<FeatureScoreRef, number>(); // each listed feature's id, for its explanation
  let rows: LeaderboardRow[] = rowGroups.map((rowGroup) => {
    const { group, protocol, failed } = rowGroup;
    const { values, featureSlots } = sortedScoresOf(rowGroup.parts);
    const n = values.length;
    const nullCount = rowGroup.parts.reduce((sum, part) => sum + part.nullCount, 0);
    const nullReasons: Record<string, number> = {};
    for (const part of rowGroup.parts)
      for (const [reason, { count }] of [...part.nullReasons].sort((a, b) => a[1].firstFeatureId - b[1].firstFeatureId))
        nullReasons[reason] = (nullReasons[reason] ?? 0) + count;
    const { highest, lowest } = extremes(db, values, featureSlots, slots, Math.max(1, topCount));
    const ref = (member: RankedScore): FeatureScoreRef => {
      const reference: FeatureScoreRef = {
        model: group.model,
        index: member.index,
        featureKey: storedFeatureKey({ ...group, index: member.index }),
        value: member.value,
        explanation: null,
      };
      listed.set(reference, member.featureId);
      return reference;
    };
    const fraction = (threshold: number) => (n ? (n - lowerBound(values, threshold)) / n : null);
    return {
      model: group.model,
      layer: group.layer,
      featureKind: group.kind,
      sae: group.sae,
      simulationMode: protocol.mode,
      recordsPerCall: protocol.recordsPerCall,
      features: n + nullCount + failed,
      scored: n,
      undefinedScores: nullCount,
      nullReasons,
      failed,
      mean: stableMean(values),
      // the values are sorted: medianSorted only reads them by position
      median: n ? medianSorted(values as unknown as number[]) : null,
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

  // Other measures of the same features: a row's value is over the features of its rows (whatever mode, if any,
  // those other rows were stored with), so judged scores line up with the simulation's rows. Streamed in ascending
  // order of value, so each row's values arrive sorted.
  const rowOfFeature = (featureId: number): number => {
    const part = partOf[slots.slotOf(featureId)] ?? -1;
    return part < 0 ? -1 : rowOfPart.get(part)!;
  };
  const valuesByRow = (kind: string): { values: Float64Array[]; any: boolean } => {
    const byRow = rowGroups.map(growableFloat64);
    let any = false;
    for (const [value, featureId] of definedScoresInValueOrder(db, run.id, kind)) {
      any = true;
      const row = rowOfFeature(featureId);
      if (row >= 0) byRow[row]!.push(value);
    }
    return { values: byRow.map((values) => values.view()), any };
  };
  if (scoreKind !== ablationKind) {
    const ablation = valuesByRow(ablationKind);
    if (ablation.any) {
      rows.forEach((row, i) => {
        const values = ablation.values[i]!;
        row.ablationMedian = values.length ? medianSorted(values as unknown as number[]) : null;
      });
    }
  }
  const columnKinds = scorerColumnKinds(scoreKindsOfRun(db, run.id), scoreKind);
  if (columnKinds.length > 0) {
    const byKind = columnKinds.map((kind) => [kind, valuesByRow(kind).values] as const);
    rows.forEach((row, i) => {
      row.scorerMeans = Object.fromEntries(byKind.map(([kind, values]) => [kind, stableMean(values[i]!)]));
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

/** A feature group's identity as one string (NUL is in no name). */
const featureGroupId = (group: { model: string; layer: string; kind: string; sae: string }) =>
  [group.model, group.layer, group.kind, group.sae].join('\u0000');

/** A row's defined scores, ascending (ties by feature), with their feature slots: one part's as streamed, several merged. */
function sortedScoresOf(parts: readonly ProtocolGroup[]): { values: Float64Array; featureSlots: Int32Array } {
  const filled = parts.filter((part) => part.values.length > 0);
  if (filled.length <= 1)
    return {
      values: filled[0]?.values.view() ?? new Float64Array(0),
      featureSlots: filled[0]?.featureSlots.view() ?? new Int32Array(0),
    };
  const values = filled.flatMap((part) => [...part.values.view()]);
  const featureSlots = filled.flatMap((part) => [...part.featureSlots.view()]);
  // comparisons, not differences: two infinities of one sign differ by NaN, which would skip the tie-break
  const order = values
    .map((_, i) => i)
    .sort((a, b) => ascending(values[a]!, values[b]!) || featureSlots[a]! - featureSlots[b]!);
  return {
    values: Float64Array.from(order, (i) => values[i]!),
    featureSlots: Int32Array.from(order, (i) => featureSlots[i]!),
  };
}

/** −1, 0 or 1 as `a` sorts before, with or after `b` (ascending; equal infinities tie). */
const ascending = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

interface RankedScore {
  featureId: number;
  index: number;
  value: number;
}

/** Best first: higher value, then lower index. */
const byRank = (a: RankedScore, b: RankedScore) => ascending(b.value, a.value) || a.index - b.index;

/**
 * The `count` best features, best first, and the `count` worst, worst first: what sorting every feature and slicing
 * both ends gives. From ascending values only the features at or beyond the count-th value from either end are
 * candidates (ties included), and only their feature indexes are read.
 */
function extremes(
  db: SqliteDatabase,
  values: Float64Array,
  featureSlots: Int32Array,
  slots: FeatureSlots,
  count: number,
): { highest: RankedScore[]; lowest: RankedScore[] } {
  const featureIdAt = (i: number) => slots.featureIdOf(featureSlots[i]!);
  const n = values.length;
  if (n === 0) return { highest: [], lowest: [] };
  const highFrom = lowerBound(values, values[Math.max(0, n - count)]!);
  const lowTo = upperBound(values, values[Math.min(n, count) - 1]!);
  const candidates = [...new Set([...range(highFrom, n), ...range(0, lowTo)])];
  const indexes = featureIndexesOf(db, candidates.map(featureIdAt));
  const ranked = (from: number, to: number) =>
    range(from, to)
      .map((i) => ({ featureId: featureIdAt(i), index: indexes.get(featureIdAt(i))!, value: values[i]! }))
      .sort(byRank);
  return {
    highest: ranked(highFrom, n).slice(0, count),
    lowest: ranked(0, lowTo).slice(-count).reverse(),
  };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
