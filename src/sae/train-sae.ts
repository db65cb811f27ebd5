/**
 * @module sae/train-sae — trains a sparse autoencoder on a stream of activation batches (docs/DESIGN.md §5).
 *
 * Losses (per batch of B rows; MSE = Σ_rows ‖x − x̂‖² / B, as SAELens):
 * - `standard`: MSE + λₜ·Σ_rows Σ_i f_i‖W_dec,i‖ / B, with λₜ ramping linearly from λ/W to λ over the first W steps
 *   (`l1WarmupSteps`).
 * - `topk`: MSE + α·min(n_dead/k_aux, 1)·Σ_rows ‖ê − (x − x̂)‖² / B (AuxK, Gao et al. 2024, with SAELens's and
 *   sparsify's scaling): ê = a·W_dec where a keeps the ReLU'd pre-activations of the k_aux = min(d_in/2, n_dead)
 *   largest dead latents of each row; α = 1/32; a latent is dead when it has not fired for `deadTokens` tokens. The
 *   decoder rows are kept at unit norm (renormalized after every update) and the component of their gradient parallel
 *   to them is removed before the update.
 * Adam (bias-corrected), global-norm gradient clipping, learning rate with linear warm-up and an optional linear decay
 * to 0 over the last `decaySteps` steps.
 *
 * Initialisation: W_dec rows random directions with norm `decoderInitNorm` (0.1 for standard, SAELens's
 * `decoder_init_norm`; 1 for topk), W_enc = W_decᵀ, b_enc = 0, b_dec the geometric median (or mean) of the first
 * batch. With `normalizeActivations: 'expected_average_only_in'` the inputs are multiplied by s = √d_in / mean‖x‖,
 * estimated from the first `normalizationBatches` batches (SAELens's and Anthropic's definition: E‖x·s‖ = √d_in); s is
 * stored in the SAE config so that encode/decode undo it.
 *
 * Speed: gradients are written out by hand (no tape), and every product is a plain [N,k]·[k,n] product (see
 * subject/fast-ops for why): W_dec is held transposed ([d_in, d_sae], the layout of W_enc) so that the decoder's
 * backward products need only small transposes, and the forward product takes one transpose of it per step (whose
 * rows also give the decoder norms); column sums are products with a row of ones. Nothing is read back to the host except the dead-latent count of topk (one
 * scalar a step, which decides k_aux) and the progress values every `reportEvery` steps.
 *
 * Determinism: for a seed and a batch sequence the run is deterministic on a given backend; `exportState` /
 * `SaeTrainer.fromState` (and ./checkpoint.ts on disk) carry everything — weights, Adam moments, step, tokens, the
 * per-latent tokens-since-fired and density-window counters — so a resumed run continues bit-identically.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, randomGaussian } from '../records/random.ts';
import { adamStep, type AdamSlot } from './adam.ts';
import { geometricMedian, rowMean } from './geometric-median.ts';
import { topKMask } from './sae-model.ts';
import { readTrainerCheckpoint, writeTrainerCheckpoint } from './checkpoint.ts';
import { logFeatureSparsity } from './metrics.ts';
import { validateSaeConfig, type SaeConfig, type SaeWeights } from './types.ts';

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
  check(Number.isInteger(resolved.steps) && resolved.steps >= 0, `steps must be a non-negative integer, got ${resolved.steps}`);
  check(resolved.learningRate > 0, 'learning rate must be positive');
  check(resolved.clipNorm >= 0, 'clip norm must be ≥ 0 (0: off)');
  check(resolved.l1Coefficient >= 0, 'l1 coefficient must be ≥ 0');
  check(Number.isInteger(resolved.auxK) && resolved.auxK > 0, 'auxK must be a positive integer');
  // counters are float32 on the device: integers are exact up to 2^24
  check(Number.isInteger(resolved.deadTokens) && resolved.deadTokens > 0 && resolved.deadTokens <= 2 ** 24, 'deadTokens must be an integer in [1, 2^24]');
  check(Number.isInteger(resolved.densityWindowSteps) && resolved.densityWindowSteps > 0, 'densityWindowSteps must be a positive integer');
  check(resolved.decoderInitNorm > 0, 'decoder init norm must be positive');
  check(Number.isInteger(resolved.normalizationBatches) && resolved.normalizationBatches > 0, 'normalizationBatches must be a positive integer');
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

/** Values of one step, read back on report steps. */
export interface SaeStepMetrics {
  /** Total loss of the step. */
  loss: number;
  /** Σ‖x − x̂‖² / B on the (normalized) training inputs. */
  mse: number;
  /** λₜ·Σ f_i‖W_dec,i‖ / B (standard) or the weighted AuxK term (topk). */
  auxiliaryLoss: number;
  /** Mean active latents per row. */
  l0: number;
  /** Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over the batch (null for a batch without variance). */
  fvu: number | null;
  /** Latents not fired for `deadTokens` tokens, as a fraction of d_sae. */
  deadFraction: number;
}

