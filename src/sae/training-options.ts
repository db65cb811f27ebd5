/**
 * @module sae/training-options — the SAE training options, their defaults and checks (`resolveTrainingOptions`,
 * what a checkpoint stores and a resume must match), and the learning-rate and λ schedules (docs/DESIGN.md §5):
 * learning rate with linear warm-up and an optional linear decay to 0 over the last `decaySteps` steps; λₜ of the
 * standard loss ramping linearly from λ/W to λ over the first W steps (`l1WarmupSteps`).
 */
import { validateSaeConfig, type SaeConfig } from './types.ts';

export type DecoderBiasInit = 'geometric_median' | 'mean' | 'zeros';

/** The SAE to train: everything of SaeConfig but the activation scale, which the trainer estimates. */
export type SaeTrainingConfig = Omit<SaeConfig, 'activationScale'>;

export interface SaeTrainingOptions {
  /** The SAE; for `standard`, λ is `sae.l1Coefficient` (default 5, Anthropic's value for inputs of norm ≈ √d_in). */
  sae: SaeTrainingConfig;
  /** Training steps (one batch each). */
  steps: number;
  /** Peak learning rate (default 3e-4, SAELens's default). */
  learningRate?: number;
  /** Linear learning-rate warm-up steps (default 0). */
  warmupSteps?: number;
  /** Linear decay of the learning rate to 0 over the last steps (default 0: none). */
  decaySteps?: number;
  /** Adam β1 (default 0.9), β2 (default 0.999), ε (default 1e-8). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Global gradient-norm clip (default 1, as SAELens; 0 turns clipping off). */
  clipNorm?: number;
  /** Standard: steps over which λ ramps up linearly (default 5 % of `steps`). */
  l1WarmupSteps?: number;
  /** TopK: AuxK coefficient α (default 1/32). */
  auxKCoefficient?: number;
  /** TopK: dead latents used by AuxK at most (default ⌊d_in/2⌋). */
  auxK?: number;
  /** A latent is dead after this many tokens without firing (default 1 000 000; sparsify uses 10M). */
  deadTokens?: number;
  /** Initial b_dec from the first batch (default `geometric_median`). */
  decoderBiasInit?: DecoderBiasInit;
  /** Initial norm of the decoder rows (default 0.1 for standard, 1 for topk). */
  decoderInitNorm?: number;
  /** Batches read to estimate the activation scale when normalizing (default 8; they are also trained on). */
  normalizationBatches?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** The result's feature density counts the last this many steps (default ⌈steps/10⌉). */
  densityWindowSteps?: number;
}

/** Every option with its value; what a checkpoint stores and a resume must match. */
export interface ResolvedSaeTrainingOptions {
  sae: SaeTrainingConfig;
  steps: number;
  learningRate: number;
  warmupSteps: number;
  decaySteps: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  clipNorm: number;
  l1Coefficient: number;
  l1WarmupSteps: number;
  auxKCoefficient: number;
  auxK: number;
  deadTokens: number;
  decoderBiasInit: DecoderBiasInit;
  decoderInitNorm: number;
  normalizationBatches: number;
  seed: number;
  densityWindowSteps: number;
}

export function resolveTrainingOptions(options: SaeTrainingOptions): ResolvedSaeTrainingOptions {
  const sae = { ...options.sae };
  validateSaeConfig(sae);
  const standard = sae.architecture === 'standard';
  const l1Coefficient = sae.l1Coefficient ?? 5;
  const resolved: ResolvedSaeTrainingOptions = {
    sae: standard ? { ...sae, l1Coefficient } : sae,
    steps: options.steps,
    learningRate: options.learningRate ?? 3e-4,
    warmupSteps: options.warmupSteps ?? 0,
    decaySteps: options.decaySteps ?? 0,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    clipNorm: options.clipNorm ?? 1,
    l1Coefficient: standard ? l1Coefficient : 0,
    l1WarmupSteps: options.l1WarmupSteps ?? Math.round(0.05 * options.steps),
    auxKCoefficient: options.auxKCoefficient ?? 1 / 32,
    auxK: options.auxK ?? Math.max(1, Math.floor(sae.dIn / 2)),
    deadTokens: options.deadTokens ?? 1_000_000,
    decoderBiasInit: options.decoderBiasInit ?? 'geometric_median',
    decoderInitNorm: options.decoderInitNorm ?? (standard ? 0.1 : 1),
    normalizationBatches: options.normalizationBatches ?? 8,
    seed: options.seed ?? 0,
    densityWindowSteps: options.densityWindowSteps ?? Math.max(1, Math.ceil(options.steps / 10)),
  };
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new RangeError(message);
  };
  check(
    Number.isInteger(resolved.steps) && resolved.steps >= 0,
    `steps must be a non-negative integer, got ${resolved.steps}`,
  );
  check(resolved.learningRate > 0, 'learning rate must be positive');
  check(resolved.clipNorm >= 0, 'clip norm must be ≥ 0 (0: off)');
  check(resolved.l1Coefficient >= 0, 'l1 coefficient must be ≥ 0');
  check(Number.isInteger(resolved.auxK) && resolved.auxK > 0, 'auxK must be a positive integer');
  // counters are float32 on the device: integers are exact up to 2^24
  check(
    Number.isInteger(resolved.deadTokens) && resolved.deadTokens > 0 && resolved.deadTokens <= 2 ** 24,
    'deadTokens must be an integer in [1, 2^24]',
  );
  check(
    Number.isInteger(resolved.densityWindowSteps) && resolved.densityWindowSteps > 0,
    'densityWindowSteps must be a positive integer',
  );
  check(resolved.decoderInitNorm > 0, 'decoder init norm must be positive');
  check(
    Number.isInteger(resolved.normalizationBatches) && resolved.normalizationBatches > 0,
    'normalizationBatches must be a positive integer',
  );
  return resolved;
}

/** Learning rate at 0-based step `step`. */
export function learningRateAt(step: number, options: ResolvedSaeTrainingOptions): number {
  let rate = options.learningRate;
  if (options.warmupSteps > 0) rate *= Math.min(1, (step + 1) / options.warmupSteps);
  if (options.decaySteps > 0) {
    const decayStart = options.steps - options.decaySteps;
    if (step >= decayStart) rate *= Math.max(0, (options.steps - step) / options.decaySteps);
  }
  return rate;
}

/** λ at 0-based step `step` (standard architecture). */
export function l1CoefficientAt(step: number, options: ResolvedSaeTrainingOptions): number {
  if (options.l1WarmupSteps <= 0) return options.l1Coefficient;
  return options.l1Coefficient * Math.min(1, (step + 1) / options.l1WarmupSteps);
}
