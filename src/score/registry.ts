/**
 * @module score/registry — every scorer autointerp knows, in the order their scores are shown. Adding a scorer is
 * one folder under score/ and one line here; `autointerp run --scorers NAME,…` selects among them.
 */
import { correlationScorer } from './correlation/correlation-scorer.ts';
import type { Scorer } from './scorer.ts';

export const scorers: readonly Scorer[] = [correlationScorer];

/** The scorer of that name, or undefined. */
export function scorerNamed(name: string): Scorer | undefined {
  return scorers.find((scorer) => scorer.name === name);
}
