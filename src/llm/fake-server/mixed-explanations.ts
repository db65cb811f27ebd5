/**
 * @module llm/fake-server/mixed-explanations — a TEST DOUBLE for best-of-n explanations (issue 17): the fake server's
 * explain answers made of mixed quality from a ground-truth file (data/demo/ground-truth.json's shape). The feature an
 * explain prompt shows is recognised by its records (those of a records file, e.g. the demo's planted.jsonl), and
 * the answer is that feature's true explanation, a part of it (before its first comma or colon) or its wrong one,
 * drawn by a seeded hash of the request's text and temperature — so the same request gets the same answer (a resumed
 * run, a response cache), while the differently-sampled candidates of one feature get different ones. Requests it
 * does not recognise (simulations, revisions, judges, unknown records) are left to the rule-based model.
 */
import { readFileSync } from 'node:fs';
import { hashString, mulberry32 } from '../../common/random.ts';
import { InputError } from '../../common/errors.ts';
import { flattenConversation } from '../baseline/conversation-text.ts';
import { parseNeuronBlocks } from '../baseline/prompt-structure.ts';
import { isRevisePrompt } from '../baseline/revise-from-prompt.ts';
import { isSimulationPrompt } from '../baseline/simulate-from-prompt.ts';
import type { LlmRequest } from '../types.ts';

/** The quality of a mixed answer. */
export type ExplanationQuality = 'true' | 'partial' | 'wrong';
export const explanationQualities: readonly ExplanationQuality[] = ['true', 'partial', 'wrong'];

/** A feature's id as the records and ground-truth files write it. */
interface FeatureIdentity {
  model: string;
  layer: number;
  kind?: string;
  index: number;
}

/** One ground-truth entry: the feature, its true explanation and a wrong one. */
export interface ExplanationTruth {
  feature: FeatureIdentity;
  explanation: string;
  wrongExplanation: string;
}

/** What the double needs: the ground truth, and each feature's records (to recognise the feature a prompt shows). */
export interface MixedExplanationsOptions {
  truth: readonly ExplanationTruth[];
  features: readonly {
    id: FeatureIdentity;
    top: readonly { tokens: readonly string[] }[];
    random?: readonly { tokens: readonly string[] }[];
  }[];
  /** Seed of the quality draws. Default 1. */
  seed?: number;
}

/** The double's answer to one request: the explanation text (as a model completes the explain line) and its quality. */
export interface MixedExplanation {
  text: string;
  quality: ExplanationQuality;
  /** The ground truth's feature the prompt showed. */
  feature: FeatureIdentity;
}

/** Answers explain requests of known features with a mixed-quality explanation; undefined for any other request. */
export type MixedExplanations = (request: LlmRequest) => MixedExplanation | undefined;

const featureKey = (id: FeatureIdentity) => `${id.model}/${id.layer}/${id.kind ?? 'neuron'}/${id.index}`;

/** The part of an explanation before its first comma or colon (the whole when it has none). */
export const partialExplanation = (explanation: string): string => explanation.split(/[,:]/)[0]!.trim();

export function createMixedExplanations(options: MixedExplanationsOptions): MixedExplanations {
  const truthByKey = new Map(options.truth.map((entry) => [featureKey(entry.feature), entry]));
  // A record (a corpus window) can be among several features' records: it votes for each of them.
  const featuresOfRecord = new Map<string, string[]>();
  for (const feature of options.features) {
    const key = featureKey(feature.id);
    if (!truthByKey.has(key)) continue;
    for (const record of [...feature.top, ...(feature.random ?? [])]) {
      const text = record.tokens.join('');
      const keys = featuresOfRecord.get(text) ?? [];
      if (!keys.includes(key)) featuresOfRecord.set(text, [...keys, key]);
    }
  }
  const seed = options.seed ?? 1;
  return (request) => {
    const text = request.prompt ?? flattenConversation(request.messages ?? []);
    if (isSimulationPrompt(text) || isRevisePrompt(text)) return undefined;
    const block = parseNeuronBlocks(text).at(-1);
    if (block?.explanation !== '') return undefined; // not an explain prompt (its last line is to complete)
    const votes = new Map<string, number>();
    for (const record of block.records)
      for (const key of featuresOfRecord.get(record.lines.map((line) => line.token).join('')) ?? [])
        votes.set(key, (votes.get(key) ?? 0) + 1);
    if (votes.size === 0) return undefined;
    const [key] = [...votes].reduce((best, entry) => (entry[1] > best[1] ? entry : best));
    const truth = truthByKey.get(key)!;
    const draw = mulberry32(hashString(`${text}\u0000${request.temperature ?? 0}`, seed))();
    const quality = explanationQualities[Math.floor(draw * explanationQualities.length)]!;
    const explanation =
      quality === 'true'
        ? truth.explanation
        : quality === 'partial'
          ? partialExplanation(truth.explanation)
          : truth.wrongExplanation;
    return { text: ` ${explanation}.`, quality, feature: truth.feature };
  };
}

/** The double from files: a ground-truth JSON array and a records JSONL file; errors name the file that is wrong. */
export function loadMixedExplanations(truthPath: string, recordsPath: string, seed?: number): MixedExplanations {
  let truth: ExplanationTruth[];
  try {
    truth = JSON.parse(readFileSync(truthPath, 'utf8')) as ExplanationTruth[];
  } catch (error) {
    throw new InputError(`${truthPath}: cannot read the ground truth (${(error as Error).message})`);
  }
  if (!Array.isArray(truth) || truth.some((entry) => !entry?.feature || typeof entry.explanation !== 'string'))
    throw new InputError(`${truthPath}: expected a JSON array of { feature, explanation, wrongExplanation }`);
  let features: MixedExplanationsOptions['features'];
  try {
    features = readFileSync(recordsPath, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
  } catch (error) {
    throw new InputError(`${recordsPath}: cannot read the feature records (${(error as Error).message})`);
  }
  return createMixedExplanations({ truth, features, ...(seed !== undefined ? { seed } : {}) });
}
