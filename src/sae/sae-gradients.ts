/**
 * @module sae/sae-gradients — the SAE training loss of one batch and its gradients, written out by hand (no tape).
 *
 * Losses (per batch of B rows; MSE = Σ_rows ‖x − x̂‖² / B, as SAELens):
 * - `standard`: MSE + λₜ·Σ_rows Σ_i f_i‖W_dec,i‖ / B (λₜ: ./training-options.ts).
 * - `topk`: MSE + α·min(n_dead/k_aux, 1)·Σ_rows ‖ê − (x − x̂)‖² / B (AuxK, Gao et al. 2024, with SAELens's and
 *   sparsify's scaling): ê = a·W_dec where a keeps the ReLU'd pre-activations of the k_aux = min(d_in/2, n_dead)
 *   largest dead latents of each row; α = 1/32; a latent is dead when it has not fired for `deadTokens` tokens.
 *
 * Speed: every product is a plain [N,k]·[k,n] product (see subject/fast-ops for why): W_dec comes transposed
 * ([d_in, d_sae], the layout of W_enc) so that the decoder's backward products need only small transposes, and the
 * forward product takes one transpose of it (whose rows also give the decoder norms); column sums are products with
 * a row of ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import { topKMask } from './sae-model.ts';
import type { SaeConfig } from './types.ts';

/** A very negative number that keeps live latents out of AuxK's top-k. */
const excluded = -1e30;

/** The input of one forward-and-backward pass (all tensors owned by the caller). */
export interface SaeGradientInput {
  /** Inputs [rows, d_in], already multiplied by the activation scale. */
  x: tf.Tensor2D;
  W_enc: tf.Tensor2D;
  b_enc: tf.Tensor1D;
  /** W_dec transposed, [d_in, d_sae]. */
  W_decT: tf.Tensor2D;
  b_dec: tf.Tensor1D;
  sae: Pick<SaeConfig, 'architecture' | 'k' | 'applyBDecToInput'>;
  /** λₜ of the standard loss (ignored for topk). */
  l1Coefficient: number;
  /** TopK with dead latents: their 0/1 mask [1, d_sae] and count, k_aux's maximum and α; null: no AuxK term. */
  auxK: { deadMask: tf.Tensor2D; deadCount: number; maximum: number; coefficient: number } | null;
}

export interface SaeGradientOutput {
  /** Gradients of the loss; `W_decT` is the gradient of W_dec, transposed. */
  gradients: { W_enc: tf.Tensor2D; b_enc: tf.Tensor1D; W_decT: tf.Tensor2D; b_dec: tf.Tensor1D };
  /** Σ‖x − x̂‖² / rows */
  mse: tf.Scalar;
  /** Σ‖x − x̂‖² */
  squaredError: tf.Scalar;
  /** The L1 term (standard) or the weighted AuxK term (topk). */
  auxiliaryLoss: tf.Scalar;
  /** Per latent, the rows on which it fired, [1, d_sae]. */
  counts: tf.Tensor2D;
}

/**
 * The loss of the module comment and its gradients for one batch, written out by hand (plain-layout products only).
 * Call inside `tf.tidy`. Exported for the gradient test, which compares it with tfjs's autodiff.
 */
