/**
 * @module sae/train-sae — trains a sparse autoencoder on a stream of activation batches (docs/DESIGN.md §5): reads
 * the batches, runs the trainer (./sae-trainer.ts) step by step, reports progress, saves and resumes checkpoints
 * (./checkpoint.ts) and returns the trained SAE with its feature densities.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readTrainerCheckpoint, writeTrainerCheckpoint } from './checkpoint.ts';
import { logFeatureSparsity } from './metrics.ts';
import { workerBackend } from '../subject/parallel-forward.ts';
import { SaeGradientPool } from './sae-gradient-pool.ts';
import { SaeTrainer, type SaeStepMetrics } from './sae-trainer.ts';
import {
  l1CoefficientAt,
  learningRateAt,
  resolveTrainingOptions,
  type SaeTrainingOptions,
} from './training-options.ts';
import type { SaeConfig, SaeWeights } from './types.ts';
import { InputError } from '../common/errors.ts';

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
  /**
   * Threads a step runs on (default 1): with N > 1, each batch's rows are split between this thread and N − 1 gradient
   * workers, a wasm backend each (`SaeTrainer.trainStepParallel`; the same training to float tolerance, so a resume
   * may use another count). Not part of the checkpoint's options.
   */
  workers?: number;
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
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return Object.is(a, b) ? null : path || '(value)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of [...keys].sort()) {
    const difference = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      path ? `${path}.${key}` : key,
    );
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
    throw new InputError(`checkpoint.every must be a positive integer, got ${options.checkpoint.every}`);
  }
  const workers = options.workers ?? 1;
  if (!(Number.isInteger(workers) && workers > 0))
    throw new InputError(`workers must be a positive integer, got ${workers}`);
  if (workers > 1) workerBackend(tf.getBackend()); // refused before anything is read or written
  const started = performance.now();
  let trainer: SaeTrainer | null = null;
  let pool: SaeGradientPool | null = null;
  let resumedFrom: number | null = null;
  const saved = options.checkpoint ? readTrainerCheckpoint(options.checkpoint.directory) : null;
  if (saved) {
    const difference = firstDifference(JSON.parse(JSON.stringify(saved.options)), JSON.parse(JSON.stringify(resolved)));
    if (difference)
      throw new InputError(
        `cannot resume from ${options.checkpoint!.directory}: option ${difference} differs from the checkpoint's`,
      );
    trainer = SaeTrainer.fromState(saved);
    resumedFrom = saved.step;
  }
  const batches = readBatches(source, trainer ? trainer.step : 0);
  const pending: Float32Array[] = [];
  try {
    if (!trainer) {
      const needed =
        resolved.sae.normalizeActivations === 'expected_average_only_in'
          ? Math.min(resolved.normalizationBatches, Math.max(1, resolved.steps))
          : 1;
      while (pending.length < needed) {
        const next = await batches.next();
        if (next.done) break;
        pending.push(next.value);
      }
      if (pending.length === 0) throw new RangeError('the activation source gave no batch');
      trainer = SaeTrainer.create(resolved, pending);
    }
    if (workers > 1 && trainer.step < resolved.steps)
      pool = await SaeGradientPool.start({ sae: resolved.sae, workers: workers - 1, backend: tf.getBackend() });
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
      const readMetrics = (trainer.step + 1) % reportEvery === 0 || last;
      const metrics = pool
        ? await trainer.trainStepParallel(batch, pool, readMetrics)
        : trainer.trainStep(batch, readMetrics);
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
    if (options.checkpoint && trainer.step !== resumedFrom)
      writeTrainerCheckpoint(options.checkpoint.directory, trainer.exportState());
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
    await pool?.close();
    trainer?.dispose();
    await batches.return(undefined);
  }
}