export interface SaeTrainingProgress {
  /** Steps done (1-based count after this step). */
  step: number;
  steps: number;
  tokens: number;
  learningRate: number;
  /** λₜ of the standard loss (0 for topk). */
  l1Coefficient: number;
  /** Seconds since this `trainSae` call started. */
  elapsedSeconds: number;
  /** Read every `reportEvery` steps and on the last; null otherwise. */
  metrics: SaeStepMetrics | null;
}

/** A host copy of a tensor. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

/** Everything a resumed run needs (see ./checkpoint.ts for the files). */
export interface SaeTrainerState {
  options: ResolvedSaeTrainingOptions;
  /** The activation scale s (1 without normalization). */
  activationScale: number;
  step: number;
  tokens: number;
  /** Tokens counted in the current density window (see `densityWindow`). */
  windowTokens: number;
  /**
   * W_enc [d_in,d_sae], b_enc, W_dec [d_sae,d_in], b_dec, their Adam moments (`m.W_enc`, `v.W_enc`, …),
   * `tokens_since_fired` [d_sae] and `window_counts` [d_sae].
   */
  tensors: Record<string, StateTensor>;
}

const parameterNames = ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const;
type ParameterName = (typeof parameterNames)[number];

/** Internal tensors; W_dec is held transposed as `W_decT` [d_in, d_sae] (see the module comment). */
interface TrainerTensors {
  W_enc: tf.Tensor2D;
  b_enc: tf.Tensor1D;
  W_decT: tf.Tensor2D;
  b_dec: tf.Tensor1D;
  slots: Record<ParameterName, AdamSlot>;
  tokensSinceFired: tf.Tensor2D;
  windowCounts: tf.Tensor2D;
}

/** A very negative number that keeps live latents out of AuxK's top-k. */
const excluded = -1e30;

export class SaeTrainer {
  readonly options: ResolvedSaeTrainingOptions;
  readonly activationScale: number;
  private tensors: TrainerTensors;
  private stepCount: number;
  private tokenCount: number;
  private windowTokenCount: number;
  private lastDeadCount = 0;

  private constructor(options: ResolvedSaeTrainingOptions, activationScale: number, tensors: TrainerTensors, step: number, tokens: number, windowTokens: number) {
    this.options = options;
    this.activationScale = activationScale;
    this.tensors = tensors;
    this.stepCount = step;
    this.tokenCount = tokens;
    this.windowTokenCount = windowTokens;
  }

  /**
   * A fresh trainer: estimates the activation scale from `firstBatches` (when normalizing; up to
   * `normalizationBatches` of them are used) and initialises b_dec from the first batch.
   */
  static create(options: SaeTrainingOptions, firstBatches: Float32Array[]): SaeTrainer {
    const resolved = resolveTrainingOptions(options);
    const { dIn, dSae } = resolved.sae;
    const first = firstBatches[0];
    if (!first || first.length === 0) throw new RangeError('the first batch is empty: cannot initialise b_dec');
    for (const batch of firstBatches) checkBatch(batch, dIn);
    const activationScale = resolved.sae.normalizeActivations === 'expected_average_only_in' ? estimateActivationScale(firstBatches.slice(0, resolved.normalizationBatches), dIn) : 1;

    // Decoder rows: random Gaussian directions with norm decoderInitNorm; W_enc = W_decᵀ; held as W_decT = W_enc.
    const random = mulberry32(resolved.seed);
    const decoder = new Float32Array(dSae * dIn);
    for (let i = 0; i < dSae; i++) {
      let norm = 0;
      for (let j = 0; j < dIn; j++) {
        const value = randomGaussian(random);
        decoder[i * dIn + j] = value;
        norm += value * value;
      }
      const factor = resolved.decoderInitNorm / Math.sqrt(norm);
      for (let j = 0; j < dIn; j++) decoder[i * dIn + j]! *= factor;
    }
    const scaledFirst = activationScale === 1 ? first : Float32Array.from(first, (value) => value * activationScale);
    const bias =
      resolved.decoderBiasInit === 'zeros'
        ? new Float32Array(dIn)
        : resolved.decoderBiasInit === 'mean'
          ? rowMean(scaledFirst, dIn)
          : geometricMedian(scaledFirst, dIn);
    const tensors = tf.tidy(() => {
      const W_dec = tf.tensor2d(decoder, [dSae, dIn]);
      const W_enc = tf.transpose(W_dec) as tf.Tensor2D;
      const W_decT = tf.clone(W_enc);
      const b_enc = tf.zeros([dSae]) as tf.Tensor1D;
      const b_dec = tf.tensor1d(bias);
      return {
        W_enc,
        b_enc,
        W_decT,
        b_dec,
        slots: {
          W_enc: { m: tf.zerosLike(W_enc), v: tf.zerosLike(W_enc) },
          b_enc: { m: tf.zerosLike(b_enc), v: tf.zerosLike(b_enc) },
          W_dec: { m: tf.zerosLike(W_decT), v: tf.zerosLike(W_decT) },
          b_dec: { m: tf.zerosLike(b_dec), v: tf.zerosLike(b_dec) },
        },
        tokensSinceFired: tf.zeros([1, dSae]) as tf.Tensor2D,
        windowCounts: tf.zeros([1, dSae]) as tf.Tensor2D,
      };
    });
    return new SaeTrainer(resolved, activationScale, tensors, 0, 0, 0);
  }

