/**
 * @module sae/sae-trainer — the SAE trainer: weights, Adam moments and dead-latent counters on the device, one
 * training step at a time (docs/DESIGN.md §5; the loss and its gradients: ./sae-gradients.ts).
 *
 * Each step: the loss's gradients; for topk, the component of the decoder rows' gradient parallel to them removed;
 * global-norm gradient clipping; Adam (bias-corrected); for topk, the decoder rows renormalized to unit norm.
 *
 * Initialisation: W_dec rows random directions with norm `decoderInitNorm` (0.1 for standard, SAELens's
 * `decoder_init_norm`; 1 for topk), W_enc = W_decᵀ, b_enc = 0, b_dec the geometric median (or mean) of the first
 * batch. With `normalizeActivations: 'expected_average_only_in'` the inputs are multiplied by the activation scale
 * (./activation-scale.ts), estimated from the first `normalizationBatches` batches.
 *
 * Speed: W_dec is held transposed ([d_in, d_sae], the layout of W_enc; see ./sae-gradients.ts). Nothing is read back
 * to the host except the dead-latent count of topk (one scalar a step, which decides k_aux) and the progress values
 * on report steps.
 *
 * Determinism: for a seed and a batch sequence the run is deterministic on a given backend; `exportState` /
 * `SaeTrainer.fromState` (and ./checkpoint.ts on disk) carry everything — weights, Adam moments, step, tokens, the
 * per-latent tokens-since-fired and density-window counters — so a resumed run continues bit-identically.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, randomGaussian } from '../common/random.ts';
import { estimateActivationScale } from './activation-scale.ts';
import { adamStep, type AdamSlot } from './adam.ts';
import { geometricMedian, rowMean } from './geometric-median.ts';
import { rowShares } from '../subject/parallel-forward.ts';
import { combineGradientPasses, type GradientShare, type SaeGradientWorkers } from './parallel-sae-gradients.ts';
import { saeLossAndGradients, type SaeGradientOutput } from './sae-gradients.ts';
import type { SaeTrainerState, StateTensor } from './trainer-state.ts';
import {
  l1CoefficientAt,
  learningRateAt,
  resolveTrainingOptions,
  type ResolvedSaeTrainingOptions,
  type SaeTrainingOptions,
} from './training-options.ts';
import type { SaeConfig, SaeWeights } from './types.ts';

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

/** What one step's loss needs besides the batch and the weights. */
interface StepContext {
  /** λₜ of the standard loss (0 for topk). */
  l1Coefficient: number;
  /** TopK with dead latents: their mask, count and AuxK's k_aux maximum and α; null: no AuxK term this step. */
  auxK: { deadMask: tf.Tensor2D; deadCount: number; maximum: number; coefficient: number } | null;
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

export class SaeTrainer {
  readonly options: ResolvedSaeTrainingOptions;
  readonly activationScale: number;
  private tensors: TrainerTensors;
  private stepCount: number;
  private tokenCount: number;
  private windowTokenCount: number;
  private lastDeadCount = 0;

  private constructor(
    options: ResolvedSaeTrainingOptions,
    activationScale: number,
    tensors: TrainerTensors,
    step: number,
    tokens: number,
    windowTokens: number,
  ) {
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
    const activationScale =
      resolved.sae.normalizeActivations === 'expected_average_only_in'
        ? estimateActivationScale(firstBatches.slice(0, resolved.normalizationBatches), dIn)
        : 1;

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
      if (tensor.data.length !== expected)
        throw new RangeError(
          `trainer state: tensor "${name}" has ${tensor.data.length} values, [${shape.join(', ')}] needs ${expected}`,
        );
      return tf.tensor(tensor.data, shape);
    };
    const transposedFromDecoderLayout = (name: string) =>
      tf.tidy(() => tf.transpose(get(name, [dSae, dIn])) as tf.Tensor2D);
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
    checkBatch(batch, this.options.sae.dIn);
    const context = this.stepContext();
    try {
      return this.applyStep(batch, readMetrics, (x) => this.gradientsOf(x, context));
    } finally {
      context.auxK?.deadMask.dispose();
    }
  }

