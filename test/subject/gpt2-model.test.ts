import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/subject/backend.ts';
import { crossEntropy, embed, matMul } from '../../src/subject/fast-ops.ts';
import { Gpt2Model, hookPointNames } from '../../src/subject/gpt2-model.ts';
import { initGpt2Weights, trainLanguageModel } from '../../src/subject/train-lm.ts';
import type { Gpt2Config } from '../../src/subject/types.ts';
import { tinyGpt2Config } from '../helpers/tiny-gpt2.ts';

const config: Gpt2Config = tinyGpt2Config({ vocabSize: 50, nLayer: 2, nHead: 4, nInner: 32 });
const ids = [
  [1, 5, 7, 9, 2, 3, 11, 40],
  [49, 0, 12, 12, 12, 8, 30, 4],
];

beforeAll(async () => {
  await initBackend('wasm');
});

function logitsOf(model: Gpt2Model, hooks = {}): Float32Array {
  return tf.tidy(() => model.forward(ids, undefined, { hooks }).logits!.dataSync() as Float32Array);
}

describe('Gpt2Model hooks', () => {
  it('patching a hook point with its own captured value reproduces the logits exactly, at every hook point', () => {
    const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 7));
    const original = logitsOf(model);
    for (const name of hookPointNames(config.nLayer)) {
      let captured: tf.Tensor | null = null;
      tf.tidy(() => {
        model.forward(ids, undefined, { hooks: { [name]: (a) => void (captured = tf.keep(a.clone())) }, stopAt: name });
      });
      expect(captured, name).not.toBeNull();
      const patched = logitsOf(model, { [name]: () => captured! });
      expect(Array.from(patched), name).toEqual(Array.from(original));
      captured!.dispose();
    }
  });

  it('zeroing one MLP neuron changes the logits of later positions', () => {
    const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 7));
    const original = logitsOf(model);
    const zeroNeuron = (a: tf.Tensor) =>
      tf.mul(a, tf.oneHot(3, config.nInner).reshape([1, 1, config.nInner]).sub(1).neg());
    const patched = logitsOf(model, { 'blocks.0.mlp.hook_post': zeroNeuron });
    let maxDiff = 0;
    for (let i = 0; i < original.length; i++) maxDiff = Math.max(maxDiff, Math.abs(original[i]! - patched[i]!));
    expect(maxDiff).toBeGreaterThan(1e-4);
  });

  it('captures activations of the documented shapes and stops early with stopAt', () => {
    const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 7));
    const shapes: Record<string, number[]> = {};
    const record = (a: tf.Tensor, name: string) => void (shapes[name] = a.shape);
    let result: tf.Tensor | null = tf.scalar(0);
    tf.tidy(() => {
      result = model.forward(ids, undefined, {
        hooks: {
          'blocks.1.mlp.hook_post': record,
          'blocks.0.attn.hook_pattern': record,
          'blocks.0.hook_resid_pre': record,
        },
        stopAt: 'blocks.1.mlp.hook_post',
      }).logits;
    });
    expect(result).toBeNull();
    expect(shapes).toEqual({
      'blocks.0.hook_resid_pre': [2, 8, 16],
      'blocks.0.attn.hook_pattern': [2, 4, 8, 8],
      'blocks.1.mlp.hook_post': [2, 8, 32],
    });
  });

  it('rejects unknown hook names, replacements of another shape, ids outside the vocabulary and over-long inputs', () => {
    const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 7));
    expect(() => model.forward(ids, undefined, { hooks: { 'blocks.9.mlp.hook_post': () => undefined } })).toThrow(
      /unknown hook point "blocks.9.mlp.hook_post"/,
    );
    expect(() =>
      tf.tidy(
        () => void model.forward(ids, undefined, { hooks: { 'blocks.0.mlp.hook_post': () => tf.zeros([2, 8, 5]) } }),
      ),
    ).toThrow(/hook blocks.0.mlp.hook_post returned shape \[2,8,5\], expected \[2,8,32\]/);
    // An attention pattern too (one row's [1, H, T, T] pattern would broadcast over the batch unnoticed).
    expect(() =>
      tf.tidy(
        () =>
          void model.forward(ids, undefined, {
            hooks: { 'blocks.0.attn.hook_pattern': (a) => tf.slice(a, [0, 0, 0, 0], [1, 4, 8, 8]) },
          }),
      ),
    ).toThrow(/hook blocks.0.attn.hook_pattern returned shape \[1,4,8,8\], expected \[2,4,8,8\]/);
    // A replacement of the right shape is used.
    const uniform = tf.tidy(() =>
      model
        .forward(ids, undefined, { hooks: { 'blocks.0.attn.hook_pattern': (a) => tf.onesLike(a).div(8) } })
        .logits!.dataSync(),
    );
    expect(Array.from(uniform)).not.toEqual(Array.from(tf.tidy(() => model.forward(ids).logits!.dataSync())));
    expect(() => model.forward([[1, 50]])).toThrow(/token id 50 outside the vocabulary/);
    expect(() => model.forward([new Array(17).fill(1)])).toThrow(/17 tokens exceed the context of 16/);
  });

  it('attention is causal: changing a later token leaves earlier positions unchanged', () => {
    const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 3));
    const a = tf.tidy(() => model.forward([[1, 2, 3, 4]]).logits!.dataSync());
    const b = tf.tidy(() => model.forward([[1, 2, 3, 9]]).logits!.dataSync());
    const perPosition = config.vocabSize;
    expect(Array.from(b.slice(0, 3 * perPosition))).toEqual(Array.from(a.slice(0, 3 * perPosition)));
    expect(Array.from(b.slice(3 * perPosition))).not.toEqual(Array.from(a.slice(3 * perPosition)));
  });
});

