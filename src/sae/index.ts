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
export { createToyData, type ToyData, type ToyDataOptions } from './toy-data.ts';
export { geometricMedian, rowMean } from './geometric-median.ts';
