/**
 * @module pipeline/feature-model-loading — the tfjs side of ./feature-models.ts, imported only when a scorer asks for
 * a feature's model: the backend (started once), subject model and SAE loading.
 */
import { loadSaeFolder } from '../sae/formats.ts';
import { SparseAutoencoder } from '../sae/sae-model.ts';
import { initBackend } from '../subject/backend.ts';
import { loadSubjectModel, type SubjectModel } from '../subject/load-subject.ts';

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
