/**
 * Gpt2Model.forwardBranches (one pass up to a hook point, branched there, logits at chosen positions only) and the
 * ablation passes built on it (subject/feature-ablation.ts): bit for bit what the full forward passes give (issue 14:
 * the demo's ablation scores may not move).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { initBackend } from '../../src/subject/backend.ts';
import {
  type AblationRecord,
  ablationJsdPerRecord,
  ablationJsdPerRecordThreePasses,
  type FeatureDictionary,
  type FeatureTarget,
} from '../../src/subject/feature-ablation.ts';
import { Gpt2Model, hookPointNames } from '../../src/subject/gpt2-model.ts';
import { initGpt2Weights } from '../../src/subject/train-lm.ts';
import type { Gpt2Config } from '../../src/subject/types.ts';
import { tinyGpt2Config } from '../helpers/tiny-gpt2.ts';

const config: Gpt2Config = tinyGpt2Config({ vocabSize: 50, nLayer: 2, nHead: 4, nInner: 32 });
const rows = 3;
const length = 8;
const random = mulberry32(5);
const ids = Int32Array.from({ length: rows * length }, () => Math.floor(random() * config.vocabSize));

let model: Gpt2Model;
beforeAll(async () => {
  await initBackend('wasm');
  model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 11));
});
afterAll(() => model?.dispose());

/** The full forward pass's logits with `branch` as the hook at `hook`, [rows·length, V], host. */
function fullLogits(hook: string, branch: (activation: tf.Tensor3D) => tf.Tensor3D): Float32Array {
  return tf.tidy(
    () =>
      model
        .forward(ids, rows, { hooks: { [hook]: (a) => branch(a as tf.Tensor3D) } })
        .logits!.dataSync() as Float32Array,
  );
}

describe('Gpt2Model.forwardBranches', () => {
  const branchable = hookPointNames(config.nLayer).filter(
    (name) => !(name === 'hook_embed' || name === 'hook_pos_embed' || name.endsWith('attn.hook_pattern')),
  );
  const positions = Int32Array.from([0, 5, 7, 8, 13, 23, 17]);
  const branches = [
    (activation: tf.Tensor3D) => activation,
    (activation: tf.Tensor3D) => tf.mul(activation, 1.5) as tf.Tensor3D,
    (activation: tf.Tensor3D): tf.Tensor3D =>
      tf.add(activation, tf.reshape(tf.linspace(-1, 1, activation.size), activation.shape)),
  ];

  it('gives each branch the logits of the full pass with it as the hook, bit for bit, at each hook point', () => {
    const vocab = config.vocabSize;
    for (const hook of branchable) {
      const branched = tf.tidy(() =>
        model.forwardBranches(ids, rows, { at: hook, branches, positions }).map((t) => t.dataSync() as Float32Array),
      );
      expect(branched, hook).toHaveLength(branches.length);
      branches.forEach((branch, index) => {
        const full = fullLogits(hook, branch);
        const expected = Array.from(positions).flatMap((p) => Array.from(full.subarray(p * vocab, (p + 1) * vocab)));
        expect(Array.from(branched[index]!), `${hook}, branch ${index}`).toEqual(expected);
      });
    }
  });

  it('leaves no tensor behind when run in a tidy, and refuses a branch point or a position it cannot serve', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      model.forwardBranches(ids, rows, { at: 'blocks.1.mlp.hook_post', branches, positions });
    });
    expect(tf.memory().numTensors).toBe(before);
    const at = (hook: string) => () =>
      tf.tidy(() => model.forwardBranches(ids, rows, { at: hook, branches, positions }));
    expect(at('hook_embed')).toThrow(/cannot branch at hook_embed/);
    expect(at('blocks.0.attn.hook_pattern')).toThrow(/cannot branch at blocks\.0\.attn\.hook_pattern/);
    expect(at('blocks.9.hook_resid_pre')).toThrow(/unknown hook point/);
    expect(() =>
      model.forwardBranches(ids, rows, { at: 'blocks.0.hook_resid_pre', branches, positions: Int32Array.from([24]) }),
    ).toThrow(/position 24 outside \[0, 24\)/);
    expect(() =>
      tf.tidy(() =>
        model.forwardBranches(ids, rows, {
          at: 'blocks.0.hook_resid_pre',
          branches: [(activation) => tf.slice(activation, [0, 0, 0], [1, -1, -1])],
          positions,
        }),
      ),
    ).toThrow(/returned shape \[1,8,16\], expected \[3,8,16\]/);
  });
});

/** A one-latent-per-column dictionary over the width-32 MLP activation: f = relu(x·s·W + b), decoder rows of W ᵀ. */
function smallDictionary(): FeatureDictionary {
  const width = config.nInner;
  const size = 6;
  const weights = Float32Array.from({ length: width * size }, () => random() - 0.5);
  const bias = Float32Array.from({ length: size }, () => random() - 0.5);
  return {
    config: { hookName: 'blocks.0.mlp.hook_post' },
    dIn: width,
    dSae: size,
    scale: 1.25,
    encodeLatents(x, indices) {
      return tf.tidy(() => {
        const all = tf.relu(tf.add(tf.matMul(tf.mul(x, 1.25), tf.tensor2d(weights, [width, size])), tf.tensor1d(bias)));
        return tf.gather(all, tf.tensor1d(Int32Array.from(indices), 'int32'), 1) as tf.Tensor2D;
      });
    },
    decoderRow(index) {
      return Float32Array.from({ length: width }, (_, j) => weights[j * size + index]!);
    },
  };
}

describe('ablationJsdPerRecord (one branched pass, window positions only)', () => {
  /** Records of total length 16 and 11, with contexts of 0 to 9 tokens. */
  function records(): AblationRecord[] {
    const token = () => Math.floor(random() * config.vocabSize);
    return [0, 3, 9, 16 - 1, 0, 4, 2, 7].map((context, i) => {
      const total = i < 4 ? 16 : 11;
      const window = total - Math.min(context, total - 1);
      return {
        contextIds: Array.from({ length: total - window }, token),
        tokenIds: Array.from({ length: window }, token),
        replacement: { simulated: Array.from({ length: window }, () => 3 * random() - 1), mean: 0.4 },
      };
    });
  }
  const targets: [string, FeatureTarget][] = [
    ['a neuron of the last layer', { kind: 'neuron', hook: 'blocks.1.mlp.hook_post', index: 5 }],
    ['a neuron of the first layer', { kind: 'neuron', hook: 'blocks.0.mlp.hook_post', index: 30 }],
    ['a residual-stream coordinate', { kind: 'neuron', hook: 'blocks.1.hook_resid_pre', index: 2 }],
    ['an SAE latent', { kind: 'sae', sae: smallDictionary(), index: 3 }],
  ];
  for (const [name, target] of targets) {
    it(`gives the JSDs of the three full passes bit for bit, in one batch or many: ${name}`, async () => {
      const input = records();
      const reference = await ablationJsdPerRecordThreePasses(model, target, input);
      const oneBatch = await ablationJsdPerRecord(model, target, input);
      const manyBatches = await ablationJsdPerRecord(model, target, input, { maxLogitsPerBatch: 16 * 50 * 2 });
      expect(oneBatch).toEqual(reference);
      expect(manyBatches).toEqual(reference);
      // the test has teeth: the simulated replacement moves the predictions
      expect(reference.some((record) => record.jsdSimulated.some((jsd) => jsd > 0))).toBe(true);
    });
  }
});