  /** A trainer continuing from an exported state (bit-identical continuation on the same backend). */
  static fromState(state: SaeTrainerState): SaeTrainer {
    const options = state.options;
    const { dIn, dSae } = options.sae;
    const get = (name: string, shape: number[]): tf.Tensor => {
      const tensor = state.tensors[name];
      if (!tensor) throw new RangeError(`trainer state: tensor "${name}" is missing`);
      const expected = shape.reduce((a, b) => a * b, 1);
      if (tensor.data.length !== expected) throw new RangeError(`trainer state: tensor "${name}" has ${tensor.data.length} values, [${shape.join(', ')}] needs ${expected}`);
      return tf.tensor(tensor.data, shape);
    };
    const transposedFromDecoderLayout = (name: string) => tf.tidy(() => tf.transpose(get(name, [dSae, dIn])) as tf.Tensor2D);
    const tensors: TrainerTensors = {
      W_enc: get('W_enc', [dIn, dSae]) as tf.Tensor2D,
      b_enc: get('b_enc', [dSae]) as tf.Tensor1D,
      W_decT: transposedFromDecoderLayout('W_dec'),
      b_dec: get('b_dec', [dIn]) as tf.Tensor1D,
      slots: {
        W_enc: { m: get('m.W_enc', [dIn, dSae]), v: get('v.W_enc', [dIn, dSae]) },
        b_enc: { m: get('m.b_enc', [dSae]), v: get('v.b_enc', [dSae]) },
        W_dec: { m: transposedFromDecoderLayout('m.W_dec'), v: transposedFromDecoderLayout('v.W_dec') },
        b_dec: { m: get('m.b_dec', [dIn]), v: get('v.b_dec', [dIn]) },
      },
      tokensSinceFired: get('tokens_since_fired', [1, dSae]) as tf.Tensor2D,
      windowCounts: get('window_counts', [1, dSae]) as tf.Tensor2D,
    };
    return new SaeTrainer(options, state.activationScale, tensors, state.step, state.tokens, state.windowTokens);
  }

  get step(): number {
    return this.stepCount;
  }

  get tokens(): number {
    return this.tokenCount;
  }

  /** TopK: the dead latents AuxK saw in the last step (0: no AuxK term that step; always 0 for standard). */
  get lastStepDeadLatents(): number {
    return this.lastDeadCount;
  }

  /** The SAE config of the result (with the activation scale when normalizing). */
  get config(): SaeConfig {
    const config: SaeConfig = { ...this.options.sae };
    if (config.normalizeActivations === 'expected_average_only_in') config.activationScale = this.activationScale;
    return config;
  }

