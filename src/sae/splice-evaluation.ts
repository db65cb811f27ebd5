/**
 * @module sae/splice-evaluation — how much of the subject model's behaviour survives when an SAE's reconstruction
 * replaces the activations at its hook point (docs/DESIGN.md §5; SAELens's `get_recons_loss`).
 *
 * For each sequence three forward passes: original; the hook's activations x replaced by the reconstruction x̂;
 * and replaced by zeros (zero ablation). Over every next-token prediction counted:
 * - CE_orig, CE_sae, CE_zero: mean cross-entropy (nats) of the true next token;
 * - CE loss recovered = (CE_zero − CE_sae) / (CE_zero − CE_orig): 1 when splicing in the SAE costs nothing, 0 when
 *   it is as bad as deleting the layer's activations (null when zero ablation changes nothing);
 * - KL_sae = mean KL(p_orig ‖ p_sae) over the next-token distributions, KL_zero likewise, and the KL score
 *   1 − KL_sae / KL_zero (SAELens's `kl_div_score`).
 *
 * Positions: a sequence that starts with the `<|endoftext|>` the extraction inserted (`bosTokenId`) keeps its
 * original activations at that position (the SAE was not trained on it) and its prediction there is not counted.
 * Several SAEs of one hook (`evaluateSplices`) share each batch's original and zero-ablated passes; only the
 * reconstructed pass runs per SAE. Only sums come back to the host; memory is a few batches of logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Gpt2Model } from '../subject/gpt2-model.ts';
import type { SparseAutoencoder } from './sae-model.ts';
import { InputError } from '../common/errors.ts';

export interface SpliceMetrics {
  /** Next-token predictions counted. */
  predictions: number;
  ceOriginal: number;
  ceReconstructed: number;
  ceZeroAblated: number;
  /** (CE_zero − CE_sae) / (CE_zero − CE_orig); null when CE_zero equals CE_orig. */
  ceLossRecovered: number | null;
  /** Mean KL(p_orig ‖ p_sae), nats. */
  klDivergence: number;
  /** Mean KL(p_orig ‖ p_zero), nats. */
  klZeroAblated: number;
  /** 1 − KL_sae / KL_zero; null when KL_zero is 0. */
  klScore: number | null;
}

export interface SpliceOptions {
  /** Sequences per forward pass (default 16); sequences of equal length are batched together. */
  batch?: number;
  /** Token id of an inserted `<|endoftext|>` at sequence starts (see the module comment); null: none. */
  bosTokenId?: number | null;
  /** Called after each batch with the sequences done. */
  onProgress?: (done: number, total: number) => void;
}

interface Sums {
  ceOriginal: number;
  ceReconstructed: number;
  ceZero: number;
  klReconstructed: number;
  klZero: number;
  predictions: number;
}

/** The metrics of splicing `sae` into `model` at `sae.config.hookName`, over `sequences` (token ids). */
export async function evaluateSplice(
  model: Gpt2Model,
  sae: SparseAutoencoder,
  sequences: readonly Int32Array[],
  options: SpliceOptions = {},
): Promise<SpliceMetrics> {
  const [metrics] = await evaluateSplices(model, [sae], sequences, options);
  return metrics!;
}

/**
 * The metrics of splicing each of `saes` (all reading one hook point) into `model`, over `sequences`: per batch the
 * original and the zero-ablated passes run once and are shared, and only the reconstructed pass runs per SAE. Each
 * SAE's metrics are those `evaluateSplice` gives for it alone, bit for bit (the same operations on the same inputs).
 */
