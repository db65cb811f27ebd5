/** @module test/score/classifier/synthetic-splits — a small feature whose explain split is recognisable, for sampler and scorer tests. */
import type { ActivationRecord, FeatureRecord, SplitRecord } from '../../../src/records/types.ts';

const words = ['the', 'dog', 'ran', 'far', 'away', 'from', 'home', 'and', 'back', 'again'];

/** A 40-token record: filler words, "cat" at the given positions with the given activations. */
function record(prefix: string, cats: Record<number, number>): ActivationRecord {
  const tokens = Array.from({ length: 40 }, (_, i) => (i in cats ? ' cat' : ` ${prefix}${words[i % words.length]}`));
  return { tokens, activations: tokens.map((_, i) => cats[i] ?? 0) };
}

/** Explain records use tokens found nowhere else ("explainonly-…"), except the top token " cat". */
export function syntheticSplits(): { feature: FeatureRecord; splits: SplitRecord[] } {
  const splits: SplitRecord[] = [
    ...[5, 12, 20].map((at) => ({
      split: 'explain' as const,
      source: 'top' as const,
      record: record('explainonly-', { [at]: 8 }),
    })),
    ...[3, 30].map((at) => ({
      split: 'calibration' as const,
      source: 'top' as const,
      record: record('', { [at]: 7 }),
    })),
    ...[10, 25, 33].map((at) => ({
      split: 'score' as const,
      source: 'top' as const,
      record: record('', { [at]: 9, [at + 1]: 3 }),
    })),
    { split: 'score', source: 'quantile-0', record: record('', { 18: 1 }) },
    // random records: " cat" that does not fire (hard negatives) and plain filler
    { split: 'calibration', source: 'random', record: record('', { 8: 0, 30: 0 }) },
    { split: 'score', source: 'random', record: record('', {}) },
    { split: 'score', source: 'random', record: record('', { 20: 0 }) },
  ];
  const feature: FeatureRecord = {
    id: { model: 'm', layer: 0, kind: 'neuron', index: 0 },
    top: [],
    random: [],
    stats: { mean: null, variance: null, skewness: null, kurtosis: null, maxActivation: 10, density: null },
  };
  return { feature, splits };
}
