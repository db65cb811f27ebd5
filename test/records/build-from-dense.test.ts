import { describe, expect, it } from 'vitest';
import { sampleSkewness, variance as populationVariance } from 'simple-statistics';
import { buildFeatureRecords } from '../../src/records/build-from-dense.ts';
import type { DenseActivations } from '../../src/records/build-from-dense.ts';
import { mulberry32 } from '../../src/common/random.ts';
import { FeatureRecordSchema } from '../../src/records/types.ts';
import type { ActivationRecord, FeatureId } from '../../src/records/types.ts';

const ids = (count: number): FeatureId[] =>
  Array.from({ length: count }, (_, index) => ({ model: 'test', layer: 0, kind: 'neuron' as const, index }));

/** Dense activations from per-feature columns. */
function fromColumns(columns: number[][], tokens?: string[], documentStarts?: number[]): DenseActivations {
  const tokenCount = (columns[0] as number[]).length;
  const values = new Float32Array(tokenCount * columns.length);
  columns.forEach((column, feature) =>
    column.forEach((value, token) => (values[token * columns.length + feature] = value)),
  );
  return {
    tokens: tokens ?? Array.from({ length: tokenCount }, (_, index) => ` t${index}`),
    values,
    nFeatures: columns.length,
    ...(documentStarts ? { documentStarts } : {}),
  };
}

const firstTokens = (records: ActivationRecord[]): string[] => records.map((record) => record.tokens[0] as string);

function randomDense(tokenCount: number, featureCount: number, seed: number): DenseActivations {
  const random = mulberry32(seed);
  const columns = Array.from({ length: featureCount }, () =>
    Array.from({ length: tokenCount }, () => (random() < 0.1 ? random() * 5 : 0)),
  );
  return fromColumns(columns);
}