export async function evaluateSplices(
  model: Gpt2Model,
  saes: readonly SparseAutoencoder[],
  sequences: readonly Int32Array[],
  options: SpliceOptions = {},
): Promise<SpliceMetrics[]> {
  if (saes.length === 0) return [];
  const hook = saes[0]!.config.hookName;
  for (const sae of saes) {
    if (sae.config.hookName !== hook)
      throw new InputError(
        `the SAEs read different hook points (${hook} and ${sae.config.hookName}); evaluate them apart`,
      );
  }
  if (!model.hookPoints.includes(hook))
    throw new InputError(`the SAE reads ${hook}, which is not a hook point of the subject model`);
  const batchSize = options.batch ?? 16;
  const bos = options.bosTokenId ?? null;
  const byLength = new Map<number, Int32Array[]>();
  for (const sequence of sequences) {
    if (sequence.length < 2) continue;
    if (sequence.length > model.config.nPositions)
      throw new InputError(
        `a sequence has ${sequence.length} tokens; the model's context is ${model.config.nPositions}`,
      );
    const group = byLength.get(sequence.length) ?? [];
    group.push(sequence);
    byLength.set(sequence.length, group);
  }
  const sums: Sums[] = saes.map(() => ({
    ceOriginal: 0,
    ceReconstructed: 0,
    ceZero: 0,
    klReconstructed: 0,
    klZero: 0,
    predictions: 0,
  }));
  let done = 0;
  for (const [length, group] of byLength) {
    for (let first = 0; first < group.length; first += batchSize) {
      const part = group.slice(first, first + batchSize);
      addBatch(model, saes, hook, part, length, bos, sums);
      done += part.length;
      options.onProgress?.(done, sequences.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return sums.map(metricsOf);
}

function metricsOf(sums: Sums): SpliceMetrics {
  const n = sums.predictions;
  if (n === 0) throw new InputError('no next-token prediction to evaluate (every sequence is shorter than 2 tokens)');
  const ceOriginal = sums.ceOriginal / n;
  const ceReconstructed = sums.ceReconstructed / n;
  const ceZeroAblated = sums.ceZero / n;
  const klDivergence = sums.klReconstructed / n;
  const klZeroAblated = sums.klZero / n;
  return {
    predictions: n,
    ceOriginal,
    ceReconstructed,
    ceZeroAblated,
    ceLossRecovered:
      ceZeroAblated !== ceOriginal ? (ceZeroAblated - ceReconstructed) / (ceZeroAblated - ceOriginal) : null,
    klDivergence,
    klZeroAblated,
    klScore: klZeroAblated > 0 ? 1 - klDivergence / klZeroAblated : null,
  };
}

function addBatch(
  model: Gpt2Model,
  saes: readonly SparseAutoencoder[],
  hook: string,
  part: Int32Array[],
  length: number,
  bos: number | null,
  sums: Sums[],
): void {
  const rows = part.length;
  const ids = new Int32Array(rows * length);
  part.forEach((sequence, row) => ids.set(sequence, row * length));
  // keep[b, t] = 1 where the original activation stays (an inserted <|endoftext|> at t = 0).
  const keep = new Float32Array(rows * length);
  const counted = new Float32Array(rows * (length - 1)).fill(1);
  part.forEach((sequence, row) => {
    if (bos !== null && sequence[0] === bos) {
      keep[row * length] = 1;
      counted[row * (length - 1)] = 0;
    }
  });
  const predictions = counted.reduce((sum, value) => sum + value, 0);
  // Per batch: [CE_orig, CE_zero, KL_zero] once, then [CE_sae, KL_sae] per SAE, all read back in one transfer.
  const values = tf.tidy(() => {
    const keepMask = tf.tensor3d(keep, [rows, length, 1]);
    const patch = (replacement: (x: tf.Tensor2D) => tf.Tensor2D) => (activation: tf.Tensor) => {
      const width = activation.shape[activation.shape.length - 1]!;
      const flat = tf.reshape(activation, [rows * length, width]) as tf.Tensor2D;
      const replaced = tf.reshape(replacement(flat), activation.shape);
      return tf.add(tf.mul(activation, keepMask), tf.mul(replaced, tf.sub(1, keepMask)));
    };
    const logProbs = (hooks?: Record<string, (activation: tf.Tensor) => tf.Tensor>) => {
      const { logits } = model.forward(ids, rows, hooks ? { hooks } : {});
      const predicting = tf.slice(logits!, [0, 0, 0], [rows, length - 1, -1]);
      return tf.logSoftmax(tf.reshape(predicting, [rows * (length - 1), -1]) as tf.Tensor2D);
    };
    const original = logProbs();
    const zero = logProbs({ [hook]: patch((x) => tf.zerosLike(x)) });
    const targets = tf.oneHot(
      tf.tensor1d(
        part.flatMap((sequence) => Array.from(sequence.subarray(1))),
        'int32',
      ),
      original.shape[1],
    );
    const weights = tf.tensor2d(counted, [rows * (length - 1), 1]);
    const crossEntropy = (lp: tf.Tensor2D) => tf.neg(tf.sum(tf.mul(tf.mul(lp, targets), weights)));
    const originalProbs = tf.exp(original);
    const kl = (lp: tf.Tensor2D) => tf.sum(tf.mul(tf.mul(originalProbs, tf.sub(original, lp)), weights));
    const shared = [crossEntropy(original), crossEntropy(zero), kl(zero)];
    const perSae = saes.flatMap((sae) =>
      tf.tidy(() => {
        const reconstructed = logProbs({ [hook]: patch((x) => sae.reconstruct(x)) });
        return [crossEntropy(reconstructed), kl(reconstructed)];
      }),
    );
    return tf.stack([...shared, ...perSae]);
  });
  const read = values.dataSync() as Float32Array;
  values.dispose();
  const [ceOriginal, ceZero, klZero] = read;
  sums.forEach((sum, index) => {
    sum.ceOriginal += ceOriginal!;
    sum.ceReconstructed += read[3 + 2 * index]!;
    sum.ceZero += ceZero!;
    sum.klReconstructed += read[4 + 2 * index]!;
    sum.klZero += klZero!;
    sum.predictions += predictions;
  });
}
