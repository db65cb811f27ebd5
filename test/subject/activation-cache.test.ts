import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ActivationCache,
  ActivationCacheError,
  ActivationCacheWriter,
  activationCacheFormat,
  activationCacheVersion,
  cacheFiles,
  type ActivationCacheIdentity,
  type CacheSequence,
} from '../../src/subject/activation-cache.ts';
import { mulberry32 } from '../../src/common/random.ts';
import {
  float32ToHalfBits,
  floatToHalf as float32ToFloat16Bits,
  halfFloatTable,
  halfToFloat as float16BitsToFloat32,
} from '../../src/common/float16.ts';

const temporary = mkdtempSync(join(tmpdir(), 'autointerp-cache-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));
let folders = 0;
const freshFolder = () => join(temporary, `cache-${folders++}`);

const width = 7;
const identity: ActivationCacheIdentity = {
  format: activationCacheFormat,
  version: activationCacheVersion,
  model: 'tiny',
  modelDigest: 'sha256:model',
  tokenizerDigest: 'sha256:tokenizer',
  hook: 'blocks.0.mlp.hook_post',
  width,
  sequenceLength: 8,
  dtype: 'f16',
  bosTokenId: 99,
  corpus: { path: '/corpus.jsonl', format: 'brown-sample', digest: 'sha256:corpus', documents: 3 },
  tagVocabulary: ['', 'at', 'nn'],
};

/** A batch of `count` sequences with deterministic values (exact in half precision: multiples of 1/64 below 64). */
function batch(firstSequence: number, lengths: number[]) {
  const sequences: CacheSequence[] = lengths.map((length, index) => ({
    document: firstSequence + index,
    offset: 0,
    length,
  }));
  const tokenCount = lengths.reduce((sum, length) => sum + length, 0);
  const tokens = Int32Array.from({ length: tokenCount }, (_, index) => firstSequence * 100 + index);
  const activations = Float32Array.from(
    { length: tokenCount * width },
    (_, index) => (((firstSequence * 131 + index * 17) % 509) - 254) / 64,
  );
  const tags = Uint16Array.from({ length: tokenCount }, (_, index) => index % 3);
  return { sequences, tokens, activations, tags };
}

function fileBytes(directory: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of Object.values(cacheFiles)) out[name] = readFileSync(join(directory, name));
  return out;
}

describe('half floats', () => {
  it('round to nearest, ties to even, at the edges of the range', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to 65536: ties to even → overflow
    expect(float32ToFloat16Bits(1e9)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN)))).toBe(true);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa 0
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie → even (0)
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp → 2
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normal range
  });

  it('every half float round-trips, and random floats land within half an ulp', () => {
    const notRoundTripped: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = halfFloatTable()[bits]!;
      if (!Number.isNaN(value) && float32ToFloat16Bits(value) !== bits) notRoundTripped.push(bits);
    }
    expect(notRoundTripped).toEqual([]);
    const random = mulberry32(5);
    const tooFar: number[] = [];
    for (let index = 0; index < 20000; index++) {
      const value = Math.fround((random() - 0.5) * 2 ** Math.floor(random() * 30 - 15));
      const rounded = float16BitsToFloat32(float32ToFloat16Bits(value));
      const exponent = Math.max(Math.floor(Math.log2(Math.abs(value))), -14);
      if (Math.abs(rounded - value) > 2 ** (exponent - 11)) tooFar.push(value);
    }
    expect(tooFar).toEqual([]);
  });

  it('the bulk conversion equals the scalar one everywhere', () => {
    const random = mulberry32(11);
    const values = new Float32Array(200000);
    for (let index = 0; index < values.length; index++)
      values[index] = (random() - 0.5) * 2 ** Math.floor(random() * 50 - 30);
    values.set([
      0,
      -0,
      1,
      65504,
      65519,
      65520,
      65536,
      1e9,
      -1e9,
      Infinity,
      -Infinity,
      Number.NaN,
      2 ** -14,
      2 ** -14 - 2 ** -25,
      2 ** -24,
      2 ** -25,
      6e-8,
      -3e-5,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
    ]);
    const bits = new Uint32Array(1);
    const floats = new Float32Array(bits.buffer);
    for (const pattern of [
      0x387fffff, 0x38800000, 0x477fefff, 0x477ff000, 0x47800000, 0xc77ff000, 0x38801000, 0x38803000,
    ]) {
      bits[0] = pattern;
      values[values.length - 1 - (pattern % 97)] = floats[0]!;
    }
    const bulk = float32ToHalfBits(values);
    const mismatches: number[] = [];
    for (let index = 0; index < values.length; index++)
      if (bulk[index] !== float32ToFloat16Bits(values[index]!)) mismatches.push(values[index]!);
    expect(mismatches).toEqual([]);
  });
});

