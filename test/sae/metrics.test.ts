import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateSae } from '../../src/sae/evaluate-sae.ts';
import {
  batchStatistics,
  logDensityHistogram,
  logFeatureSparsity,
  meanMaxCosineSimilarity,
  SaeMetricsAccumulator,
} from '../../src/sae/metrics.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import type { SaeConfig } from '../../src/sae/types.ts';
import { initBackend } from '../../src/subject/backend.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

// 4 tokens, d_in 2, d_sae 3
const input = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const features = Float32Array.from(
  [
    [0, 1, 0],
    [0, 2, 0.5],
    [0, 0, 0],
    [0, 3, 0],
  ].flat(),
);

describe('SaeMetricsAccumulator', () => {
  it('gives FVU 0 and explained variance 1 for a perfect reconstruction', () => {
    const metrics = new SaeMetricsAccumulator(2, 3);
    metrics.addBatch(input, input, features);
    const result = metrics.result();
    expect(result.fvu).toBe(0);
    expect(result.explainedVariance).toBe(1);
    expect(result.mse).toBe(0);
  });

  it('gives FVU 1 for predicting the mean, and the mean squared error per token', () => {
    const mean = Float32Array.from([4, 5, 4, 5, 4, 5, 4, 5]);
    const metrics = new SaeMetricsAccumulator(2, 3);
    metrics.addBatch(input, mean, features);
    const result = metrics.result();
    expect(result.fvu).toBeCloseTo(1, 12);
    expect(result.explainedVariance).toBeCloseTo(0, 12);
    // Σ‖x − mean‖² = (9+9)+(1+1)+(1+1)+(9+9) = 40 over 4 tokens
    expect(result.mse).toBe(10);
  });

  it('counts L0, dead and dense latents exactly', () => {
    const metrics = new SaeMetricsAccumulator(2, 3, { denseThreshold: 0.5 });
    metrics.addBatch(input, input, features);
    const result = metrics.result();
    // active entries: 1 + 2 + 0 + 1 = 4 over 4 tokens
    expect(result.l0).toBe(1);
    expect(Array.from(result.featureDensity)).toEqual([0, 0.75, 0.25]);
    expect(result.deadFraction).toBeCloseTo(1 / 3, 12);
    expect(result.denseFraction).toBeCloseTo(1 / 3, 12); // only latent 1 (0.75 > 0.5)
    expect(result.denseThreshold).toBe(0.5);
    expect(result.logDensityHistogram.dead).toBe(1);
    expect(result.logDensityHistogram.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('streams: several batches give the metrics of their concatenation', () => {
    const reconstruction = Float32Array.from([1.5, 2, 2, 4.5, 5, 6, 7, 7]);
    const whole = new SaeMetricsAccumulator(2, 3);
    whole.addBatch(input, reconstruction, features);
    const streamed = new SaeMetricsAccumulator(2, 3);
    streamed.addBatch(input.subarray(0, 2), reconstruction.subarray(0, 2), features.subarray(0, 3));
    streamed.addBatch(input.subarray(2), reconstruction.subarray(2), features.subarray(3));
    const a = whole.result();
    const b = streamed.result();
    expect(b.fvu).toBeCloseTo(a.fvu!, 12);
    expect(b.l0).toBe(a.l0);
    expect(b.mse).toBeCloseTo(a.mse, 12);
    expect(Array.from(b.featureDensity)).toEqual(Array.from(a.featureDensity));
    // FVU by hand: errors² = 0.25 + 1 + 0.25 + 1 = 2.5; variance total 40
    expect(a.fvu).toBeCloseTo(2.5 / 40, 12);
  });

  it('says FVU is undefined (null) when the inputs have no variance', () => {
    const constant = Float32Array.from([1, 1, 1, 1]);
    const metrics = new SaeMetricsAccumulator(2, 1);
    metrics.addBatch(constant, constant, Float32Array.from([0, 1]));
    expect(metrics.result().fvu).toBeNull();
  });

  it('adds precomputed batch statistics the same way as host rows', () => {
    const stats = batchStatistics(input, input, features, 2, 3);
    expect(Array.from(stats.inputMean)).toEqual([4, 5]);
    expect(Array.from(stats.inputCentredSquares)).toEqual([20, 20]);
    expect(Array.from(stats.featureCounts)).toEqual([0, 3, 1]);
  });
});

describe('density summaries', () => {
  it('bins log10 densities, clamps the tail into the first bin and counts dead latents apart', () => {
    const histogram = logDensityHistogram([0, 1, 0.1, 0.01, 1e-12], -4, 4);
    expect(histogram.edges).toEqual([-4, -3, -2, -1, 0]);
    expect(histogram.counts).toEqual([1, 0, 1, 2]); // 1e-12 → first bin; 0.01 → [-2,-1); 0.1 and 1 → last bin
    expect(histogram.dead).toBe(1);
  });

  it("writes SAELens's log sparsity: log10(density + 1e-10)", () => {
    const values = logFeatureSparsity([0, 0.01, 1]);
    expect(values[0]).toBeCloseTo(-10, 5);
    expect(values[1]).toBeCloseTo(-2, 5);
    expect(values[2]).toBeCloseTo(0, 5);
  });

  it('computes mean max cosine similarity in both directions', () => {
    const truth = Float32Array.from([1, 0, 0, 1]);
    const learned = Float32Array.from([2, 0, 0, -3, 1, 1]);
    // truth e1 → best 1 (2,0); truth e2 → best cos((1,1),(0,1)) = 1/√2
    expect(meanMaxCosineSimilarity(truth, learned, 2)).toBeCloseTo((1 + Math.SQRT1_2) / 2, 12);
    // learned rows → 1, 0 (−e2 vs e2 is −1; vs e1 0), 1/√2
    expect(meanMaxCosineSimilarity(learned, truth, 2)).toBeCloseTo((1 + 0 + Math.SQRT1_2) / 3, 12);
  });
});

describe('evaluateSae', () => {
  it('matches the host accumulator on the same SAE and batches', async () => {
    const config: SaeConfig = {
      dIn: 2,
      dSae: 3,
      architecture: 'standard',
      applyBDecToInput: true,
      normalizeActivations: 'none',
      hookName: 'h',
      modelName: 'm',
    };
    const weights = {
      W_enc: Float32Array.from([1, -1, 0.5, 0.2, 1, -0.3]),
      b_enc: Float32Array.from([0, -0.5, 0.1]),
      W_dec: Float32Array.from([0.6, 0.8, -0.8, 0.6, 1, 0]),
      b_dec: Float32Array.from([0.5, -0.5]),
    };
    const sae = SparseAutoencoder.fromWeights(config, weights);
    const batches = [input.subarray(0, 4), input.subarray(4)];
    const metrics = await evaluateSae(sae, batches);
    const host = new SaeMetricsAccumulator(2, 3);
    for (const batch of batches) host.addBatch(batch, sae.reconstructBatch(batch), sae.encodeBatch(batch));
    const expected = host.result();
    expect(metrics.tokens).toBe(4);
    expect(metrics.l0).toBe(expected.l0);
    expect(metrics.fvu).toBeCloseTo(expected.fvu!, 5);
    expect(Array.from(metrics.featureDensity)).toEqual(Array.from(expected.featureDensity));
    sae.dispose();
  });
});
