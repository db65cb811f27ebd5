/** @module sae — sparse autoencoders: model (ReLU, TopK), trainer, metrics, SAELens / sparsify files, toy data. */
export * from './types.ts';
export { SparseAutoencoder, applyActivation, topKMask, type SaeParameters } from './sae-model.ts';
export {
  trainSae,
  type ActivationBatchSource,
  type SaeTrainingProgress,
  type TrainSaeOptions,
  type TrainSaeResult,
} from './train-sae.ts';
export { SaeTrainer, type SaeStepMetrics } from './sae-trainer.ts';
export {
  resolveTrainingOptions,
  learningRateAt,
  l1CoefficientAt,
  type DecoderBiasInit,
  type ResolvedSaeTrainingOptions,
  type SaeTrainingConfig,
  type SaeTrainingOptions,
} from './training-options.ts';
export type { SaeTrainerState } from './trainer-state.ts';
export { estimateActivationScale } from './activation-scale.ts';
export { readTrainerCheckpoint, writeTrainerCheckpoint, checkpointFiles } from './checkpoint.ts';
export * from './metrics.ts';
export { evaluateSae } from './evaluate-sae.ts';
export * from './formats.ts';
export { hookPointOfModule } from './hookpoint-names.ts';
export { createToyData, type ToyData, type ToyDataOptions } from './toy-data.ts';
export { geometricMedian, rowMean } from './geometric-median.ts';
export { cacheBatches, usableCacheRows, type CacheBatchOptions, type CacheBatchSource } from './cache-batches.ts';
export { saeColumnSource } from './sae-columns.ts';
export { evaluateSplice, type SpliceMetrics, type SpliceOptions } from './splice-evaluation.ts';
export {
  evaluateSaeOnCache,
  flattenSaeEvaluation,
  type EvaluateOnCacheOptions,
  type SaeEvaluation,
} from './evaluate-on-cache.ts';
export {
  trainSaeOnCache,
  trainingRecordFile,
  type TrainOnCacheOptions,
  type TrainOnCacheResult,
  type TrainingRecord,
} from './train-on-cache.ts';
export {
  readDelphiLatentCache,
  DelphiCacheError,
  type DelphiCacheOptions,
  type DelphiCacheResult,
} from './delphi-cache.ts';
