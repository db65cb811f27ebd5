import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineGradientPasses } from '../../src/sae/parallel-sae-gradients.ts';
import { SaeGradientPool } from '../../src/sae/sae-gradient-pool.ts';
import { saeLossAndGradients } from '../../src/sae/sae-gradients.ts';
import { SaeTrainer } from '../../src/sae/sae-trainer.ts';
import { trainSae } from '../../src/sae/train-sae.ts';
import type { SaeTrainingOptions } from '../../src/sae/training-options.ts';
import type { SaeArchitecture } from '../../src/sae/types.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { type ToySaeSetup, toyData, toySaeConfig } from '../helpers/toy-sae.ts';

const setup: ToySaeSetup = {
  dimensions: 16,
  features: 40,
  activationProbability: 0.08,
  seed: 5,
  dSae: 48,
  k: 4,
  l1Coefficient: 1,
};
const { dimensions: dIn, dSae } = setup;
const rows = 37; // shares of 19 and 18 rows
const toy = toyData(setup);

function optionsFor(architecture: SaeArchitecture): SaeTrainingOptions {
  return {
    sae: toySaeConfig(setup, architecture),
    steps: 100,
    learningRate: 3e-3,
    // topk: a latent idle for one batch is dead, so AuxK runs from the second step
    deadTokens: rows,
    seed: 3,
  };
}

const close = (actual: Float32Array, expected: Float32Array) => {
  expect(actual).toHaveLength(expected.length);
  let worst = 0;
  for (let index = 0; index < expected.length; index++)
    worst = Math.max(worst, Math.abs(actual[index]! - expected[index]!) / Math.max(1, Math.abs(expected[index]!)));
  expect(worst).toBeLessThan(1e-4);
};

const pools: SaeGradientPool[] = [];
beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

describe('SAE training step, data-parallel on worker threads (issue 19 item 4)', () => {
  it('the rows-weighted mean of the shares’ gradients is the batch’s gradient', () => {
    tf.tidy(() => {
      const x = tf.tensor2d(toy.batch(0, rows), [rows, dIn]);
      const W_enc = tf.randomNormal([dIn, dSae], 0, 0.3, 'float32', 1) as tf.Tensor2D;
      const W_decT = tf.randomNormal([dIn, dSae], 0, 0.3, 'float32', 2) as tf.Tensor2D;
      const b_enc = tf.randomNormal([dSae], 0, 0.1, 'float32', 3) as tf.Tensor1D;
      const b_dec = tf.randomNormal([dIn], 0, 0.1, 'float32', 4) as tf.Tensor1D;
      const sae = { architecture: 'standard' as const, applyBDecToInput: true };
      const pass = (input: tf.Tensor2D) =>
        saeLossAndGradients({ x: input, W_enc, b_enc, W_decT, b_dec, sae, l1Coefficient: 0.7, auxK: null });
      const whole = pass(x);
      const combined = combineGradientPasses(
        [
          { rows: 20, pass: pass(tf.slice(x, [0, 0], [20, dIn])) },
          { rows: 17, pass: pass(tf.slice(x, [20, 0], [17, dIn])) },
        ],
        rows,
        { dIn, dSae },
      );
      for (const name of ['W_enc', 'b_enc', 'W_decT', 'b_dec'] as const)
        close(combined.gradients[name].dataSync() as Float32Array, whole.gradients[name].dataSync() as Float32Array);
      close(combined.mse.dataSync() as Float32Array, whole.mse.dataSync() as Float32Array);
      close(combined.auxiliaryLoss.dataSync() as Float32Array, whole.auxiliaryLoss.dataSync() as Float32Array);
      expect(Array.from(combined.counts.dataSync())).toEqual(Array.from(whole.counts.dataSync()));
    });
  });

  for (const architecture of ['standard', 'topk'] as const) {
    it(`${architecture}: steps split between this thread and a worker train the weights of one thread`, async () => {
      const options = optionsFor(architecture);
      const first = [toy.batch(0, rows)];
      const single = SaeTrainer.create(options, first);
      const parallel = SaeTrainer.create(options, first);
      const pool = await SaeGradientPool.start({ sae: options.sae, workers: 1, backend: tf.getBackend() });
      pools.push(pool);
      try {
        for (let step = 0; step < 4; step++) {
          const expected = single.trainStep(toy.batch(step, rows), true)!;
          const actual = (await parallel.trainStepParallel(toy.batch(step, rows), pool, true))!;
          expect(Math.abs(actual.mse - expected.mse) / expected.mse).toBeLessThan(1e-5);
          expect(Math.abs(actual.loss - expected.loss) / expected.loss).toBeLessThan(1e-5);
          expect(actual.l0).toBe(expected.l0);
          expect(parallel.lastStepDeadLatents).toBe(single.lastStepDeadLatents);
        }
        if (architecture === 'topk') expect(single.lastStepDeadLatents).toBeGreaterThan(0); // AuxK ran
        const want = single.weights();
        const got = parallel.weights();
        for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) close(got[name], want[name]);
        expect(parallel.tokens).toBe(single.tokens);
      } finally {
        single.dispose();
        parallel.dispose();
      }
    });
  }

  it('trainSae with workers: 2 trains what 1 thread trains, and stops its workers', async () => {
    const options = { ...optionsFor('standard'), steps: 3, reportEvery: 1 };
    const source = (index: number) => toy.batch(index, rows);
    const one = await trainSae(source, options);
    const two = await trainSae(source, { ...options, workers: 2 });
    for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) close(two.weights[name], one.weights[name]);
    expect(two.steps).toBe(3);
    await expect(trainSae(source, { ...options, workers: 0 })).rejects.toThrow(/workers must be a positive integer/);
  });
});
