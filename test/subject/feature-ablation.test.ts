import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { sampleCorrelation } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import type { SaeConfig } from '../../src/sae/types.ts';
import { jensenShannon, jensenShannonFromLogProbs } from '../../src/common/log-probabilities.ts';
import { ablationScore, calibratedReplacement } from '../../src/score/ablation.ts';
import { scoreFeatureAblation, type FeatureAblationResult } from '../../src/score/feature-ablation.ts';
import { fitLinearCalibration } from '../../src/score/calibration.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { readCorpusSample } from '../../src/subject/corpus-sample.ts';
import {
  jensenShannonRows,
  featureActivationOf,
  featureActivations,
  replaceFeature,
  type AblationRecord,
  type FeatureTarget,
} from '../../src/subject/feature-ablation.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';

const modelDir = fileURLToPath(new URL('../../data/subject/brown-1l/', import.meta.url));
const samplePath = fileURLToPath(new URL('../../data/corpus/brown-heldout.jsonl', import.meta.url));
const hook = 'blocks.0.mlp.hook_post';

let subject: SubjectModel;
/** Token sequences from held-out Brown text: scored ones (two lengths) and a separate calibration set. */
let scored: number[][];
let calibration: number[][];
/** Context length of scored record i (its window is the rest of the sequence). */
const contextLength = (i: number) => [0, 8, 16, 24][i % 4]!;

let neuron: FeatureTarget;
let neuronPerfect: FeatureAblationResult;

/** Records over the scored sequences: `simulated(windowTrue, i)` gives record i's replacement values. */
function recordsFor(
  trueActivations: number[][],
  simulated: (windowTrue: number[], i: number) => readonly number[],
  mean: number,
): AblationRecord[] {
  return scored.map((sequence, i) => {
    const context = contextLength(i);
    const windowTrue = trueActivations[i]!.slice(context);
    return {
      contextIds: sequence.slice(0, context),
      tokenIds: sequence.slice(context),
      replacement: { simulated: simulated(windowTrue, i), mean },
    };
  });
}

function meanOf(values: number[][]): number {
  const flat = values.flat();
  return flat.reduce((sum, x) => sum + x, 0) / flat.length;
}

