/**
 * @module report/bootstrap — confidence interval of a mean: the percentile bootstrap with a seeded RNG (the same scores
 * always print the same interval) below `normalApproximationMinimum` values, the normal approximation mean ± z·s/√n
 * from there on, where the two agree (README "Scale") and the bootstrap's resamples × n draws would cost seconds.
 * (simple-statistics has no bootstrap; this is the small code of ours.)
 */
import { mulberry32 } from '../common/random.ts';
import { normalQuantile } from './normal-quantile.ts';
import { stableMean } from './stable-mean.ts';

/** How an interval was computed: percentile bootstrap, or normal approximation (mean ± z·s/√n). */
export type IntervalMethod = 'bootstrap' | 'normal';

export interface ConfidenceInterval {
  low: number;
  high: number;
  level: number;
  method: IntervalMethod;
}

/**
 * From this many values on, a mean's interval is the normal approximation instead of the bootstrap. Measured (README
 * "Scale"): on uniform, skewed, heavy-tailed and bimodal synthetic scores of 5000 to 50,000 values the two intervals'
 * ends differ by at most 10 % of the half-width, which is the bootstrap's own resampling noise at 2000 resamples (the
 * 2.5 % quantile of 2000 resampled means has a standard error of about 3 % of the half-width); below 5000, on skewed
 * scores, the bootstrap's asymmetry is real and it stays. The bootstrap costs resamples × n random draws: 2·10^9 at
 * 10^6 features, some 20 s; the approximation one pass.
 */
export const normalApproximationMinimum = 5000;

export interface IntervalOptions {
  resamples?: number;
  level?: number;
  seed?: number;
  /** Use the normal approximation from this many values on (default `normalApproximationMinimum`). */
  normalFrom?: number;
}

/**
 * The CI of the mean: the percentile bootstrap for fewer than `normalFrom` values, the normal approximation from
 * there on. Null for fewer than 2 values.
 */
export function meanInterval(values: ArrayLike<number>, options: IntervalOptions = {}): ConfidenceInterval | null {
  return values.length >= (options.normalFrom ?? normalApproximationMinimum)
    ? normalMeanInterval(values, options)
    : bootstrapMeanInterval(values, options);
}

/**
 * Normal-approximation CI of the mean: mean ± z·s/√n, s the sample standard deviation (n − 1), z the normal quantile
 * of the level. The sum is taken in ascending order, so the interval depends only on the multiset of values. Null
 * for fewer than 2 values.
 */
export function normalMeanInterval(
  values: ArrayLike<number>,
  options: { level?: number } = {},
): ConfidenceInterval | null {
  const n = values.length;
  if (n < 2) return null;
  const level = options.level ?? 0.95;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const mean = sum / n;
  let squares = 0;
  for (const value of sorted) squares += (value - mean) * (value - mean);
  const halfWidth = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(squares / (n - 1) / n);
  return { low: mean - halfWidth, high: mean + halfWidth, level, method: 'normal' };
}

/**
 * Percentile bootstrap CI of the mean. Null for fewer than 2 values. The values are resampled in sorted order, so the
 * interval depends only on the multiset of scores, never on the order a query returned them in.
 */
export function bootstrapMeanInterval(
  unordered: ArrayLike<number>,
  options: { resamples?: number; level?: number; seed?: number } = {},
): ConfidenceInterval | null {
  const n = unordered.length;
  if (n < 2) return null;
  const values = Float64Array.from(unordered).sort();
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const random = mulberry32(options.seed ?? 12345);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { low: at(alpha), high: at(1 - alpha), level, method: 'bootstrap' };
}

/** The mean of paired differences (candidate − baseline) with its paired-bootstrap CI. */
export interface PairedDifference {
  n: number;
  baselineMean: number;
  candidateMean: number;
  /** Mean of candidate − baseline. */
  meanDifference: number;
  /**
   * CI of the mean difference, its `method` saying how: the percentile paired bootstrap below
   * `normalApproximationMinimum` pairs, the normal approximation over the differences from there on; null for fewer
   * than 2 pairs.
   */
  ci: ConfidenceInterval | null;
}

/**
 * Paired bootstrap of the mean difference candidate − baseline: pairs are resampled together (equivalently, the
 * per-pair differences are resampled), so what the two share (a feature that is hard for every explainer) cancels
 * out. Percentile method, seeded; from `normalFrom` pairs on the normal approximation over the differences.
 */
export function pairedBootstrapDifference(
  baseline: ArrayLike<number>,
  candidate: ArrayLike<number>,
  options: IntervalOptions = {},
): PairedDifference {
  if (baseline.length !== candidate.length)
    throw new Error(`paired bootstrap: ${baseline.length} baseline values vs ${candidate.length} candidate values`);
  const n = baseline.length;
  const differences = new Float64Array(n);
  for (let i = 0; i < n; i++) differences[i] = candidate[i]! - baseline[i]!;
  const mean = (values: ArrayLike<number>) => stableMean(values) ?? Number.NaN;
  return {
    n,
    baselineMean: mean(baseline),
    candidateMean: mean(candidate),
    meanDifference: mean(differences),
    ci: meanInterval(differences, options),
  };
}

/**
 * The terminal's note on how intervals were computed, when any used the normal approximation (null when all are
 * bootstrap intervals, so small runs print as they always did).
 */
export function intervalMethodNote(intervals: readonly (ConfidenceInterval | null)[]): string | null {
  const normal = intervals.filter((ci) => ci?.method === 'normal').length;
  if (normal === 0) return null;
  const all = intervals.filter((ci) => ci !== null).length;
  return `CI: ${normal} of ${all} by normal approximation (mean ± z·s/√n, ≥ ${normalApproximationMinimum} values), the rest by percentile bootstrap`;
}
