/**
 * @module serve/score-histograms — the run page's per-layer score histograms: a run's defined scores of one kind
 * streamed as (value, feature id) from the covering index (store/score-streams `definedScoresInValueOrder`, no join
 * to features), each feature's (model, layer, kind, SAE) looked up in a typed array (report/feature-groups), each
 * value binned as report/svg-charts `histogramSvg` bins it. Numbers only cross into JavaScript: at 10^6 scores about
 * half the time of the same count as a SQL GROUP BY joining every score to its feature (a random read each).
 */
import { type FeatureGroupIndex, featureGroupIndex } from '../report/feature-groups.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { definedScoresInValueOrder } from '../store/score-streams.ts';

/** A histogram of a run's defined scores of one kind over the features of one (model, layer, kind, SAE). */
export interface ScoreHistogram {
  model: string;
  layer: string;
  kind: string;
  sae: string;
  /** `bins` counts over [low, high]; a value outside it is counted in the end bin it is beyond. */
  counts: number[];
  /** How many values were outside [low, high]. */
  clipped: number;
}

/** The range and number of bins of every histogram of a run page. */
export interface HistogramBins {
  low: number;
  high: number;
  bins: number;
}

/**
 * Per-group histograms of a run's defined scores of one kind, in the order the groups are first met; groups with no
 * defined score are left out. `groups` may be passed in when the caller has read it already.
 */
export function scoreHistogramsByGroup(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
  range: HistogramBins,
  groups: FeatureGroupIndex = featureGroupIndex(db),
): ScoreHistogram[] {
  const { low, high, bins } = range;
  const width = high - low;
  // counts[group * bins + bin], and clipped[group]; a group is listed once it has a value
  const counts = new Float64Array(groups.groups.length * bins);
  const clipped = new Float64Array(groups.groups.length);
  const seen: number[] = [];
  const listed = new Uint8Array(groups.groups.length);
  for (const [value, featureId] of definedScoresInValueOrder(db, runId, scoreKind)) {
    const group = groups.groupOf[groups.slots.slotOf(featureId)] ?? -1;
    if (group < 0) continue;
    if (listed[group] === 0) {
      listed[group] = 1;
      seen.push(group);
    }
    const position = (value - low) / width;
    if (position < 0 || position > 1) clipped[group]!++;
    counts[group * bins + Math.min(bins - 1, Math.max(0, Math.floor(position * bins)))]!++;
  }
  return seen.map((group) => ({
    ...groups.groups[group]!,
    counts: Array.from(counts.subarray(group * bins, (group + 1) * bins)),
    clipped: clipped[group]!,
  }));
}
