import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { SparseAutoencoder, topKMask } from '../../src/sae/sae-model.ts';
import { saeLossAndGradients } from '../../src/sae/sae-gradients.ts';
import { SaeConfigError, type SaeConfig, type SaeWeights } from '../../src/sae/types.ts';
import { initBackend } from '../../src/subject/backend.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

function gaussian(length: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => randomGaussian(random) * scale);
}

function randomWeights(dIn: number, dSae: number, seed: number): SaeWeights {
  return {
    W_enc: gaussian(dIn * dSae, seed, 0.5),
    b_enc: gaussian(dSae, seed + 1, 0.1),
    W_dec: gaussian(dSae * dIn, seed + 2, 0.5),
    b_dec: gaussian(dIn, seed + 3, 0.2),
  };
}

const base: SaeConfig = {
  dIn: 5,
  dSae: 8,
  architecture: 'standard',
  applyBDecToInput: true,
  normalizeActivations: 'none',
  hookName: 'blocks.0.mlp.hook_post',
  modelName: 'toy',
};

/** The docs/DESIGN.md §5 formulas on the host, in float64. */
function hostEncode(config: SaeConfig, w: SaeWeights, x: Float32Array): number[][] {
  const scale = config.normalizeActivations === 'expected_average_only_in' ? (config.activationScale ?? 1) : 1;
  const rows = x.length / config.dIn;
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const pre: number[] = [];
    for (let i = 0; i < config.dSae; i++) {
      let sum = w.b_enc[i]!;
      for (let j = 0; j < config.dIn; j++)
        sum +=
          (x[r * config.dIn + j]! * scale - (config.applyBDecToInput ? w.b_dec[j]! : 0)) *
          w.W_enc[j * config.dSae + i]!;
      pre.push(sum);
    }
    let features = pre.map((value) => Math.max(0, value));
    if (config.architecture === 'topk') {
      const kth = [...pre].sort((a, b) => b - a)[config.k! - 1]!;
      features = pre.map((value) => (value >= kth ? Math.max(0, value) : 0));
    }
    out.push(features);
  }
  return out;
}

