/**
 * @module scripts/build-few-shot-examples — writes prompts/explain.v1.json and prompts/simulate.v1.json: system text
 * and three few-shot examples each, made of real Brown sentences (from documents outside the demo dataset) with
 * hand-planted 0–10 activations for concepts that are NOT demo features (-ing verb forms, closing quotation marks,
 * words for periods of time), so no demo answer leaks into a prompt.
 * Run: `npx tsx scripts/build-few-shot-examples.ts`. Deterministic (seeded). Prompt files are never edited once
 * used (prompts/README.md): after a change here, write new version files instead of overwriting v1.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExplainTemplateSchema } from '../src/explain/explain-template.ts';
import { SimulateTemplateSchema } from '../src/simulate/simulate-template.ts';
import type { ExplainTemplate } from '../src/explain/explain-template.ts';
import type { SimulateTemplate } from '../src/simulate/simulate-template.ts';
import { mulberry32, randomInteger, shuffleInPlace } from '../src/common/random.ts';
import type { RandomSource } from '../src/common/random.ts';
import type { ActivationRecord } from '../src/records/types.ts';
import { displaySentence, readBrownCorpus } from './brown-corpus.ts';
import type { BrownToken } from './brown-corpus.ts';
import { demoSettings, selectDemoCorpus } from './build-demo-dataset.ts';

export const explainSystem =
  "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document. " +
  'Look at the parts of the document the neuron activates for and summarize in a single sentence what the neuron is ' +
  "looking for. Don't list examples of words.\n\nThe activation format is token<tab>activation. Activation values " +
  "range from 0 to 10. A neuron finding what it's looking for is represented by a non-zero activation value. The " +
  'higher the activation value, the stronger the match.';

export const simulateSystem =
  "We're studying neurons in a neural network.\nEach neuron looks for some particular thing in a short document.\n" +
  'Look at summary of what the neuron does, and try to predict how it will fire on each token.\n\nThe activation ' +
  'format is token<tab>activation, activations go from 0 to 10, "unknown" indicates an unknown activation. Most ' +
  'activations will be 0.\n';

/** A hand-planted concept: the 0–10 activation of each token of a sentence. */
interface FewShotConcept {
  explanation: string;
  /** Tokens at ≥ 5 a sentence needs to be picked (at most 4). */
  minimumFiring: number;
  /** Activation of `sentence[index]`; `random` adds the small variation a real neuron shows. */
  activation: (sentence: readonly BrownToken[], index: number, random: RandomSource) => number;
}

const timeWords = new Set([
  'day',
  'days',
  'week',
  'weeks',
  'month',
  'months',
  'year',
  'years',
  'hour',
  'hours',
  'minute',
  'minutes',
  'night',
  'nights',
  'morning',
  'mornings',
  'evening',
  'evenings',
  'afternoon',
  'today',
  'tonight',
  'tomorrow',
  'yesterday',
  'century',
  'centuries',
  'decade',
  'decades',
  'season',
  'seasons',
  'weekend',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'january',
  'february',
  'march',
  'april',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]);

const concepts: FewShotConcept[] = [
  {
    explanation: 'verb forms ending in -ing',
    minimumFiring: 2,
    activation: (sentence, index, random) => {
      const token = sentence[index] as BrownToken;
      if (token.tag.parts.some((part) => part === 'vbg' || part === 'beg' || part === 'hvg')) {
        return 7 + randomInteger(random, 4);
      }
      // Nouns and adjectives that end in -ing fire a little.
      return /ing$/i.test(token.text) ? 2 + randomInteger(random, 2) : 0;
    },
  },
  {
    explanation: 'closing quotation marks',
    minimumFiring: 1,
    activation: (sentence, index, random) => {
      const token = sentence[index] as BrownToken;
      if (token.text === '”') return 9 + randomInteger(random, 2);
      // The punctuation just before a closing quote fires weakly.
      const next = sentence[index + 1];
      return next?.text === '”' && /^[.,!?]$/.test(token.text) ? 1 + randomInteger(random, 2) : 0;
    },
  },
  {
    explanation: 'words for periods of time',
    minimumFiring: 2,
    activation: (sentence, index, random) => {
      const token = sentence[index] as BrownToken;
      const lower = token.text.toLowerCase();
      if (!timeWords.has(lower)) return 0;
      return /day$|night$|morning$|evening$|afternoon$|tonight|tomorrow|yesterday/.test(lower)
        ? 8 + randomInteger(random, 3)
        : 5 + randomInteger(random, 3);
    },
  },
];

