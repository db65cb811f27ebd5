/**
 * @module serve/viewer-models — the subject models (and their SAEs) the viewer can run, loaded lazily: nothing of
 * tfjs is imported until a feature page of such a model is opened. For a feature it gives the tokens its direction
 * promotes and suppresses through the unembedding (subject/steer `directLogitEffect`: output weights·W_U for a
 * neuron, W_dec·W_U for an SAE latent) and generates with the feature clamped (subject/steer `clampHooks`). A model
 * is matched by name (features.model = the model folder's name); an SAE by features.sae through `saes.path`.
 */
import type { SparseAutoencoder } from '../sae/sae-model.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { saePath, type ViewerFeature } from '../store/viewer-queries.ts';
import type { SubjectModel } from '../subject/load-subject.ts';
import type { SteerTarget } from '../subject/steer.ts';

export interface TokenRow {
  token: string;
  effect: number;
}

export interface TokenEffect {
  /** What the numbers are, in one line. */
  description: string;
  promoted: TokenRow[];
  suppressed: TokenRow[];
}

export interface SteerRequest {
  value: number;
  prompt: string;
  maxTokens: number;
}

export interface SteerAnswer {
  original: string;
  clamped: string;
  hook: string;
}

/** How many tokens each list shows. */
const TOKEN_COUNT = 10;

/** The library parts, imported on first use (tfjs costs every other page nothing then). */
async function loadLibrary() {
  const [backend, loadSubject, saeFormats, saeModel, generate, steer, ablation] = await Promise.all([
    import('../subject/backend.ts'),
    import('../subject/load-subject.ts'),
    import('../sae/formats.ts'),
    import('../sae/sae-model.ts'),
    import('../subject/generate.ts'),
    import('../subject/steer.ts'),
    import('../subject/feature-ablation.ts'),
  ]);
  await backend.initBackend('auto');
  return { ...loadSubject, ...saeFormats, ...saeModel, ...generate, ...steer, targetHook: ablation.targetHook };
}
type Library = Awaited<ReturnType<typeof loadLibrary>>;

/** The model folders' names: the last path segment (loadSubjectModel names a model after its folder). */
const folderName = (directory: string) =>
  directory
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .at(-1) ?? directory;

export class ViewerModels {
  private library: Promise<Library> | null = null;
  private readonly subjects = new Map<string, Promise<SubjectModel>>();
  private readonly saes = new Map<string, Promise<SparseAutoencoder>>();
  private readonly directories: Map<string, string>;

  /** `modelDirectories`: subject model folders (config.json, model.safetensors, tokenizer.json). */
  constructor(modelDirectories: readonly string[]) {
    this.directories = new Map(modelDirectories.map((directory) => [folderName(directory), directory]));
  }

  /** Whether the feature's model is one of the folders (then its page offers token effects and steering). */
  canLoad(feature: Pick<ViewerFeature, 'model'>): boolean {
    return this.directories.has(feature.model);
  }

  private lib(): Promise<Library> {
    this.library ??= loadLibrary();
    return this.library;
  }

  private subject(name: string): Promise<SubjectModel> {
    let subject = this.subjects.get(name);
    if (!subject) {
      subject = this.lib().then((library) => library.loadSubjectModel(this.directories.get(name)!));
      this.subjects.set(name, subject);
      subject.catch(() => this.subjects.delete(name));
    }
    return subject;
  }

  private sae(path: string): Promise<SparseAutoencoder> {
    let sae = this.saes.get(path);
    if (!sae) {
      sae = this.lib().then((library) => {
        const loaded = library.loadSaeFolder(path);
        return library.SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
      });
      this.saes.set(path, sae);
      sae.catch(() => this.saes.delete(path));
    }
    return sae;
  }

  /** The steering target of a stored feature; throws a one-line Error saying why there is none. */
  private async target(
    db: SqliteDatabase,
    feature: ViewerFeature,
  ): Promise<{ subject: SubjectModel; target: SteerTarget }> {
    const subject = await this.subject(feature.model);
    if (feature.kind === 'sae') {
      if (!feature.sae) throw new Error('the feature names no SAE');
      const path = saePath(db, feature.sae);
      if (!path) throw new Error(`the database records no folder for SAE "${feature.sae}"`);
      return { subject, target: { kind: 'sae', sae: await this.sae(path), index: feature.index } };
    }
    const hook = /^\d+$/.test(feature.layer) ? `blocks.${feature.layer}.mlp.hook_post` : feature.layer;
    return { subject, target: { kind: 'neuron', hook, index: feature.index } };
  }

  /** The promoted and suppressed tokens, or a note saying why there are none. */
  async tokenEffects(
    db: SqliteDatabase,
    feature: ViewerFeature,
  ): Promise<{ effects: TokenEffect | null; note: string | null }> {
    if (!this.canLoad(feature)) return { effects: null, note: null };
    try {
      const library = await this.lib();
      const { subject, target } = await this.target(db, feature);
      library.checkSteerTarget(subject.model, target);
      const effect = library.directLogitEffect(subject.model, target);
      if (!effect) return { effects: null, note: 'no direct effect on the output from this hook point (mlp.hook_pre)' };
      const order = Array.from({ length: effect.length }, (_, i) => i).sort((a, b) => effect[b]! - effect[a]! || a - b);
      const row = (id: number): TokenRow => ({ token: subject.tokenizer.tokenStrings([id])[0]!, effect: effect[id]! });
      return {
        effects: {
          description: `direct logit effect of the feature's direction on ${subject.name}'s output tokens (${feature.kind === 'sae' ? 'W_dec' : 'output weights'}·W_U, through ln_final's gain)`,
          promoted: order.slice(0, TOKEN_COUNT).map(row),
          suppressed: order.slice(-TOKEN_COUNT).reverse().map(row),
        },
        note: null,
      };
    } catch (error) {
      return { effects: null, note: `output tokens unavailable: ${(error as Error).message}` };
    }
  }

  /** The prompt's continuation without and with the feature clamped to `value` at every position (greedy). */
  async steer(db: SqliteDatabase, feature: ViewerFeature, request: SteerRequest): Promise<SteerAnswer> {
    const library = await this.lib();
    const { subject, target } = await this.target(db, feature);
    library.checkSteerTarget(subject.model, target);
    const { tokenizer, model } = subject;
    const promptIds = [...(tokenizer.eosId !== null ? [tokenizer.eosId] : []), ...tokenizer.encode(request.prompt)];
    const options = {
      maxNewTokens: request.maxTokens,
      stopTokenIds: tokenizer.eosId !== null ? [tokenizer.eosId] : [],
    };
    return {
      original: tokenizer.decode(library.generate(model, promptIds, options)),
      clamped: tokenizer.decode(
        library.generate(model, promptIds, { ...options, hooks: library.clampHooks(target, request.value) }),
      ),
      hook: library.targetHook(target),
    };
  }

  /** Frees the loaded models' tensors. */
  async dispose(): Promise<void> {
    for (const sae of this.saes.values()) (await sae.catch(() => null))?.dispose();
    for (const subject of this.subjects.values()) (await subject.catch(() => null))?.model.dispose();
  }
}
