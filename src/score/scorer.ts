/**
 * @module score/scorer — the one contract every scorer implements (docs/DESIGN.md §4): correlation, ablation,
 * detection, fuzzing, intervention, and whatever comes next. A scorer declares what it needs (the simulation of the
 * explanation, a judge LLM, the subject model), takes one feature with its explanation and its record splits, and
 * returns named scored values (never NaN: null with the reason), the version of its prompt and, for judged scorers,
 * the judge's answers next to the truth. The pipeline, the store and the report know scorers only through this file
 * and score/registry.ts: adding a scorer is its own folder plus one registry line.
 *
 * Shape after delphi's `scorers/scorer.py` (a scorer maps a record + explanation to a result), typed and smaller.
 */
import type { Provider } from '../llm/types.ts';
import type { FeatureRecord, RecordSource, SplitRecord } from '../records/types.ts';
import type { FeatureTarget } from '../subject/feature-ablation.ts';
import type { SubjectModel } from '../subject/load-subject.ts';
import type { ScoredValue } from './scored-value.ts';

/**
 * A score kind as stored in `scores.kind`: `<family>.<metric or subset>`, the family being the scorer's name or one
 * of its measures (`correlation.all`, `rsquared.all`, `detection.balanced_accuracy`, `fuzzing.auroc`, …).
 */
export type ScoreKind = `${string}.${string}`;

export interface FeatureScore extends ScoredValue {
  kind: ScoreKind;
  /** Predictions that were missing (unreadable answers, missing simulated values) among this score's inputs. */
  nMissing: number;
}

/** What a scorer needs before it can run; the pipeline provides exactly these. */
export interface ScorerNeeds {
  /** The explanation simulated on the held-out records (the simulate stage runs when a selected scorer needs it). */
  simulation?: boolean;
  /** A judge LLM (`--judge PROVIDER:MODEL`, default the simulator). */
  judge?: boolean;
  /** The subject model (and SAE) of the feature, to run it again: ablation, intervention. */
  subjectModel?: boolean;
}

/** The simulation of the explanation on every held-out (calibration + score) record, in split order. */
export interface FeatureSimulation {
  records: readonly { split: SplitRecord; expected: readonly (number | null)[] }[];
}

/** A feature's subject model and its target (neuron hook or SAE latent), loaded once per run by the pipeline. */
export interface LoadedFeatureModel {
  subject: SubjectModel;
  target: FeatureTarget;
}

/** Where scorers get a feature's model: loaded and kept by the pipeline for the run (`pipeline/feature-models`). */
export interface FeatureModels {
  /** The feature's model and target, or why it is not available here (records without token ids, unknown model). */
  resolve(feature: FeatureRecord): Promise<LoadedFeatureModel | { unavailable: string }>;
}

export interface ScorerInput {
  feature: FeatureRecord;
  explanation: string;
  /**
   * Every record of the feature with its split. A scorer shows a judge only calibration and score records (never
   * the explain split, whose windows the explanation was written from); non-activating windows come from `random`
   * records of those splits.
   */
  splits: readonly SplitRecord[];
  /** Present exactly when the scorer `needs.simulation`. */
  simulation?: FeatureSimulation;
  /** A seed for this feature's sampling and shuffling (same feature, same run config → same examples). */
  seed: number;
}

export interface ScorerContext {
  /** Present exactly when the scorer `needs.judge`; its calls are logged with the scorer's name as purpose. */
  judge?: Provider;
  /** Present exactly when the scorer `needs.subjectModel`. */
  models?: FeatureModels;
  countTokens(text: string): number;
  /** Says once per cause why some features got no rows of this scorer (e.g. "no model for …"). */
  note(line: string): void;
  signal?: AbortSignal;
}

/** One example a judge saw, with the truth: shown on the report's feature cards and the viewer's feature page. */
export interface Judgement {
  /** The window's tokens as the judge saw them (before highlighting). */
  tokens: string[];
  /** Token positions the prompt highlighted (`<<…>>`; fuzzing), absent when nothing was highlighted. */
  highlighted?: number[];
  /** Where the window came from: a record source, or how a non-activating window was chosen. */
  source: RecordSource | 'hard-negative' | 'random-negative' | 'steered' | 'unsteered';
  /** The right answer (activating / correctly highlighted / steered). */
  truth: boolean;
  /** The judge's answer; null when its answer could not be read (the example is left out of the metrics). */
  predicted: boolean | null;
  /** The judge's probability of "yes" from logprobs, where it gave them. */
  probability: number | null;
}

export interface ScorerResult {
  scores: FeatureScore[];
  /** The version of the scorer's prompt file (`detection.v1`); null for scorers without a prompt of their own. */
  promptVersion: string | null;
  judgements?: Judgement[];
}

export interface Scorer {
  /** The `--scorers` name, the prefix of its main score kinds and the purpose of its LLM calls. */
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly description: string;
  readonly needs: ScorerNeeds;
  /**
   * The kinds this scorer always produces for a scored feature; a feature skipped before scoring (it never
   * activates) gets a null row of each, with the reason, so leaderboards count it.
   */
  readonly kinds: readonly ScoreKind[];
  /**
   * Scores one explanation. Returns null when the scorer cannot serve this feature here (it said why through
   * `context.note`); throws to fail the feature (an LLM error after retries, an incomplete simulation): a failed
   * feature is retried by `run --resume`.
   */
  score(input: ScorerInput, context: ScorerContext): Promise<ScorerResult | null>;
}