beforeAll(async () => {
  await initBackend('wasm');
  subject = await loadSubjectModel(modelDir);
  const sequences: number[][] = [];
  for (const document of readCorpusSample(samplePath)) {
    const ids = subject.tokenizer.encode(document.text);
    for (let start = 0; start + 64 <= ids.length && sequences.length < 18; start += 64)
      sequences.push(ids.slice(start, start + 64));
    if (sequences.length === 18) break;
  }
  // 10 scored sequences, the last two cut to 40 tokens (a second length group), and 8 for calibration.
  scored = sequences.slice(0, 10).map((s, i) => (i >= 8 ? s.slice(0, 40) : s));
  calibration = sequences.slice(10);

  // Candidate neurons: largest activation spread × output weight norm; keep the one whose mean ablation changes the
  // predictions most.
  const spread = tf.tidy(() => {
    const box: { post?: tf.Tensor } = {};
    subject.model.forward(scored.slice(0, 8), undefined, {
      hooks: { [hook]: (a) => void (box.post = a) },
      stopAt: hook,
    });
    const post = tf.reshape(box.post!, [-1, subject.config.nInner]);
    const { variance } = tf.moments(post, 0);
    const outputNorm = tf.norm(subject.model.params.blocks[0]!.projW, 'euclidean', 1);
    return tf.mul(tf.sqrt(variance), outputNorm);
  });
  const candidates = Array.from(spread.dataSync())
    .map((value, index) => ({ value, index }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 4);
  spread.dispose();
  let best: { target: FeatureTarget; result: FeatureAblationResult } | null = null;
  for (const { index } of candidates) {
    const target: FeatureTarget = { kind: 'neuron', hook, index };
    const truth = featureActivations(subject.model, target, scored);
    const result = await scoreFeatureAblation(
      subject.model,
      target,
      recordsFor(truth, (windowTrue) => windowTrue, meanOf(truth)),
    );
    if (!best || result.meanJsdMean > best.result.meanJsdMean) best = { target, result };
  }
  neuron = best!.target;
  neuronPerfect = best!.result;
}, 60_000);

afterAll(() => {
  subject?.model.dispose();
});

describe('jensenShannonRows (backend, float32)', () => {
  const vocab = 4096;
  it('equals the float64 JSD of the same log-probabilities to 1e-5 relative at every size, from 1e-12 nats to ln 2', () => {
    const random = mulberry32(9);
    const base = Float64Array.from({ length: vocab }, () => 3 * randomGaussian(random));
    const sizes = [0, 1e-5, 1e-4, 3e-4, 1e-3, 1e-2, 0.1, 0.3, 0.6, 1, 5, 30];
    const rows = sizes.map((size) => base.map((value) => value + size * randomGaussian(random)));
    const { logProbsA, logProbsB, device } = tf.tidy(() => {
      const a = tf.logSoftmax(tf.tensor2d(rows.map(() => Array.from(base)))) as tf.Tensor2D;
      const b = tf.logSoftmax(tf.tensor2d(rows.map((row) => Array.from(row)))) as tf.Tensor2D;
      return { logProbsA: a.arraySync(), logProbsB: b.arraySync(), device: jensenShannonRows(a, b).arraySync() };
    });
    expect(device[0]).toBe(0);
    // The JSD itself: the host's float64 formula on the very float32 log-probabilities the backend used.
    const sameInputs = rows.map((_, i) => jensenShannonFromLogProbs(logProbsA[i]!, logProbsB[i]!));
    expect(sameInputs[1]).toBeLessThan(1e-11);
    for (let i = 1; i < rows.length; i++)
      expect(
        Math.abs(device[i]! / sameInputs[i]! - 1),
        `size ${sizes[i]}: ${device[i]} vs ${sameInputs[i]}`,
      ).toBeLessThan(1e-5);
    // The floor under it: float32 log-probabilities (rounded by the backend's log-softmax) against float64 ones from
    // the same float32 logits: within 1e-3 relative where the JSD is above 1e-9 nats (the ablation score's cut-off).
    const exact = rows.map((row) => jensenShannon(Float32Array.from(base), Float32Array.from(row)));
    for (let i = 1; i < rows.length; i++)
      if (exact[i]! > 1e-9) expect(Math.abs(device[i]! / exact[i]! - 1), `size ${sizes[i]}`).toBeLessThan(1e-3);
  });

  it('gives ln 2 for disjoint supports (a −∞ log-probability on either side) and no NaN', () => {
    const result = tf.tidy(() =>
      jensenShannonRows(tf.tensor2d([[0, -Infinity]]), tf.tensor2d([[-Infinity, 0]])).arraySync(),
    );
    expect(result[0]).toBeCloseTo(Math.LN2, 6);
  });

  it('issue 13 edge: an ablation score from positions of E[JSD(orig, mean)] ≈ 1e-8 nats matches the float64 score to 1e-4', () => {
    // Positions whose patched distributions differ from the original by logit shifts of ~1e-3 (mean) and ~5e-4
    // (simulation): per-position JSDs of ~1e-8 and ~3e-9 nats, below where the earlier float32 form was exact.
    const random = mulberry32(13);
    const positions = 24;
    const originals = Array.from({ length: positions }, () =>
      Float64Array.from({ length: vocab }, () => 3 * randomGaussian(random)),
    );
    const shifted = (size: number) => originals.map((row) => row.map((value) => value + size * randomGaussian(random)));
    const withMean = shifted(6e-4);
    const withSimulated = shifted(3e-4);
    const exactJsd = (rows: Float64Array[]) => rows.map((row, i) => jensenShannon(originals[i]!, row));
    const exact = ablationScore(exactJsd(withSimulated), exactJsd(withMean));
    expect(exact.meanJsdMean).toBeGreaterThan(1e-9);
    expect(exact.meanJsdMean).toBeLessThan(1e-7);
    const device = (rows: Float64Array[]) =>
      tf.tidy(() => {
        const a = tf.logSoftmax(tf.tensor2d(originals.map((row) => Array.from(row)))) as tf.Tensor2D;
        const b = tf.logSoftmax(tf.tensor2d(rows.map((row) => Array.from(row)))) as tf.Tensor2D;
        return jensenShannonRows(a, b).arraySync();
      });
    const measured = ablationScore(device(withSimulated), device(withMean));
    expect(Math.abs(measured.meanJsdMean / exact.meanJsdMean - 1)).toBeLessThan(1e-4);
    expect(Math.abs(measured.score! - exact.score!), `${measured.score} vs exact ${exact.score}`).toBeLessThan(1e-4);
  });
});

describe('replaceFeature', () => {
  it('sets a neuron to the given values where the mask is 1 and leaves everything else bit-identical', () => {
    const random = mulberry32(3);
    const x = tf.tensor3d(
      Float32Array.from({ length: 2 * 3 * 5 }, () => randomGaussian(random)),
      [2, 3, 5],
    );
    const values = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
    const mask = tf.tensor3d([0, 1, 1, 1, 0, 1], [2, 3, 1]);
    const patched = replaceFeature(x, { kind: 'neuron', hook, index: 2 }, values, mask);
    const before = x.arraySync();
    const after = patched.arraySync();
    const maskRows = [
      [0, 1, 1],
      [1, 0, 1],
    ];
    after.forEach((row, b) =>
      row.forEach((vector, t) =>
        vector.forEach((value, j) => {
          if (j === 2 && maskRows[b]![t]) expect(value).toBeCloseTo(b * 3 + t + 1, 6);
          else expect(value).toBe(before[b]![t]![j]);
        }),
      ),
    );
    tf.dispose([x, values, mask, patched]);
  });
});

describe('scoreFeatureAblation on brown-1l, a real MLP neuron', () => {
  it('scores a perfect simulation (the true activations) 1, with a visible mean-ablation effect', () => {
    expect(neuronPerfect.meanJsdMean).toBeGreaterThan(1e-5);
    expect(neuronPerfect.meanJsdSimulated).toBe(0);
    expect(neuronPerfect.score).toBeCloseTo(1, 6);
    const windowTokens = scored.reduce((sum, s, i) => sum + s.length - contextLength(i), 0);
    expect(neuronPerfect.positions).toBe(windowTokens);
    expect(neuronPerfect.records.map((r) => r.jsdMean.length)).toEqual(
      scored.map((s, i) => s.length - contextLength(i)),
    );
  });

  it('scores the mean everywhere 0; batching does not change the per-position JSDs; no tensor is left behind', async () => {
    const truth = featureActivations(subject.model, neuron, scored);
    const mean = meanOf(truth);
    const tensorsBefore = tf.memory().numTensors;
    const result = await scoreFeatureAblation(
      subject.model,
      neuron,
      recordsFor(truth, (windowTrue) => windowTrue.map(() => mean), mean),
      {
        maxLogitsPerBatch: 1,
      },
    );
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.score).toBeCloseTo(0, 9);
    result.records.forEach((record, i) => {
      record.jsdMean.forEach((jsd, t) => expect(jsd).toBeCloseTo(neuronPerfect.records[i]!.jsdMean[t]!, 7));
    });
  });

  it('planted check: noisier simulations have lower correlation and a lower calibrated ablation score', async () => {
    const truth = featureActivations(subject.model, neuron, scored);
    const calibrationTruth = featureActivations(subject.model, neuron, calibration);
    const mean = meanOf([...truth, ...calibrationTruth]);
    const max = Math.max(...truth.flat(), ...calibrationTruth.flat());
    // A simulator on the 0–10 scale: 10·(true + σ·max·noise)/max clipped to [0, 10], one fixed noise draw per token.
    const noiseFor = (sequences: number[][], seed: number) => {
      const random = mulberry32(seed);
      return sequences.map((s) => s.map(() => randomGaussian(random)));
    };
    const noiseScored = noiseFor(truth, 11);
    const noiseCalibration = noiseFor(calibrationTruth, 12);
    const simulate = (values: number[][], noise: number[][], sigma: number) =>
      values.map((s, i) => s.map((x, t) => Math.min(10, Math.max(0, (10 * (x + sigma * max * noise[i]![t]!)) / max))));
    const correlations: number[] = [];
    const scores: number[] = [];
    for (const sigma of [0, 0.03, 0.08, 0.15, 0.3]) {
      const fit = fitLinearCalibration(calibrationTruth, simulate(calibrationTruth, noiseCalibration, sigma))!;
      const simulated = simulate(truth, noiseScored, sigma).map((s, i) => s.slice(contextLength(i)));
      const windowTruth = truth.map((s, i) => s.slice(contextLength(i)));
      correlations.push(sampleCorrelation(windowTruth.flat(), simulated.flat()));
      const records = recordsFor(truth, (_, i) => calibratedReplacement(fit, simulated[i]!, mean).simulated, mean);
      scores.push((await scoreFeatureAblation(subject.model, neuron, records)).score!);
    }
    for (let level = 1; level < scores.length; level++) {
      expect(correlations[level]!).toBeLessThan(correlations[level - 1]!);
      expect(scores[level]!).toBeLessThan(scores[level - 1]!);
    }
    expect(scores[0]!).toBeGreaterThan(0.5);
    expect(scores.at(-1)!).toBeLessThan(scores[0]! / 2);
  });

  it('refuses a bad index, a context overflow and a replacement of the wrong length', async () => {
    const record: AblationRecord = { contextIds: [], tokenIds: [1, 2], replacement: { simulated: [0, 0], mean: 0 } };
    await expect(scoreFeatureAblation(subject.model, { kind: 'neuron', hook, index: 512 }, [record])).rejects.toThrow(
      /index 512 outside \[0, 512\)/,
    );
    await expect(
      scoreFeatureAblation(subject.model, neuron, [{ ...record, contextIds: new Array(63).fill(1) }]),
    ).rejects.toThrow(/context is 64/);
    await expect(
      scoreFeatureAblation(subject.model, neuron, [{ ...record, replacement: { simulated: [0], mean: 0 } }]),
    ).rejects.toThrow(/2 tokens but 1 simulated/);
  });
});

