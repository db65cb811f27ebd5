/**
 * @module common/log-probabilities — float64 log-softmax and the Jensen–Shannon divergence (nats) of two
 * distributions given as logits or log-probabilities: used by generation in subject/ and by the ablation score in
 * score/ (docs/DESIGN.md §4).
 */

/** Numerically stable log-softmax in float64: `x_v − max − log Σ exp(x − max)`. */
export function logSoftmax(
  logits: ArrayLike<number>,
  out: Float64Array = new Float64Array(logits.length),
): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]!);
  let sum = 0;
  for (let v = 0; v < logits.length; v++) sum += Math.exp(logits[v]! - max);
  const shift = max + Math.log(sum);
  for (let v = 0; v < logits.length; v++) out[v] = logits[v]! - shift;
  return out;
}

/**
 * JSD (nats) of two distributions given as log-probabilities. Per entry, with h ≥ l the larger and smaller of the two
 * log-probabilities, δ = h − l and L = log(1 + e^−δ): `log(p_h/m) = ln 2 − L`, `log(p_l/m) = ln 2 − L − δ`, and
 * p_l = p_h·e^−δ (three transcendental calls an entry). Equal entries contribute exactly 0, so equal inputs give 0;
 * zero-probability entries (−∞) contribute nothing.
 */
export function jensenShannonFromLogProbs(logProbsA: ArrayLike<number>, logProbsB: ArrayLike<number>): number {
  if (logProbsA.length !== logProbsB.length)
    throw new RangeError(`jensenShannon: ${logProbsA.length} vs ${logProbsB.length} entries`);
  let sum = 0;
  for (let v = 0; v < logProbsA.length; v++) {
    const a = logProbsA[v]!;
    const b = logProbsB[v]!;
    if (a === b) continue;
    const gap = Math.abs(a - b);
    const high = Math.exp(Math.max(a, b));
    const ratio = Math.exp(-gap);
    const shared = Math.LN2 - Math.log1p(ratio);
    sum += high * shared;
    if (ratio > 0) sum += high * ratio * (shared - gap);
  }
  // Rounding can leave a tiny negative value for nearly equal distributions.
  return Math.max(0, sum / 2);
}

/** JSD (nats) of the softmax distributions of two logit vectors. */
export function jensenShannon(logitsA: ArrayLike<number>, logitsB: ArrayLike<number>): number {
  return jensenShannonFromLogProbs(logSoftmax(logitsA), logSoftmax(logitsB));
}
