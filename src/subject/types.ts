/**
 * @module subject/types — the contract of the subject model: a GPT-2-architecture transformer (learned positions,
 * pre-LN, GELU MLP, tied unembedding) with TransformerLens-style hook points to capture and patch activations.
 *
 * Weights are named as in Hugging Face's GPT-2 `model.safetensors` (the `transformer.` prefix stripped):
 * `wte.weight` [V, d], `wpe.weight` [n_positions, d], `h.{L}.ln_1.{weight,bias}` [d], `h.{L}.attn.c_attn.weight`
 * [d, 3d] (Conv1D layout: input × output), `h.{L}.attn.c_attn.bias` [3d], `h.{L}.attn.c_proj.weight` [d, d],
 * `h.{L}.attn.c_proj.bias` [d], `h.{L}.ln_2.{weight,bias}` [d], `h.{L}.mlp.c_fc.weight` [d, n_inner],
 * `h.{L}.mlp.c_fc.bias` [n_inner], `h.{L}.mlp.c_proj.weight` [n_inner, d], `h.{L}.mlp.c_proj.bias` [d],
 * `ln_f.{weight,bias}` [d].
 */
import type * as tf from '@tensorflow/tfjs-core';

/** GPT-2 hyper-parameters, read from a Hugging Face `config.json` (names there: vocab_size, n_positions, …). */
export interface Gpt2Config {
  vocabSize: number;
  /** Context length (n_positions). */
  nPositions: number;
  /** Residual width d (n_embd). */
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** MLP width (n_inner; 4·n_embd when null in config.json). */
  nInner: number;
  layerNormEpsilon: number;
  /** `gelu_new` (tanh approximation, GPT-2's), `gelu` (erf), or `relu`. */
  activation: 'gelu_new' | 'gelu' | 'relu';
}

/** A tensor on the host: row-major float32 data and its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** GPT-2 weights by Hugging Face name (without the `transformer.` prefix). */
export type Gpt2Weights = Map<string, HostTensor>;

/**
 * A hook sees the activation at a hook point and may return a replacement of the same shape (patching) or nothing
 * (capture only). Hook points: `hook_embed`, `hook_pos_embed`, `blocks.{L}.hook_resid_pre`,
 * `blocks.{L}.attn.hook_pattern` [B, H, T, T], `blocks.{L}.hook_attn_out`, `blocks.{L}.hook_resid_mid`,
 * `blocks.{L}.mlp.hook_pre` [B, T, n_inner], `blocks.{L}.mlp.hook_post` [B, T, n_inner], `blocks.{L}.hook_mlp_out`,
 * `blocks.{L}.hook_resid_post`, `ln_final.hook_normalized`; all [B, T, d] unless noted. Under
 * `Gpt2Model.forwardAtPositions` the last block's hooks past its attention (hook_attn_out on) and
 * ln_final.hook_normalized see [B, 1, width] instead: each row's chosen position only, so a hook that depends on the
 * position must read its activation's shape (or not be used there).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a capture hook returns nothing, a patch hook a replacement
export type HookFn = (activation: tf.Tensor, hookName: string) => tf.Tensor | void;
export type Hooks = Readonly<Record<string, HookFn>>;