  /**
   * The same step, data-parallel (issue 19 item 4): the batch's rows split between this thread and the workers of
   * `workers` (each with its own backend), which compute the gradients of their rows from the current weights; the
   * gradients, weighted by rows, are summed here and the rest of the step (clipping, Adam, decoder norms, counters)
   * runs once, here. The same step as `trainStep` to float tolerance (sums in another order).
   */
  async trainStepParallel(
    batch: Float32Array,
    workers: SaeGradientWorkers,
    readMetrics = false,
  ): Promise<SaeStepMetrics | null> {
    const { dIn } = this.options.sae;
    checkBatch(batch, dIn);
    const context = this.stepContext();
    let local: SaeGradientOutput | null = null;
    try {
      const rows = batch.length / dIn;
      const [own, ...others] = rowShares(rows, workers.size + 1);
      const { W_enc, b_enc, W_decT, b_dec } = this.tensors;
      const remote = workers.gradients(
        { W_enc, b_enc, W_decT, b_dec },
        others.map(({ first, count }) => batch.subarray(first * dIn, (first + count) * dIn)),
        {
          activationScale: this.activationScale,
          l1Coefficient: context.l1Coefficient,
          auxK: context.auxK && { ...context.auxK, deadMask: context.auxK.deadMask.dataSync() as Float32Array },
        },
      );
      // This thread's share, computed while the workers compute theirs.
      const [dEncoder, dEncoderBias, dDecoderT, dDecoderBias, mse, squaredError, auxiliaryLoss, counts] = tf.tidy(
        () => {
          const pass = this.gradientsOf(this.scaledInput(batch.subarray(0, own!.count * dIn), own!.count), context);
          const { gradients } = pass;
          return [
            gradients.W_enc,
            gradients.b_enc,
            gradients.W_decT,
            gradients.b_dec,
            pass.mse,
            pass.squaredError,
            pass.auxiliaryLoss,
            pass.counts,
          ];
        },
      );
      local = {
        gradients: {
          W_enc: dEncoder as tf.Tensor2D,
          b_enc: dEncoderBias as tf.Tensor1D,
          W_decT: dDecoderT as tf.Tensor2D,
          b_dec: dDecoderBias as tf.Tensor1D,
        },
        mse: mse as tf.Scalar,
        squaredError: squaredError as tf.Scalar,
        auxiliaryLoss: auxiliaryLoss as tf.Scalar,
        counts: counts as tf.Tensor2D,
      };
      const parts: GradientShare[] = [
        { rows: own!.count, pass: local },
        ...(await remote).map((pass, index) => ({ rows: others[index]!.count, pass })),
      ];
      return this.applyStep(batch, readMetrics, () => combineGradientPasses(parts, rows, this.options.sae));
    } finally {
      if (local)
        tf.dispose([
          ...Object.values(local.gradients),
          local.mse,
          local.squaredError,
          local.auxiliaryLoss,
          local.counts,
        ]);
      context.auxK?.deadMask.dispose();
    }
  }

  /** What the loss of this step needs besides the batch: λₜ, and for topk the dead latents (one scalar read). */
  private stepContext(): StepContext {
    const options = this.options;
    const topk = options.sae.architecture === 'topk';
    let auxK: StepContext['auxK'] = null;
    let deadCount = 0;
    if (topk) {
      // TopK: the dead mask from before this step decides AuxK's k.
      const deadMask = tf.tidy(
        () => tf.step(tf.sub(this.tensors.tokensSinceFired, options.deadTokens - 0.5)) as tf.Tensor2D,
      );
      const count = tf.sum(deadMask);
      deadCount = Math.round(count.dataSync()[0]!);
      count.dispose();
      if (deadCount > 0) auxK = { deadMask, deadCount, maximum: options.auxK, coefficient: options.auxKCoefficient };
      else deadMask.dispose();
    }
    this.lastDeadCount = deadCount;
    return { l1Coefficient: topk ? 0 : l1CoefficientAt(this.stepCount, options), auxK };
  }

  /** The batch's rows as a tensor, multiplied by the activation scale. */
  private scaledInput(rowsData: Float32Array, rows: number): tf.Tensor2D {
    const x = tf.tensor2d(rowsData, [rows, this.options.sae.dIn]);
    return this.activationScale === 1 ? x : (tf.mul(x, this.activationScale) as tf.Tensor2D);
  }

  /** The loss's gradients on `x` at the current weights. */
  private gradientsOf(x: tf.Tensor2D, context: StepContext): SaeGradientOutput {
    const { W_enc, b_enc, W_decT, b_dec } = this.tensors;
    return saeLossAndGradients({
      x,
      W_enc,
      b_enc,
      W_decT,
      b_dec,
      sae: this.options.sae,
      l1Coefficient: context.l1Coefficient,
      auxK: context.auxK,
    });
  }

