/**
 * @module report/stable-mean — the mean of a multiset of scores, summed in ascending order: the same scores give the
 * same mean to the last bit whatever order a query returned them in (a streaming run saves features in the order they
 * complete, and floating-point addition is not associative).
 */

/** The mean of `values` summed in ascending order; null for none. */
export function stableMean(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return sum / sorted.length;
}
