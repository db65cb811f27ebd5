/**
 * @module sae/train-on-cache — trains an SAE on the activations of an activation cache and writes it as a SAELens
 * folder: shuffled batches from the cache (./cache-batches), `trainSae` with checkpoints in `<out>/checkpoint` (a
 * rerun with `resume` continues bit-identically; without it an existing checkpoint is refused, as is a folder that
 * already holds an SAE), then `cfg.json`,
 * `sae_weights.safetensors` and `sparsity.safetensors` (the training's last density window), plus
 * `training.json` (options, tokens, seconds) beside them.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ActivationCache } from '../subject/activation-cache.ts';
import { cacheBatches } from './cache-batches.ts';
import { checkpointFiles } from './checkpoint.ts';
import { saeLensFiles, saveSaeLens } from './formats.ts';
import { trainSae, type TrainSaeResult, type TrainSaeOptions } from './train-sae.ts';
import {
  resolveTrainingOptions,
  type ResolvedSaeTrainingOptions,
  type SaeTrainingOptions,
} from './training-options.ts';
import type { SaeArchitecture } from './types.ts';
import { InputError } from '../common/errors.ts';

export interface TrainOnCacheOptions {
  cacheDir: string;
  /** The SAELens folder to write. */
  outDir: string;
  architecture: SaeArchitecture;
  /** Latents (d_sae). */
  latents: number;
  /** TopK: latents per token. */
  k?: number;
  /** Standard: λ of the sparsity penalty. */
  l1Coefficient?: number;
  /** Scale inputs to mean norm √d_in (SAELens `expected_average_only_in`; default true). */
  normalize?: boolean;
  /** Rows per batch. */
  batchSize: number;
  /** Training steps; default one epoch of the cache's usable rows. */
  steps?: number;
  /** Seed of the initialisation and of the batch order. */
  seed?: number;
  /** Everything else of the trainer (learning rate, warm-ups, …). */
  trainer?: Omit<SaeTrainingOptions, 'sae' | 'steps' | 'seed'>;
  checkpointEvery?: number;
  /** Continue from `<out>/checkpoint` (default false: an existing checkpoint is an error). */
  resume?: boolean;
  /** Weight dtype of the written file (default F32). */
  dtype?: 'F32' | 'F16';
  reportEvery?: number;
  onProgress?: TrainSaeOptions['onProgress'];
  signal?: AbortSignal;
  /** Threads a step runs on (default 1; see TrainSaeOptions.workers). */
  workers?: number;
}

export interface TrainOnCacheResult {
  training: TrainSaeResult;
  options: ResolvedSaeTrainingOptions;
  /** The folder written (null when interrupted: only the checkpoint was saved). */
  outDir: string | null;
  checkpointDir: string;
}

/** What `training.json` holds. */
export interface TrainingRecord {
  cache: { directory: string; model: string; hook: string; tokens: number; corpus: string };
  batchSize: number;
  options: ResolvedSaeTrainingOptions;
  steps: number;
  tokens: number;
  seconds: number;
}

export const trainingRecordFile = 'training.json';

export async function trainSaeOnCache(options: TrainOnCacheOptions): Promise<TrainOnCacheResult> {
  const cache = ActivationCache.open(options.cacheDir);
  const { header } = cache;
  const source = cacheBatches(cache, { batchSize: options.batchSize, seed: options.seed ?? 0 });
  const steps = options.steps ?? source.batchesPerEpoch;
  const checkpointDir = join(options.outDir, 'checkpoint');
  if (!options.resume && existsSync(join(checkpointDir, checkpointFiles.latest))) {
    throw new InputError(
      `${checkpointDir} holds a checkpoint of an earlier run: continue it with resume, or remove it`,
    );
  }
  if (
    existsSync(join(options.outDir, saeLensFiles.config)) &&
    !existsSync(join(checkpointDir, checkpointFiles.latest))
  ) {
    throw new InputError(`${options.outDir} already holds an SAE: choose another output folder or remove it`);
  }
  const trainingOptions: SaeTrainingOptions = {
    ...options.trainer,
    sae: {
      dIn: header.width,
      dSae: options.latents,
      architecture: options.architecture,
      ...(options.architecture === 'topk' ? { k: options.k ?? 32 } : { l1Coefficient: options.l1Coefficient ?? 5 }),
      applyBDecToInput: true,
      normalizeActivations: options.normalize === false ? 'none' : 'expected_average_only_in',
      hookName: header.hook,
      modelName: header.model,
    },
    steps,
    seed: options.seed ?? 0,
  };
  const resolved = resolveTrainingOptions(trainingOptions);
  const training = await trainSae(source, {
    ...trainingOptions,
    checkpoint: { directory: checkpointDir, every: options.checkpointEvery ?? 200 },
    ...(options.reportEvery !== undefined ? { reportEvery: options.reportEvery } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  if (training.interrupted) return { training, options: resolved, outDir: null, checkpointDir };
  saveSaeLens(options.outDir, training.config, training.weights, {
    dtype: options.dtype ?? 'F32',
    logSparsity: training.logSparsity,
    metadata: { trained_by: 'autointerp', cache_corpus: basename(header.corpus.path) },
  });
  const record: TrainingRecord = {
    cache: {
      directory: options.cacheDir,
      model: header.model,
      hook: header.hook,
      tokens: header.tokens,
      corpus: basename(header.corpus.path),
    },
    batchSize: options.batchSize,
    options: resolved,
    steps: training.steps,
    tokens: training.tokens,
    seconds: Math.round(training.seconds),
  };
  writeFileSync(join(options.outDir, trainingRecordFile), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(checkpointDir, { recursive: true, force: true });
  return { training, options: resolved, outDir: options.outDir, checkpointDir };
}
