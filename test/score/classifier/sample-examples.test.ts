import { describe, expect, it } from 'vitest';
import { defaultClassifierOptions } from '../../../src/score/classifier/classifier-options.ts';
import { fuzzHighlights } from '../../../src/score/classifier/fuzz-highlights.ts';
import { renderExample } from '../../../src/score/classifier/render-example.ts';
import { sampleClassifierExamples } from '../../../src/score/classifier/sample-examples.ts';
import type { SplitRecord } from '../../../src/records/types.ts';
import { syntheticSplits } from './synthetic-splits.ts';

describe('classifier example sampler', () => {
  it('never shows a window of the explain split, but learns the top tokens from it', () => {
    const { feature, splits } = syntheticSplits();
    for (const seed of [1, 2, 3, 4, 5]) {
      const sample = sampleClassifierExamples(feature, splits, defaultClassifierOptions, seed);
      expect(sample.topTokens).toEqual(['cat']);
      for (const example of sample.examples) {
        expect(example.tokens.some((token) => token.includes('explainonly'))).toBe(false);
      }
      expect(sample.examples.filter((example) => example.source === 'hard-negative').length).toBeGreaterThan(0);
    }
  });

  it('activating windows are cut around the peak; non-activating ones never fire; classes balanced; one length', () => {
    const { feature, splits } = syntheticSplits();
    const sample = sampleClassifierExamples(feature, splits, defaultClassifierOptions, 9);
    const activating = sample.examples.filter((example) => example.activating);
    const nonActivating = sample.examples.filter((example) => !example.activating);
    expect(activating.map((example) => example.source).sort()).toEqual([
      'quantile-0',
      'top',
      'top',
      'top',
      'top',
      'top',
    ]);
    expect(nonActivating).toHaveLength(activating.length);
    for (const example of sample.examples) expect(example.tokens).toHaveLength(sample.windowTokens);
    expect(sample.windowTokens).toBeLessThanOrEqual(defaultClassifierOptions.maxWindowTokens);
    for (const example of activating) expect(Math.max(...example.activations)).toBeGreaterThan(0.5);
    for (const example of nonActivating) expect(Math.max(...example.activations)).toBeLessThanOrEqual(0.5);
    for (const example of sample.examples.filter((e) => e.source === 'hard-negative')) {
      expect(example.tokens).toContain(' cat');
    }
  });

  it('gives every example one length when activating records are shorter than the window (length tells no class)', () => {
    const { feature, splits } = syntheticSplits();
    // held-out activating records of 12 and 5 tokens (puzzle sentences, imported records), long random ones
    const cut = (split: SplitRecord, length: number, start = 0): SplitRecord => ({
      ...split,
      record: {
        tokens: split.record.tokens.slice(start, start + length),
        activations: split.record.activations.slice(start, start + length),
      },
    });
    const short = splits.map((split) => {
      if (split.split === 'explain' || split.source === 'random') return split;
      if (split.source === 'quantile-0') return cut(split, 5, 16); // its peak (18) kept
      return split.record.activations.findIndex((value) => value > 0) < 12 ? cut(split, 12) : split;
    });
    for (const seed of [1, 2, 3]) {
      const sample = sampleClassifierExamples(feature, short, defaultClassifierOptions, seed);
      expect(sample.examples.some((example) => example.activating)).toBe(true);
      expect(sample.examples.some((example) => !example.activating)).toBe(true);
      for (const example of sample.examples) expect(example.tokens).toHaveLength(sample.windowTokens);
      // the 5-token record (shorter than minWindowTokens) is left out rather than shrinking every window to 5
      expect(sample.windowTokens).toBe(12);
      expect(sample.examples.some((example) => example.source === 'quantile-0')).toBe(false);
    }
  });

  it('is deterministic per seed and differs between seeds', () => {
    const { feature, splits } = syntheticSplits();
    const a = sampleClassifierExamples(feature, splits, defaultClassifierOptions, 3);
    expect(sampleClassifierExamples(feature, splits, defaultClassifierOptions, 3)).toEqual(a);
    const others = [4, 5, 6, 7].map((seed) =>
      sampleClassifierExamples(feature, splits, defaultClassifierOptions, seed),
    );
    expect(others.some((other) => JSON.stringify(other.examples) !== JSON.stringify(a.examples))).toBe(true);
  });

  it('a dense feature gets shorter windows, and fewer negatives than wanted when even those run out', () => {
    const { feature, splits } = syntheticSplits();
    // fires every 12th token in every held-out record: non-firing runs are 11 tokens long
    const dense = splits.map((split) =>
      split.split === 'explain'
        ? split
        : {
            ...split,
            record: {
              ...split.record,
              activations: split.record.activations.map((value, i) => (i % 12 === 0 ? Math.max(value, 5) : value)),
            },
          },
    );
    const sample = sampleClassifierExamples(feature, dense, defaultClassifierOptions, 1);
    expect(sample.windowTokens).toBeLessThanOrEqual(11);
    for (const example of sample.examples.filter((e) => !e.activating)) {
      expect(Math.max(...example.activations)).toBeLessThanOrEqual(0.5);
    }
    const tooDense = splits.map((split) => ({
      ...split,
      record: { ...split.record, activations: split.record.activations.map((value, i) => (i % 4 === 0 ? 5 : value)) },
    }));
    const scarce = sampleClassifierExamples(feature, tooDense, defaultClassifierOptions, 1);
    expect(scarce.windowTokens).toBe(defaultClassifierOptions.minWindowTokens);
    expect(scarce.examples.filter((e) => !e.activating)).toHaveLength(0);
    expect(scarce.nonActivatingWanted).toBeGreaterThan(0);
  });
});

describe('fuzzing highlights', () => {
  it('marks tokens ≥ 0.3 × the window max in activating windows and ⌈mean⌉ distinct random tokens elsewhere', () => {
    const examples = [
      { tokens: ['a', 'b', 'c', 'd'], activations: [0, 10, 3, 2.9], activating: true, source: 'top' as const },
      { tokens: ['a', 'b', 'c', 'd'], activations: [4, 4, 0, 0], activating: true, source: 'top' as const },
      {
        tokens: ['e', 'f', 'g', 'h', 'i', 'j'],
        activations: [0, 0, 0, 0, 0, 0],
        activating: false,
        source: 'random-negative' as const,
      },
    ];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const marks = fuzzHighlights(examples, 0.3, seed);
      expect(marks[0]).toEqual([1, 2]);
      expect(marks[1]).toEqual([0, 1]);
      // mean of 2 and 2 marks → exactly 2 distinct positions (no forced position drawn twice)
      expect(new Set(marks[2]).size).toBe(2);
      expect(marks[2]).toHaveLength(2);
    }
  });

  it('renders adjacent marks as one span, leading spaces outside, line breaks escaped', () => {
    expect(renderExample([' on', ' Sunday', ' night', ' we', '\n', ' ate'], [1, 2, 5])).toBe(
      ' on <<Sunday night>> we\\n <<ate>>',
    );
    expect(renderExample(['a', 'b'])).toBe('ab');
  });
});
