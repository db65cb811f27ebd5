/**
 * @module sae/geometric-median — the geometric median of host rows by Weiszfeld's iteration (the point minimizing
 * the sum of Euclidean distances), SAELens's default initialisation of b_dec; and the plain mean.
 */

/** Per-dimension mean of rows [rows × d] (float64 sums). */
export function rowMean(rows: Float32Array, d: number): Float32Array {
  const count = rows.length / d;
  const sum = new Float64Array(d);
  for (let r = 0; r < count; r++) for (let j = 0; j < d; j++) sum[j]! += rows[r * d + j]!;
  return Float32Array.from(sum, (value) => (count > 0 ? value / count : 0));
}

export interface GeometricMedianOptions {
  /** Most iterations (default 100). */
  maxIterations?: number;
  /** Stop when the point moves less than this (relative to its norm + 1; default 1e-6). */
  tolerance?: number;
}

/**
 * Weiszfeld's algorithm started at the mean: y ← Σ wᵢxᵢ / Σ wᵢ with wᵢ = 1/max(‖xᵢ − y‖, 1e-8). Deterministic.
 */
export function geometricMedian(rows: Float32Array, d: number, options: GeometricMedianOptions = {}): Float32Array {
  const count = rows.length / d;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  const point = Float64Array.from(rowMean(rows, d));
  if (count <= 1) return Float32Array.from(point);
  const next = new Float64Array(d);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    next.fill(0);
    let weightSum = 0;
    for (let r = 0; r < count; r++) {
      let distance = 0;
      for (let j = 0; j < d; j++) distance += (rows[r * d + j]! - point[j]!) ** 2;
      const weight = 1 / Math.max(Math.sqrt(distance), 1e-8);
      weightSum += weight;
      for (let j = 0; j < d; j++) next[j]! += weight * rows[r * d + j]!;
    }
    let moved = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const value = next[j]! / weightSum;
      moved += (value - point[j]!) ** 2;
      norm += value * value;
      point[j] = value;
    }
    if (Math.sqrt(moved) <= tolerance * (Math.sqrt(norm) + 1)) break;
  }
  return Float32Array.from(point);
}
