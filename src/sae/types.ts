/**
 * @module sae/types — the contract of a sparse autoencoder (docs/DESIGN.md §5), in SAELens's layout and names.
 *
 * `f = act((x·s − b_dec)·W_enc + b_enc)` (the `− b_dec` only when `applyBDecToInput`; `s` the activation scale, 1
 * unless `normalizeActivations` is `expected_average_only_in`), `x̂ = (f·W_dec + b_dec) / s`; act = ReLU (`standard`)
 * or TopK (`topk`: the k largest pre-activations of each row, ReLU'd, every other latent 0).
 *
 * Weights are row-major float32 host arrays with the SAELens shapes: `W_enc` [d_in, d_sae], `b_enc` [d_sae],
 * `W_dec` [d_sae, d_in] (row i is feature i's decoder direction), `b_dec` [d_in].
 */
import { InputError } from '../common/errors.ts';

export type SaeArchitecture = 'standard' | 'topk';
export const saeArchitectures: readonly SaeArchitecture[] = ['standard', 'topk'];

/**
 * SAELens's `normalize_activations` values that this module implements: `none`, or `expected_average_only_in`
 * (Anthropic's April 2024 update: inputs multiplied by one constant so that their mean norm is √d_in; the output is
 * divided by it again).
 */
export type ActivationNormalization = 'none' | 'expected_average_only_in';
export const activationNormalizations: readonly ActivationNormalization[] = ['none', 'expected_average_only_in'];

export interface SaeConfig {
  /** Width of the activations the SAE reads (d_in). */
  dIn: number;
  /** Number of latents (d_sae). */
  dSae: number;
  architecture: SaeArchitecture;
  /** Latents kept per token; required for `topk`. */
  k?: number;
  /** λ of the standard loss `MSE + λ·Σ_i f_i‖W_dec,i‖` (training only; kept for the record). */
  l1Coefficient?: number;
  /** Subtract b_dec from the input before encoding (SAELens `apply_b_dec_to_input`). */
  applyBDecToInput: boolean;
  normalizeActivations: ActivationNormalization;
  /**
   * The constant s that multiplies inputs when `normalizeActivations` is `expected_average_only_in` (estimated by the
   * trainer so that E‖x·s‖ = √d_in); decoding divides by it. Ignored (treated as 1) for `none`.
   */
  activationScale?: number;
  /** TransformerLens-style hook point the SAE reads, e.g. `blocks.0.mlp.hook_post` (SAELens `metadata.hook_name`). */
  hookName: string;
  /** Subject model name (SAELens `metadata.model_name`). */
  modelName: string;
}

/** SAE parameters on the host, row-major float32, shapes as in SAELens (see the module comment). */
export interface SaeWeights {
  /** [d_in, d_sae] */
  W_enc: Float32Array;
  /** [d_sae] */
  b_enc: Float32Array;
  /** [d_sae, d_in]; row i is feature i's decoder direction. */
  W_dec: Float32Array;
  /** [d_in] */
  b_dec: Float32Array;
}

/** The shape of each weight for a config, by SAELens tensor name. */
export function saeWeightShapes(config: Pick<SaeConfig, 'dIn' | 'dSae'>): Record<keyof SaeWeights, number[]> {
  return {
    W_enc: [config.dIn, config.dSae],
    b_enc: [config.dSae],
    W_dec: [config.dSae, config.dIn],
    b_dec: [config.dIn],
  };
}

/** Raised for an SAE config or weights that cannot be used; the message is one line naming what is wrong. */
export class SaeConfigError extends InputError {
  override readonly name = 'SaeConfigError';
}

/** The activation scale actually applied: `activationScale` when normalizing, else 1. */
export function effectiveActivationScale(config: SaeConfig): number {
  return config.normalizeActivations === 'expected_average_only_in' ? (config.activationScale ?? 1) : 1;
}

/** Checks a config's values (positive integer sizes, k for topk, a finite positive activation scale). */
export function validateSaeConfig(config: SaeConfig): void {
  const positiveInteger = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value > 0;
  if (!positiveInteger(config.dIn))
    throw new SaeConfigError(`d_in must be a positive integer, got ${String(config.dIn)}`);
  if (!positiveInteger(config.dSae))
    throw new SaeConfigError(`d_sae must be a positive integer, got ${String(config.dSae)}`);
  if (!saeArchitectures.includes(config.architecture)) {
    throw new SaeConfigError(
      `architecture must be one of ${saeArchitectures.join(', ')}, got ${JSON.stringify(config.architecture)}`,
    );
  }
  if (config.architecture === 'topk' && !positiveInteger(config.k)) {
    throw new SaeConfigError(`a topk SAE needs k, a positive integer; got ${String(config.k)}`);
  }
  if (!activationNormalizations.includes(config.normalizeActivations)) {
    throw new SaeConfigError(
      `normalize_activations must be one of ${activationNormalizations.join(', ')}, got ${JSON.stringify(config.normalizeActivations)}`,
    );
  }
  const scale = config.activationScale;
  if (scale !== undefined && !(Number.isFinite(scale) && scale > 0)) {
    throw new SaeConfigError(`activation scale must be a finite positive number, got ${String(scale)}`);
  }
}

/** Checks that each weight array has the length its shape needs; names the tensor and both sizes. */
export function validateSaeWeights(config: SaeConfig, weights: SaeWeights): void {
  const shapes = saeWeightShapes(config);
  for (const name of Object.keys(shapes) as (keyof SaeWeights)[]) {
    const expected = shapes[name].reduce((a, b) => a * b, 1);
    const array = weights[name];
    if (!(array instanceof Float32Array)) throw new SaeConfigError(`${name} is missing or not a Float32Array`);
    if (array.length !== expected) {
      throw new SaeConfigError(
        `${name} has ${array.length} values; shape [${shapes[name].join(', ')}] needs ${expected}`,
      );
    }
  }
}
