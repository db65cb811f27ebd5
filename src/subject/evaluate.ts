/**
 * @module subject/evaluate — held-out next-token loss of a subject model and of the unigram / bigram baselines it
 * must beat, all measured on exactly the same predicted tokens.
 *
 * Protocol: the token stream is cut into non-overlapping windows of `window` tokens (a short tail is dropped); in each
 * window tokens 1 … window−1 are predicted (the model from all earlier tokens of the window, the bigram from the one
 * before). Losses are mean cross-entropies in nats per predicted token.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from './fast-ops.ts';
import type { Gpt2Model } from './gpt2-model.ts';

export interface WindowOptions {
  window: number;
  /** Use at most this many windows from the start of the stream. */
  maxWindows?: number;
}

function windowCount(stream: ArrayLike<number>, options: WindowOptions): number {
  const all = Math.floor(stream.length / options.window);
  return Math.min(all, options.maxWindows ?? all);
}

export interface LossResult {
  /** Mean cross-entropy in nats per predicted token. */
  loss: number;
  /** Number of predicted tokens. */
  tokens: number;
}

/** The model's held-out loss; windows are run `batch` at a time. */
export function modelLoss(
  model: Gpt2Model,
  stream: Int32Array,
  options: WindowOptions & { batch?: number },
): LossResult {
  const { window } = options;
  const windows = windowCount(stream, options);
  const batch = options.batch ?? 16;
  let total = 0;
  let tokens = 0;
  for (let first = 0; first < windows; first += batch) {
    const rows = Math.min(batch, windows - first);
    const ids = stream.subarray(first * window, (first + rows) * window);
    const targets = new Int32Array(rows * (window - 1));
    for (let r = 0; r < rows; r++) targets.set(ids.subarray(r * window + 1, (r + 1) * window), r * (window - 1));
    const loss = tf.tidy(() => {
      const { logits } = model.forward(ids, rows);
      const predicting = tf.slice(logits!, [0, 0, 0], [rows, window - 1, model.config.vocabSize]);
      return crossEntropy(
        tf.reshape(predicting, [rows * (window - 1), model.config.vocabSize]) as tf.Tensor2D,
        targets,
      );
    });
    total += loss.dataSync()[0]! * targets.length;
    tokens += targets.length;
    loss.dispose();
  }
  return { loss: tokens === 0 ? Number.NaN : total / tokens, tokens };
}

export interface NgramBaselines {
  /** Add-one smoothed unigram loss. */
  unigram: LossResult;
  /** Bigram loss, interpolated with the unigram by a Dirichlet prior of strength `bigramPrior`. */
  bigram: LossResult;
  /** The prior strength used (the best of a small grid on the evaluated tokens: this favours the baseline). */
  bigramPrior: number;
}

/**
 * Unigram and bigram losses with counts from `train`, evaluated on the same predicted tokens of `heldOut` as
 * {@link modelLoss}. P_uni(b) = (c(b)+1)/(N+V); P_bi(b|a) = (c(a,b) + β·P_uni(b)) / (c(a) + β).
 */
export function ngramBaselines(
  train: Int32Array,
  heldOut: Int32Array,
  vocabSize: number,
  options: WindowOptions,
): NgramBaselines {
  const unigramCounts = new Float64Array(vocabSize);
  for (const id of train) unigramCounts[id]!++;
  const pairCounts = new Map<number, number>();
  for (let i = 1; i < train.length; i++) {
    const key = train[i - 1]! * vocabSize + train[i]!;
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + 1);
  }
  const contextCounts = new Float64Array(vocabSize);
  for (let i = 0; i < train.length - 1; i++) contextCounts[train[i]!]!++;
  const unigramProb = (id: number) => (unigramCounts[id]! + 1) / (train.length + vocabSize);

  const { window } = options;
  const windows = windowCount(heldOut, options);
  const pairs: [number, number][] = [];
  for (let w = 0; w < windows; w++) {
    for (let t = 1; t < window; t++) pairs.push([heldOut[w * window + t - 1]!, heldOut[w * window + t]!]);
  }
  let unigramTotal = 0;
  for (const [, b] of pairs) unigramTotal -= Math.log(unigramProb(b));
  let best = { prior: 0, loss: Number.POSITIVE_INFINITY };
  for (const prior of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) {
    let total = 0;
    for (const [a, b] of pairs) {
      const count = pairCounts.get(a * vocabSize + b) ?? 0;
      total -= Math.log((count + prior * unigramProb(b)) / (contextCounts[a]! + prior));
    }
    const loss = total / pairs.length;
    if (loss < best.loss) best = { prior, loss };
  }
  return {
    unigram: { loss: unigramTotal / pairs.length, tokens: pairs.length },
    bigram: { loss: best.loss, tokens: pairs.length },
    bigramPrior: best.prior,
  };
}