describe('scoreFeatureAblation on brown-1l, an SAE latent', () => {
  const dIn = 512;
  const dSae = 64;
  const latent = 5;
  const activationScale = 2;
  let sae: SparseAutoencoder;

  beforeAll(() => {
    const random = mulberry32(21);
    const gaussian = (length: number, scale: number) =>
      Float32Array.from({ length }, () => randomGaussian(random) * scale);
    const W_enc = gaussian(dIn * dSae, 1 / Math.sqrt(dIn));
    const W_dec = gaussian(dSae * dIn, 1 / Math.sqrt(dIn));
    // The latent reads (mostly) the chosen neuron, and its encoder column is W_dec[latent] / ‖W_dec[latent]‖², so that
    // adding δ·W_dec[latent]/s to x moves its pre-activation by exactly δ.
    const direction = Float32Array.from(
      { length: dIn },
      (_, j) => (j === (neuron as { index: number }).index ? 2 : 0) + randomGaussian(random) * 0.05,
    );
    const norm2 = direction.reduce((sum, x) => sum + x * x, 0);
    direction.forEach((x, j) => {
      W_dec[latent * dIn + j] = x;
      W_enc[j * dSae + latent] = x / norm2;
    });
    const config: SaeConfig = {
      dIn,
      dSae,
      architecture: 'standard',
      applyBDecToInput: true,
      normalizeActivations: 'expected_average_only_in',
      activationScale,
      hookName: hook,
      modelName: 'brown-1l',
    };
    sae = SparseAutoencoder.fromWeights(config, {
      W_enc,
      b_enc: gaussian(dSae, 0.01),
      W_dec,
      b_dec: gaussian(dIn, 0.01),
    });
  });

  afterAll(() => sae?.dispose());

  it('moves x by (a′ − f_i(x))·W_dec[i]/s, so that the latent takes the new value a′', () => {
    const target: FeatureTarget = { kind: 'sae', sae, index: latent };
    tf.tidy(() => {
      const box: { x?: tf.Tensor3D } = {};
      subject.model.forward(scored.slice(0, 2), undefined, {
        hooks: { [hook]: (a) => void (box.x = a as tf.Tensor3D) },
        stopAt: hook,
      });
      const x = box.x!;
      const before = featureActivationOf(x, target).dataSync();
      const wanted = Float32Array.from(before, (f, n) => f + 0.5 + (n % 3));
      const values = tf.tensor3d(wanted, [2, 64, 1]);
      const patched = replaceFeature(x, target, values, tf.onesLike(values));
      const after = featureActivationOf(patched, target).dataSync();
      let checked = 0;
      before.forEach((f, n) => {
        if (f > 0) {
          expect(after[n]!).toBeCloseTo(wanted[n]!, 3);
          checked += 1;
        }
      });
      expect(checked).toBeGreaterThan(10);
      // x' = x + (a' − f_i(x))·W_dec[i]/s: the reconstruction moves by the latent's change only, its error is kept.
      const delta = tf.sub(values, featureActivationOf(x, target));
      const expected = tf.add(
        x,
        tf.mul(delta, tf.div(tf.slice(sae.params.W_dec, [latent, 0], [1, dIn]), activationScale)),
      );
      expect(tf.max(tf.abs(tf.sub(patched, expected))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  it('scores the true latent activations 1 and its mean 0', async () => {
    const target: FeatureTarget = { kind: 'sae', sae, index: latent };
    const truth = featureActivations(subject.model, target, scored);
    expect(truth.flat().filter((f) => f > 0).length).toBeGreaterThan(20);
    const mean = meanOf(truth);
    const perfect = await scoreFeatureAblation(
      subject.model,
      target,
      recordsFor(truth, (windowTrue) => windowTrue, mean),
    );
    expect(perfect.meanJsdMean).toBeGreaterThan(1e-6);
    expect(perfect.score).toBeCloseTo(1, 6);
    const meanOnly = await scoreFeatureAblation(
      subject.model,
      target,
      recordsFor(truth, (windowTrue) => windowTrue.map(() => mean), mean),
    );
    expect(meanOnly.score).toBeCloseTo(0, 9);
  });
});
