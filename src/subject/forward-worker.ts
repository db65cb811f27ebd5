/**
 * @module subject/forward-worker — the worker of a forward pool (./parallel-forward.ts): starts its own tfjs backend,
 * builds the model once from the pool's shared weights (./shared-weights.ts), then runs forward passes on request and
 * returns the hook's activations, or the sum of the logits, as typed arrays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend.ts';
import { Gpt2Model } from './gpt2-model.ts';
import { type SharedWeights, sharedWeightViews } from './shared-weights.ts';
import type { Gpt2Config } from './types.ts';
import { serveWorkerRequests, type WorkerAnswer } from './worker-pool.ts';

/** What every worker of the pool starts from. */
export interface ForwardWorkerData {
  config: Gpt2Config;
  weights: SharedWeights;
  backend: 'wasm' | 'cpu';
}

/** A forward pass of `rows` rows of equal length (`ids`: row-major token ids). */
export type ForwardRequest =
  | { kind: 'hook'; ids: Int32Array; rows: number; hook: string }
  | { kind: 'logit-sum'; ids: Int32Array; rows: number };

/** `hook`: the activation [rows, length, width], row-major; `logit-sum`: Σ of the logits. */
export type ForwardResponse = Float32Array | number;

/** The activation at `hook` (the pass stopped there), read back. */
async function hookActivation(model: Gpt2Model, ids: Int32Array, rows: number, hook: string): Promise<Float32Array> {
  const captured = tf.tidy(() => {
    let activation: tf.Tensor | undefined;
    model.forward(ids, rows, { hooks: { [hook]: (value) => void (activation = value) }, stopAt: hook });
    if (!activation) throw new Error(`hook ${hook} did not run`);
    return activation;
  });
  try {
    const data = (await captured.data()) as Float32Array;
    // Moved to the main thread whole: a view into a larger buffer is copied first.
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
  } finally {
    captured.dispose();
  }
}

serveWorkerRequests<Gpt2Model, ForwardRequest, ForwardResponse, string>(
  async (data) => {
    const { config, weights, backend } = data as ForwardWorkerData;
    const choice = await initBackend(backend);
    return { state: Gpt2Model.fromWeights(config, sharedWeightViews(weights)), info: choice.description };
  },
  async (model, request): Promise<WorkerAnswer<ForwardResponse>> => {
    if (request.kind === 'hook') {
      const activation = await hookActivation(model, request.ids, request.rows, request.hook);
      return { response: activation, transfer: [activation.buffer as ArrayBuffer] };
    }
    const sum = tf.tidy(() => tf.sum(model.forward(request.ids, request.rows).logits!));
    try {
      return { response: ((await sum.data()) as Float32Array)[0]! };
    } finally {
      sum.dispose();
    }
  },
);
