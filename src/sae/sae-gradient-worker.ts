/**
 * @module sae/sae-gradient-worker — the worker of an SAE gradient pool (./sae-gradient-pool.ts): starts its own tfjs
 * backend, then computes the loss's gradients of a share of a batch's rows at the weights the trainer put in the
 * pool's shared buffer, and returns them as typed arrays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../subject/backend.ts';
import { serveWorkerRequests, type WorkerAnswer } from '../subject/worker-pool.ts';
import { type GradientShareContext, type HostGradientPass, sharedSaeWeightViews } from './parallel-sae-gradients.ts';
import { saeLossAndGradients } from './sae-gradients.ts';
import type { SaeConfig } from './types.ts';

/** What every worker of the pool starts from. */
export interface SaeGradientWorkerData {
  backend: 'wasm' | 'cpu';
  sae: Pick<SaeConfig, 'dIn' | 'dSae' | 'architecture' | 'k' | 'applyBDecToInput'>;
  /** The trainer's weights, written before each request (./parallel-sae-gradients.ts `sharedSaeWeightViews`). */
  weights: SharedArrayBuffer;
}

/** One share of a batch: raw rows [rows × d_in] (moved to the worker). */
export interface SaeGradientRequest {
  x: Float32Array;
  rows: number;
  context: GradientShareContext;
}

serveWorkerRequests<SaeGradientWorkerData, SaeGradientRequest, HostGradientPass, string>(
  async (data) => {
    const workerData = data as SaeGradientWorkerData;
    const choice = await initBackend(workerData.backend);
    return { state: workerData, info: choice.description };
  },
  async ({ sae, weights }, { x, rows, context }): Promise<WorkerAnswer<HostGradientPass>> => {
    const { dIn, dSae } = sae;
    const host = sharedSaeWeightViews(weights, dIn, dSae);
    const pass = tf.tidy(() => {
      let input = tf.tensor2d(x, [rows, dIn]);
      if (context.activationScale !== 1) input = tf.mul(input, context.activationScale);
      const auxK = context.auxK && { ...context.auxK, deadMask: tf.tensor2d(context.auxK.deadMask, [1, dSae]) };
      const output = saeLossAndGradients({
        x: input,
        W_enc: tf.tensor2d(host.W_enc, [dIn, dSae]),
        b_enc: tf.tensor1d(host.b_enc),
        W_decT: tf.tensor2d(host.W_decT, [dIn, dSae]),
        b_dec: tf.tensor1d(host.b_dec),
        sae,
        l1Coefficient: context.l1Coefficient,
        auxK,
      });
      return [
        output.gradients.W_enc,
        output.gradients.b_enc,
        output.gradients.W_decT,
        output.gradients.b_dec,
        output.counts,
        tf.stack([output.mse, output.squaredError, output.auxiliaryLoss]),
      ];
    });
    try {
      const [W_enc, b_enc, W_decT, b_dec, counts, scalars] = (await Promise.all(
        pass.map((tensor) => tensor.data()),
      )) as Float32Array[];
      const response: HostGradientPass = {
        gradients: { W_enc: W_enc!, b_enc: b_enc!, W_decT: W_decT!, b_dec: b_dec! },
        mse: scalars![0]!,
        squaredError: scalars![1]!,
        auxiliaryLoss: scalars![2]!,
        counts: counts!,
      };
      return {
        response,
        transfer: [W_enc!, b_enc!, W_decT!, b_dec!, counts!].map((array) => array.buffer as ArrayBuffer),
      };
    } finally {
      tf.dispose(pass);
    }
  },
);
