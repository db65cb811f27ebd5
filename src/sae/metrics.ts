/**
 * @module sae/metrics — SAE quality measures accumulated batch by batch (bounded memory, float64 sums):
 *
 * - L0: mean number of latents > 0 per token.
 * - MSE: mean over tokens of ‖x − x̂‖² (summed over d_in).
 * - FVU = Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over all tokens seen (mean over all tokens, per dimension); explained variance
 *   = 1 − FVU. Predicting the mean gives FVU 1; a perfect reconstruction 0.
 * - feature density: the fraction of tokens on which each latent is > 0; dead = never fired in the window (density 0);
 *   dense = density above `denseThreshold` (default 0.1: fires on more than 10 % of tokens).
 * - log-density histogram: log10(density) of the latents that fired, in equal-width bins from `histogramMinimum`
 *   (default −8; lower values fall in the first bin) to 0; dead latents are counted apart.
 *
 * Batches come either as host arrays (`addBatch`) or as statistics computed elsewhere, e.g. on the device
 * (`addStatistics`): the per-dimension mean and centred sum of squares of the inputs are merged with Chan et al.'s
 * parallel update, so FVU does not need the global mean in advance.
 */

export interface SaeMetricsOptions {
  /** Density above which a latent counts as dense (fraction of tokens; default 0.1). */
  denseThreshold?: number;
  /** Lowest log10 density of the histogram (default −8). */
  histogramMinimum?: number;
  /** Number of histogram bins between `histogramMinimum` and 0 (default 32). */
  histogramBins?: number;
}

/** What one batch contributes; all sums over the batch's rows. */
export interface SaeBatchStatistics {
  rows: number;
  /** Per-dimension mean of the inputs over the batch [d_in]. */
  inputMean: ArrayLike<number>;
  /** Per-dimension Σ (x − batch mean)² over the batch [d_in]. */
  inputCentredSquares: ArrayLike<number>;
  /** Σ ‖x − x̂‖² over the batch. */
  squaredError: number;
  /** Per latent, the number of rows where it is > 0 [d_sae]. */
  featureCounts: ArrayLike<number>;
}

export interface LogDensityHistogram {
  /** Bin edges in log10(density), length bins + 1, from the minimum to 0. */
  edges: number[];
  /** Latents per bin (those with density > 0). */
  counts: number[];
  /** Latents with density 0 (not in any bin). */
  dead: number;
}

export interface SaeMetrics {
  tokens: number;
  /** Mean number of active latents per token. */
  l0: number;
  /** Mean over tokens of ‖x − x̂‖². */
  mse: number;
  /** Fraction of variance unexplained; null when the inputs have no variance. */
  fvu: number | null;
  /** 1 − FVU; null with it. */
  explainedVariance: number | null;
  /** Latents that never fired in the window, as a fraction of d_sae. */
  deadFraction: number;
  /** Latents with density > `denseThreshold`, as a fraction of d_sae. */
  denseFraction: number;
  denseThreshold: number;
  /** Per latent, the fraction of tokens on which it fired (length d_sae). */
  featureDensity: Float64Array;
  logDensityHistogram: LogDensityHistogram;
}

/** Accumulates SAE metrics over batches. */
export class SaeMetricsAccumulator {
  private tokens = 0;
  private squaredError = 0;
  private readonly mean: Float64Array;
  private readonly centredSquares: Float64Array;
  private readonly counts: Float64Array;
  private readonly denseThreshold: number;
  private readonly histogramMinimum: number;
  private readonly histogramBins: number;

  constructor(
    readonly dIn: number,
    readonly dSae: number,
    options: SaeMetricsOptions = {},
  ) {
    this.mean = new Float64Array(dIn);
    this.centredSquares = new Float64Array(dIn);
    this.counts = new Float64Array(dSae);
    this.denseThreshold = options.denseThreshold ?? 0.1;
    this.histogramMinimum = options.histogramMinimum ?? -8;
    this.histogramBins = options.histogramBins ?? 32;
    if (!(this.histogramMinimum < 0))
      throw new RangeError(`histogram minimum must be below 0, got ${this.histogramMinimum}`);
    if (!(Number.isInteger(this.histogramBins) && this.histogramBins > 0))
      throw new RangeError(`histogram bins must be a positive integer`);
  }

  /** Adds host rows: inputs and reconstructions [rows × d_in], feature activations [rows × d_sae]. */
  addBatch(input: ArrayLike<number>, reconstruction: ArrayLike<number>, features: ArrayLike<number>): void {
    const { dIn, dSae } = this;
    if (input.length % dIn !== 0) throw new RangeError(`input length ${input.length} is not a multiple of d_in ${dIn}`);
    const rows = input.length / dIn;
    if (reconstruction.length !== input.length)
      throw new RangeError(`reconstruction length ${reconstruction.length} ≠ input length ${input.length}`);
    if (features.length !== rows * dSae)
      throw new RangeError(`features length ${features.length} ≠ rows ${rows} × d_sae ${dSae}`);
    if (rows === 0) return;
    this.addStatistics(batchStatistics(input, reconstruction, features, dIn, dSae));
  }

