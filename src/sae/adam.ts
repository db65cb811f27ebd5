/**
 * @module sae/adam — one Adam update of one parameter tensor (PyTorch's form: bias-corrected moments, ε added to
 * √v̂), written with plain element-wise tfjs ops so that the moments are ordinary tensors that a checkpoint can save
 * and restore exactly.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamHyperparameters {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface AdamSlot {
  /** First moment (same shape as the parameter). */
  m: tf.Tensor;
  /** Second moment. */
  v: tf.Tensor;
}

/**
 * Returns the updated parameter and moments for 1-based step `t` and learning rate `learningRate`:
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
 * The inputs are not disposed.
 */
export function adamStep(
  parameter: tf.Tensor,
  gradient: tf.Tensor,
  slot: AdamSlot,
  t: number,
  learningRate: number,
  hyper: AdamHyperparameters,
): { parameter: tf.Tensor; slot: AdamSlot } {
  return tf.tidy(() => {
    const { beta1, beta2, epsilon } = hyper;
    const m = tf.add(tf.mul(slot.m, beta1), tf.mul(gradient, 1 - beta1));
    const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    const stepSize = learningRate / (1 - beta1 ** t);
    const denominator = tf.add(tf.sqrt(tf.div(v, 1 - beta2 ** t)), epsilon);
    const updated = tf.sub(parameter, tf.mul(tf.div(m, denominator), stepSize));
    return { parameter: updated, slot: { m, v } };
  });
}
