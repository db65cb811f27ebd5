/**
 * @module pipeline/validate-scorers-truth — features whose truth is known, each with a true explanation and wrong
 * ones, for the scorer-validity benchmark (`autointerp validate-scorers`): the demo's planted features (true
 * explanation; its planted `wrongExplanation`, other features' true explanations and near-misses as wrong ones), the
 * POS-labelled brown-1l features (the label is true, other features' labels are wrong), the same brown-1l features
 * with their output-side truth (`brown-1l-outputs`: the tokens clamping the feature makes the model write, read off
 * the model on held-out prompts by score/intervention/output-explanation; other features' output explanations naming
 * none of those tokens are wrong) and OpenAI's puzzles (the explanation against its `false_explanations`).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { hashString, mulberry32, shuffleInPlace } from '../common/random.ts';
import { featureKey } from '../records/feature-key.ts';
import { loadFeatureRecords } from '../records/load.ts';
import { readOpenAiPuzzles } from '../records/openai-puzzles.ts';
import { splitFeatureRecords } from '../records/splits.ts';
import type { FeatureId, FeatureRecord, SplitRecord } from '../records/types.ts';
import type { FeatureModels } from '../score/scorer.ts';
import { InputError } from '../common/errors.ts';

export const truthSourceNames = ['planted', 'brown-1l', 'brown-1l-outputs', 'puzzles'] as const;
export type TruthSourceName = (typeof truthSourceNames)[number];

/** How a candidate explanation relates to the truth. */
export type CandidateRole = 'true' | 'planted-wrong' | 'other-feature' | 'near-miss' | 'puzzle-false';

export interface Candidate {
  explanation: string;
  role: CandidateRole;
  /** True for the one true explanation of the feature. */
  correct: boolean;
}

/** One feature of known truth with the explanations to score on it. */
export interface TruthCase {
  source: TruthSourceName;
  /** The feature key, or the puzzle's name. */
  name: string;
  feature: FeatureRecord;
  splits: SplitRecord[];
  /** The true explanation first, then the wrong ones (no two the same). */
  candidates: Candidate[];
}

export interface TruthOptions {
  /** Features per source (the first N of the source's order). Default: all. */
  features?: number;
  /** Other features' true explanations added as wrong ones, per feature (planted, brown-1l). Default 3. */
  otherFeatures?: number;
  /** The puzzles file (needed by the `puzzles` source). */
  puzzlesPath?: string;
  /** Seed of the choice of other features' explanations. */
  seed?: number;
  /** The subject models (needed by the `brown-1l-outputs` source, which runs brown-1l to find its truth). */
  models?: FeatureModels;
}

const dataFile = (path: string) => fileURLToPath(new URL(`../../data/${path}`, import.meta.url));

interface PlantedTruth {
  feature: FeatureId;
  explanation: string;
  wrongExplanation: string;
}

interface PosLabel {
  feature: string;
  tag: string;
  description: string;
}

/**
 * Near-misses of a true explanation: where it quotes several tokens, the first half of them (a subset of the true
 * token set); where it joins two things with "and" (a polysemantic feature), each half alone.
 */