const settings = {
  seed: 7,
  minimumLength: 12,
  maximumLength: 25,
  /** Records per example: explain shows 2 per example, simulate 2. */
  recordsPerExample: 2,
};

/** Brown sentences of 12–25 tokens outside the demo documents, in a seeded order. */
function candidateSentences(random: RandomSource): BrownToken[][] {
  const documents = readBrownCorpus();
  const demoDocuments = new Set(selectDemoCorpus(documents, mulberry32(demoSettings.seed)).documents);
  const sentences = documents
    .filter((document) => !demoDocuments.has(document.name))
    .flatMap((document) => document.sentences)
    .filter((sentence) => sentence.length >= settings.minimumLength && sentence.length <= settings.maximumLength)
    // Headlines, stray symbols and Brown's doubled marks ("? ?") read badly in a prompt.
    .filter((sentence) =>
      sentence.every(
        (token, index) =>
          !token.tag.headline &&
          /^[\p{L}\p{N}.,;:'“”?!()$%-]+$/u.test(token.text) &&
          /^[\p{Lu}“]/u.test(sentence[0]?.text ?? '') &&
          token.text !== sentence[index - 1]?.text,
      ),
    );
  return shuffleInPlace(sentences, random);
}

/** Picks sentences where the concept fires (≥ 5) on `minimumFiring` to 4 tokens; `used` keeps every sentence in one example only. */
function pickRecords(
  concept: FewShotConcept,
  sentences: readonly BrownToken[][],
  used: Set<BrownToken[]>,
  count: number,
  random: RandomSource,
): ActivationRecord[] {
  const records: ActivationRecord[] = [];
  for (const sentence of sentences) {
    if (records.length === count) break;
    if (used.has(sentence)) continue;
    const activations = sentence.map((_, index) => concept.activation(sentence, index, random));
    const firing = activations.filter((value) => value >= 5).length;
    if (firing < concept.minimumFiring || firing > 4) continue;
    used.add(sentence);
    records.push({ tokens: displaySentence(sentence), activations });
  }
  if (records.length < count) throw new Error(`not enough sentences for "${concept.explanation}"`);
  return records;
}

export function buildFewShotTemplates(): { explain: ExplainTemplate; simulate: SimulateTemplate } {
  const random = mulberry32(settings.seed);
  const sentences = candidateSentences(random);
  const used = new Set<BrownToken[]>();
  const explain = ExplainTemplateSchema.parse({
    version: 'explain.v1',
    system: explainSystem,
    examples: concepts.map((concept) => ({
      records: pickRecords(concept, sentences, used, settings.recordsPerExample, random),
      explanation: concept.explanation,
    })),
  });
  const simulate = SimulateTemplateSchema.parse({
    version: 'simulate.v1',
    system: simulateSystem,
    examples: concepts.map((concept) => {
      const records = pickRecords(concept, sentences, used, settings.recordsPerExample, random);
      return {
        records,
        explanation: concept.explanation,
        firstRevealedIndices: records.map((record) => 2 + randomInteger(random, record.tokens.length - 4)),
      };
    }),
  });
  return { explain, simulate };
}

/** Records one a line (tokens and activations side by side), the rest indented JSON. */
function formatTemplate(template: ExplainTemplate | SimulateTemplate): string {
  const examples = template.examples.map((example) => {
    const records = example.records.map(
      (record) =>
        `        { "tokens": ${JSON.stringify(record.tokens)},\n          "activations": ${JSON.stringify(record.activations)} }`,
    );
    const rest = Object.entries(example)
      .filter(([key]) => key !== 'records')
      .map(([key, value]) => `      ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
    return `    {\n      "records": [\n${records.join(',\n')}\n      ],\n${rest.join(',\n')}\n    }`;
  });
  return (
    `{\n  "version": ${JSON.stringify(template.version)},\n  "system": ${JSON.stringify(template.system)},\n` +
    `  "examples": [\n${examples.join(',\n')}\n  ]\n}\n`
  );
}

function main(): void {
  const directory = fileURLToPath(new URL('../prompts/', import.meta.url));
  const { explain, simulate } = buildFewShotTemplates();
  const force = process.argv.includes('--force');
  for (const template of [explain, simulate]) {
    const path = `${directory}${template.version}.json`;
    const text = formatTemplate(template);
    if (existsSync(path) && !force) {
      console.log(`${path} exists: not overwritten (prompt files are never edited once used; --force to rewrite)`);
      continue;
    }
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
