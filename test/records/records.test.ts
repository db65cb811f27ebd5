import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestSource } from '../../src/records/digest-source.ts';
import { loadFeatureRecords, loadFeatureRecordsWithDigest } from '../../src/records/load.ts';
import { maxActivation, nonZeroProportion, normalizeActivations } from '../../src/records/normalize.ts';
import { RecordFormatError } from '../../src/records/errors.ts';
import { splitFeatureRecords } from '../../src/records/splits.ts';
import { writeFeatureRecordsJsonl } from '../../src/records/jsonl.ts';
import type { FeatureRecord } from '../../src/records/types.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-records-'));
const file = (name: string, text: string) => {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
};

const feature = (index: number, top = 3, random = 2): FeatureRecord => ({
  id: { model: 'm', layer: 1, kind: 'neuron', index },
  top: Array.from({ length: top }, (_, i) => ({ tokens: ['a', 'b'], activations: [i + 1, 0] })),
  random: Array.from({ length: random }, (_, i) => ({ tokens: ['c', 'd'], activations: [0, i / 10] })),
  stats: { mean: 0.1, variance: 0.2, skewness: null, kurtosis: null, maxActivation: top, density: 0.3 },
});

describe('normalization (docs/DESIGN.md §4)', () => {
  it('is min(10, floor(10·relu(x)/max)), zeros when max ≤ 0', () => {
    expect(normalizeActivations([0, 0.05, 0.1, 0.99, 1, 2, -3], 1)).toEqual([0, 0, 1, 9, 10, 10, 0]);
    expect(normalizeActivations([1, 2], 0)).toEqual([0, 0]);
    expect(normalizeActivations([1, 2], -1)).toEqual([0, 0]);
    expect(maxActivation([{ tokens: ['a', 'b'], activations: [-2, -1] }])).toBe(0);
    expect(
      maxActivation([
        { tokens: ['a'], activations: [0.5] },
        { tokens: ['b', 'c'], activations: [3, -9] },
      ]),
    ).toBe(3);
  });
  it('counts the non-zero proportion after normalization', () => {
    // 0.05 normalizes to 0 against max 1: only 2 of 5 are non-zero
    expect(
      nonZeroProportion([{ tokens: ['a', 'b', 'c', 'd', 'e'], activations: [1, 0.05, 0.5, 0, 0] }], 1),
    ).toBeCloseTo(0.4);
  });
});

describe('splits', () => {
  it('deals top records round-robin into disjoint explain / calibration / score sets', () => {
    const f = feature(0, 12, 6);
    const splits = splitFeatureRecords(f, {
      explainTop: 6,
      calibrationTop: 2,
      scoreTop: 3,
      calibrationRandom: 2,
      scoreRandom: 3,
    });
    const ids = (split: string, source: string) =>
      splits
        .filter((s) => s.split === split && s.source === source)
        .map((s) => (source === 'top' ? f.top : f.random).indexOf(s.record));
    expect(ids('explain', 'top')).toEqual([0, 3, 6, 8, 9, 10]);
    expect(ids('calibration', 'top')).toEqual([1, 4]);
    expect(ids('score', 'top')).toEqual([2, 5, 7]);
    expect(ids('calibration', 'random')).toEqual([0, 2]);
    expect(ids('score', 'random')).toEqual([1, 3, 4]);
  });

  it('never scores a copy of an explained record (imported data may repeat a window)', () => {
    const f = feature(0, 6, 0);
    f.top = f.top.map((_, i) => ({ tokens: ['a', String(i)], activations: [6 - i, 0] }));
    // the random sample holds copies of top windows 0 and 3, and one window of its own, twice
    f.random = [
      { ...f.top[0]! },
      { tokens: ['z', 'z'], activations: [0, 0.1] },
      { ...f.top[3]! },
      { tokens: ['z', 'z'], activations: [0, 0.1] },
    ];
    const splits = splitFeatureRecords(f, {
      explainTop: 3,
      calibrationTop: 0,
      scoreTop: 3,
      calibrationRandom: 0,
      scoreRandom: 5,
    });
    const key = (s: { record: { tokens: string[]; activations: number[] } }) => JSON.stringify(s.record);
    const explained = new Set(splits.filter((s) => s.split === 'explain').map(key));
    const scored = splits.filter((s) => s.split !== 'explain').map(key);
    expect(scored.filter((k) => explained.has(k))).toEqual([]);
    expect(new Set(scored).size).toBe(scored.length);
    expect(splits.filter((s) => s.source === 'random')).toHaveLength(1);
  });
});

