/**
 * @module pipeline/ablation-library — the tfjs side of ./ablation-scorer, imported only when a run ablates: the
 * backend, model and SAE loading, and one feature's `ablation.all` score from its simulated score-set windows.
 */
import type { FeatureRecord } from '../records/types.ts';
import { loadSaeFolder } from '../sae/formats.ts';
import { SparseAutoencoder } from '../sae/sae-model.ts';
import { calibratedReplacement } from '../score/ablation.ts';
import type { LinearCalibration } from '../score/calibration.ts';
import type { FeatureScore } from '../score/score-feature.ts';
import { initBackend } from '../subject/backend.ts';
import { scoreFeatureAblation } from '../score/feature-ablation.ts';
import type { AblationRecord, FeatureTarget } from '../subject/feature-ablation.ts';
import { loadSubjectModel, type SubjectModel } from '../subject/load-subject.ts';
import type { AblationInput } from './ablation-input.ts';

let backend: Promise<unknown> | null = null;

export async function loadSubject(folder: string): Promise<SubjectModel> {
  await (backend ??= initBackend('auto'));
  return loadSubjectModel(folder);
}

/** An SAE folder in SAELens or sparsify layout, with what its loading adapted or left unread (`warnings`). */
export async function loadSae(folder: string): Promise<{ sae: SparseAutoencoder; warnings: string[] }> {
  await (backend ??= initBackend('auto'));
  const loaded = loadSaeFolder(folder);
  return { sae: SparseAutoencoder.fromWeights(loaded.config, loaded.weights), warnings: loaded.warnings };
}

/** The feature's mean activation: its corpus mean, else the mean over the given windows. */
function featureMean(feature: FeatureRecord, inputs: readonly AblationInput[]): number {
  if (feature.stats.mean !== null) return feature.stats.mean;
  let sum = 0;
  let count = 0;
  for (const { record } of inputs) for (const value of record.activations) (sum += value), count++;
  return count > 0 ? sum / count : 0;
}

export async function ablationFeatureScore(
  subject: SubjectModel,
  target: FeatureTarget,
  feature: FeatureRecord,
  inputs: readonly AblationInput[],
  calibration: LinearCalibration,
): Promise<FeatureScore> {
  const mean = featureMean(feature, inputs);
  let missing = 0;
  const records: AblationRecord[] = inputs.map(({ record, expected }) => {
    const replacement = calibratedReplacement(calibration, expected, mean);
    missing += replacement.missing;
    return {
      contextIds: record.contextIds ?? [],
      tokenIds: record.tokenIds!,
      replacement: { simulated: replacement.simulated, mean: replacement.mean },
    };
  });
  const positions = records.reduce((sum, record) => sum + record.tokenIds.length, 0);
  try {
    const result = await scoreFeatureAblation(subject.model, target, records);
    return {
      kind: 'ablation.all',
      value: result.score,
      reason: result.score === null ? (result.reason ?? 'undefined') : null,
      nTokens: result.positions,
      nMissing: missing,
    };
  } catch (error) {
    return {
      kind: 'ablation.all',
      value: null,
      reason: `ablation failed: ${error instanceof Error ? error.message : String(error)}`,
      nTokens: positions,
      nMissing: missing,
    };
  }
}