  /**
   * One training step on `batch` [rows × d_in] (raw activations; the trainer applies the activation scale).
   * Returns the step's metrics when `readMetrics` (a host read), else null.
   */
  trainStep(batch: Float32Array, readMetrics = false): SaeStepMetrics | null {
    const { dIn, architecture } = this.options.sae;
    checkBatch(batch, dIn);
    const rows = batch.length / dIn;
    const options = this.options;
    const t = this.stepCount + 1;
    const learningRate = learningRateAt(this.stepCount, options);
    const topk = architecture === 'topk';

    // TopK: the dead mask from before this step decides AuxK's k (one scalar read).
    let deadCount = 0;
    let deadMask: tf.Tensor2D | null = null;
    if (topk) {
      deadMask = tf.tidy(() => tf.step(tf.sub(this.tensors.tokensSinceFired, options.deadTokens - 0.5)) as tf.Tensor2D);
      const count = tf.sum(deadMask);
      deadCount = Math.round(count.dataSync()[0]!);
      count.dispose();
    }
    this.lastDeadCount = deadCount;

    const { W_enc, b_enc, W_decT, b_dec } = this.tensors;
    let result!: { tensors: TrainerTensors; metrics: tf.Tensor | null };
    tf.tidy(() => {
      let x = tf.tensor2d(batch, [rows, dIn]);
      if (this.activationScale !== 1) x = tf.mul(x, this.activationScale);
      const l1 = topk ? 0 : l1CoefficientAt(this.stepCount, options);
      const auxK = topk && deadCount > 0 ? { deadMask: deadMask!, deadCount, maximum: options.auxK, coefficient: options.auxKCoefficient } : null;
      const pass = saeLossAndGradients({ x, W_enc, b_enc, W_decT, b_dec, sae: options.sae, l1Coefficient: l1, auxK });
      const { mse, squaredError, auxiliaryLoss, counts } = pass;
      let { W_decT: dDecoderT } = pass.gradients;
      if (topk) {
        // remove the gradient component parallel to each (unit) decoder row
        const parallel = tf.matMul(tf.ones([1, dIn]), tf.mul(dDecoderT, W_decT));
        dDecoderT = tf.sub(dDecoderT, tf.mul(W_decT, parallel));
      }
      const gradients: Record<ParameterName, tf.Tensor> = { W_enc: pass.gradients.W_enc, b_enc: pass.gradients.b_enc, W_dec: dDecoderT, b_dec: pass.gradients.b_dec };
      if (options.clipNorm > 0) {
        const norm = tf.sqrt(tf.addN(parameterNames.map((name) => tf.sum(tf.square(gradients[name])))));
        const factor = tf.div(options.clipNorm, tf.maximum(norm, options.clipNorm));
        for (const name of parameterNames) gradients[name] = tf.mul(gradients[name], factor);
      }
      const hyper = { beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon };
      const current: Record<ParameterName, tf.Tensor> = { W_enc, b_enc, W_dec: W_decT, b_dec };
      const next = {} as Record<ParameterName, tf.Tensor>;
      const slots = {} as Record<ParameterName, AdamSlot>;
      for (const name of parameterNames) {
        const updated = adamStep(current[name], gradients[name], this.tensors.slots[name], t, learningRate, hyper);
        next[name] = updated.parameter;
        slots[name] = updated.slot;
      }
      if (topk) {
        const norms = tf.sqrt(tf.matMul(tf.ones([1, dIn]), tf.square(next.W_dec)));
        next.W_dec = tf.div(next.W_dec, tf.maximum(norms, 1e-12));
      }
      const fired = tf.step(counts);
      const tokensSinceFired = tf.minimum(tf.mul(tf.add(this.tensors.tokensSinceFired, rows), tf.sub(1, fired)), options.deadTokens) as tf.Tensor2D;
      const windowCounts = tf.add(this.tensors.windowCounts, counts) as tf.Tensor2D;
      let metrics: tf.Tensor | null = null;
      if (readMetrics) {
        const mean = tf.div(tf.matMul(tf.ones([1, rows]), x), rows);
        const totalVariance = tf.sum(tf.square(tf.sub(x, mean)));
        const deadAfter = tf.mean(tf.step(tf.sub(tokensSinceFired, options.deadTokens - 0.5)));
        metrics = tf.stack([tf.add(mse, auxiliaryLoss), mse, auxiliaryLoss, tf.div(tf.sum(counts), rows), squaredError, totalVariance, deadAfter]);
      }
      result = {
        tensors: {
          W_enc: next.W_enc as tf.Tensor2D,
          b_enc: next.b_enc as tf.Tensor1D,
          W_decT: next.W_dec as tf.Tensor2D,
          b_dec: next.b_dec as tf.Tensor1D,
          slots,
          tokensSinceFired,
          windowCounts,
        },
        metrics,
      };
      for (const tensor of [...Object.values(next), ...Object.values(slots).flatMap((slot) => [slot.m, slot.v]), tokensSinceFired, windowCounts]) tf.keep(tensor);
      if (metrics) tf.keep(metrics);
    });
    deadMask?.dispose();
    disposeTrainerTensors(this.tensors);
    this.tensors = result.tensors;
    this.stepCount += 1;
    this.tokenCount += rows;
    this.windowTokenCount += rows;
    if (!result.metrics) return null;
    const values = result.metrics.dataSync();
    result.metrics.dispose();
    const [loss, mse, auxiliaryLoss, l0, squaredError, totalVariance, deadFraction] = Array.from(values) as number[];
    return { loss: loss!, mse: mse!, auxiliaryLoss: auxiliaryLoss!, l0: l0!, fvu: totalVariance! > 0 ? squaredError! / totalVariance! : null, deadFraction: deadFraction! };
  }

