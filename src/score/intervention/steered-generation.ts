/**
 * @module score/intervention/steered-generation — greedy continuations of several prompts at once, each row with the
 * feature clamped to its own value (subject/steer's clamp: the neuron set to v, or the SAE latent's share of the
 * reconstruction moved to v, the SAE's error kept) or left alone. Needs a started tfjs backend.
 *
 * One forward pass per generated token for all rows: rows are right-padded to the longest, and each row's next token
 * is read at its own last position, the only one unembedded (the logits of every position cost ~10× the rest of the
 * pass for brown-1l) and the only one the last block works at past its keys and values (Gpt2Model.forwardAtPositions:
 * the same rows bit for bit, for brown-1l's single block a fraction of the work). Attention is causal and positions are absolute, so padding after a row's end
 * never reaches its logits; an unclamped row gets a zero mask, i.e. exactly the model's own activations, and
 * continues as `generate()` would (test/score/intervention checks it). Like delphi's intervention scorer, the clamp
 * starts at the prompt's last position (the one that predicts the first new token) and covers every generated one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type FeatureTarget, replaceFeature, targetHook } from '../../subject/feature-ablation.ts';
import type { Gpt2Model } from '../../subject/gpt2-model.ts';
import type { Hooks } from '../../subject/types.ts';

/** One continuation to generate: its prompt (at least one token) and the clamp value (raw units), or null: none. */
export interface SteeredRow {
  promptIds: readonly number[];
  clamp: number | null;
}

export interface SteeredGenerationOptions {
  /** Tokens to add to each row. */
  maxNewTokens: number;
  /** A row ends after producing one of these (it is kept, as `generate()` keeps it). */
  stopTokenIds?: readonly number[];
  /** Checked between steps: an aborted run stops generating. */
  signal?: AbortSignal;
}

/**
 * The feature clamped, per row, to `values[row]` at the positions where `mask` [rows, width, 1] is 1; where the hook
 * sees only each row's last position ([rows, 1, ·]: the last block of Gpt2Model.forwardAtPositions), where
 * `lastMask` [rows, 1, 1] is 1 (the clamp always covers a clamped row's last position).
 */
function rowClampHooks(target: FeatureTarget, values: tf.Tensor3D, mask: tf.Tensor3D, lastMask: tf.Tensor3D): Hooks {
  return {
    [targetHook(target)]: (activation) =>
      replaceFeature(
        activation as tf.Tensor3D,
        target,
        values,
        activation.shape[1] === mask.shape[1] ? mask : lastMask,
      ),
  };
}

/**
 * The new token ids of each row (greedy: the most likely token, the lowest id on ties), in row order. Yields to the
 * event loop after each step (other features' judge calls go on meanwhile).
 */
export async function generateSteeredRows(
  model: Gpt2Model,
  target: FeatureTarget,
  rows: readonly SteeredRow[],
  options: SteeredGenerationOptions,
): Promise<number[][]> {
  const { maxNewTokens, stopTokenIds = [], signal } = options;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0))
    throw new RangeError(`steered generation: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  rows.forEach((row, index) => {
    if (row.promptIds.length === 0) throw new RangeError(`steered generation: row ${index} has an empty prompt`);
    if (row.promptIds.length + maxNewTokens > model.config.nPositions) {
      throw new RangeError(
        `steered generation: row ${index} needs ${row.promptIds.length + maxNewTokens} positions; the model has ${model.config.nPositions}`,
      );
    }
    if (row.clamp !== null && !Number.isFinite(row.clamp))
      throw new RangeError(`steered generation: row ${index} has a non-finite clamp value ${row.clamp}`);
  });
  const sequences = rows.map((row) => [...row.promptIds]);
  const added: number[][] = rows.map(() => []);
  const active = rows.map(() => true);
  const anyClamped = rows.some((row) => row.clamp !== null);
  const values = Float32Array.from(rows, (row) => row.clamp ?? 0);
  const lastMask = Float32Array.from(rows, (row) => (row.clamp === null ? 0 : 1));
  for (let step = 0; step < maxNewTokens && active.some(Boolean); step++) {
    signal?.throwIfAborted();
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const ids = new Int32Array(rows.length * width);
    const mask = new Float32Array(rows.length * width);
    const lastPositions = new Int32Array(rows.length);
    sequences.forEach((sequence, row) => {
      ids.set(sequence, row * width);
      lastPositions[row] = sequence.length - 1;
      if (rows[row]!.clamp === null) return;
      for (let position = rows[row]!.promptIds.length - 1; position < sequence.length; position++)
        mask[row * width + position] = 1;
    });
    const next = tf.tidy(() => {
      const clamp: Hooks = anyClamped
        ? rowClampHooks(
            target,
            tf.tensor3d(values, [rows.length, 1, 1]),
            tf.tensor3d(mask, [rows.length, width, 1]),
            tf.tensor3d(lastMask, [rows.length, 1, 1]),
          )
        : {};
      // The final layer norm's output at each row's last position (a feature there is clamped first).
      const last = model.forwardAtPositions(ids, rows.length, lastPositions, clamp);
      // wte [V, d] · lastᵀ [d, rows]: the plain layout (fast on wasm), and only the rows' last positions.
      return tf.argMax(tf.matMul(model.params.wte, tf.transpose(last)), 0);
    });
    const tokens = next.dataSync();
    next.dispose();
    sequences.forEach((sequence, row) => {
      if (!active[row]) return;
      const token = tokens[row]!;
      sequence.push(token);
      added[row]!.push(token);
      if (stopTokenIds.includes(token)) active[row] = false;
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return added;
}