function hostDecode(config: SaeConfig, w: SaeWeights, features: number[][]): number[][] {
  const scale = config.normalizeActivations === 'expected_average_only_in' ? (config.activationScale ?? 1) : 1;
  return features.map((row) =>
    Array.from({ length: config.dIn }, (_, j) => {
      let sum = w.b_dec[j]!;
      for (let i = 0; i < config.dSae; i++) sum += row[i]! * w.W_dec[i * config.dIn + j]!;
      return sum / scale;
    }),
  );
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('SparseAutoencoder', () => {
  const x = gaussian(6 * 5, 11);
  const cases: [string, SaeConfig][] = [
    ['standard with b_dec subtracted', base],
    ['standard without b_dec subtracted', { ...base, applyBDecToInput: false }],
    ['topk k=3', { ...base, architecture: 'topk', k: 3 }],
    [
      'topk normalized (s = 1.7)',
      { ...base, architecture: 'topk', k: 2, normalizeActivations: 'expected_average_only_in', activationScale: 1.7 },
    ],
  ];
  for (const [name, config] of cases) {
    it(`encodes and decodes by the docs/DESIGN.md §5 formulas: ${name}`, () => {
      const weights = randomWeights(config.dIn, config.dSae, 3);
      const sae = SparseAutoencoder.fromWeights(config, weights);
      const features = sae.encodeBatch(x);
      const expected = hostEncode(config, weights, x);
      expectClose(features, expected.flat(), 1e-5);
      expectClose(sae.reconstructBatch(x), hostDecode(config, weights, expected).flat(), 1e-5);
      expectClose(sae.decodeBatch(features), hostDecode(config, weights, expected).flat(), 1e-5);
      // A subset of latents (column-only for standard SAEs) equals those columns of the full encoding.
      const picked = [6, 1, 3];
      const some = tf.tidy(() => sae.encodeLatents(tf.tensor2d(x, [6, 5]), picked)).arraySync() as number[][];
      expectClose(
        some.flat(),
        expected.flatMap((row) => picked.map((index) => row[index]!)),
        1e-5,
      );
      sae.dispose();
    });
  }

  it('keeps exactly k latents per row for topk, and all of them when k ≥ d_sae', () => {
    const pre = tf.tensor2d(gaussian(50 * 40, 5), [50, 40]);
    const counts = tf.sum(topKMask(pre, 7), 1).dataSync();
    expect([...counts].every((count) => count === 7)).toBe(true);
    expect(tf.sum(topKMask(pre, 40)).dataSync()[0]).toBe(50 * 40);
    pre.dispose();
  });

  it('reports decoder-row norms and returns its weights unchanged', () => {
    const weights = randomWeights(5, 8, 9);
    const sae = SparseAutoencoder.fromWeights(base, weights);
    const norms = sae.decoderNorms();
    for (let i = 0; i < 8; i++)
      expect(norms[i]).toBeCloseTo(Math.hypot(...weights.W_dec.subarray(i * 5, i * 5 + 5)), 5);
    const back = sae.toWeights();
    expect(back.W_enc).toEqual(weights.W_enc);
    expect(back.W_dec).toEqual(weights.W_dec);
    sae.dispose();
  });

  it('rejects a topk config without k and weights of the wrong size, naming the tensor', () => {
    expect(() => SparseAutoencoder.fromWeights({ ...base, architecture: 'topk' }, randomWeights(5, 8, 1))).toThrow(
      /needs k/,
    );
    const bad = randomWeights(5, 8, 1);
    bad.b_enc = new Float32Array(7);
    expect(() => SparseAutoencoder.fromWeights(base, bad)).toThrow(SaeConfigError);
    expect(() => SparseAutoencoder.fromWeights(base, bad)).toThrow(/b_enc has 7 values; shape \[8\] needs 8/);
  });
});

describe('saeLossAndGradients (hand-written backward pass)', () => {
  const dIn = 6;
  const dSae = 10;
  const rows = 9;

  /** The loss written with differentiable tfjs ops; masks (TopK, AuxK) and the AuxK target are constants. */
  function referenceGradients(
    config: Pick<SaeConfig, 'architecture' | 'k' | 'applyBDecToInput'>,
    weights: SaeWeights,
    x: tf.Tensor2D,
    l1: number,
    aux: { mask: tf.Tensor2D; weight: number } | null,
  ): { grads: tf.Tensor[]; loss: number } {
    const W_enc = tf.tensor2d(weights.W_enc, [dIn, dSae]);
    const b_enc = tf.tensor1d(weights.b_enc);
    const W_dec = tf.tensor2d(weights.W_dec, [dSae, dIn]);
    const b_dec = tf.tensor1d(weights.b_dec);
    const forward = (we: tf.Tensor, be: tf.Tensor, wd: tf.Tensor, bd: tf.Tensor) => {
      const input = config.applyBDecToInput ? tf.sub(x, bd) : x;
      const pre = tf.add(tf.matMul(input, we), be) as tf.Tensor2D;
      return { pre, features: tf.relu(pre), reconstruct: (f: tf.Tensor) => tf.add(tf.matMul(f, wd), bd) };
    };
    const constant = forward(W_enc, b_enc, W_dec, b_dec);
    const mask = config.architecture === 'topk' ? topKMask(constant.pre, config.k!) : null;
    const target = tf.sub(x, constant.reconstruct(mask ? tf.mul(constant.features, mask) : constant.features));
    const lossFunction = (we: tf.Tensor, be: tf.Tensor, wd: tf.Tensor, bd: tf.Tensor): tf.Scalar => {
      const pass = forward(we, be, wd, bd);
      const features = mask ? tf.mul(pass.features, mask) : pass.features;
      let loss = tf.div(tf.sum(tf.square(tf.sub(pass.reconstruct(features), x))), rows);
      if (config.architecture === 'standard') {
        const norms = tf.sqrt(tf.sum(tf.square(wd), 1));
        loss = tf.add(loss, tf.mul(tf.sum(tf.mul(features, norms)), l1 / rows));
      } else if (aux) {
        const auxFeatures = tf.mul(pass.features, aux.mask);
        loss = tf.add(loss, tf.mul(tf.sum(tf.square(tf.sub(tf.matMul(auxFeatures, wd), target))), aux.weight / rows));
      }
      return loss as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossFunction)([W_enc, b_enc, W_dec, b_dec]);
    return { grads, loss: value.dataSync()[0]! };
  }

  const cases: [string, Pick<SaeConfig, 'architecture' | 'k' | 'applyBDecToInput'>, number][] = [
    ['standard, λ = 0.7', { architecture: 'standard', applyBDecToInput: true }, 0.7],
    ['standard without b_dec on the input', { architecture: 'standard', applyBDecToInput: false }, 0.3],
    ['topk k=3 without dead latents', { architecture: 'topk', k: 3, applyBDecToInput: true }, 0],
    ['topk k=3 with AuxK over 4 dead latents (k_aux 2)', { architecture: 'topk', k: 3, applyBDecToInput: true }, 0],
  ];
  for (const [name, config, l1] of cases) {
    it(`matches tfjs autodiff: ${name}`, () => {
      const weights = randomWeights(dIn, dSae, 21);
      const withAux = name.includes('AuxK');
      tf.tidy(() => {
        const x = tf.tensor2d(gaussian(rows * dIn, 22), [rows, dIn]);
        const deadMask = tf.tensor2d([[0, 1, 0, 1, 0, 0, 1, 0, 1, 0]]);
        const kAux = 2;
        const coefficient = 1 / 32;
        const ours = saeLossAndGradients({
          x,
          W_enc: tf.tensor2d(weights.W_enc, [dIn, dSae]),
          b_enc: tf.tensor1d(weights.b_enc),
          W_decT: tf.transpose(tf.tensor2d(weights.W_dec, [dSae, dIn])) as tf.Tensor2D,
          b_dec: tf.tensor1d(weights.b_dec),
          sae: config,
          l1Coefficient: l1,
          auxK: withAux ? { deadMask, deadCount: 4, maximum: kAux, coefficient } : null,
        });
        let aux: { mask: tf.Tensor2D; weight: number } | null = null;
        if (withAux) {
          const pre = tf.add(
            tf.matMul(tf.sub(x, tf.tensor1d(weights.b_dec)), tf.tensor2d(weights.W_enc, [dIn, dSae])),
            tf.tensor1d(weights.b_enc),
          ) as tf.Tensor2D;
          const masked = tf.add(pre, tf.mul(tf.sub(1, deadMask), -1e30)) as tf.Tensor2D;
          aux = {
            mask: tf.mul(topKMask(masked, kAux), deadMask) as tf.Tensor2D,
            weight: coefficient * Math.min(4 / kAux, 1),
          };
        }
        const reference = referenceGradients(config, weights, x, l1, aux);
        const loss = tf.add(ours.mse, ours.auxiliaryLoss).dataSync()[0]!;
        expect(loss).toBeCloseTo(reference.loss, 4);
        const [gWEnc, gBEnc, gWDec, gBDec] = reference.grads.map((g) => g.dataSync());
        const scale = Math.max(...[gWEnc!, gBEnc!, gWDec!, gBDec!].map((g) => Math.max(...Array.from(g, Math.abs))));
        const tolerance = 1e-5 * Math.max(1, scale);
        expectClose(ours.gradients.W_enc.dataSync(), gWEnc!, tolerance);
        expectClose(ours.gradients.b_enc.dataSync(), gBEnc!, tolerance);
        expectClose(tf.transpose(ours.gradients.W_decT).dataSync(), gWDec!, tolerance);
        expectClose(ours.gradients.b_dec.dataSync(), gBDec!, tolerance);
        if (withAux) expect(ours.auxiliaryLoss.dataSync()[0]).toBeGreaterThan(0);
      });
    });
  }
});
