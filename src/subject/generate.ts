/**
 * @module subject/generate — text generation from a subject model: greedy (temperature 0) or sampled at a temperature
 * with a seeded generator (mulberry32), optionally with hooks on every forward pass (a clamped feature: subject/steer).
 *
 * Each new token re-runs the whole window (no KV cache: the subject models are small); the window is the last
 * `nPositions` tokens, so positions seen by hooks are positions in that window.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, type RandomSource } from '../common/random.ts';
import { logSoftmax } from '../common/log-probabilities.ts';
import type { Gpt2Model } from './gpt2-model.ts';
import type { Hooks } from './types.ts';

export interface GenerateOptions {
  /** Tokens to add (a non-negative integer). */
  maxNewTokens: number;
  /** Softmax temperature; 0 (default) takes the most likely token (greedy; the lowest id on ties). */
  temperature?: number;
  /** Seed of the sampler (default 0); unused when greedy. */
  seed?: number;
  /** Hooks applied on every forward pass. */
  hooks?: Hooks;
  /** Generation ends after producing one of these (it is returned), e.g. `<|endoftext|>`. */
  stopTokenIds?: readonly number[];
}

/** The part of `ids` the model sees: the last `nPositions` tokens. */
export function contextWindow(model: Gpt2Model, ids: readonly number[]): readonly number[] {
  const context = model.config.nPositions;
  return ids.length > context ? ids.slice(ids.length - context) : ids;
}

/**
 * Next-token log-probabilities (nats, length V) after `promptIds` (at least one token; the window is its last
 * `nPositions`), with `hooks` applied. Needs a started tfjs backend.
 */
export function nextTokenLogProbs(model: Gpt2Model, promptIds: readonly number[], hooks: Hooks = {}): Float64Array {
  if (promptIds.length === 0) throw new RangeError('next-token distribution: the prompt needs at least one token');
  const window = contextWindow(model, promptIds);
  const vocab = model.config.vocabSize;
  const last = tf.tidy(() => {
    const { logits } = model.forward([window], undefined, { hooks });
    return tf.slice(logits!, [0, window.length - 1, 0], [1, 1, vocab]);
  });
  const data = last.dataSync();
  last.dispose();
  return logSoftmax(data);
}

/** A token drawn from `logProbs` sharpened or flattened by 1/temperature; the argmax when temperature is 0. */
export function pickToken(logProbs: Float64Array, temperature: number, random: RandomSource): number {
  let best = 0;
  for (let v = 1; v < logProbs.length; v++) if (logProbs[v]! > logProbs[best]!) best = v;
  if (temperature === 0) return best;
  // p_v ∝ exp((log p_v − max) / T), drawn by inverting the cumulative sum.
  const weights = new Float64Array(logProbs.length);
  let total = 0;
  for (let v = 0; v < logProbs.length; v++) {
    weights[v] = Math.exp((logProbs[v]! - logProbs[best]!) / temperature);
    total += weights[v]!;
  }
  let remaining = random() * total;
  for (let v = 0; v < weights.length; v++) {
    remaining -= weights[v]!;
    if (remaining < 0) return v;
  }
  return best;
}

/** The new token ids (not the prompt) generated after `promptIds`. Needs a started tfjs backend. */
export function generate(model: Gpt2Model, promptIds: readonly number[], options: GenerateOptions): number[] {
  const { maxNewTokens, temperature = 0, seed = 0, hooks = {}, stopTokenIds = [] } = options;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0))
    throw new RangeError(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  if (!(Number.isFinite(temperature) && temperature >= 0))
    throw new RangeError(`generate: temperature must be a finite number ≥ 0, got ${temperature}`);
  const random = mulberry32(seed);
  const ids = [...promptIds];
  const added: number[] = [];
  while (added.length < maxNewTokens) {
    const token = pickToken(nextTokenLogProbs(model, ids, hooks), temperature, random);
    ids.push(token);
    added.push(token);
    if (stopTokenIds.includes(token)) break;
  }
  return added;
}
