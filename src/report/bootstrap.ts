/**
 * @module report/bootstrap — percentile bootstrap confidence interval of a mean, with a seeded RNG so that the
 * same scores always print the same interval. (simple-statistics has no bootstrap; this is the small code of ours.)
 */
import { mulberry32 } from '../common/random.ts';
import { stableMean } from './stable-mean.ts';

export interface ConfidenceInterval {
  low: number;
  high: number;
  level: number;
}

/**
 * Percentile bootstrap CI of the mean. Null for fewer than 2 values. The values are resampled in sorted order, so the
 * interval depends only on the multiset of scores, never on the order a query returned them in.
 */
export function bootstrapMeanInterval(
  unordered: readonly number[],
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
  return { low: at(alpha), high: at(1 - alpha), level };
}

/** The mean of paired differences (candidate − baseline) with its paired-bootstrap CI. */
export interface PairedDifference {
  n: number;
  baselineMean: number;
  candidateMean: number;
  /** Mean of candidate − baseline. */
  meanDifference: number;
  /** Percentile paired-bootstrap CI of the mean difference; null for fewer than 2 pairs. */
  ci: ConfidenceInterval | null;
}

/**
 * Paired bootstrap of the mean difference candidate − baseline: pairs are resampled together (equivalently, the
 * per-pair differences are resampled), so what the two share (a feature that is hard for every explainer) cancels
 * out. Percentile method, seeded.
 */
export function pairedBootstrapDifference(
  baseline: readonly number[],
  candidate: readonly number[],
  options: { resamples?: number; level?: number; seed?: number } = {},
): PairedDifference {
  if (baseline.length !== candidate.length)
    throw new Error(`paired bootstrap: ${baseline.length} baseline values vs ${candidate.length} candidate values`);
  const n = baseline.length;
  const differences = candidate.map((value, i) => value - baseline[i]!);
  const mean = (values: readonly number[]) => stableMean(values) ?? Number.NaN;
  return {
    n,
    baselineMean: mean(baseline),
    candidateMean: mean(candidate),
    meanDifference: mean(differences),
    ci: bootstrapMeanInterval(differences, options),
  };
}
