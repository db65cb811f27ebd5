/**
 * @module score/correlation — the reference's scores (docs/DESIGN.md §4) on pooled tokens: Pearson correlation,
 * rsquared = 1 − mean((real−pred)²)/mean(real²), absdev = 1 − mean|real−pred|/mean|real|.
 */
import { sampleCorrelation, variance } from 'simple-statistics';
import { pairFlatten } from './flatten.ts';
import { defined, undefinedScore, type ScoredValue } from './scored-value.ts';

type Series = readonly (readonly number[])[];
type Predictions = readonly (readonly (number | null)[])[];

const finiteOrUndefined = (value: number, n: number): ScoredValue =>
  Number.isFinite(value) ? defined(value, n) : undefinedScore('score not finite (overflow in the predictions)', n);

/** Pearson r over all scored tokens, with the reason when it is undefined. Missing predictions are dropped. */
export function correlationWithReason(real: Series, predicted: Predictions): ScoredValue {
  const flat = pairFlatten(real, predicted);
  const n = flat.real.length;
  if (n < 2) return undefinedScore(n === 0 ? 'no scored tokens' : 'only one scored token', n);
  if (variance(flat.real) === 0) return undefinedScore('constant true activations', n);
  if (variance(flat.predicted) === 0) return undefinedScore('constant simulated activations', n);
  const r = sampleCorrelation(flat.real, flat.predicted);
  return Number.isFinite(r) ? defined(Math.max(-1, Math.min(1, r)), n) : undefinedScore('correlation not finite', n);
}

export function rsquaredWithReason(real: Series, predicted: Predictions): ScoredValue {
  const flat = pairFlatten(real, predicted);
  const n = flat.real.length;
  if (n === 0) return undefinedScore('no scored tokens', n);
  let squareReal = 0;
  let squareError = 0;
  for (let i = 0; i < n; i++) {
    const x = flat.real[i]!;
    squareReal += x * x;
    squareError += (x - flat.predicted[i]!) ** 2;
  }
  if (squareReal === 0) return undefinedScore('true activations are all zero', n);
  return finiteOrUndefined(1 - squareError / squareReal, n); // = 1 − mean((real−pred)²) / mean(real²)
}

export function absoluteDevExplainedWithReason(real: Series, predicted: Predictions): ScoredValue {
  const flat = pairFlatten(real, predicted);
  const n = flat.real.length;
  if (n === 0) return undefinedScore('no scored tokens', n);
  let absReal = 0;
  let absError = 0;
  for (let i = 0; i < n; i++) {
    absReal += Math.abs(flat.real[i]!);
    absError += Math.abs(flat.real[i]! - flat.predicted[i]!);
  }
  if (absReal === 0) return undefinedScore('true activations are all zero', n);
  return finiteOrUndefined(1 - absError / absReal, n); // = 1 − mean|real−pred| / mean|real|
}

/** Pearson correlation of the flattened records (the reference's `correlation_score` on pooled tokens); null if undefined. */
export const correlationScore = (real: Series, predicted: Predictions): number | null =>
  correlationWithReason(real, predicted).value;
/** `1 − mean((real−pred)²) / mean(real²)` on pooled tokens; null if undefined. */
export const rsquaredScore = (real: Series, predicted: Predictions): number | null =>
  rsquaredWithReason(real, predicted).value;
/** `1 − mean|real−pred| / mean|real|` on pooled tokens; null if undefined. */
export const absoluteDevExplainedScore = (real: Series, predicted: Predictions): number | null =>
  absoluteDevExplainedWithReason(real, predicted).value;
