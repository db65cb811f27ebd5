/**
 * @module scripts/explanation-check — a small stand-in for the rule-based simulator, used to check that the demo's
 * ground-truth explanations predict the planted activations (and the wrong ones do not). It understands:
 *   1. quoted tokens ("the", 'of', “the”, ‘x’) → weight 1 on tokens equal to them (trimmed, lower-cased);
 *   2. alias phrases of lexicon concepts (longest first, overlaps dropped; an optional plural "s"/"es"; spaces and
 *      hyphens interchangeable) → the concept's weight of the token (or 1 where its pattern matches);
 *   3. a context "after X" / "following X" / "preceded by X" → the named targets count only where the previous token
 *      matches X; the gate multiplies by the previous token's weight under X.
 * Several things named → union (max). Prediction = 10 × weight. One clause only (what the demo explanations use).
 */
import { sampleCorrelation } from 'simple-statistics';
import type { ConceptLexicon } from '../src/llm/concept-lexicon.ts';
import type { ActivationRecord } from '../src/records/types.ts';

/** Weight in [0, 1] of a token under one named thing. */
type TokenWeight = (token: string) => number;

/** Predicted activation (0–10) of `tokens[index]`. */
export type LocalPredictor = (tokens: readonly string[], index: number) => number;

const normalize = (token: string): string => token.trim().toLowerCase();

const quotePatterns: readonly RegExp[] = [
  /"([^"\n]*)"/g,
  /“([^”\n]*)”/g,
  /‘([^’\n]*)’/g,
  /(?<![\p{L}\p{N}_])'([^'\n]+?)'(?![\p{L}\p{N}_])/gu,
];
const contextKeyword = /(?<![\p{L}\p{N}])(?:after|preceded by|(?<!the\s+)following)(?![\p{L}\p{N}])/iu;

/** The weight function of one lexicon concept. */
export function conceptWeight(lexicon: ConceptLexicon, name: string): TokenWeight {
  const concept = lexicon.concepts.find((candidate) => candidate.name === name);
  if (!concept) throw new Error(`no concept named ${name} in the lexicon`);
  const pattern = concept.pattern === undefined ? undefined : new RegExp(concept.pattern, 'u');
  return (token) =>
    Math.max(concept.weights[normalize(token)] ?? 0, pattern !== undefined && pattern.test(token.trim()) ? 1 : 0);
}

interface Named {
  start: number;
  end: number;
  weight: TokenWeight;
}

/** Reads an explanation into a predictor (see the module comment for the language). */
export function localPredictor(explanation: string, lexicon: ConceptLexicon): LocalPredictor {
  let masked = explanation;
  const named: Named[] = [];
  for (const pattern of quotePatterns) {
    for (const match of [...masked.matchAll(pattern)]) {
      const quoted = normalize(match[1] ?? '');
      named.push({ start: match.index, end: match.index + match[0].length, weight: (t) => (normalize(t) === quoted ? 1 : 0) });
      masked = masked.slice(0, match.index) + ' '.repeat(match[0].length) + masked.slice(match.index + match[0].length);
    }
  }
  const candidates: Named[] = [];
  for (const concept of lexicon.concepts) {
    const weight = conceptWeight(lexicon, concept.name);
    for (const alias of concept.aliases) {
      const body = alias
        .toLowerCase()
        .split(/[\s-]+/)
        .filter((word) => word.length > 0)
        .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s-]+');
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${body}(?:e?s)?(?![\\p{L}\\p{N}])`, 'giu');
      for (const match of masked.matchAll(pattern)) {
        candidates.push({ start: match.index, end: match.index + match[0].length, weight });
      }
    }
  }
  candidates.sort((left, right) => right.end - right.start - (left.end - left.start) || left.start - right.start);
  for (const candidate of candidates) {
    if (named.some((item) => candidate.start < item.end && item.start < candidate.end)) continue;
    named.push(candidate);
  }
  const keyword = contextKeyword.exec(masked);
  const contextStart = keyword ? keyword.index + keyword[0].length : Number.POSITIVE_INFINITY;
  const targets = named.filter((item) => item.start < contextStart).map((item) => item.weight);
  const context = named.filter((item) => item.start >= contextStart).map((item) => item.weight);
  const maxOf = (weights: TokenWeight[], token: string): number =>
    weights.reduce((best, weight) => Math.max(best, weight(token)), 0);

  return (tokens, index) => {
    const token = tokens[index] ?? '';
    const target = targets.length > 0 ? maxOf(targets, token) : context.length > 0 ? 1 : 0;
    if (target === 0 || context.length === 0) return 10 * target;
    const previous = index > 0 ? tokens[index - 1] : undefined;
    return previous === undefined ? 0 : 10 * target * maxOf(context, previous);
  };
}

/**
 * Pearson r between the predictions of `explanation` and the true activations, over the concatenated tokens of
 * `records` (the scorer's pooling). Null when either series is constant.
 */
export function explanationCorrelation(
  explanation: string,
  records: readonly ActivationRecord[],
  lexicon: ConceptLexicon,
): number | null {
  const predict = localPredictor(explanation, lexicon);
  const predicted: number[] = [];
  const actual: number[] = [];
  for (const record of records) {
    record.tokens.forEach((_, index) => {
      predicted.push(predict(record.tokens, index));
      actual.push(record.activations[index] as number);
    });
  }
  const constant = (series: number[]): boolean => series.every((value) => value === series[0]);
  if (predicted.length < 2 || constant(predicted) || constant(actual)) return null;
  return sampleCorrelation(predicted, actual);
}
