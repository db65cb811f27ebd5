/**
 * @module score/classifier/fuzz-highlights — which tokens a fuzzing prompt marks with `<<` `>>` (delphi's default
 * fuzzing, docs/DESIGN.md §4): in an activating window the tokens whose activation is at least `highlightFraction` ×
 * the window's own max (the correct marking); in a non-activating window as many tokens, drawn at random without
 * replacement, as activating windows mark on average (rounded up). Unlike delphi there is no forced position (its
 * forced position could be drawn twice and leave a window with one mark too few, delphi PR #153).
 */
import { mulberry32, hashString, shuffleInPlace } from '../../common/random.ts';
import type { ClassifierExample } from './classifier-example.ts';

/** Positions of the tokens at or above `fraction` × the window's max activation (none when the max is ≤ 0). */
export function activatingPositions(activations: readonly number[], fraction: number): number[] {
  const max = Math.max(...activations);
  if (!(max > 0)) return [];
  const positions: number[] = [];
  activations.forEach((value, position) => {
    if (value >= fraction * max) positions.push(position);
  });
  return positions;
}

/** The highlighted positions of each example, in example order. */
export function fuzzHighlights(examples: readonly ClassifierExample[], fraction: number, seed: number): number[][] {
  const correct = examples.map((example) =>
    example.activating ? activatingPositions(example.activations, fraction) : [],
  );
  const activatingCounts = correct.filter((_, i) => examples[i]!.activating).map((positions) => positions.length);
  const meanCount =
    activatingCounts.length === 0
      ? 1
      : activatingCounts.reduce((sum, count) => sum + count, 0) / activatingCounts.length;
  const falseMarks = Math.max(1, Math.ceil(meanCount));
  return examples.map((example, index) => {
    if (example.activating) return correct[index]!;
    const random = mulberry32(hashString(`fuzz-marks-${index}`, seed));
    const positions = shuffleInPlace(
      example.tokens.map((_, position) => position),
      random,
    );
    return positions.slice(0, Math.min(falseMarks, positions.length)).sort((a, b) => a - b);
  });
}
