/** @module score/flatten — pools tokens of all records (the reference scores the concatenation, not a mean of r). */

/** Concatenates per-record series into one pair of arrays, dropping positions whose prediction is missing. */
export function pairFlatten(real: readonly (readonly number[])[], predicted: readonly (readonly (number | null)[])[]) {
  if (real.length !== predicted.length) {
    throw new Error(`score: ${real.length} real records but ${predicted.length} predicted`);
  }
  // Sized once, filled by index (this runs several times per feature on ~1,000 values: no growth, no closures).
  let capacity = 0;
  for (let r = 0; r < real.length; r++) {
    if (real[r]!.length !== predicted[r]!.length) {
      throw new Error(`score: record ${r} has ${real[r]!.length} real values but ${predicted[r]!.length} predicted`);
    }
    capacity += real[r]!.length;
  }
  const realFlat = new Array<number>(capacity);
  const predictedFlat = new Array<number>(capacity);
  let n = 0;
  for (let r = 0; r < real.length; r++) {
    const record = real[r]!;
    const prediction = predicted[r]!;
    for (let i = 0; i < record.length; i++) {
      const p = prediction[i];
      if (p === null || p === undefined) continue;
      realFlat[n] = record[i]!;
      predictedFlat[n] = p;
      n += 1;
    }
  }
  realFlat.length = n;
  predictedFlat.length = n;
  return { real: realFlat, predicted: predictedFlat, missing: capacity - n };
}
