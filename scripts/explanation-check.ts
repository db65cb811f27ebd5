/**
 * @module scripts/explanation-check — checks that the demo's ground-truth explanations predict the planted
 * activations (and the wrong ones do not), by reading them with the project's own rule-based simulator
 * (src/llm/baseline/interpret-explanation.ts) and scoring with the project's pooled correlation.
 */
import type { ConceptLexicon } from '../src/llm/baseline/concept-lexicon.ts';
import { conceptMatcher, interpretExplanation } from '../src/llm/baseline/interpret-explanation.ts';
import type { ActivationRecord } from '../src/records/types.ts';
import { correlationScore } from '../src/score/correlation.ts';

/** Weight in [0, 1] of a token under one lexicon concept (its lexicon weight, or 1 where its pattern matches). */
export function conceptWeight(lexicon: ConceptLexicon, name: string): (token: string) => number {
  const concept = lexicon.concepts.find((candidate) => candidate.name === name);
  if (!concept) throw new Error(`no concept named ${name} in the lexicon`);
  const matcher = conceptMatcher(concept);
  return (token) => matcher.weightOf(token);
}

/**
 * Pearson r between the rule-based simulator's predictions for `explanation` and the true activations, over the
 * concatenated tokens of `records` (the scorer's pooling). Null when either series is constant.
 */
export function explanationCorrelation(
  explanation: string,
  records: readonly ActivationRecord[],
  lexicon: ConceptLexicon,
): number | null {
  const { predict } = interpretExplanation(explanation, { lexicon });
  const predicted = records.map((record) => record.tokens.map((_, index) => predict(record.tokens, index)));
  return correlationScore(
    records.map((record) => record.activations),
    predicted,
  );
}
