/**
 * @module pipeline/ablation-scorer — the ablation score of an explanation inside a run (docs/DESIGN.md §4): the feature's
 * score-set windows go through the subject model with the feature replaced by its linearly calibrated simulation,
 * and by its mean (subject/feature-ablation); `ablation.all = 1 − E[JSD(orig, sim)] / E[JSD(orig, mean)]`.
 *
 * Where a subject model is available: the feature's records carry token ids (records extracted by this tool do), and
 * its model is one this scorer knows — the embedded brown-1l, or a folder given with `--subject-model` (known by its
 * folder name, as feature ids name models). An SAE feature also needs its SAE: an embedded one (data/sae/<name>) or
 * a folder given with `--sae` (known by its folder name; SAELens or sparsify layout). Otherwise the feature gets no
 * ablation row: the scorer says why once per model or SAE (`notes`), as it passes on what loading an SAE warned
 * about. Models and SAEs are loaded on first use and kept for the run; tfjs is loaded only then, so runs without
 * ablation never pay for it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureRecord } from '../records/types.ts';
import type { LinearCalibration } from '../score/calibration.ts';
import type { FeatureScore } from '../score/score-feature.ts';
import type { SparseAutoencoder } from '../sae/sae-model.ts';
import type { SubjectModel } from '../subject/load-subject.ts';
import type { AblationInput } from './ablation-input.ts';

export const embeddedSubjectModelDir = fileURLToPath(new URL('../../data/subject/brown-1l', import.meta.url));
export const embeddedSaeRoot = fileURLToPath(new URL('../../data/sae', import.meta.url));

export interface AblationScorer {
  /** The `ablation.all` score, or null when this feature cannot be ablated here (see `notes`). */
  score(
    feature: FeatureRecord,
    inputs: readonly AblationInput[],
    calibration: LinearCalibration,
  ): Promise<FeatureScore | null>;
  /** Why some features got no ablation score, one line per cause. */
  readonly notes: ReadonlySet<string>;
  dispose(): void;
}

export interface AblationSources {
  /** Subject model folders beyond the embedded one. */
  subjectModels?: readonly string[];
  /** SAE folders (SAELens or sparsify layout) beyond the embedded ones. */
  saes?: readonly string[];
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

export function createAblationScorer(sources: AblationSources = {}): AblationScorer {
  const modelFolders = foldersByName([embeddedSubjectModelDir, ...(sources.subjectModels ?? [])]);
  const saeFolders = knownSaeFolders(sources.saes);
  const notes = new Set<string>();
  let library: Promise<typeof import('./ablation-library.ts')> | null = null;
  const load = () => (library ??= import('./ablation-library.ts'));
  /** Loads each name's folder once (on first use) and keeps it. */
  const loadedOnce = <T>(
    folders: Map<string, string>,
    loader: (lib: typeof import('./ablation-library.ts'), folder: string) => Promise<T>,
  ) => {
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
    for (const warning of warnings) notes.add(`SAE ${basename(folder)}: ${warning}`);
    return sae;
  });

  return {
    notes,
    async score(feature, inputs, calibration) {
      const { id } = feature;
      // Records without token ids (synthetic, or imported from formats that have none) cannot be run again.
      const usable = inputs.filter((input) => input.record.tokenIds !== undefined);
      if (usable.length === 0) {
        notes.add(
          `ablation not computed for ${id.model} features: their records carry no token ids (records from \`autointerp extract\` and \`import-delphi\` do)`,
        );
        return null;
      }
      if (!modelFolders.has(id.model)) {
        notes.add(`no ablation for model ${id.model}: give its folder with --subject-model`);
        return null;
      }
      if (id.kind === 'sae' && (!id.sae || !saeFolders.has(id.sae))) {
        notes.add(`no ablation for SAE ${id.sae ?? '(unnamed)'}: give its folder with --sae`);
        return null;
      }
      let loaded;
      try {
        const lib = await load();
        const subject = await models.get(id.model);
        const target =
          id.kind === 'sae'
            ? { kind: 'sae' as const, sae: await saes.get(id.sae!), index: id.index }
            : { kind: 'neuron' as const, hook: neuronHook(id.layer), index: id.index };
        loaded = { lib, subject, target };
      } catch (error) {
        notes.add(
          `no ablation for ${id.kind === 'sae' ? `SAE ${id.sae}` : `model ${id.model}`}: ${error instanceof Error ? error.message : String(error)}`,
        );
        return null;
      }
      return loaded.lib.ablationFeatureScore(loaded.subject, loaded.target, feature, usable, calibration);
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