  /** The step after the gradients (`passOf(x)`, x the whole scaled batch): clipping, Adam, counters, metrics. */
  private applyStep(
    batch: Float32Array,
    readMetrics: boolean,
    passOf: (x: tf.Tensor2D) => SaeGradientOutput,
  ): SaeStepMetrics | null {
    const { dIn, architecture } = this.options.sae;
    const rows = batch.length / dIn;
    const options = this.options;
    const t = this.stepCount + 1;
    const learningRate = learningRateAt(this.stepCount, options);
    const topk = architecture === 'topk';
    const { W_enc, b_enc, W_decT, b_dec } = this.tensors;
    let result!: { tensors: TrainerTensors; metrics: tf.Tensor | null };
    tf.tidy(() => {
      const x = this.scaledInput(batch, rows);
      const pass = passOf(x);
      const { mse, squaredError, auxiliaryLoss, counts } = pass;
      let { W_decT: dDecoderT } = pass.gradients;
      if (topk) {
        // remove the gradient component parallel to each (unit) decoder row
        const parallel = tf.matMul(tf.ones([1, dIn]), tf.mul(dDecoderT, W_decT));
        dDecoderT = tf.sub(dDecoderT, tf.mul(W_decT, parallel));
      }
      const gradients: Record<ParameterName, tf.Tensor> = {
        W_enc: pass.gradients.W_enc,
        b_enc: pass.gradients.b_enc,
        W_dec: dDecoderT,
        b_dec: pass.gradients.b_dec,
      };
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
      const tokensSinceFired = tf.minimum(
        tf.mul(tf.add(this.tensors.tokensSinceFired, rows), tf.sub(1, fired)),
        options.deadTokens,
      ) as tf.Tensor2D;
      const windowCounts = tf.add(this.tensors.windowCounts, counts) as tf.Tensor2D;
      let metrics: tf.Tensor | null = null;
      if (readMetrics) {
        const mean = tf.div(tf.matMul(tf.ones([1, rows]), x), rows);
        const totalVariance = tf.sum(tf.square(tf.sub(x, mean)));
        const deadAfter = tf.mean(tf.step(tf.sub(tokensSinceFired, options.deadTokens - 0.5)));
        metrics = tf.stack([
          tf.add(mse, auxiliaryLoss),
          mse,
          auxiliaryLoss,
          tf.div(tf.sum(counts), rows),
          squaredError,
          totalVariance,
          deadAfter,
        ]);
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
      for (const tensor of [
        ...Object.values(next),
        ...Object.values(slots).flatMap((slot) => [slot.m, slot.v]),
        tokensSinceFired,
        windowCounts,
      ])
        tf.keep(tensor);
      if (metrics) tf.keep(metrics);
    });
    disposeTrainerTensors(this.tensors);
    this.tensors = result.tensors;
    this.stepCount += 1;
    this.tokenCount += rows;
    this.windowTokenCount += rows;
    if (!result.metrics) return null;
    const values = result.metrics.dataSync();
    result.metrics.dispose();
    const [loss, mse, auxiliaryLoss, l0, squaredError, totalVariance, deadFraction] = Array.from(values) as number[];
    return {
      loss: loss!,
      mse: mse!,
      auxiliaryLoss: auxiliaryLoss!,
      l0: l0!,
      fvu: totalVariance! > 0 ? squaredError! / totalVariance! : null,
      deadFraction: deadFraction!,
    };
  }

  /** The current weights in SAELens layout (host copies). */
  weights(): SaeWeights {
    const read = (tensor: tf.Tensor) => Float32Array.from(tensor.dataSync() as Float32Array);
    const decoder = tf.transpose(this.tensors.W_decT);
    const weights = {
      W_enc: read(this.tensors.W_enc),
      b_enc: read(this.tensors.b_enc),
      W_dec: read(decoder),
      b_dec: read(this.tensors.b_dec),
    };
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
    return {
      options: this.options,
      activationScale: this.activationScale,
      step: this.stepCount,
      tokens: this.tokenCount,
      windowTokens: this.windowTokenCount,
      tensors,
    };
  }

  dispose(): void {
    disposeTrainerTensors(this.tensors);
  }
}

function disposeTrainerTensors(tensors: TrainerTensors): void {
  tf.dispose([
    tensors.W_enc,
    tensors.b_enc,
    tensors.W_decT,
    tensors.b_dec,
    tensors.tokensSinceFired,
    tensors.windowCounts,
  ]);
  for (const name of parameterNames) tf.dispose([tensors.slots[name].m, tensors.slots[name].v]);
}

function checkBatch(batch: Float32Array, dIn: number): void {
  if (!(batch instanceof Float32Array)) throw new TypeError('an activation batch must be a Float32Array');
  if (batch.length === 0 || batch.length % dIn !== 0)
    throw new RangeError(`an activation batch must hold rows of d_in ${dIn} values; got ${batch.length} values`);
}