  /** The current weights in SAELens layout (host copies). */
  weights(): SaeWeights {
    const read = (tensor: tf.Tensor) => Float32Array.from(tensor.dataSync() as Float32Array);
    const decoder = tf.transpose(this.tensors.W_decT);
    const weights = { W_enc: read(this.tensors.W_enc), b_enc: read(this.tensors.b_enc), W_dec: read(decoder), b_dec: read(this.tensors.b_dec) };
    decoder.dispose();
    return weights;
  }

  /**
   * Per latent, the fraction of tokens it fired on since the density window was last reset (`resetDensityWindow`),
   * and the number of tokens in that window.
   */
  densityWindow(): { density: Float64Array; tokens: number } {
    const counts = this.tensors.windowCounts.dataSync();
    const tokens = this.windowTokenCount;
    return { density: Float64Array.from(counts, (count) => (tokens > 0 ? count / tokens : 0)), tokens };
  }

  resetDensityWindow(): void {
    const zeros = tf.zerosLike(this.tensors.windowCounts);
    this.tensors.windowCounts.dispose();
    this.tensors.windowCounts = zeros;
    this.windowTokenCount = 0;
  }

  /** A host copy of the whole training state (see `SaeTrainerState`). */
  exportState(): SaeTrainerState {
    const tensors: Record<string, StateTensor> = {};
    const put = (name: string, tensor: tf.Tensor, transposeFromInternal = false) => {
      const source = transposeFromInternal ? tf.transpose(tensor) : tensor;
      tensors[name] = { shape: [...source.shape], data: Float32Array.from(source.dataSync() as Float32Array) };
      if (source !== tensor) source.dispose();
    };
    const { W_enc, b_enc, W_decT, b_dec, slots } = this.tensors;
    put('W_enc', W_enc);
    put('b_enc', b_enc);
    put('W_dec', W_decT, true);
    put('b_dec', b_dec);
    for (const name of parameterNames) {
      put(`m.${name}`, slots[name].m, name === 'W_dec');
      put(`v.${name}`, slots[name].v, name === 'W_dec');
    }
    put('tokens_since_fired', this.tensors.tokensSinceFired);
    put('window_counts', this.tensors.windowCounts);
    return { options: this.options, activationScale: this.activationScale, step: this.stepCount, tokens: this.tokenCount, windowTokens: this.windowTokenCount, tensors };
  }

  dispose(): void {
    disposeTrainerTensors(this.tensors);
  }
}

/** The input of one forward-and-backward pass (all tensors owned by the caller). */
export interface SaeGradientInput {
  /** Inputs [rows, d_in], already multiplied by the activation scale. */
  x: tf.Tensor2D;
  W_enc: tf.Tensor2D;
  b_enc: tf.Tensor1D;
  /** W_dec transposed, [d_in, d_sae]. */
  W_decT: tf.Tensor2D;
  b_dec: tf.Tensor1D;
  sae: Pick<SaeConfig, 'architecture' | 'k' | 'applyBDecToInput'>;
  /** λₜ of the standard loss (ignored for topk). */
  l1Coefficient: number;
  /** TopK with dead latents: their 0/1 mask [1, d_sae] and count, k_aux's maximum and α; null: no AuxK term. */
  auxK: { deadMask: tf.Tensor2D; deadCount: number; maximum: number; coefficient: number } | null;
}

