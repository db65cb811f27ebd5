/**
 * @module sae/toy-data — synthetic activations with known ground-truth features in superposition (Anthropic's "Toy
 * Models of Superposition"; seed 000's "taking features out of superposition" setting): N unit feature directions in
 * d dimensions (N > d), each feature active independently with a small probability and a random magnitude; an
 * activation vector is the sum of the active features' magnitudes times their directions. A trained SAE should
 * recover the directions (measure with `meanMaxCosineSimilarity` from ./metrics.ts).
 *
 * Deterministic: the directions come from the seed, and batch i from a seed derived from (seed, i), so any batch can
 * be regenerated on its own (what a resumed training run needs).
 */
import { hashString, mulberry32, randomGaussian } from '../common/random.ts';

export interface ToyDataOptions {
  /** Dimension d of the activation space. */
  dimensions: number;
  /** Number N of ground-truth features (N > d for superposition). */
  features: number;
  /** Probability that a feature is active on a sample (default 0.03). */
  activationProbability?: number;
  /** Magnitudes of active features are uniform in [minimumMagnitude, 1] (default 0.25). */
  minimumMagnitude?: number;
  seed: number;
}

export interface ToyData {
  dimensions: number;
  featureCount: number;
  /** Ground-truth directions [N, d], unit rows. */
  directions: Float32Array;
  /** Batch `index` of `rows` samples [rows × d]; the same arguments always give the same batch. */
  batch(index: number, rows: number): Float32Array;
}

export function createToyData(options: ToyDataOptions): ToyData {
  const { dimensions: d, features: n, seed } = options;
  const probability = options.activationProbability ?? 0.03;
  const minimumMagnitude = options.minimumMagnitude ?? 0.25;
  if (!(Number.isInteger(d) && d > 0 && Number.isInteger(n) && n > 0))
    throw new RangeError('dimensions and features must be positive integers');
  if (!(probability > 0 && probability <= 1))
    throw new RangeError(`activation probability must be in (0, 1], got ${probability}`);
  const random = mulberry32(seed);
  const directions = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let t = 0; t < d; t++) {
      const value = randomGaussian(random);
      directions[i * d + t] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let t = 0; t < d; t++) directions[i * d + t]! /= norm;
  }
  return {
    dimensions: d,
    featureCount: n,
    directions,
    batch(index: number, rows: number): Float32Array {
      const sample = mulberry32(hashString(`toy-batch-${index}`, seed));
      const out = new Float32Array(rows * d);
      for (let row = 0; row < rows; row++) {
        const offset = row * d;
        for (let i = 0; i < n; i++) {
          if (sample() >= probability) continue;
          const magnitude = minimumMagnitude + (1 - minimumMagnitude) * sample();
          const directionOffset = i * d;
          for (let t = 0; t < d; t++) out[offset + t]! += magnitude * directions[directionOffset + t]!;
        }
      }
      return out;
    },
  };
}
