/**
 * Gpt2Model.forwardBranches (one pass up to a hook point, branched there, logits at chosen positions only) and the
 * ablation passes built on it (subject/feature-ablation.ts): bit for bit what the full forward passes give (issue 14:
 * the demo's ablation scores may not move).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { initBackend } from '../../src/subject/backend.ts';
import {
  type AblationRecord,
  ablationJsdPerRecord,
  ablationJsdPerRecordThreePasses,
  changedRows,
  type FeatureDictionary,
  type FeatureTarget,
  featureActivations,
} from '../../src/subject/feature-ablation.ts';
import { Gpt2Model, hookPointNames } from '../../src/subject/gpt2-model.ts';
import { initGpt2Weights } from '../../src/subject/train-lm.ts';
import type { Gpt2Config, HookFn, Hooks } from '../../src/subject/types.ts';
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
  const somePositions = Int32Array.from([0, 5, 7, 8, 13, 23, 17]);
  const positions = somePositions;
  const branches = [
    (activation: tf.Tensor3D) => activation,
    (activation: tf.Tensor3D) => tf.mul(activation, 1.5) as tf.Tensor3D,
    (activation: tf.Tensor3D): tf.Tensor3D =>
      tf.add(activation, tf.reshape(tf.linspace(-1, 1, activation.size), activation.shape)),
  ];

  it('gives each branch the logits of the full pass with it as the hook, bit for bit, at each hook point', () => {
    const vocab = config.vocabSize;
    // some positions, out of order; then every position in order (no row to pick: the rows as they are)
    const everyPosition = Int32Array.from({ length: rows * length }, (_, position) => position);
    for (const [hook, positions] of [
      ...branchable.map((hook) => [hook, somePositions] as const),
      ['blocks.1.mlp.hook_post', everyPosition] as const,
    ]) {
      const branched = tf.tidy(() =>
        model.forwardBranches(ids, rows, { at: hook, branches, positions }).map((t) => t.dataSync() as Float32Array),
      );
      expect(branched, hook).toHaveLength(branches.length);
      branches.forEach((branch, index) => {
        const full = fullLogits(hook, branch);
        const expected = Array.from(positions).flatMap((p) => Array.from(full.subarray(p * vocab, (p + 1) * vocab)));
        expect(Array.from(branched[index]!), `${hook}, ${positions.length} positions, branch ${index}`).toEqual(
          expected,
        );
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

describe('Gpt2Model.forwardAtPositions (the last block at one position per row)', () => {
  /** The final layer norm's rows of the full forward pass with `hooks`, [rowCount·length, d], host. */
  function fullNormalized(of: Gpt2Model, hooks: Hooks, input = ids, rowCount = rows): Float32Array {
    return tf.tidy(() => {
      const box: { normalized?: tf.Tensor } = {};
      const capture = hooks['ln_final.hook_normalized'];
      of.forward(input, rowCount, {
        hooks: {
          ...hooks,
          'ln_final.hook_normalized': (normalized, name) => {
            box.normalized = capture?.(normalized, name) ?? normalized;
            return box.normalized;
          },
        },
        stopAt: 'ln_final.hook_normalized',
      });
      return box.normalized!.dataSync() as Float32Array;
    });
  }
  /** Position-blind changes (each entry on its own), so that a [rows, 1, width] view gets what [rows, length, width] does. */
  const scaled: HookFn = (activation) => tf.mul(activation, 1.5);
  const shifted: HookFn = (activation) => tf.add(activation, 0.25);
  const hookSets: [string, Hooks][] = [
    ['no hook', {}],
    ['a hook before the last block', { 'blocks.0.mlp.hook_post': scaled }],
    [
      'hooks of the last block after its attention',
      { 'blocks.1.hook_attn_out': shifted, 'blocks.1.mlp.hook_post': scaled },
    ],
    [
      "a hook at the last block's input and the final layer norm",
      { 'blocks.1.hook_resid_pre': shifted, 'ln_final.hook_normalized': scaled },
    ],
  ];
  const chosen = Int32Array.from([7, 0, 4]);

  it('gives the rows of the full pass at the chosen positions, bit for bit, whatever the hooks', () => {
    const d = config.nEmbd;
    for (const [name, hooks] of hookSets) {
      const full = fullNormalized(model, hooks);
      const expected = Array.from(chosen).flatMap((t, row) =>
        Array.from(full.subarray((row * length + t) * d, (row * length + t + 1) * d)),
      );
      const got = tf.tidy(() => model.forwardAtPositions(ids, rows, chosen, hooks).dataSync() as Float32Array);
      expect(Array.from(got), name).toEqual(expected);
    }
  });

  it('gives one row too (steered generation of one row goes through it), bit for bit, whatever the hooks', () => {
    const d = config.nEmbd;
    const oneRow = ids.slice(length, 2 * length);
    for (const position of [length - 1, 0, 3]) {
      for (const [name, hooks] of hookSets) {
        const full = fullNormalized(model, hooks, oneRow, 1);
        const expected = Array.from(full.subarray(position * d, (position + 1) * d));
        const got = tf.tidy(
          () => model.forwardAtPositions(oneRow, 1, Int32Array.from([position]), hooks).dataSync() as Float32Array,
        );
        expect(got.length, name).toBe(d);
        expect(Array.from(got), `${name}, position ${position}`).toEqual(expected);
      }
    }
  });

  it('gives them for a one-block model too (its only block is the last), and refuses what it cannot serve', () => {
    const oneBlock = Gpt2Model.fromWeights({ ...config, nLayer: 1 }, initGpt2Weights({ ...config, nLayer: 1 }, 12));
    try {
      const d = config.nEmbd;
      const hooks = { 'blocks.0.mlp.hook_post': scaled };
      const full = fullNormalized(oneBlock, hooks);
      const expected = Array.from(chosen).flatMap((t, row) =>
        Array.from(full.subarray((row * length + t) * d, (row * length + t + 1) * d)),
      );
      const got = tf.tidy(() => oneBlock.forwardAtPositions(ids, rows, chosen, hooks).dataSync() as Float32Array);
      expect(Array.from(got)).toEqual(expected);
      const at =
        (positions: Int32Array, given: Hooks = {}) =>
        () =>
          tf.tidy(() => oneBlock.forwardAtPositions(ids, rows, positions, given));
      expect(at(Int32Array.from([0, 1]))).toThrow(/2 positions for 3 rows/);
      expect(at(Int32Array.from([0, 8, 1]))).toThrow(/position 8 outside \[0, 8\)/);
      expect(at(chosen, { 'blocks.0.attn.hook_pattern': scaled })).toThrow(/cannot hook the last block's attention/);
    } finally {
      oneBlock.dispose();
    }
  });
});

