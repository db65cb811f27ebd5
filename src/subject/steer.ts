/**
 * @module subject/steer — feature steering: hooks that clamp a neuron or an SAE latent to a constant on every forward
 * pass (generate with and without them: subject/generate), and the feature's direct logit effect.
 *
 * The clamp is subject/feature-ablation's patch with one value v at every position from `fromPosition` on
 * (x [B, T, width] at the feature's hook point):
 * - neuron i: `x' = x + (v − x_i)·e_i`, i.e. column i set to v;
 * - SAE latent i: `x' = x + (v − f_i(x))·W_dec[i] / s` (s the SAE's activation scale): only the latent's share of the
 *   reconstruction changes, the SAE's error x − x̂ is kept.
 *
 * Direct logit effect of a feature: its direction u in the residual stream (e_i or W_dec[i]/s, through the MLP's
 * c_proj when the hook is `mlp.hook_post`), centred and multiplied by ln_final's gain, times the unembedding:
 * `effect_v = ((u − mean u) ⊙ γ) · wte[v]`. ln_final's 1/σ (activation-dependent) and any later layers are left out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceFeature, targetHook, type FeatureTarget } from './feature-ablation.ts';
import { hookWidth, type Gpt2Model } from './gpt2-model.ts';
import type { Hooks } from './types.ts';
import { InputError } from '../common/errors.ts';

/** The feature to clamp: an activation coordinate at a hook point, or a latent of an SAE (at its `hookName`). */
export type SteerTarget = FeatureTarget;

export interface ClampOptions {
  /** First position (in the forward pass's window) clamped; default 0, every position. */
  fromPosition?: number;
}

/** A target that does not fit the model (unknown hook, index out of range, SAE width); the message is one line. */
export class SteerTargetError extends InputError {
  override readonly name = 'SteerTargetError';
}

/** The hook points whose activations a feature can live at (attention patterns excluded). */
export function steerableHooks(model: Gpt2Model): string[] {
  return model.hookPoints.filter((hook) => hookWidth(model.config, hook) !== null);
}

/** Checks that the target's hook exists, its index is in range, and an SAE reads the hook's width. */
export function checkSteerTarget(model: Gpt2Model, target: SteerTarget): void {
  const hook = targetHook(target);
  const valid = steerableHooks(model);
  if (hook.endsWith('attn.hook_pattern') && model.hookPoints.includes(hook)) {
    throw new SteerTargetError(`${hook} is an attention pattern, not an activation; hooks: ${valid.join(', ')}`);
  }
  if (!valid.includes(hook)) {
    const what =
      target.kind === 'sae' ? `the SAE reads hook "${hook}", which this model does not have` : `unknown hook "${hook}"`;
    throw new SteerTargetError(`${what}; hooks: ${valid.join(', ')}`);
  }
  const width = hookWidth(model.config, hook)!;
  if (target.kind === 'sae' && target.sae.dIn !== width) {
    throw new SteerTargetError(`the SAE reads ${target.sae.dIn} values but ${hook} has ${width}`);
  }
  const size = target.kind === 'neuron' ? width : target.sae.dSae;
  if (!(Number.isInteger(target.index) && target.index >= 0 && target.index < size)) {
    throw new SteerTargetError(
      `${target.kind === 'neuron' ? 'neuron' : 'SAE latent'} index ${target.index} is outside [0, ${size}) at ${hook}`,
    );
  }
}

/** Hooks that set the target to `value` at every position from `fromPosition` on (see the module comment). */
export function clampHooks(target: SteerTarget, value: number, options: ClampOptions = {}): Hooks {
  const from = options.fromPosition ?? 0;
  if (!Number.isFinite(value)) throw new RangeError(`clamp: the value must be a finite number, got ${value}`);
  if (!(Number.isInteger(from) && from >= 0))
    throw new RangeError(`clamp: fromPosition must be a non-negative integer, got ${from}`);
  return {
    [targetHook(target)]: (activation) => {
      const length = activation.shape[1]!;
      if (from >= length) return undefined;
      return tf.tidy(() => {
        const values = tf.fill([1, 1, 1], value) as tf.Tensor3D;
        const mask = tf.tensor3d(
          Float32Array.from({ length }, (_, t) => (t >= from ? 1 : 0)),
          [1, length, 1],
        );
        return replaceFeature(activation as tf.Tensor3D, target, values, mask);
      });
    },
  };
}

/**
 * The direct logit effect of the target per token (length V; see the module comment), or null where the hook's
 * activation reaches the residual stream through a nonlinearity (`mlp.hook_pre`).
 */
export function directLogitEffect(model: Gpt2Model, target: SteerTarget): Float32Array | null {
  checkSteerTarget(model, target);
  const hook = targetHook(target);
  if (hook.endsWith('mlp.hook_pre')) return null;
  const { params } = model;
  const width = hookWidth(model.config, hook)!;
  const effect = tf.tidy(() => {
    let direction: tf.Tensor2D;
    if (target.kind === 'neuron') {
      const unit = new Float32Array(width);
      unit[target.index] = 1;
      direction = tf.tensor2d(unit, [1, width]);
    } else {
      direction = tf.div(tf.tensor2d(target.sae.decoderRow(target.index), [1, width]), target.sae.scale);
    }
    if (hook.endsWith('mlp.hook_post')) {
      const layer = Number(hook.split('.')[1]);
      direction = tf.matMul(direction, params.blocks[layer]!.projW);
    }
    if (hook !== 'ln_final.hook_normalized')
      direction = tf.mul(tf.sub(direction, tf.mean(direction)), params.lnF.weight);
    // wte [V, d] · uᵀ [d, 1]: the plain layout (fast on wasm).
    return tf.matMul(params.wte, tf.reshape(direction, [model.config.nEmbd, 1]));
  });
  const data = Float32Array.from(effect.dataSync() as Float32Array);
  effect.dispose();
  return data;
}