describe('buildFeatureRecords', () => {
  it('picks the top windows by max activation, descending, ties by window index', () => {
    const dense = fromColumns([
      [0, 1, 0, 0, /**/ 0, 0, 5, 0, /**/ 3, 0, 0, 0],
      [2, 0, 0, 0, /**/ 0, 2, 0, 0, /**/ 0, 0, 0, 2],
    ]);
    const [first, second] = buildFeatureRecords(dense, ids(2), { windowSize: 4, topK: 2, randomCount: 5 });
    expect(firstTokens(first!.top)).toEqual([' t4', ' t8']);
    expect(first!.top[0]).toEqual({ tokens: [' t4', ' t5', ' t6', ' t7'], activations: [0, 0, 5, 0] });
    expect(firstTokens(first!.random)).toEqual([' t0']);
    expect(firstTokens(second!.top)).toEqual([' t0', ' t4']);
    expect(firstTokens(second!.random)).toEqual([' t8']);
  });

  it('keeps only windows where the feature activates in top', () => {
    const dense = fromColumns([[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]]);
    const [record] = buildFeatureRecords(dense, ids(1), { windowSize: 4, topK: 3, randomCount: 0 });
    expect(firstTokens(record!.top)).toEqual([' t4']);
  });

  it('cuts windows inside documents and drops final pieces shorter than windowSize / 4', () => {
    const tokens = ['a0', ' a1', ' a2', 'b0', ' b1', ' b2', ' b3', ' b4', ' b5', ' b6', 'c0', 'd0', ' d1', ' d2'];
    const column = tokens.map((_, index) => index + 1);
    const dense = fromColumns([column], tokens, [3, 10, 11]);
    const [record] = buildFeatureRecords(dense, ids(1), { windowSize: 4, topK: 10, randomCount: 0, quantileBins: 0 });
    const windows = record!.top.map((window) => window.tokens.map((token) => token.trim()).join(','));
    // 'c0' alone (1 × 4 ≥ 4) is kept; a document piece never mixes letters.
    expect(windows.sort()).toEqual(['a0,a1,a2', 'b0,b1,b2,b3', 'b4,b5,b6', 'c0', 'd0,d1,d2']);
    const [dropping] = buildFeatureRecords(dense, ids(1), { windowSize: 8, topK: 10, randomCount: 0 });
    // windowSize 8: pieces need ≥ 2 tokens; 'c0' is dropped but still counts in the stats.
    expect(dropping!.top.map((window) => window.tokens.length).sort()).toEqual([3, 3, 7]);
    expect(dropping!.stats.maxActivation).toBe(14);
    expect(dropping!.stats.mean).toBeCloseTo(7.5, 12);
  });

  it('returns disjoint top, random and quantile windows, each quantile window inside its bin', () => {
    const dense = randomDense(2000, 3, 7);
    const records = buildFeatureRecords(dense, ids(3), { windowSize: 10, topK: 10, randomCount: 20 });
    for (const record of records) {
      expect(FeatureRecordSchema.safeParse(record).success).toBe(true);
      const quantiles = record.quantiles ?? [];
      const boundaries = record.quantileBoundaries ?? [];
      expect(quantiles).toHaveLength(5);
      expect(boundaries).toHaveLength(6);
      const all = [...record.top, ...record.random, ...quantiles.flat()].map((window) => window.tokens[0]);
      expect(new Set(all).size).toBe(all.length);
      expect(record.top).toHaveLength(10);
      expect(record.random).toHaveLength(20);
      const maxOf = (window: ActivationRecord): number => Math.max(...window.activations);
      const topMaxima = record.top.map(maxOf);
      expect([...topMaxima].sort((left, right) => right - left)).toEqual(topMaxima);
      quantiles.forEach((bin, index) => {
        expect(bin.length).toBe(5);
        for (const window of bin) {
          expect(maxOf(window)).toBeGreaterThan(boundaries[index] as number);
          expect(maxOf(window)).toBeLessThanOrEqual(boundaries[index + 1] as number);
        }
      });
      expect(boundaries[5]).toBe(record.stats.maxActivation);
    }
  });

  it('computes population stats over all tokens', () => {
    const column = [0, 1, 2, 0, 0, 3];
    const dense = fromColumns([column]);
    const [record] = buildFeatureRecords(dense, ids(1), { windowSize: 5 });
    // mean 1; deviations −1,0,1,−1,−1,2: m2 = 8/6, m3 = 6/6, m4 = 20/6.
    expect(record!.stats.mean).toBeCloseTo(1, 12);
    expect(record!.stats.variance).toBeCloseTo(4 / 3, 12);
    expect(record!.stats.skewness).toBeCloseTo(1 / (4 / 3) ** 1.5, 12);
    expect(record!.stats.kurtosis).toBeCloseTo(20 / 6 / (16 / 9) - 3, 12);
    expect(record!.stats.maxActivation).toBe(3);
    expect(record!.stats.density).toBe(0.5);
  });

  it('agrees with simple-statistics on a long series with a large offset', () => {
    const random = mulberry32(11);
    const column = Array.from({ length: 5003 }, () => Math.fround(1000 + (random() < 0.2 ? random() * 4 : 0)));
    const [record] = buildFeatureRecords(fromColumns([column]), ids(1), { windowSize: 64 });
    const mean = column.reduce((sum, value) => sum + value, 0) / column.length;
    const fourth = column.reduce((sum, value) => sum + (value - mean) ** 4, 0) / column.length;
    const variance = populationVariance(column);
    expect(record!.stats.mean).toBeCloseTo(mean, 9);
    expect(record!.stats.variance! / variance).toBeCloseTo(1, 9);
    expect(record!.stats.skewness).toBeCloseTo(sampleSkewness(column, true), 8);
    expect(record!.stats.kurtosis).toBeCloseTo(fourth / variance ** 2 - 3, 8);
    expect(record!.stats.density).toBe(1);
  });

  it('gives null skewness and kurtosis for a constant feature, and top [] for one that never activates', () => {
    const dense = fromColumns([new Array(40).fill(0.3), new Array(40).fill(-0.05), new Array(40).fill(0)]);
    // Windows of 7: block means like 0.3 × 7 / 7 must not leave a rounding residue in the variance.
    const [constant, negative, dead] = buildFeatureRecords(dense, ids(3), { windowSize: 7, randomCount: 2 });
    expect(constant!.stats).toMatchObject({ variance: 0, skewness: null, kurtosis: null, density: 1 });
    expect(negative!.stats.maxActivation).toBeCloseTo(-0.05, 6);
    for (const record of [negative!, dead!]) {
      expect(record.top).toEqual([]);
      expect(record.random).toHaveLength(2);
      expect(record.quantiles).toBeUndefined();
      expect(record.stats.density).toBe(0);
      expect(record.stats.skewness).toBeNull();
      expect(FeatureRecordSchema.safeParse(record).success).toBe(true);
    }
  });

  it('is deterministic for a seed and differs for another seed', () => {
    const dense = randomDense(3000, 2, 3);
    const options = { windowSize: 10, topK: 5, randomCount: 20 };
    const first = buildFeatureRecords(dense, ids(2), { ...options, seed: 1 });
    expect(buildFeatureRecords(dense, ids(2), { ...options, seed: 1 })).toEqual(first);
    const other = buildFeatureRecords(dense, ids(2), { ...options, seed: 2 });
    expect(other[0]!.top).toEqual(first[0]!.top);
    expect(firstTokens(other[0]!.random)).not.toEqual(firstTokens(first[0]!.random));
  });

  it('samples a feature the same way whatever its column', () => {
    const dense = randomDense(1000, 2, 5);
    const swapped = new Float32Array(dense.values.length);
    for (let token = 0; token < 1000; token++) {
      swapped[token * 2] = dense.values[token * 2 + 1] as number;
      swapped[token * 2 + 1] = dense.values[token * 2] as number;
    }
    const [first, second] = ids(2);
    const straight = buildFeatureRecords(dense, [first!, second!], { windowSize: 10 });
    const crossed = buildFeatureRecords({ ...dense, values: swapped }, [second!, first!], { windowSize: 10 });
    expect(crossed[1]).toEqual(straight[0]);
  });

  it('rejects bad input with a clear message', () => {
    const dense = fromColumns([
      [0, 1, 2, 3],
      [1, 2, 3, 4],
    ]);
    expect(() => buildFeatureRecords({ ...dense, values: new Float32Array(7) }, ids(2))).toThrow(
      /values has 7 entries but tokens × features = 4 × 2 = 8/,
    );
    expect(() => buildFeatureRecords(dense, ids(3))).toThrow(/3 feature ids given for 2 features/);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      // Inside a window, at a window's first token, and in a window of identical values.
      for (const [token, windowSize] of [
        [2, 64],
        [2, 2],
        [0, 1],
      ] as const) {
        const values = Float32Array.from(dense.values);
        values[token * 2 + 1] = bad;
        expect(() => buildFeatureRecords({ ...dense, values }, ids(2), { windowSize })).toThrow(
          new RegExp(`token index ${token}, feature 1 is ${String(bad)}`),
        );
      }
      const constant = fromColumns([[bad, bad, bad, bad]]);
      expect(() => buildFeatureRecords(constant, ids(1), { windowSize: 2 })).toThrow(/token index 0, feature 0/);
    }
    expect(() => buildFeatureRecords(dense, ids(2), { windowSize: 0 })).toThrow(/windowSize must be an integer ≥ 1/);
    expect(() => buildFeatureRecords({ ...dense, documentStarts: [9] }, ids(2))).toThrow(/document start 9/);
    expect(() => buildFeatureRecords({ ...dense, tokens: [], values: new Float32Array(0) }, ids(2))).toThrow(
      /no tokens/,
    );
  });
});