export interface SaeGradientOutput {
  /** Gradients of the loss; `W_decT` is the gradient of W_dec, transposed. */
  gradients: { W_enc: tf.Tensor2D; b_enc: tf.Tensor1D; W_decT: tf.Tensor2D; b_dec: tf.Tensor1D };
  /** Σ‖x − x̂‖² / rows */
  mse: tf.Scalar;
  /** Σ‖x − x̂‖² */
  squaredError: tf.Scalar;
  /** The L1 term (standard) or the weighted AuxK term (topk). */
  auxiliaryLoss: tf.Scalar;
  /** Per latent, the rows on which it fired, [1, d_sae]. */
  counts: tf.Tensor2D;
}

/**
 * The loss of the module comment and its gradients for one batch, written out by hand (plain-layout products only).
 * Call inside `tf.tidy`. Exported for the gradient test, which compares it with tfjs's autodiff.
 */
export function saeLossAndGradients(input: SaeGradientInput): SaeGradientOutput {
  const { x, W_enc, b_enc, W_decT, b_dec } = input;
  const [rows, dIn] = x.shape;
  const dSae = W_enc.shape[1];
  const topk = input.sae.architecture === 'topk';
  const ones = tf.ones([1, rows]) as tf.Tensor2D;
  const xCentred = input.sae.applyBDecToInput ? tf.sub(x, b_dec) : x;
  const pre = tf.add(tf.matMul(xCentred, W_enc), b_enc) as tf.Tensor2D;
  const relu = tf.relu(pre);
  const features = topk ? tf.mul(relu, topKMask(pre, input.sae.k!)) : relu;
  const active = tf.step(features);
  const W_dec = tf.transpose(W_decT) as tf.Tensor2D;
  const reconstruction = tf.add(tf.matMul(features, W_dec), b_dec);
  const error = tf.sub(reconstruction, x);
  const squaredError = tf.sum(tf.square(error)) as tf.Scalar;
  const mse = tf.div(squaredError, rows) as tf.Scalar;
  const dReconstruction = tf.mul(error, 2 / rows);
  const dFeatures = tf.matMul(dReconstruction, W_decT);
  const counts = tf.matMul(ones, active) as tf.Tensor2D;
  let dPre: tf.Tensor2D;
  let dDecoderT = tf.matMul(tf.transpose(dReconstruction), features) as tf.Tensor2D;
  let auxiliaryLoss = tf.scalar(0);
  if (!topk) {
    const l1 = input.l1Coefficient;
    // row norms of W_dec from its row-major copy: a sum along the last axis (a [1,d_in]·[d_in,d_sae] product costs more)
    const norms = tf.reshape(tf.sqrt(tf.sum(tf.square(W_dec), 1)), [1, dSae]);
    const featureSums = tf.matMul(ones, features);
    auxiliaryLoss = tf.mul(tf.sum(tf.mul(featureSums, norms)), l1 / rows);
    dPre = tf.mul(active, tf.add(dFeatures, tf.mul(norms, l1 / rows)));
    // ∂/∂W_dec,i of λ·n_i·Σ_b f_bi / B = λ·(Σ_b f_bi / B)·W_dec,i / n_i
    dDecoderT = tf.add(dDecoderT, tf.mul(W_decT, tf.div(tf.mul(featureSums, l1 / rows), tf.maximum(norms, 1e-12))));
  } else {
    dPre = tf.mul(active, dFeatures);
    const aux = input.auxK;
    if (aux && aux.deadCount > 0) {
      const kAux = Math.min(aux.maximum, aux.deadCount);
      const auxScale = Math.min(aux.deadCount / aux.maximum, 1);
      const dead = aux.deadMask;
      const auxMask =
        kAux < aux.deadCount ? tf.mul(topKMask(tf.add(pre, tf.mul(tf.sub(1, dead), excluded)) as tf.Tensor2D, kAux), dead) : tf.mul(tf.onesLike(pre), dead);
      const auxFeatures = tf.mul(relu, auxMask);
      const auxActive = tf.step(auxFeatures);
      // residual target e = x − x̂ (no gradient through it); ê − e = ê + error
      const auxError = tf.add(tf.matMul(auxFeatures, W_dec), error);
      const weight = aux.coefficient * auxScale;
      auxiliaryLoss = tf.mul(tf.sum(tf.square(auxError)), weight / rows);
      const dAux = tf.mul(auxError, (2 * weight) / rows);
      dPre = tf.add(dPre, tf.mul(auxActive, tf.matMul(dAux, W_decT)));
      dDecoderT = tf.add(dDecoderT, tf.matMul(tf.transpose(dAux), auxFeatures));
    }
  }
  const dEncoder = tf.matMul(tf.transpose(xCentred), dPre) as tf.Tensor2D;
  const dEncoderBias = tf.reshape(tf.matMul(ones, dPre), [dSae]) as tf.Tensor1D;
  let dDecoderBias = tf.reshape(tf.matMul(ones, dReconstruction), [dIn]) as tf.Tensor1D;
  if (input.sae.applyBDecToInput) dDecoderBias = tf.sub(dDecoderBias, tf.reshape(tf.matMul(W_enc, tf.reshape(dEncoderBias, [dSae, 1])), [dIn]));
  return { gradients: { W_enc: dEncoder, b_enc: dEncoderBias, W_decT: dDecoderT, b_dec: dDecoderBias }, mse, squaredError, auxiliaryLoss, counts };
}