/** A one-latent-per-column dictionary over the width-32 MLP activation: f = relu(x·s·W + b), decoder rows of W ᵀ. */
function smallDictionary(hookName = 'blocks.0.mlp.hook_post'): FeatureDictionary {
  const width = config.nInner;
  const size = 6;
  const weights = Float32Array.from({ length: width * size }, () => random() - 0.5);
  const bias = Float32Array.from({ length: size }, () => random() - 0.5);
  return {
    config: { hookName },
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

describe('ablationJsdPerRecord skips the rows a patch leaves unchanged', () => {
  /** Total length of every record (one batch); contexts of 0 to 5 tokens. */
  const total = 12;
  const contexts = [0, 3, 5, 0, 2];
  /**
   * Window positions whose simulated value is moved off the feature's own (elsewhere it is the feature's own value,
   * so the patch leaves the activation as it is): none, all, a few from the 5th on, a few from the 7th on, one.
   */
  const moved = (record: number, t: number): boolean =>
    [false, true, t >= 4 && t % 2 === 0, t >= 6 && t % 3 === 0, t === 1][record]!;
  const sequences = contexts.map(() => Array.from({ length: total }, () => Math.floor(random() * config.vocabSize)));

  function recordsFor(target: FeatureTarget): AblationRecord[] {
    const own = featureActivations(model, target, sequences);
    return sequences.map((sequence, record) => {
      const context = contexts[record]!;
      return {
        contextIds: sequence.slice(0, context),
        tokenIds: sequence.slice(context),
        replacement: {
          simulated: own[record]!.slice(context).map((value, t) => (moved(record, t) ? value + 1.5 : value)),
          mean: 0.4,
        },
      };
    });
  }

  /** Per record and window position: does the patch change the final row there? */
  function expectedChanged(positionWise: boolean): boolean[][] {
    return contexts.map((context, record) => {
      const window = Array.from({ length: total - context }, (_, t) => moved(record, t));
      // with attention after the hook, a moved position changes its own row and every later one
      return positionWise ? window : window.map((_, t) => window.slice(0, t + 1).some(Boolean));
    });
  }

  const targets: [string, FeatureTarget, boolean][] = [
    ['a neuron of the last layer', { kind: 'neuron', hook: 'blocks.1.mlp.hook_post', index: 5 }, true],
    ['a neuron of the first layer', { kind: 'neuron', hook: 'blocks.0.mlp.hook_post', index: 30 }, false],
    [
      'an SAE latent of the last layer',
      { kind: 'sae', sae: smallDictionary('blocks.1.mlp.hook_post'), index: 3 },
      true,
    ],
    ['an SAE latent of the first layer', { kind: 'sae', sae: smallDictionary(), index: 3 }, false],
  ];
  for (const [name, target, positionWise] of targets) {
    it(`gives exactly 0 at unchanged rows without unembedding them, the full passes' JSD elsewhere: ${name}`, async () => {
      const input = recordsFor(target);
      const changed = expectedChanged(positionWise);
      const positions = input.reduce((sum, record) => sum + record.tokenIds.length, 0);
      const changedCount = changed.flat().filter(Boolean).length;
      // the records mix unchanged and changed rows
      expect(changedCount).toBeGreaterThan(0);
      expect(changedCount).toBeLessThan(positions);
      const unembed = vi.spyOn(model, 'unembed');
      try {
        const skipping = await ablationJsdPerRecord(model, target, input);
        // the original's and the mean branch's rows (the mean changes every row), the simulated branch's changed
        // rows only
        const unembedded = unembed.mock.calls.reduce((sum, [rows]) => sum + rows.shape[0], 0);
        expect(unembedded).toBe(2 * positions + changedCount);
        // the full passes (no row skipped) give the same floats, bit for bit
        expect(skipping).toEqual(await ablationJsdPerRecordThreePasses(model, target, input));
        skipping.forEach((record, index) =>
          record.jsdSimulated.forEach((jsd, t) => {
            if (changed[index]![t]) expect(jsd, `record ${index}, position ${t}`).toBeGreaterThan(0);
            else expect(Object.is(jsd, 0), `record ${index}, position ${t}: ${jsd}`).toBe(true);
          }),
        );
        expect(skipping.every((record) => record.jsdMean.every((jsd) => jsd > 0))).toBe(true);
      } finally {
        unembed.mockRestore();
      }
    });
  }

  it('finds the rows that differ in any entry, NaN included, and leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    const original = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, Number.NaN, 0, 1, 2], [4, 3]);
    const branch = tf.tensor2d([1, 2, 3, 4, 5, 6.000001, 7, 8, Number.NaN, 0, 1, 2], [4, 3]);
    expect(Array.from(changedRows(original, branch))).toEqual([1, 2]);
    expect(Array.from(changedRows(original, original))).toEqual([2]);
    tf.dispose([original, branch]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
