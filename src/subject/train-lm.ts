/**
 * @module subject/train-lm — trains a GPT-2-architecture model on a token stream (next-token cross-entropy): Adam,
 * linear warm-up then cosine decay, global-norm gradient clipping, random windows drawn from a seeded generator. Used
 * by scripts/train-subject-model.ts for the embedded model; deterministic for a seed on a given backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../common/random.ts';
import { crossEntropy } from './fast-ops.ts';
import { Gpt2Model } from './gpt2-model.ts';
import type { Gpt2Config, Gpt2Weights } from './types.ts';

export interface TrainOptions {
  steps: number;
  batch: number;
  /** Window length (≤ nPositions). */
  window: number;
  learningRate: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of the peak (cosine decay). */
  minLearningRateFraction: number;
  clipNorm: number;
  seed: number;
  /** Called after each step with its loss (read back every `reportEvery` steps only: reading syncs). */
  onStep?: (step: number, loss: number | null, learningRate: number) => void;
  reportEvery?: number;
}

export function learningRateAt(step: number, options: TrainOptions): number {
  const { learningRate, warmupSteps, steps, minLearningRateFraction } = options;
  if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
  const progress = (step - warmupSteps) / Math.max(1, steps - warmupSteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
  return learningRate * (minLearningRateFraction + (1 - minLearningRateFraction) * cosine);
}

function normal(random: () => number): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** GPT-2 initialization: N(0, 0.02) matrices, residual projections N(0, 0.02/√(2·layers)), zero biases, unit LN. */
export function initGpt2Weights(config: Gpt2Config, seed: number): Gpt2Weights {
  const random = mulberry32(seed);
  const weights: Gpt2Weights = new Map();
  const matrix = (name: string, rows: number, cols: number, std: number) => {
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = normal(random) * std;
    weights.set(name, { shape: [rows, cols], data });
  };
  const vector = (name: string, length: number, value: number) =>
    weights.set(name, { shape: [length], data: new Float32Array(length).fill(value) });
  const d = config.nEmbd;
  const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
  matrix('wte.weight', config.vocabSize, d, 0.02);
  matrix('wpe.weight', config.nPositions, d, 0.01);
  for (let layer = 0; layer < config.nLayer; layer++) {
    const p = `h.${layer}`;
    vector(`${p}.ln_1.weight`, d, 1);
    vector(`${p}.ln_1.bias`, d, 0);
    matrix(`${p}.attn.c_attn.weight`, d, 3 * d, 0.02);
    vector(`${p}.attn.c_attn.bias`, 3 * d, 0);
    matrix(`${p}.attn.c_proj.weight`, d, d, residualStd);
    vector(`${p}.attn.c_proj.bias`, d, 0);
    vector(`${p}.ln_2.weight`, d, 1);
    vector(`${p}.ln_2.bias`, d, 0);
    matrix(`${p}.mlp.c_fc.weight`, d, config.nInner, 0.02);
    vector(`${p}.mlp.c_fc.bias`, config.nInner, 0);
    matrix(`${p}.mlp.c_proj.weight`, config.nInner, d, residualStd);
    vector(`${p}.mlp.c_proj.bias`, d, 0);
  }
  vector('ln_f.weight', d, 1);
  vector('ln_f.bias', d, 0);
  return weights;
}

/** Draws `batch` windows of `window + 1` tokens (inputs and shifted targets) from the stream. */
function drawBatch(
  stream: Int32Array,
  batch: number,
  window: number,
  random: () => number,
): { ids: Int32Array; targets: Int32Array } {
  const ids = new Int32Array(batch * window);
  const targets = new Int32Array(batch * window);
  const starts = stream.length - window - 1;
  for (let row = 0; row < batch; row++) {
    const start = Math.floor(random() * (starts + 1));
    ids.set(stream.subarray(start, start + window), row * window);
    targets.set(stream.subarray(start + 1, start + window + 1), row * window);
  }
  return { ids, targets };
}

export interface TrainResult {
  model: Gpt2Model;
  /** Mean loss of the last `reportEvery` reported steps. */
  finalLoss: number;
  tokensSeen: number;
  seconds: number;
}

/** Trains from `initial` weights; returns a trainable model (call `toWeights()` to save it). */
export function trainLanguageModel(
  config: Gpt2Config,
  initial: Gpt2Weights,
  stream: Int32Array,
  options: TrainOptions,
): TrainResult {
  if (options.window > config.nPositions)
    throw new Error(`window ${options.window} exceeds the context ${config.nPositions}`);
  if (stream.length < options.window + 2) throw new Error(`training stream too short: ${stream.length} tokens`);
  const model = Gpt2Model.fromWeights(config, initial, { trainable: true });
  const variables = model.variables();
  const optimizer = tf.train.adam(options.learningRate, 0.9, 0.95, 1e-8);
  const random = mulberry32(options.seed);
  const reportEvery = options.reportEvery ?? 50;
  const started = performance.now();
  const recent: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const rate = learningRateAt(step, options);
    (optimizer as unknown as { learningRate: number }).learningRate = rate;
    const { ids, targets } = drawBatch(stream, options.batch, options.window, random);
    const report = (step + 1) % reportEvery === 0 || step === options.steps - 1;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = model.forward(ids, options.batch);
        return crossEntropy(tf.reshape(logits!, [ids.length, config.vocabSize]) as tf.Tensor2D, targets);
      }, variables);
      const names = Object.keys(grads);
      const globalNorm = tf.sqrt(tf.addN(names.map((name) => tf.sum(tf.square(grads[name]!)))));
      const scale = tf.div(options.clipNorm, tf.maximum(globalNorm, options.clipNorm));
      const clipped: Record<string, tf.Tensor> = {};
      for (const name of names) clipped[name] = tf.mul(grads[name]!, scale);
      optimizer.applyGradients(clipped as Parameters<typeof optimizer.applyGradients>[0]);
      return value;
    });
    const lossValue = report ? loss.dataSync()[0]! : null;
    loss.dispose();
    if (lossValue !== null) {
      recent.push(lossValue);
      if (recent.length > 10) recent.shift();
    }
    options.onStep?.(step, lossValue, rate);
  }
  return {
    model,
    finalLoss: recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length),
    tokensSeen: options.steps * options.batch * options.window,
    seconds: (performance.now() - started) / 1000,
  };
}