  /** Adds the statistics of one batch (see `SaeBatchStatistics`). */
  addStatistics(stats: SaeBatchStatistics): void {
    const { rows } = stats;
    if (rows === 0) return;
    if (stats.inputMean.length !== this.dIn || stats.inputCentredSquares.length !== this.dIn)
      throw new RangeError(`batch statistics must have d_in ${this.dIn} entries`);
    if (stats.featureCounts.length !== this.dSae)
      throw new RangeError(`feature counts must have d_sae ${this.dSae} entries`);
    const before = this.tokens;
    const total = before + rows;
    for (let j = 0; j < this.dIn; j++) {
      const delta = stats.inputMean[j]! - this.mean[j]!;
      this.mean[j]! += (delta * rows) / total;
      this.centredSquares[j]! += stats.inputCentredSquares[j]! + (delta * delta * before * rows) / total;
    }
    for (let i = 0; i < this.dSae; i++) this.counts[i]! += stats.featureCounts[i]!;
    this.squaredError += stats.squaredError;
    this.tokens = total;
  }

  result(): SaeMetrics {
    const { tokens, dSae } = this;
    let totalVariance = 0;
    for (let j = 0; j < this.dIn; j++) totalVariance += this.centredSquares[j]!;
    const fvu = tokens > 0 && totalVariance > 0 ? this.squaredError / totalVariance : null;
    const density = new Float64Array(dSae);
    let active = 0;
    let dead = 0;
    let dense = 0;
    for (let i = 0; i < dSae; i++) {
      active += this.counts[i]!;
      density[i] = tokens > 0 ? this.counts[i]! / tokens : 0;
      if (this.counts[i] === 0) dead++;
      if (density[i]! > this.denseThreshold) dense++;
    }
    return {
      tokens,
      l0: tokens > 0 ? active / tokens : 0,
      mse: tokens > 0 ? this.squaredError / tokens : 0,
      fvu,
      explainedVariance: fvu === null ? null : 1 - fvu,
      deadFraction: dead / dSae,
      denseFraction: dense / dSae,
      denseThreshold: this.denseThreshold,
      featureDensity: density,
      logDensityHistogram: logDensityHistogram(density, this.histogramMinimum, this.histogramBins),
    };
  }
}

/** The statistics of one batch of host rows (float64 sums). */
export function batchStatistics(
  input: ArrayLike<number>,
  reconstruction: ArrayLike<number>,
  features: ArrayLike<number>,
  dIn: number,
  dSae: number,
): SaeBatchStatistics {
  const rows = input.length / dIn;
  const mean = new Float64Array(dIn);
  const centred = new Float64Array(dIn);
  const counts = new Float64Array(dSae);
  let squaredError = 0;
  for (let row = 0; row < rows; row++) {
    const offset = row * dIn;
    for (let j = 0; j < dIn; j++) {
      mean[j]! += input[offset + j]!;
      const error = input[offset + j]! - reconstruction[offset + j]!;
      squaredError += error * error;
    }
    const featureOffset = row * dSae;
    for (let i = 0; i < dSae; i++) if (features[featureOffset + i]! > 0) counts[i]!++;
  }
  for (let j = 0; j < dIn; j++) mean[j]! /= rows;
  for (let row = 0; row < rows; row++) {
    const offset = row * dIn;
    for (let j = 0; j < dIn; j++) {
      const centredValue = input[offset + j]! - mean[j]!;
      centred[j]! += centredValue * centredValue;
    }
  }
  return { rows, inputMean: mean, inputCentredSquares: centred, squaredError, featureCounts: counts };
}

/** Histogram of log10(density) for the latents with density > 0; values below `minimum` go to the first bin. */
export function logDensityHistogram(density: ArrayLike<number>, minimum = -8, bins = 32): LogDensityHistogram {
  const width = -minimum / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => minimum + i * width);
  edges[bins] = 0;
  const counts = new Array<number>(bins).fill(0);
  let dead = 0;
  for (let i = 0; i < density.length; i++) {
    const value = density[i]!;
    if (!(value > 0)) {
      dead++;
      continue;
    }
    const bin = Math.floor((Math.log10(value) - minimum) / width);
    counts[Math.min(bins - 1, Math.max(0, bin))]!++;
  }
  return { edges, counts, dead };
}

/**
 * SAELens's `sparsity.safetensors` values: log10(density + 1e-10) per latent (so a dead latent reads −10).
 */
export function logFeatureSparsity(density: ArrayLike<number>): Float32Array {
  const out = new Float32Array(density.length);
  for (let i = 0; i < density.length; i++) out[i] = Math.log10(density[i]! + 1e-10);
  return out;
}

/**
 * Mean max cosine similarity: for each reference direction (rows of `reference` [n, d]), the largest cosine with any
 * row of `learned` [m, d], averaged over the reference rows. With the true features as reference this measures how
 * well a dictionary recovers them (seed 000's MMCS); swap the arguments for the other direction.
 */
export function meanMaxCosineSimilarity(reference: Float32Array, learned: Float32Array, d: number): number {
  const n = reference.length / d;
  const m = learned.length / d;
  if (!Number.isInteger(n) || !Number.isInteger(m)) throw new RangeError(`array lengths must be multiples of d ${d}`);
  if (n === 0 || m === 0) return 0;
  const learnedNorms = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let sum = 0;
    for (let t = 0; t < d; t++) sum += learned[j * d + t]! ** 2;
    learnedNorms[j] = Math.sqrt(sum);
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    let referenceNorm = 0;
    for (let t = 0; t < d; t++) referenceNorm += reference[i * d + t]! ** 2;
    referenceNorm = Math.sqrt(referenceNorm);
    let best = -1;
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += reference[i * d + t]! * learned[j * d + t]!;
      const denominator = referenceNorm * learnedNorms[j]!;
      const cosine = denominator > 0 ? dot / denominator : 0;
      if (cosine > best) best = cosine;
    }
    total += best;
  }
  return total / n;
}
