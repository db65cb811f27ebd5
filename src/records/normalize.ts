/** @module records/normalize — the reference's 0–10 integer scale for prompts (docs/DESIGN.md §4). */
import type { ActivationRecord } from './types.ts';

/** The largest rectified activation over the records shown: max over records of max(relu(acts)); 0 when none. */
export function maxActivation(records: readonly ActivationRecord[]): number {
  let max = 0;
  for (const record of records) {
    const values = record.activations;
    for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  }
  return max;
}

/** `min(10, floor(10 · max(x, 0) / maxActivation))`; 0 when maxActivation ≤ 0. */
export function normalizeActivation(value: number, maxActivationValue: number): number {
  if (!(maxActivationValue > 0)) return 0;
  return Math.min(10, Math.floor((10 * Math.max(value, 0)) / maxActivationValue));
}

/** `normalizeActivation` of every value. */
export function normalizeActivations(activations: readonly number[], maxActivationValue: number): number[] {
  return activations.map((value) => normalizeActivation(value, maxActivationValue));
}

/** Fraction of values that normalize to a non-zero integer (the reference's `non_zero_activation_proportion`). */
export function nonZeroProportion(records: readonly ActivationRecord[], maxActivationValue: number): number {
  let total = 0;
  let nonZero = 0;
  for (const record of records) {
    const values = record.activations;
    total += values.length;
    for (let i = 0; i < values.length; i++) if (normalizeActivation(values[i]!, maxActivationValue) !== 0) nonZero += 1;
  }
  return total === 0 ? 0 : nonZero / total;
}
