/**
 * @module score/registry — every scorer autointerp knows, in the order their scores are shown. Adding a scorer is
 * one folder under score/ and one line here; `autointerp run --scorers NAME,…` selects among them.
 */
import { ablationScorer } from './ablation/ablation-scorer.ts';
import { detectionScorer } from './classifier/detection-scorer.ts';
import { fuzzingScorer } from './classifier/fuzzing-scorer.ts';
import { correlationScorer } from './correlation/correlation-scorer.ts';
import { interventionScorer } from './intervention/intervention-scorer.ts';
import type { Scorer } from './scorer.ts';

export const scorers: readonly Scorer[] = [
  correlationScorer,
  detectionScorer,
  fuzzingScorer,
  ablationScorer,
  interventionScorer,
];

/** The scorer of that name, or undefined. */
export function scorerNamed(name: string): Scorer | undefined {
  return scorers.find((scorer) => scorer.name === name);
}
