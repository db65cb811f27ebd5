/**
 * @module test/helpers/toy-sae — the toy SAE setup the SAE training tests share: toy data with known features in
 * superposition (sae/toy-data) and the SAE config that reads it (hook and model "toy", b_dec subtracted from the
 * input, inputs scaled to a mean norm of √d_in).
 */
import { createToyData, type ToyData } from '../../src/sae/toy-data.ts';
import type { SaeTrainingConfig } from '../../src/sae/training-options.ts';
import type { SaeArchitecture } from '../../src/sae/types.ts';

/** What a toy SAE test chooses: the data's shape and the SAE's size, architecture and sparsity. */
export interface ToySaeSetup {
  /** Input dimensions (d_in). */
  dimensions: number;
  /** True features (unit directions) the data is made of. */
  features: number;
  /** Chance that each true feature is active in a sample. */
  activationProbability: number;
  /** The data's seed. */
  seed: number;
  /** Latents (d_sae). */
  dSae: number;
  /** Latents kept per token by a topk SAE. */
  k: number;
  /** The L1 coefficient of a standard SAE. */
  l1Coefficient: number;
}

/** The toy data of `setup`. */
export function toyData(setup: ToySaeSetup): ToyData {
  return createToyData({
    dimensions: setup.dimensions,
    features: setup.features,
    activationProbability: setup.activationProbability,
    seed: setup.seed,
  });
}

/** The SAE config that trains on `setup`'s toy data, of `architecture`. */
export function toySaeConfig(setup: ToySaeSetup, architecture: SaeArchitecture): SaeTrainingConfig {
  return {
    dIn: setup.dimensions,
    dSae: setup.dSae,
    architecture,
    k: setup.k,
    l1Coefficient: setup.l1Coefficient,
    applyBDecToInput: true,
    normalizeActivations: 'expected_average_only_in',
    hookName: 'toy',
    modelName: 'toy',
  };
}