describe('loading records', () => {
  it('round-trips the native JSONL format', async () => {
    const path = join(directory, 'ok.jsonl');
    await writeFeatureRecordsJsonl(path, [feature(0), feature(1)]);
    expect(await loadFeatureRecords(path)).toEqual([feature(0), feature(1)]);
  });

  it('reads a directory of JSONL shards in name order, and refuses a feature present in two shards', async () => {
    const shards = join(directory, 'shards');
    mkdirSync(shards);
    await writeFeatureRecordsJsonl(join(shards, 'b.jsonl'), [feature(2)]);
    await writeFeatureRecordsJsonl(join(shards, 'a.jsonl'), [feature(0), feature(1)]);
    writeFileSync(join(shards, 'notes.txt'), 'not a shard');
    expect(await loadFeatureRecords(shards)).toEqual([feature(0), feature(1), feature(2)]);
    await writeFeatureRecordsJsonl(join(shards, 'c.jsonl'), [feature(1)]);
    await expect(loadFeatureRecords(shards)).rejects.toThrow(/appears twice/);
  });

  it('digests a source as it loads it: the same digest as hashing it apart, for a JSONL file (one read) and a directory', async () => {
    const path = join(directory, 'digest.jsonl');
    // Bigger than one read chunk (64 KiB), with multi-byte characters that a chunk boundary may split.
    await writeFeatureRecordsJsonl(
      path,
      Array.from({ length: 300 }, (_, i) => ({
        ...feature(i),
        top: [{ tokens: ['é', '—', 'ß'.repeat(40)], activations: [1, 0, 2] }],
      })),
    );
    const loaded = await loadFeatureRecordsWithDigest(path);
    expect(loaded.records).toEqual(await loadFeatureRecords(path));
    expect(loaded.digest).toBe(await digestSource(path));
    const shards = join(directory, 'digest-shards');
    mkdirSync(shards);
    await writeFeatureRecordsJsonl(join(shards, 'a.jsonl'), [feature(0)]);
    expect((await loadFeatureRecordsWithDigest(shards)).digest).toBe(await digestSource(shards));
    writeFileSync(path, `${JSON.stringify(feature(0))}\n`);
    expect((await loadFeatureRecordsWithDigest(path)).digest).not.toBe(loaded.digest);
  });

  const bad = async (name: string, text: string) => {
    const error = await loadFeatureRecords(file(name, text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordFormatError);
    return (error as Error).message;
  };

  it('names file, line and field for NaN, Infinity, length mismatch, empty records and unknown shapes', async () => {
    const good = JSON.stringify(feature(0));
    const nan = good.replace('"activations":[1,0]', '"activations":[NaN,0]');
    expect(await bad('nan.jsonl', `${good}\n${nan}\n`)).toMatch(
      /nan\.jsonl \(line 2\): not valid JSON \(NaN\/Infinity are not valid activations\)/,
    );
    const mismatch = JSON.stringify({ ...feature(1), top: [{ tokens: ['a', 'b'], activations: [1] }] });
    expect(await bad('mismatch.jsonl', `${good}\n${mismatch}\n`)).toMatch(
      /mismatch\.jsonl \(line 2, top\[0\]\): tokens and activations differ in length/,
    );
    const empty = JSON.stringify({ ...feature(1), random: [{ tokens: [], activations: [] }] });
    expect(await bad('empty.jsonl', empty)).toMatch(
      /empty\.jsonl \(line 1, random\[0\]\.tokens\): record has no tokens/,
    );
    expect(await bad('shape.json', '{"hello": 1}')).toMatch(/shape\.json: unknown JSON shape/);
    expect(await bad('nothing.jsonl', '\n\n')).toMatch(/contains no feature records/);
    expect(await bad('twice.jsonl', `${good}\n${good}\n`)).toMatch(/appears twice/);
    const missing = await loadFeatureRecords(join(directory, 'absent.jsonl')).catch((e: Error) => e.message);
    expect(missing).toMatch(/absent\.jsonl: no such file/);
  });

  const neuronRecord = (layer: number, neuron: number, extra = '') => `{
    "dataclass_name": "NeuronRecord",
    "neuron_id": {"dataclass_name": "NeuronId", "layer_index": ${layer}, "neuron_index": ${neuron}},
    "random_sample": [{"dataclass_name": "ActivationRecord", "tokens": [" x", " y"], "activations": [0.0, 0.5]}],
    "random_sample_by_quantile": [[{"tokens": [" q"], "activations": [0.2]}]],
    "quantile_boundaries": [0.0, 0.1],
    "mean": NaN, "variance": 0.25, "skewness": 1.5, "kurtosis": 3.0,
    "most_positive_activation_records": [{"tokens": [" the", " cat"], "activations": [2.5, ${extra || '0.0'}]}]
  }`;

  it('reads OpenAI NeuronRecord files (Python NaN stats become null) and {layer}/{neuron}.json directories', async () => {
    const [one] = await loadFeatureRecords(file('neuron.json', neuronRecord(3, 7)), { model: 'gpt2-small' });
    expect(one!.id).toEqual({ model: 'gpt2-small', layer: 3, kind: 'neuron', index: 7 });
    expect(one!.stats).toMatchObject({ mean: null, variance: 0.25, skewness: 1.5, maxActivation: 2.5, density: null });
    expect(one!.quantiles?.[0]?.[0]?.tokens).toEqual([' q']);
    const tree = join(directory, 'tree');
    for (const [layer, neuron] of [
      [0, 10],
      [0, 2],
      [1, 0],
    ] as const) {
      mkdirSync(join(tree, String(layer)), { recursive: true });
      writeFileSync(join(tree, String(layer), `${neuron}.json`), neuronRecord(layer, neuron));
    }
    const all = await loadFeatureRecords(tree);
    expect(all.map((f) => [f.id.layer, f.id.index])).toEqual([
      [0, 2],
      [0, 10],
      [1, 0],
    ]);
  });

  it('rejects a NaN activation in a NeuronRecord naming the record and position', async () => {
    const message = await bad('nan-neuron.json', neuronRecord(0, 0, 'NaN'));
    expect(message).toMatch(
      /nan-neuron\.json \(most_positive_activation_records\[0\]\.activations\[1\]\): activation is NaN/,
    );
    const infinite = await bad('inf-neuron.json', neuronRecord(0, 0, '-Infinity'));
    expect(infinite).toMatch(/activation is -Infinity/);
  });
});