export function saeLossAndGradients(input: SaeGradientInput): SaeGradientOutput {
  const { x, W_enc, b_enc, W_decT, b_dec } = input;
  const [rows, dIn] = x.shape;
  const dSae = W_enc.shape[1];
  const topk = input.sae.architecture === 'topk';
  const ones = tf.ones([1, rows]) as tf.Tensor2D;
  const xCentred = input.sae.applyBDecToInput ? tf.sub(x, b_dec) : x;
  const pre = tf.add(tf.matMul(xCentred, W_enc), b_enc) as tf.Tensor2D;
  const relu = tf.relu(pre);
  const features = topk ? tf.mul(relu, topKMask(pre, input.sae.k!)) : relu;
  const active = tf.step(features);
  const W_dec = tf.transpose(W_decT) as tf.Tensor2D;
  const reconstruction = tf.add(tf.matMul(features, W_dec), b_dec);
  const error = tf.sub(reconstruction, x);
  const squaredError = tf.sum(tf.square(error)) as tf.Scalar;
  const mse = tf.div(squaredError, rows) as tf.Scalar;
  const dReconstruction = tf.mul(error, 2 / rows);
  const dFeatures = tf.matMul(dReconstruction, W_decT);
  const counts = tf.matMul(ones, active) as tf.Tensor2D;
  let dPre: tf.Tensor2D;
  let dDecoderT = tf.matMul(tf.transpose(dReconstruction), features) as tf.Tensor2D;
  let auxiliaryLoss = tf.scalar(0);
  if (!topk) {
    const l1 = input.l1Coefficient;
    // row norms of W_dec from its row-major copy: a sum along the last axis (a [1,d_in]·[d_in,d_sae] product costs more)
    const norms = tf.reshape(tf.sqrt(tf.sum(tf.square(W_dec), 1)), [1, dSae]);
    const featureSums = tf.matMul(ones, features);
    auxiliaryLoss = tf.mul(tf.sum(tf.mul(featureSums, norms)), l1 / rows);
    dPre = tf.mul(active, tf.add(dFeatures, tf.mul(norms, l1 / rows)));
    // ∂/∂W_dec,i of λ·n_i·Σ_b f_bi / B = λ·(Σ_b f_bi / B)·W_dec,i / n_i
    dDecoderT = tf.add(dDecoderT, tf.mul(W_decT, tf.div(tf.mul(featureSums, l1 / rows), tf.maximum(norms, 1e-12))));
  } else {
    dPre = tf.mul(active, dFeatures);
    const aux = input.auxK;
    if (aux && aux.deadCount > 0) {
      const kAux = Math.min(aux.maximum, aux.deadCount);
      const auxScale = Math.min(aux.deadCount / aux.maximum, 1);
      const dead = aux.deadMask;
      const auxMask =
        kAux < aux.deadCount
          ? tf.mul(topKMask(tf.add(pre, tf.mul(tf.sub(1, dead), excluded)) as tf.Tensor2D, kAux), dead)
          : tf.mul(tf.onesLike(pre), dead);
      const auxFeatures = tf.mul(relu, auxMask);
      const auxActive = tf.step(auxFeatures);
      // residual target e = x − x̂ (no gradient through it); ê − e = ê + error
      const auxError = tf.add(tf.matMul(auxFeatures, W_dec), error);
      const weight = aux.coefficient * auxScale;
      auxiliaryLoss = tf.mul(tf.sum(tf.square(auxError)), weight / rows);
      const dAux = tf.mul(auxError, (2 * weight) / rows);
      dPre = tf.add(dPre, tf.mul(auxActive, tf.matMul(dAux, W_decT)));
      dDecoderT = tf.add(dDecoderT, tf.matMul(tf.transpose(dAux), auxFeatures));
    }
  }
  const dEncoder = tf.matMul(tf.transpose(xCentred), dPre) as tf.Tensor2D;
  const dEncoderBias = tf.reshape(tf.matMul(ones, dPre), [dSae]) as tf.Tensor1D;
  let dDecoderBias = tf.reshape(tf.matMul(ones, dReconstruction), [dIn]) as tf.Tensor1D;
  if (input.sae.applyBDecToInput)
    dDecoderBias = tf.sub(dDecoderBias, tf.reshape(tf.matMul(W_enc, tf.reshape(dEncoderBias, [dSae, 1])), [dIn]));
  return {
    gradients: { W_enc: dEncoder, b_enc: dEncoderBias, W_decT: dDecoderT, b_dec: dDecoderBias },
    mse,
    squaredError,
    auxiliaryLoss,
    counts,
  };
}
