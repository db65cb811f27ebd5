/** @module score/flatten — pools tokens of all records (the reference scores the concatenation, not a mean of r). */

/** Concatenates per-record series into one pair of arrays, dropping positions whose prediction is missing. */
export function pairFlatten(real: readonly (readonly number[])[], predicted: readonly (readonly (number | null)[])[]) {
  if (real.length !== predicted.length) {
    throw new Error(`score: ${real.length} real records but ${predicted.length} predicted`);
  }
  const realFlat: number[] = [];
  const predictedFlat: number[] = [];
  let missing = 0;
  real.forEach((record, r) => {
    const prediction = predicted[r]!;
    if (record.length !== prediction.length) {
      throw new Error(`score: record ${r} has ${record.length} real values but ${prediction.length} predicted`);
    }
    record.forEach((value, i) => {
      const p = prediction[i];
      if (p === null || p === undefined) {
        missing += 1;
        return;
      }
      realFlat.push(value);
      predictedFlat.push(p);
    });
  });
  return { real: realFlat, predicted: predictedFlat, missing };
}