export function nearMisses(explanation: string): string[] {
  const quoted = [...explanation.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
  const misses: string[] = [];
  if (quoted.length >= 2) {
    const kept = quoted.slice(0, Math.floor(quoted.length / 2)).map((token) => `"${token}"`);
    misses.push(kept.length === 1 ? `the word ${kept[0]}` : `${kept.slice(0, -1).join(', ')} and ${kept.at(-1)}`);
  } else if (quoted.length === 0) {
    const halves = explanation.split(' and ');
    if (halves.length === 2 && halves.every((half) => half.trim().length > 0))
      misses.push(...halves.map((half) => half.trim()));
  }
  return misses;
}

/** Up to `count` of `pool` (other features' explanations), none equal to one already among `candidates`. */
function otherExplanations(pool: readonly string[], candidates: readonly Candidate[], count: number, seed: number) {
  const taken = new Set(candidates.map((candidate) => candidate.explanation));
  const distinct = [...new Set(pool)].filter((explanation) => !taken.has(explanation));
  return shuffleInPlace(distinct, mulberry32(seed)).slice(0, count);
}

function withOthers(candidates: Candidate[], pool: readonly string[], options: TruthOptions, key: string): Candidate[] {
  const others = otherExplanations(pool, candidates, options.otherFeatures ?? 3, hashString(key, options.seed ?? 1));
  return [
    ...candidates,
    ...others.map((explanation) => ({ explanation, role: 'other-feature' as const, correct: false })),
  ];
}

const firstFeatures = <T>(items: readonly T[], options: TruthOptions) =>
  options.features === undefined ? [...items] : items.slice(0, options.features);

async function plantedCases(options: TruthOptions): Promise<TruthCase[]> {
  const truths = JSON.parse(await readFile(dataFile('demo/ground-truth.json'), 'utf8')) as PlantedTruth[];
  const records = new Map(
    (await loadFeatureRecords(dataFile('demo/records/planted.jsonl'))).map((feature) => [
      featureKey(feature.id),
      feature,
    ]),
  );
  const active = truths.filter((truth) => (records.get(featureKey(truth.feature))?.stats.maxActivation ?? 0) > 0);
  const pool = active.map((truth) => truth.explanation);
  return firstFeatures(active, options).map((truth) => {
    const name = featureKey(truth.feature);
    const feature = records.get(name)!;
    const candidates: Candidate[] = [
      { explanation: truth.explanation, role: 'true', correct: true },
      { explanation: truth.wrongExplanation, role: 'planted-wrong', correct: false },
    ];
    for (const miss of nearMisses(truth.explanation)) {
      if (!candidates.some((candidate) => candidate.explanation === miss))
        candidates.push({ explanation: miss, role: 'near-miss', correct: false });
    }
    return {
      source: 'planted',
      name,
      feature,
      splits: splitFeatureRecords(feature),
      candidates: withOthers(candidates, pool, options, name),
    };
  });
}

/** A POS label as an explanation: its description without the `Brown tag "x": ` prefix (the tag would read as a token). */
export function labelExplanation(label: PosLabel): string {
  return label.description.replace(/^Brown tag "[^"]*":\s*/, '');
}

/** The POS-labelled features of the embedded brown-1l (neurons and the latents of each SAE), with their labels. */
async function labelledBrownFeatures(): Promise<{ label: PosLabel; feature: FeatureRecord }[]> {
  const stems = ['brown-1l', 'brown-1l-1x', 'brown-1l-4x', 'brown-1l-16x'];
  const labelled: { label: PosLabel; feature: FeatureRecord }[] = [];
  for (const stem of stems) {
    const { labels } = JSON.parse(await readFile(dataFile(`demo/${stem}-labels.json`), 'utf8')) as {
      labels: PosLabel[];
    };
    const recordsFile = stem === 'brown-1l' ? 'brown-1l-neurons' : stem;
    const features = new Map(
      (await loadFeatureRecords(dataFile(`demo/records/${recordsFile}.jsonl`))).map((feature) => [
        featureKey(feature.id),
        feature,
      ]),
    );
    for (const label of labels) {
      const feature = features.get(label.feature);
      if (!feature) throw new InputError(`data/demo/${stem}-labels.json: no record of feature ${label.feature}`);
      labelled.push({ label, feature });
    }
  }
  return labelled;
}

async function brownCases(options: TruthOptions): Promise<TruthCase[]> {
  const labelled = await labelledBrownFeatures();
  const pool = labelled.map(({ label }) => labelExplanation(label));
  return firstFeatures(labelled, options).map(({ label, feature }) => ({
    source: 'brown-1l',
    name: label.feature,
    feature,
    splits: splitFeatureRecords(feature),
    candidates: withOthers(
      [{ explanation: labelExplanation(label), role: 'true', correct: true }],
      pool,
      options,
      label.feature,
    ),
  }));
}

/** The normalized tokens an output explanation quotes. */
const quotedTokens = (explanation: string) =>
  new Set([...explanation.matchAll(/"([^"]+)"/g)].map((match) => match[1]!.trim().toLowerCase()));

/**
 * The labelled brown-1l features with their output-side truth (module comment). A feature whose clamp adds no token
 * (too weak at 4×) has no output truth and is left out; wrong explanations are other features' output explanations
 * that quote none of the true one's tokens (a feature that writes "been" is not wrongly described by another's
 * "been").
 */
async function brownOutputCases(options: TruthOptions): Promise<TruthCase[]> {
  if (!options.models) {
    throw new InputError(
      'the brown-1l-outputs truth source runs the subject model to find what each feature makes it write: it needs the subject models (drop --no-subject-models)',
    );
  }
  const { outputTokens, outputExplanation } = await import('../score/intervention/output-explanation.ts');
  const described: { name: string; feature: FeatureRecord; explanation: string }[] = [];
  for (const { label, feature } of await labelledBrownFeatures()) {
    const loaded = await options.models.resolve(feature);
    if ('unavailable' in loaded) throw new InputError(`brown-1l-outputs: ${label.feature}: ${loaded.unavailable}`);
    const tokens = await outputTokens(loaded, feature.stats.maxActivation);
    if (tokens.length > 0)
      described.push({
        name: label.feature,
        feature,
        explanation: outputExplanation(tokens.map(({ token }) => token)),
      });
  }
  return firstFeatures(described, options).map(({ name, feature, explanation }) => {
    const own = quotedTokens(explanation);
    const pool = described
      .map((other) => other.explanation)
      .filter((other) => ![...quotedTokens(other)].some((token) => own.has(token)));
    return {
      source: 'brown-1l-outputs',
      name,
      feature,
      splits: splitFeatureRecords(feature),
      candidates: withOthers([{ explanation, role: 'true', correct: true }], pool, options, `outputs:${name}`),
    };
  });
}

async function puzzleCases(options: TruthOptions): Promise<TruthCase[]> {
  if (!options.puzzlesPath) {
    throw new InputError(
      'the puzzles truth source needs the puzzles file: --puzzles PATH (OpenAI automated-interpretability puzzles.json; see data/puzzles/README.md)',
    );
  }
  const puzzles = await readOpenAiPuzzles(options.puzzlesPath);
  return firstFeatures(puzzles, options).map((puzzle) => {
    const sentences = puzzle.feature.top.length + puzzle.feature.random.length;
    return {
      source: 'puzzles',
      name: puzzle.name,
      feature: puzzle.feature,
      // Nothing is explained here: every sentence is held out and scored.
      splits: splitFeatureRecords(puzzle.feature, {
        explainTop: 0,
        calibrationTop: 0,
        calibrationRandom: 0,
        scoreTop: sentences,
        scoreRandom: sentences,
        scorePerQuantile: 0,
      }),
      candidates: [
        { explanation: puzzle.explanation, role: 'true', correct: true },
        ...[...new Set(puzzle.falseExplanations)]
          .filter((explanation) => explanation !== puzzle.explanation)
          .map((explanation) => ({ explanation, role: 'puzzle-false' as const, correct: false })),
      ],
    };
  });
}

/** The features of known truth of the given sources, in the order asked. */
export async function loadTruthCases(sources: readonly TruthSourceName[], options: TruthOptions = {}) {
  const cases: TruthCase[] = [];
  for (const source of sources) {
    if (source === 'planted') cases.push(...(await plantedCases(options)));
    else if (source === 'brown-1l') cases.push(...(await brownCases(options)));
    else if (source === 'brown-1l-outputs') cases.push(...(await brownOutputCases(options)));
    else cases.push(...(await puzzleCases(options)));
  }
  return cases;
}
