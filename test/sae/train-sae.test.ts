import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFiles, readTrainerCheckpoint } from '../../src/sae/checkpoint.ts';
import { evaluateSae } from '../../src/sae/evaluate-sae.ts';
import { meanMaxCosineSimilarity } from '../../src/sae/metrics.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import { estimateActivationScale } from '../../src/sae/activation-scale.ts';
import { SaeTrainer } from '../../src/sae/sae-trainer.ts';
import { trainSae, type SaeTrainingProgress, type TrainSaeOptions } from '../../src/sae/train-sae.ts';
import type { SaeArchitecture } from '../../src/sae/types.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { type ToySaeSetup, toyData, toySaeConfig } from '../helpers/toy-sae.ts';

const temporary = mkdtempSync(join(tmpdir(), 'autointerp-sae-train-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));
let folders = 0;
const freshFolder = () => join(temporary, `run-${folders++}`);

beforeAll(async () => {
  await initBackend('wasm');
});

describe('toy ground truth (seed 000 style): the trainer recovers known features in superposition', () => {
  // 64 unit features in 32 dimensions, each active with p = 0.03 (≈ 1.9 per sample) and magnitude U[0.25, 1].
  const setup: ToySaeSetup = {
    dimensions: 32,
    features: 64,
    activationProbability: 0.03,
    seed: 1,
    dSae: 128,
    k: 4,
    l1Coefficient: 1,
  };
  const { dimensions: d, features } = setup;
  const rows = 256;
  for (const architecture of ['standard', 'topk'] as SaeArchitecture[]) {
    it(`${architecture}: mean max cosine similarity of decoder rows to the true features ≥ 0.9`, async () => {
      const toy = toyData(setup);
      // 400 steps (1000 before): over toy seeds 1–4 both architectures reach a mean max cosine similarity ≥ 0.990
      // (bound 0.9) and an FVU ≤ 0.078 (bound 0.2), trained and on fresh data
      const steps = 400;
      const progress: SaeTrainingProgress[] = [];
      const result = await trainSae((index) => toy.batch(index, rows), {
        sae: toySaeConfig(setup, architecture),
        steps,
        learningRate: 3e-3,
        decaySteps: 80,
        deadTokens: 20_000,
        seed: 1,
        reportEvery: 100,
        onProgress: (p) => progress.push(p),
      });
      const mmcs = meanMaxCosineSimilarity(toy.directions, result.weights.W_dec, d);
      expect(mmcs).toBeGreaterThanOrEqual(0.9);
      expect(result.steps).toBe(steps);
      expect(result.tokens).toBe(steps * rows);
      expect(progress).toHaveLength(steps);
      const reported = progress.filter((p) => p.metrics !== null);
      expect(reported.map((p) => p.step)).toEqual([100, 200, 300, 400]);
      const last = reported.at(-1)!.metrics!;
      expect(last.fvu).toBeLessThan(0.2);
      if (architecture === 'topk') expect(last.l0).toBeLessThanOrEqual(4);
      else expect(progress[0]!.l1Coefficient).toBeLessThan(progress.at(-1)!.l1Coefficient); // λ warm-up
      // the scale estimated (from the first 8 batches, the default) so that the mean input norm becomes √d_in is kept
      const firstBatches = Array.from({ length: 8 }, (_, index) => toy.batch(index, rows));
      expect(result.config.activationScale).toBeCloseTo(estimateActivationScale(firstBatches, d), 6);
      // the trained SAE, evaluated on fresh data in raw activation space
      const sae = SparseAutoencoder.fromWeights(result.config, result.weights);
      const metrics = await evaluateSae(sae, [toy.batch(10_000, 1024), toy.batch(10_001, 1024)]);
      expect(metrics.fvu).toBeLessThan(0.2);
      expect(metrics.tokens).toBe(2048);
      sae.dispose();
      if (architecture === 'topk') {
        const norms = Array.from({ length: 2 * features }, (_, i) =>
          Math.hypot(...result.weights.W_dec.subarray(i * d, (i + 1) * d)),
        );
        for (const norm of norms) expect(norm).toBeCloseTo(1, 5);
      }
    });
  }
});

describe('checkpoint and resume', () => {
  const setup: ToySaeSetup = {
    dimensions: 8,
    features: 12,
    activationProbability: 0.1,
    seed: 3,
    dSae: 24,
    k: 3,
    l1Coefficient: 0.5,
  };
  const rows = 32;
  const toy = toyData(setup);
  const optionsFor = (architecture: SaeArchitecture, directory: string): TrainSaeOptions => ({
    sae: toySaeConfig(setup, architecture),
    steps: 60,
    learningRate: 3e-3,
    decaySteps: 10,
    deadTokens: 64,
    densityWindowSteps: 20,
    normalizationBatches: 3,
    checkpoint: { directory, every: 25 },
    seed: 9,
  });

  for (const architecture of ['standard', 'topk'] as SaeArchitecture[]) {
    it(`${architecture}: a run interrupted after a checkpoint and resumed ends bit-identical to an uninterrupted one`, async () => {
      const uninterrupted = await trainSae((index) => toy.batch(index, rows), optionsFor(architecture, freshFolder()));
      expect(uninterrupted.resumedFrom).toBeNull();

      const directory = freshFolder();
      const crashing = (index: number) => {
        if (index === 37) throw new Error('simulated crash');
        return toy.batch(index, rows);
      };
      await expect(trainSae(crashing, optionsFor(architecture, directory))).rejects.toThrow('simulated crash');
      expect(readTrainerCheckpoint(directory)!.step).toBe(25);
      expect(existsSync(join(directory, 'step-00000025', checkpointFiles.state))).toBe(true);

      // resume with an iterable source: the 25 batches already trained on are skipped
      function* all() {
        for (let index = 0; index < 60; index++) yield toy.batch(index, rows);
      }
      const resumed = await trainSae(all(), optionsFor(architecture, directory));
      expect(resumed.resumedFrom).toBe(25);
      expect(resumed.steps).toBe(60);
      expect(resumed.tokens).toBe(uninterrupted.tokens);
      expect(resumed.config).toEqual(uninterrupted.config);
      for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const)
        expect(resumed.weights[name]).toEqual(uninterrupted.weights[name]);
      expect(resumed.featureDensity).toEqual(uninterrupted.featureDensity);
      expect(resumed.densityTokens).toBe(20 * rows);
      expect(readTrainerCheckpoint(directory)!.step).toBe(60);
      expect(existsSync(join(directory, 'step-00000025'))).toBe(false);
    });
  }

  it('refuses to resume with different options, naming the option', async () => {
    const directory = freshFolder();
    await trainSae((index) => toy.batch(index, rows), { ...optionsFor('topk', directory), steps: 5 });
    await expect(
      trainSae((index) => toy.batch(index, rows), { ...optionsFor('topk', directory), steps: 5, learningRate: 1e-3 }),
    ).rejects.toThrow(/option learningRate differs from the checkpoint's/);
  });

  it('exportState / fromState continue bit-identically in memory', () => {
    const options = { ...optionsFor('topk', freshFolder()), checkpoint: undefined };
    const a = SaeTrainer.create(options, [toy.batch(0, rows), toy.batch(1, rows), toy.batch(2, rows)]);
    const b = SaeTrainer.create(options, [toy.batch(0, rows), toy.batch(1, rows), toy.batch(2, rows)]);
    for (let step = 0; step < 10; step++) a.trainStep(toy.batch(step, rows));
    for (let step = 0; step < 5; step++) b.trainStep(toy.batch(step, rows));
    const c = SaeTrainer.fromState(b.exportState());
    b.dispose();
    for (let step = 5; step < 10; step++) c.trainStep(toy.batch(step, rows));
    expect(c.weights()).toEqual(a.weights());
    expect(c.exportState().tensors).toEqual(a.exportState().tensors);
    a.dispose();
    c.dispose();
  });
});