function disposeTrainerTensors(tensors: TrainerTensors): void {
  tf.dispose([tensors.W_enc, tensors.b_enc, tensors.W_decT, tensors.b_dec, tensors.tokensSinceFired, tensors.windowCounts]);
  for (const name of parameterNames) tf.dispose([tensors.slots[name].m, tensors.slots[name].v]);
}

function checkBatch(batch: Float32Array, dIn: number): void {
  if (!(batch instanceof Float32Array)) throw new TypeError('an activation batch must be a Float32Array');
  if (batch.length === 0 || batch.length % dIn !== 0) throw new RangeError(`an activation batch must hold rows of d_in ${dIn} values; got ${batch.length} values`);
}

/** s = √d_in / mean‖x‖ over the rows of the batches (1 when every row is 0). */
export function estimateActivationScale(batches: Float32Array[], dIn: number): number {
  let normSum = 0;
  let rows = 0;
  for (const batch of batches) {
    const count = batch.length / dIn;
    for (let r = 0; r < count; r++) {
      let squares = 0;
      for (let j = 0; j < dIn; j++) squares += batch[r * dIn + j]! ** 2;
      normSum += Math.sqrt(squares);
    }
    rows += count;
  }
  const meanNorm = rows > 0 ? normSum / rows : 0;
  return meanNorm > 0 ? Math.sqrt(dIn) / meanNorm : 1;
}

/**
 * Where batches come from: a function of the batch index (0, 1, …; null or undefined ends the stream), or an
 * iterable / async iterable of batches. Each batch is [rows × d_in] raw activations; rows may vary. On resume a
 * function is asked for the batch at the resumed step, while an iterable is read from its start and the batches
 * already trained on are skipped.
 */
export type ActivationBatchSource =
  | ((batchIndex: number) => Float32Array | null | undefined | Promise<Float32Array | null | undefined>)
  | Iterable<Float32Array>
  | AsyncIterable<Float32Array>;

export interface TrainSaeOptions extends SaeTrainingOptions {
  /** Read the step metrics every this many steps and on the last (default 50). */
  reportEvery?: number;
  /** Called after every step; `metrics` is non-null on report steps. */
  onProgress?: (progress: SaeTrainingProgress) => void;
  /**
   * Save the training state to `directory` every `every` steps and at the end; when the directory already holds a
   * checkpoint, training resumes from it (its options must equal these, else an error names the first difference).
   */
  checkpoint?: { directory: string; every: number };
  /** When aborted, training stops after the step in flight, saves the checkpoint and returns (`interrupted`). */
  signal?: AbortSignal;
}

export interface TrainSaeResult {
  /** The trained SAE's config (with the activation scale when normalizing). */
  config: SaeConfig;
  weights: SaeWeights;
  /** Per latent, the fraction of tokens it fired on over the last `densityWindowSteps` steps (or fewer). */
  featureDensity: Float64Array;
  /** Tokens in that window. */
  densityTokens: number;
  /** log10(density + 1e-10): SAELens's `sparsity.safetensors`. */
  logSparsity: Float32Array;
  /** Steps completed in total (less than `steps` when the source ran out). */
  steps: number;
  tokens: number;
  /** The step a checkpoint resumed from, or null for a fresh run. */
  resumedFrom: number | null;
  /** Seconds spent in this call. */
  seconds: number;
  /** Metrics of the last report step of this call. */
  lastMetrics: SaeStepMetrics | null;
  /** True when `signal` stopped the run before `steps`. */
  interrupted: boolean;
}

