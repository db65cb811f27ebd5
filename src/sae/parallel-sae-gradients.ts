/**
 * @module sae/parallel-sae-gradients — data-parallel SAE gradients (issue 19 item 4): what the trainer needs from
 * workers that compute the loss's gradients on their share of a batch's rows (./sae-gradient-pool.ts), and how the
 * shares' results become the batch's.
 *
 * Every term of the loss is a sum over rows divided by the batch's rows (MSE, the L1 term, AuxK's), so the batch's
 * gradient is the rows-weighted mean of the shares' gradients: Σₛ (rowsₛ / rows)·gₛ. The squared error and the
 * per-latent firing counts are plain sums.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SaeGradientOutput } from './sae-gradients.ts';

/** A share's gradients read back to the host (a worker's answer). */
export interface HostGradientPass {
  gradients: { W_enc: Float32Array; b_enc: Float32Array; W_decT: Float32Array; b_dec: Float32Array };
  mse: number;
  squaredError: number;
  auxiliaryLoss: number;
  /** Per latent, the rows of the share on which it fired. */
  counts: Float32Array;
}

/** What a share's loss needs besides its rows and the weights. */
export interface GradientShareContext {
  activationScale: number;
  /** λₜ of the standard loss (0 for topk). */
  l1Coefficient: number;
  /** TopK with dead latents: their 0/1 mask [d_sae], count, k_aux's maximum and α; null: no AuxK term. */
  auxK: { deadMask: Float32Array; deadCount: number; maximum: number; coefficient: number } | null;
}

/** Workers that compute the gradients of shares of a batch at the trainer's current weights. */
export interface SaeGradientWorkers {
  /** The number of workers: the trainer splits a batch into this many shares plus its own. */
  readonly size: number;
  /** Per share (raw rows, one share per worker), its gradients at `weights`. */
  gradients(
    weights: { W_enc: tf.Tensor2D; b_enc: tf.Tensor1D; W_decT: tf.Tensor2D; b_dec: tf.Tensor1D },
    shares: readonly Float32Array[],
    context: GradientShareContext,
  ): Promise<HostGradientPass[]>;
}

/** The weights' views (W_enc [d_in·d_sae], b_enc [d_sae], W_decT [d_in·d_sae], b_dec [d_in], in this order) into the shared buffer (floats), in the order of `SaeGradientWorkerData.weights`. */
export function sharedSaeWeightViews(buffer: SharedArrayBuffer, dIn: number, dSae: number) {
  let offset = 0;
  const view = (length: number) => {
    const array = new Float32Array(buffer, offset * Float32Array.BYTES_PER_ELEMENT, length);
    offset += length;
    return array;
  };
  return { W_enc: view(dIn * dSae), b_enc: view(dSae), W_decT: view(dIn * dSae), b_dec: view(dIn) };
}

/** Floats the shared weights take. */
export const sharedSaeWeightFloats = (dIn: number, dSae: number): number => 2 * dIn * dSae + dSae + dIn;

function isHost(pass: SaeGradientOutput | HostGradientPass): pass is HostGradientPass {
  return typeof pass.mse === 'number';
}

type GradientName = keyof HostGradientPass['gradients'];

/** One share's pass and its rows. */
export interface GradientShare {
  rows: number;
  pass: SaeGradientOutput | HostGradientPass;
}

/**
 * The batch's pass from its shares' (call inside tf.tidy): gradients and losses rows-weighted, squared errors and
 * counts summed. `rows`: the batch's; `dIn`, `dSae`: the SAE's, for the shapes of host gradients.
 */
export function combineGradientPasses(
  parts: readonly GradientShare[],
  rows: number,
  { dIn, dSae }: { dIn: number; dSae: number },
): SaeGradientOutput {
  const shapes: Record<GradientName, number[]> = {
    W_enc: [dIn, dSae],
    b_enc: [dSae],
    W_decT: [dIn, dSae],
    b_dec: [dIn],
  };
  const weighted = (part: GradientShare, name: GradientName) => {
    const { pass } = part;
    const value = isHost(pass) ? tf.tensor(pass.gradients[name], shapes[name]) : pass.gradients[name];
    return tf.mul(value, part.rows / rows);
  };
  const scalar = (part: GradientShare, name: 'mse' | 'squaredError' | 'auxiliaryLoss') =>
    isHost(part.pass) ? tf.scalar(part.pass[name]) : part.pass[name];
  const sum = (tensors: tf.Tensor[]) => (tensors.length === 1 ? tensors[0]! : tf.addN(tensors));
  const gradient = (name: GradientName) => sum(parts.map((part) => weighted(part, name)));
  const squaredError = sum(parts.map((part) => scalar(part, 'squaredError'))) as tf.Scalar;
  return {
    gradients: {
      W_enc: gradient('W_enc') as tf.Tensor2D,
      b_enc: gradient('b_enc') as tf.Tensor1D,
      W_decT: gradient('W_decT') as tf.Tensor2D,
      b_dec: gradient('b_dec') as tf.Tensor1D,
    },
    mse: tf.div(squaredError, rows) as tf.Scalar,
    squaredError,
    auxiliaryLoss: sum(parts.map((part) => tf.mul(scalar(part, 'auxiliaryLoss'), part.rows / rows))) as tf.Scalar,
    counts: sum(
      parts.map((part) => (isHost(part.pass) ? tf.tensor2d(part.pass.counts, [1, dSae]) : part.pass.counts)),
    ) as tf.Tensor2D,
  };
}
