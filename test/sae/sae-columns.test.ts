import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { saeColumnSource } from '../../src/sae/sae-columns.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import { SparseColumnStore } from '../../src/sae/sparse-column-store.ts';
import type { SaeConfig } from '../../src/sae/types.ts';
import {
  ActivationCache,
  ActivationCacheWriter,
  activationCacheFormat,
  activationCacheVersion,
} from '../../src/subject/activation-cache.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { recordChunksFromCache, recordsFromCache } from '../../src/subject/records-from-cache.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-sae-columns-'));
const cacheDir = join(temporary, 'cache');
const hook = 'blocks.0.mlp.hook_post';
const width = 16;
const dSae = 96;
const sequences = 40;
const sequenceLength = 32;

/** A random SAE whose latents are zero on most tokens (negative encoder biases), standard or topk. */
function randomSae(architecture: 'standard' | 'topk'): SparseAutoencoder {
  const random = mulberry32(architecture === 'standard' ? 11 : 12);
  const gaussian = () => (random() + random() + random() - 1.5) * 2;
  const config: SaeConfig = {
    dIn: width,
    dSae,
    architecture,
    ...(architecture === 'topk' ? { k: 6 } : {}),
    applyBDecToInput: true,
    normalizeActivations: 'none',
    hookName: hook,
    modelName: 'synthetic',
  };
  return SparseAutoencoder.fromWeights(config, {
    W_enc: Float32Array.from({ length: width * dSae }, gaussian),
    b_enc: Float32Array.from({ length: dSae }, () => -2 - random() * 2),
    W_dec: Float32Array.from({ length: dSae * width }, gaussian),
    b_dec: Float32Array.from({ length: width }, () => random() - 0.5),
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  const writer = ActivationCacheWriter.open(cacheDir, {
    format: activationCacheFormat,
    version: activationCacheVersion,
    model: 'synthetic',
    modelDigest: 'sha256:model',
    tokenizerDigest: 'sha256:tokenizer',
    hook,
    width,
    sequenceLength,
    dtype: 'f16',
    bosTokenId: null,
    corpus: { path: '/corpus.txt', format: 'plain-text', digest: 'sha256:corpus', documents: sequences },
    tagVocabulary: null,
  });
  const random = mulberry32(5);
  const tokenCount = sequences * sequenceLength;
  await writer.append({
    sequences: Array.from({ length: sequences }, (_, document) => ({ document, offset: 0, length: sequenceLength })),
    tokens: Int32Array.from({ length: tokenCount }, () => Math.floor(random() * 4000)),
    activations: Float32Array.from({ length: tokenCount * width }, () => (random() - 0.5) * 6),
  });
  writer.close();
  copyFileSync(join(root, 'data/subject/tokenizer.json'), join(cacheDir, 'tokenizer.json'));
});
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** The per-chunk path (`read`: the cache read and the chunk's latents encoded once per chunk). */
function perChunk(source: ReturnType<typeof saeColumnSource>): ReturnType<typeof saeColumnSource> {
  return { width: source.width, kind: source.kind, sae: source.sae, read: source.read.bind(source) };
}

function expectSameRecords(
  actual: ReturnType<typeof recordsFromCache>['records'],
  expected: ReturnType<typeof recordsFromCache>['records'],
): void {
  expect(actual.map((record) => record.id)).toEqual(expected.map((record) => record.id));
  actual.forEach((record, index) => {
    const reference = expected[index]!;
    expect(record.top.map((window) => window.tokens)).toEqual(reference.top.map((window) => window.tokens));
    expect(record.stats.maxActivation).toBeCloseTo(reference.stats.maxActivation, 4);
    expect(record.stats.density ?? -1).toBeCloseTo(reference.stats.density ?? -1, 6);
  });
}

describe('saeColumnSource chunks', () => {
  for (const architecture of ['standard', 'topk'] as const) {
    it(`builds the same records as encoding per chunk, reading the cache once (${architecture})`, () => {
      const sae = randomSae(architecture);
      try {
        const passes: { latents: number; bytes: number }[] = [];
        const source = saeColumnSource(sae, 'random', { onPass: (pass) => passes.push(pass) });
        const options = { chunkFeatures: 10, windowSize: 8, topK: 4, randomCount: 3 };
        const onePass = recordsFromCache(cacheDir, { ...options, columns: source });
        expect(passes).toHaveLength(1);
        expect(passes[0]!.latents).toBe(dSae);
        expectSameRecords(
          onePass.records,
          recordsFromCache(cacheDir, { ...options, columns: perChunk(source) }).records,
        );
        // A subset in any order comes back in that order.
        const subset = [40, 3, 95, 7];
        expectSameRecords(
          recordsFromCache(cacheDir, { ...options, columns: source, features: subset }).records,
          recordsFromCache(cacheDir, { ...options, columns: perChunk(source), features: subset }).records,
        );
      } finally {
        sae.dispose();
      }
    });
  }

  it('holds the nonzeros of a pass to memoryBytes, taking more passes when they do not fit', () => {
    const sae = randomSae('standard');
    try {
      const options = { chunkFeatures: 7, windowSize: 8, topK: 4, randomCount: 3 };
      const unbounded: { latents: number; bytes: number }[] = [];
      const reference = recordsFromCache(cacheDir, {
        ...options,
        columns: saeColumnSource(sae, 'random', { onPass: (pass) => unbounded.push(pass) }),
      });
      const memoryBytes = Math.floor(unbounded[0]!.bytes / 5);
      const passes: { latents: number; bytes: number }[] = [];
      const bounded = recordsFromCache(cacheDir, {
        ...options,
        columns: saeColumnSource(sae, 'random', { memoryBytes, blockBytes: 4096, onPass: (pass) => passes.push(pass) }),
      });
      expect(passes.length).toBeGreaterThan(2);
      expect(passes.reduce((sum, pass) => sum + pass.latents, 0)).toBe(dSae);
      for (const pass of passes) expect(pass.bytes).toBeLessThanOrEqual(memoryBytes);
      expectSameRecords(bounded.records, reference.records);
    } finally {
      sae.dispose();
    }
  });

  it('hands out records a chunk at a time (recordChunksFromCache)', () => {
    const sae = randomSae('standard');
    try {
      const chunks = [
        ...recordChunksFromCache(cacheDir, { columns: saeColumnSource(sae, 'random'), chunkFeatures: 32 }),
      ];
      expect(chunks.map((chunk) => chunk.records.length)).toEqual([32, 32, 32]);
      expect(chunks[2]!.records[0]!.id).toMatchObject({ kind: 'sae', sae: 'random', index: 64 });
      expect(ActivationCache.open(cacheDir).tokenCount).toBe(sequences * sequenceLength);
    } finally {
      sae.dispose();
    }
  });
});

describe('SparseColumnStore', () => {
  it('densifies the nonzeros of its columns and forgets the ones it truncates', () => {
    const store = new SparseColumnStore(3);
    store.appendBlock(Float32Array.from([0, 1, 0, 2, 0, 3]), 0);
    store.appendBlock(Float32Array.from([4, 0, 0]), 2);
    expect(Array.from(store.takeDense(0, 2, 3))).toEqual([0, 1, 2, 0, 4, 0]);
    expect(store.bytes).toBeGreaterThan(0);
    store.truncate(2);
    expect(store.bytes).toBe(0);
    expect(store.columnCount).toBe(2);
  });
});
