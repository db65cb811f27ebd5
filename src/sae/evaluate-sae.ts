/**
 * @module sae/evaluate-sae — runs an SAE over a stream of activation batches and accumulates its metrics (L0, MSE,
 * FVU, dead and dense fractions, log-density histogram; see ./metrics.ts). Per batch only small sums come back to the
 * host (per-dimension mean and centred squares, the squared error, per-latent firing counts), so memory stays bounded
 * by one batch. Metrics are in the space of the raw activations (the SAE undoes its own normalization).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SaeMetricsAccumulator, type SaeMetrics, type SaeMetricsOptions } from './metrics.ts';
import type { SparseAutoencoder } from './sae-model.ts';

export async function evaluateSae(
  sae: SparseAutoencoder,
  batches: Iterable<Float32Array> | AsyncIterable<Float32Array>,
  options: SaeMetricsOptions = {},
): Promise<SaeMetrics> {
  const { dIn, dSae } = sae;
  const accumulator = new SaeMetricsAccumulator(dIn, dSae, options);
  for await (const batch of batches) {
    if (batch.length % dIn !== 0) throw new RangeError(`batch length ${batch.length} is not a multiple of d_in ${dIn}`);
    const rows = batch.length / dIn;
    if (rows === 0) continue;
    const [mean, centred, error, counts] = tf.tidy(() => {
      const x = tf.tensor2d(batch, [rows, dIn]);
      const features = sae.encode(x);
      const reconstruction = sae.decode(features);
      const ones = tf.ones([1, rows]);
      const mean = tf.div(tf.matMul(ones, x), rows);
      const centred = tf.matMul(ones, tf.square(tf.sub(x, mean)));
      const error = tf.sum(tf.square(tf.sub(x, reconstruction)));
      // Firing counts are whole numbers (exact in float32 whichever way they are summed); a column sum is faster
      // on wasm than a [1, rows] product.
      const counts = tf.sum(tf.step(features), 0);
      return [mean, centred, error, counts];
    });
    accumulator.addStatistics({
      rows,
      inputMean: mean.dataSync(),
      inputCentredSquares: centred.dataSync(),
      squaredError: error.dataSync()[0]!,
      featureCounts: counts.dataSync(),
    });
    tf.dispose([mean, centred, error, counts]);
  }
  return accumulator.result();
}