describe('activation cache', () => {
  it('reads back what was appended: rows, columns, chunks, row subsets, tags and sequences', async () => {
    const directory = freshFolder();
    const writer = ActivationCacheWriter.open(directory, identity);
    const first = batch(0, [8, 3]);
    const second = batch(2, [5]);
    await writer.append(first);
    await writer.append(second);
    writer.setCorpusComplete(true);
    writer.close();

    const cache = ActivationCache.open(directory);
    expect(cache.header).toMatchObject({ sequences: 3, tokens: 16, corpusComplete: true, hook: identity.hook });
    expect(cache.readSequences()).toEqual([...first.sequences, ...second.sequences]);
    expect(Array.from(cache.sequenceStarts())).toEqual([0, 8, 11, 16]);
    expect(Array.from(cache.readTokens())).toEqual([...first.tokens, ...second.tokens]);
    expect(Array.from(cache.readTags()!)).toEqual([...first.tags, ...second.tags]);
    const all = new Float32Array([...first.activations, ...second.activations]);
    expect(cache.readRows(0, 16)).toEqual(all);
    expect(cache.readRows(9, 12)).toEqual(all.subarray(9 * width, 12 * width));

    // Columns (any order, tiny read blocks to cross block edges) equal the full matrix's columns.
    const features = [6, 0, 3];
    const columns = cache.readColumns(features, { blockBytes: 3 * width * 2 });
    for (let row = 0; row < 16; row++) {
      features.forEach((feature, column) => expect(columns[row * 3 + column]).toBe(all[row * width + feature]));
    }
    const chunks = [...cache.columnChunks([0, 1, 2, 3, 4, 5, 6], 3)];
    expect(chunks.map((chunk) => chunk.features)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    for (const chunk of chunks) expect(chunk.values).toEqual(cache.readColumns(chunk.features));
    const rows = Int32Array.from([1, 2, 8, 15]);
    const subset = cache.readColumns([2, 5], { rows, blockBytes: 2 * width * 2 });
    expect(Array.from(subset)).toEqual(Array.from(rows).flatMap((row) => [all[row * width + 2], all[row * width + 5]]));
  });

  it('resume cuts debris of an interrupted append and ends byte-identical to an uninterrupted write', async () => {
    const straight = freshFolder();
    const writer = ActivationCacheWriter.open(straight, identity);
    for (const [first, lengths] of [
      [0, [8, 8]],
      [2, [4]],
      [3, [8, 2]],
    ] as const)
      await writer.append(batch(first, [...lengths]));
    writer.close();

    const crashed = freshFolder();
    const before = ActivationCacheWriter.open(crashed, identity);
    await before.append(batch(0, [8, 8]));
    before.close();
    // A crash after the data of the next batch was partly written, before cache.json was rewritten.
    appendFileSync(join(crashed, cacheFiles.activations), Buffer.alloc(37, 0xab));
    appendFileSync(join(crashed, cacheFiles.tokens), Buffer.alloc(12, 0xcd));
    expect(ActivationCache.open(crashed).readRows(0, 16)).toEqual(ActivationCache.open(straight).readRows(0, 16));
    const after = ActivationCacheWriter.open(crashed, identity, { resume: true });
    expect(statSync(join(crashed, cacheFiles.activations)).size).toBe(16 * width * 2);
    await after.append(batch(2, [4]));
    await after.append(batch(3, [8, 2]));
    after.close();
    expect(fileBytes(crashed)).toEqual(fileBytes(straight));
  });

  it('refuses to overwrite a cache, to resume with another identity, and to read a damaged one', async () => {
    const directory = freshFolder();
    const writer = ActivationCacheWriter.open(directory, identity);
    await writer.append(batch(0, [8]));
    writer.close();
    expect(() => ActivationCacheWriter.open(directory, identity)).toThrow(
      /already holds a cache \(8 tokens of tiny at blocks\.0\.mlp\.hook_post\)/,
    );
    expect(() =>
      ActivationCacheWriter.open(directory, { ...identity, hook: 'blocks.0.mlp.hook_pre' }, { resume: true }),
    ).toThrow(
      /cannot resume with a different setup — hook: the cache has "blocks\.0\.mlp\.hook_post", this run "blocks\.0\.mlp\.hook_pre"/,
    );
    expect(() =>
      ActivationCacheWriter.open(
        directory,
        { ...identity, corpus: { ...identity.corpus, digest: 'sha256:other' } },
        { resume: true },
      ),
    ).toThrow(/corpus digest/);
    expect(() =>
      ActivationCacheWriter.open(directory, { ...identity, modelDigest: 'sha256:other' }, { resume: true }),
    ).toThrow(ActivationCacheError);

    truncateSync(join(directory, cacheFiles.activations), 10);
    expect(() => ActivationCache.open(directory)).toThrow(/activations\.bin has 10 bytes, fewer than the 112 recorded/);
    expect(() => ActivationCacheWriter.open(directory, identity, { resume: true })).toThrow(/damaged/);
    expect(() => ActivationCache.open(join(temporary, 'nothing-here'))).toThrow(/folder not found/);
  });

  it('checks appended batches against the header', async () => {
    const directory = freshFolder();
    const writer = ActivationCacheWriter.open(directory, identity);
    const good = batch(0, [4]);
    await expect(writer.append({ ...good, activations: good.activations.subarray(1) })).rejects.toThrow(
      /activations, expected 4 × 7/,
    );
    const { tags: _tags, ...withoutTags } = good;
    await expect(writer.append(withoutTags)).rejects.toThrow(/expected 4 tags/);
    writer.close();
    expect(ActivationCache.open(directory).header.tokens).toBe(0);
  });
});