async function* readBatches(source: ActivationBatchSource, start: number): AsyncGenerator<Float32Array> {
  if (typeof source === 'function') {
    for (let index = start; ; index++) {
      const batch = await source(index);
      if (!batch) return;
      yield batch;
    }
  }
  let index = 0;
  for await (const batch of source as AsyncIterable<Float32Array>) {
    if (index++ < start) continue;
    yield batch;
  }
}

/** The first key path where two JSON values differ, or null. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Object.is(a, b) ? null : path || '(value)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of [...keys].sort()) {
    const difference = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (difference) return difference;
  }
  return null;
}

/**
 * Trains an SAE on `source` for `options.steps` steps (see the module comment), resuming from `options.checkpoint`
 * when it holds one. Memory is bounded by one batch (plus `normalizationBatches` at the start).
 */
export async function trainSae(source: ActivationBatchSource, options: TrainSaeOptions): Promise<TrainSaeResult> {
  const resolved = resolveTrainingOptions(options);
  const reportEvery = Math.max(1, options.reportEvery ?? 50);
  if (options.checkpoint && !(Number.isInteger(options.checkpoint.every) && options.checkpoint.every > 0)) {
    throw new RangeError(`checkpoint.every must be a positive integer, got ${options.checkpoint.every}`);
  }
  const started = performance.now();
  let trainer: SaeTrainer | null = null;
  let resumedFrom: number | null = null;
  const saved = options.checkpoint ? readTrainerCheckpoint(options.checkpoint.directory) : null;
  if (saved) {
    const difference = firstDifference(JSON.parse(JSON.stringify(saved.options)), JSON.parse(JSON.stringify(resolved)));
    if (difference) throw new RangeError(`cannot resume from ${options.checkpoint!.directory}: option ${difference} differs from the checkpoint's`);
    trainer = SaeTrainer.fromState(saved);
    resumedFrom = saved.step;
  }
  const batches = readBatches(source, trainer ? trainer.step : 0);
  const pending: Float32Array[] = [];
  try {
    if (!trainer) {
      const needed = resolved.sae.normalizeActivations === 'expected_average_only_in' ? Math.min(resolved.normalizationBatches, Math.max(1, resolved.steps)) : 1;
      while (pending.length < needed) {
        const next = await batches.next();
        if (next.done) break;
        pending.push(next.value);
      }
      if (pending.length === 0) throw new RangeError('the activation source gave no batch');
      trainer = SaeTrainer.create(resolved, pending);
    }
    let lastMetrics: SaeStepMetrics | null = null;
    const windowStart = resolved.steps - resolved.densityWindowSteps;
    while (trainer.step < resolved.steps && !options.signal?.aborted) {
      let batch = pending.shift();
      if (!batch) {
        const next = await batches.next();
        if (next.done) break;
        batch = next.value;
      }
      if (trainer.step === windowStart) trainer.resetDensityWindow();
      const last = trainer.step + 1 === resolved.steps;
      const metrics = trainer.trainStep(batch, (trainer.step + 1) % reportEvery === 0 || last);
      if (metrics) lastMetrics = metrics;
      options.onProgress?.({
        step: trainer.step,
        steps: resolved.steps,
        tokens: trainer.tokens,
        learningRate: learningRateAt(trainer.step - 1, resolved),
        l1Coefficient: resolved.sae.architecture === 'standard' ? l1CoefficientAt(trainer.step - 1, resolved) : 0,
        elapsedSeconds: (performance.now() - started) / 1000,
        metrics,
      });
      if (options.checkpoint && trainer.step % options.checkpoint.every === 0 && trainer.step < resolved.steps) {
        writeTrainerCheckpoint(options.checkpoint.directory, trainer.exportState());
      }
      // Let signal handlers (Ctrl+C) run: a synchronous batch source never leaves the microtask queue otherwise.
      if (options.signal) await new Promise((resolve) => setImmediate(resolve));
    }
    if (options.checkpoint && trainer.step !== resumedFrom) writeTrainerCheckpoint(options.checkpoint.directory, trainer.exportState());
    const window = trainer.densityWindow();
    return {
      config: trainer.config,
      weights: trainer.weights(),
      featureDensity: window.density,
      densityTokens: window.tokens,
      logSparsity: logFeatureSparsity(window.density),
      steps: trainer.step,
      tokens: trainer.tokens,
      resumedFrom,
      seconds: (performance.now() - started) / 1000,
      lastMetrics,
      interrupted: trainer.step < resolved.steps && options.signal?.aborted === true,
    };
  } finally {
    trainer?.dispose();
    await batches.return(undefined);
  }
}