describe('fast ops', () => {
  it('matMul, embed and crossEntropy have the gradients of the plain tfjs ops', () => {
    const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
    const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
    const [fa, fb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(matMul(x, y))))([a, b]);
    const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(tf.matMul(x, y))))([a, b]);
    expect(
      Array.from(fa!.dataSync())
        .map((v, i) => v - ra!.dataSync()[i]!)
        .every((d) => Math.abs(d) < 1e-5),
    ).toBe(true);
    expect(
      Array.from(fb!.dataSync())
        .map((v, i) => v - rb!.dataSync()[i]!)
        .every((d) => Math.abs(d) < 1e-5),
    ).toBe(true);

    const q = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 3);
    const k = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 4);
    const [fq] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(matMul(x, y))))([q, k]);
    const [rq] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([q, k]);
    expect(tf.max(tf.abs(tf.sub(fq!, rq!))).dataSync()[0]).toBeLessThan(1e-4);

    // Embedding gradient: rows used twice get the sum; unused rows get 0.
    const table = tf.randomNormal([6, 3], 0, 1, 'float32', 5);
    const rows = Int32Array.from([2, 4, 2]);
    const weights = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t as tf.Tensor2D, rows), weights)))(table);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6, 0, 0, 0]);

    // Cross-entropy: value = mean(logsumexp − picked logit); gradient (softmax − one-hot)/N.
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const targets = Int32Array.from([2, 0]);
    const value = crossEntropy(logits, targets).dataSync()[0]!;
    const expected = (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
    expect(value).toBeCloseTo(expected, 5);
    const grad = tf
      .grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, targets))(logits)
      .dataSync();
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    const expectedGrad = [
      Math.exp(1) / z / 2,
      Math.exp(2) / z / 2,
      (Math.exp(3) / z - 1) / 2,
      (1 / 3 - 1) / 2,
      1 / 6,
      1 / 6,
    ];
    Array.from(grad).forEach((v, i) => expect(v).toBeCloseTo(expectedGrad[i]!, 5));
  });
});

describe('trainLanguageModel', () => {
  it('learns a deterministic token pattern and is reproducible for a seed', () => {
    const tiny: Gpt2Config = {
      vocabSize: 16,
      nPositions: 8,
      nEmbd: 16,
      nLayer: 1,
      nHead: 2,
      nInner: 32,
      layerNormEpsilon: 1e-5,
      activation: 'gelu_new',
    };
    const stream = Int32Array.from({ length: 3000 }, (_, i) => (i * 5 + Math.floor(i / 7)) % 16);
    const options = {
      steps: 60,
      batch: 8,
      window: 8,
      learningRate: 1e-2,
      warmupSteps: 5,
      minLearningRateFraction: 0.1,
      clipNorm: 1,
      seed: 4,
      reportEvery: 10,
    };
    const losses: number[] = [];
    const first = trainLanguageModel(tiny, initGpt2Weights(tiny, 1), stream, {
      ...options,
      onStep: (_s, loss) => void (loss !== null && losses.push(loss)),
    });
    const second = trainLanguageModel(tiny, initGpt2Weights(tiny, 1), stream, options);
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 1);
    const w1 = first.model.params.blocks[0]!.fcW.dataSync();
    const w2 = second.model.params.blocks[0]!.fcW.dataSync();
    expect(Array.from(w2)).toEqual(Array.from(w1));
    first.model.dispose();
    second.model.dispose();
  });
});
