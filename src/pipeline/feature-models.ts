/**
 * @module pipeline/feature-models — where scorers get a feature's subject model (score/scorer.ts `FeatureModels`):
 * ablation and intervention run the model again with the feature changed.
 *
 * A feature's model is available when its records carry token ids (records extracted by this tool do) and its model
 * is one the run knows — the embedded brown-1l, or a folder given with `--subject-model` (known by its folder name, as
 * feature ids name models). An SAE feature also needs its SAE: an embedded one (data/sae/<name>) or a folder given
 * with `--sae` (known by its folder name; SAELens or sparsify layout). Otherwise `resolve` says why ("for model X:
 * give its folder with --subject-model"), for the scorer's note; what loading an SAE warned about goes to `note`.
 * Models and SAEs are loaded on first use and kept for the run; tfjs is loaded only then
 * (./feature-model-loading.ts), so runs whose scorers need no model never pay for it. `dispose` frees them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureRecord } from '../records/types.ts';
import type { SparseAutoencoder } from '../sae/sae-model.ts';
import type { FeatureModels, LoadedFeatureModel } from '../score/scorer.ts';
import type { SubjectModel } from '../subject/load-subject.ts';

export const embeddedSubjectModelDir = fileURLToPath(new URL('../../data/subject/brown-1l', import.meta.url));
export const embeddedSaeRoot = fileURLToPath(new URL('../../data/sae', import.meta.url));

export interface FeatureModelSources {
  /** Subject model folders beyond the embedded one. */
  subjectModels?: readonly string[];
  /** SAE folders (SAELens or sparsify layout) beyond the embedded ones. */
  saes?: readonly string[];
  /** Told what loading an SAE adapted or left unread. */
  note?(line: string): void;
}

export interface RunFeatureModels extends FeatureModels {
  /** Frees every model and SAE loaded (the end of the run). */
  dispose(): void;
}

function foldersByName(folders: readonly string[]): Map<string, string> {
  return new Map(folders.map((folder) => [basename(resolve(folder)), resolve(folder)]));
}

function embeddedSaeFolders(): string[] {
  if (!existsSync(embeddedSaeRoot)) return [];
  return readdirSync(embeddedSaeRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(embeddedSaeRoot, entry.name, 'cfg.json')))
    .map((entry) => join(embeddedSaeRoot, entry.name));
}

/** The hook of a neuron feature: its layer when that names a hook point, else `blocks.{layer}.mlp.hook_post`. */
function neuronHook(layer: number | string): string {
  return typeof layer === 'number' ? `blocks.${layer}.mlp.hook_post` : layer;
}

/** SAE folders by the name feature ids give them: the embedded ones and `extra` (a later one wins a name). */
export function knownSaeFolders(extra: readonly string[] = []): Map<string, string> {
  return foldersByName([...embeddedSaeFolders(), ...extra]);
}

type Loading = typeof import('./feature-model-loading.ts');

const hasTokenIds = (feature: FeatureRecord) =>
  [...feature.top, ...feature.random, ...(feature.quantiles ?? []).flat()].some(
    (record) => record.tokenIds !== undefined,
  );

export function createFeatureModels(sources: FeatureModelSources = {}): RunFeatureModels {
  const modelFolders = foldersByName([embeddedSubjectModelDir, ...(sources.subjectModels ?? [])]);
  const saeFolders = knownSaeFolders(sources.saes);
  let loading: Promise<Loading> | null = null;
  const load = () => (loading ??= import('./feature-model-loading.ts'));
  /** Loads each name's folder once (on first use) and keeps it. */
  const loadedOnce = <T>(folders: Map<string, string>, loader: (lib: Loading, folder: string) => Promise<T>) => {
    const loaded = new Map<string, Promise<T>>();
    return {
      get(name: string): Promise<T> {
        let value = loaded.get(name);
        if (!value) loaded.set(name, (value = load().then((lib) => loader(lib, folders.get(name)!))));
        return value;
      },
      all: () => [...loaded.values()],
    };
  };
  const models = loadedOnce<SubjectModel>(modelFolders, (lib, folder) => lib.loadSubject(folder));
  const saes = loadedOnce<SparseAutoencoder>(saeFolders, async (lib, folder) => {
    const { sae, warnings } = await lib.loadSae(folder);
    for (const warning of warnings) sources.note?.(`SAE ${basename(folder)}: ${warning}`);
    return sae;
  });

  return {
    async resolve(feature): Promise<LoadedFeatureModel | { unavailable: string }> {
      const { id } = feature;
      // Records without token ids (synthetic, or imported from formats that have none) cannot be run again.
      if (!hasTokenIds(feature)) {
        return {
          unavailable: `for ${id.model} features: their records carry no token ids (records from \`autointerp extract\` and \`import-delphi\` do)`,
        };
      }
      if (!modelFolders.has(id.model))
        return { unavailable: `for model ${id.model}: give its folder with --subject-model` };
      if (id.kind === 'sae' && (!id.sae || !saeFolders.has(id.sae)))
        return { unavailable: `for SAE ${id.sae ?? '(unnamed)'}: give its folder with --sae` };
      try {
        const subject = await models.get(id.model);
        const target =
          id.kind === 'sae'
            ? { kind: 'sae' as const, sae: await saes.get(id.sae!), index: id.index }
            : { kind: 'neuron' as const, hook: neuronHook(id.layer), index: id.index };
        return { subject, target };
      } catch (error) {
        return {
          unavailable: `for ${id.kind === 'sae' ? `SAE ${id.sae}` : `model ${id.model}`}: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    },
    dispose() {
      for (const model of models.all())
        void model.then(
          (subject) => subject.model.dispose(),
          () => undefined,
        );
      for (const sae of saes.all())
        void sae.then(
          (loaded) => loaded.dispose(),
          () => undefined,
        );
    },
  };
}
