/** @module sae — sparse autoencoders: model (ReLU, TopK), trainer, metrics, SAELens / sparsify files, toy data. */
export * from './types.ts';
export { SparseAutoencoder, applyActivation, topKMask, type SaeParameters } from './sae-model.ts';
export {
  SaeTrainer,
  trainSae,
  resolveTrainingOptions,
  learningRateAt,
  l1CoefficientAt,
  estimateActivationScale,
  type ActivationBatchSource,
  type DecoderBiasInit,
  type ResolvedSaeTrainingOptions,
  type SaeStepMetrics,
  type SaeTrainerState,
  type SaeTrainingConfig,
  type SaeTrainingOptions,
  type SaeTrainingProgress,
  type TrainSaeOptions,
  type TrainSaeResult,
} from './train-sae.ts';
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
export { evaluateSaeOnCache, flattenSaeEvaluation, type EvaluateOnCacheOptions, type SaeEvaluation } from './evaluate-on-cache.ts';
export { trainSaeOnCache, trainingRecordFile, type TrainOnCacheOptions, type TrainOnCacheResult, type TrainingRecord } from './train-on-cache.ts';
export { readDelphiLatentCache, DelphiCacheError, type DelphiCacheOptions, type DelphiCacheResult } from './delphi-cache.ts';
