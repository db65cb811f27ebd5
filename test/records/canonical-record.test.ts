import { describe, expect, it } from 'vitest';
import { isCanonicalFeatureRecord } from '../../src/records/canonical-record.ts';
import { parseFeatureRecord } from '../../src/records/jsonl.ts';
import { FeatureRecordSchema } from '../../src/records/types.ts';

/** A record with every optional field the schema knows. */
const full = () => ({
  id: { model: 'gpt2', layer: 3, kind: 'sae', index: 7, sae: 'res-jb' },
  top: [
    { tokens: ['a', 'b'], activations: [1, 0], tokenIds: [5, 6], contextIds: [50256] },
    { tokens: ['c'], activations: [0.5] },
  ],
  random: [{ tokens: ['d', 'e'], activations: [0, -0.25], tokenIds: [1, 2] }],
  quantiles: [[{ tokens: ['f'], activations: [2] }], []],
  quantileBoundaries: [0, 1.5],
  stats: { mean: 0.1, variance: null, skewness: 2, kurtosis: null, maxActivation: 1, density: 0.5 },
});

/** Every place in a value (object keys and array items), as a path. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((key) => [
    [...prefix, key],
    ...paths((value as Record<string | number, unknown>)[key], [...prefix, key]),
  ]);
}

/** A copy of `value` with `mutate` applied to the container of `path` at its last key. */
function mutated(
  path: (string | number)[],
  mutate: (container: Record<string | number, unknown>, key: string | number) => void,
) {
  const copy = structuredClone(full()) as Record<string | number, unknown>;
  let container = copy;
  for (const key of path.slice(0, -1)) container = container[key] as Record<string | number, unknown>;
  mutate(container, path.at(-1)!);
  return copy;
}

const oddValues: unknown[] = [null, -1, 1.5, 2 ** 53, 0, '', 'x', 'sae', 'neuron', [], [1], ['a'], {}, true, Infinity];

describe('isCanonicalFeatureRecord: only what the schema accepts and returns unchanged', () => {
  it('accepts valid records with and without the optional fields, as the schema returns them', () => {
    const minimal = {
      id: { model: 'm', layer: 'blocks.0.hook', kind: 'neuron', index: 0 },
      top: [],
      random: [],
      stats: { mean: null, variance: null, skewness: null, kurtosis: null, maxActivation: 0, density: null },
    };
    for (const record of [full(), minimal]) {
      expect(isCanonicalFeatureRecord(record)).toBe(true);
      expect(FeatureRecordSchema.parse(record)).toEqual(record);
    }
  });

  it('for every field set to each of a set of odd values, removed, or given a sibling the schema does not know: never accepts what the schema rejects or changes', () => {
    const cases = paths(full()).flatMap((path) => [
      ...oddValues.map((odd) => mutated(path, (container, key) => void (container[key] = odd))),
      mutated(path, (container, key) => void delete container[key]),
      mutated(path, (container) => void (Array.isArray(container) ? container.push({}) : (container.extra = 1))),
    ]);
    expect(cases.length).toBeGreaterThan(800);
    let rejected = 0;
    for (const value of cases) {
      const parsed = FeatureRecordSchema.safeParse(value);
      if (isCanonicalFeatureRecord(value)) expect(parsed.success && parsed.data).toEqual(value);
      else rejected += 1;
      if (!parsed.success) expect(isCanonicalFeatureRecord(value)).toBe(false);
    }
    expect(rejected).toBeGreaterThan(cases.length / 2);
  });

  it('a record it declines still gets the schema: unknown keys stripped, errors naming the field', () => {
    const withExtra = { ...full(), note: 'kept by the writer, not by autointerp' };
    expect(isCanonicalFeatureRecord(withExtra)).toBe(false);
    expect(parseFeatureRecord(withExtra, 'f.jsonl', 'line 1')).toEqual(full());
    const bad = mutated(['top', 0, 'activations', 1], (container, key) => void (container[key] = 'x'));
    expect(() => parseFeatureRecord(bad, 'f.jsonl', 'line 3')).toThrow(/line 3, top\[0\]\.activations\[1\]/);
  });
});
