import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBrownTag } from '../../src/subject/brown-tags.ts';
import { mulberry32 } from '../../src/common/random.ts';
import { featureKey } from '../../src/records/feature-key.ts';
import { ActivationCache, ActivationCacheError, ActivationCacheWriter } from '../../src/subject/activation-cache.ts';
import { floatToHalf, halfToFloat } from '../../src/common/float16.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { formatCorpusSampleLine, readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { extractActivations, ExtractionSetupError } from '../../src/subject/extract-activations.ts';
import { ExtractionCorpusError, readExtractionCorpus } from '../../src/subject/extraction-corpus.ts';
import { parseFeatureList } from '../../src/subject/feature-list.ts';
import type { ForwardPool } from '../../src/subject/parallel-forward.ts';
import { recordsFromCache } from '../../src/subject/records-from-cache.ts';
import { tagAssociations } from '../../src/subject/tag-associations.ts';
import { saveGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { loadSubjectModel, SubjectModelError, type SubjectModel } from '../../src/subject/load-subject.ts';
import { initGpt2Weights } from '../../src/subject/train-lm.ts';
import { tinyGpt2Config, writeTinyGpt2Folder } from '../helpers/tiny-gpt2.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-extract-'));
const modelDir = join(temporary, 'tiny-gpt2');
const corpusFile = join(temporary, 'corpus.jsonl');
const hook = 'blocks.0.mlp.hook_post';
const config = tinyGpt2Config();
let subject: SubjectModel;
let folders = 0;
const freshFolder = () => join(temporary, `cache-${folders++}`);

/** The first `characters` of the first `count` documents of the held-out Brown sample, as a sample file. */
function writeSmallCorpus(file: string, count: number, characters: number): void {
  const documents = readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl')).slice(0, count);
  const lines = documents.map((document) => {
    const words = document.words.filter((word) => word.end <= characters);
    const text = document.text.slice(0, words.at(-1)!.end);
    return formatCorpusSampleLine({ ...document, text, words });
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function filesOf(directory: string): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(directory)
      .sort()
      .map((name) => [name, readFileSync(join(directory, name))]),
  );
}

/** The hook's activation for one unpadded sequence, run alone. */
function directActivation(ids: Int32Array): Float32Array {
  const captured = tf.tidy(() => {
    let value: tf.Tensor | undefined;
    subject.model.forward(ids, 1, { hooks: { [hook]: (activation) => void (value = activation) }, stopAt: hook });
    return value!;
  });
  const data = captured.dataSync() as Float32Array;
  captured.dispose();
  return data;
}

beforeAll(async () => {
  await initBackend('wasm');
  writeTinyGpt2Folder(modelDir, config, 7);
  writeSmallCorpus(corpusFile, 3, 1200);
  subject = await loadSubjectModel(modelDir);
});
afterAll(() => {
  subject?.model.dispose();
  rmSync(temporary, { recursive: true, force: true });
});

describe('loadSubjectModel', () => {
  it('names the folder and refuses a tokenizer larger than the embedding', async () => {
    expect(subject.name).toBe('tiny-gpt2');
    expect(subject.digests.model).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(loadSubjectModel(join(temporary, 'missing'))).rejects.toThrow(/folder not found/);
    const small = join(temporary, 'small-vocab');
    mkdirSync(small);
    saveGpt2Folder(small, { ...config, vocabSize: 1000 }, initGpt2Weights({ ...config, vocabSize: 1000 }, 1), {
      dtype: 'F32',
    });
    copyFileSync(join(root, 'data/subject/tokenizer.json'), join(small, 'tokenizer.json'));
    await expect(loadSubjectModel(small)).rejects.toThrow(SubjectModelError);
    await expect(loadSubjectModel(small)).rejects.toThrow(/4096 token ids but config\.json's vocab_size is 1000/);
  });
});

describe('extractActivations', () => {
  it('stores the hook activation of a direct forward pass (to half precision), the tokens and the Brown tags', async () => {
    const cacheDir = freshFolder();
    const progress: number[] = [];
    const result = await extractActivations({
      modelDir: subject,
      hook,
      corpus: corpusFile,
      cacheDir,
      batchSize: 5,
      onProgress: (p) => progress.push(p.tokens),
    });
    const cache = ActivationCache.open(cacheDir);
    const { header } = cache;
    expect(header).toMatchObject({
      model: 'tiny-gpt2',
      hook,
      width: 24,
      sequenceLength: 16,
      dtype: 'f16',
      corpusComplete: true,
      bosTokenId: subject.tokenizer.eosId,
    });
    expect(result.tokensAdded).toBe(header.tokens);
    expect(progress.at(-1)).toBe(header.tokens);
    expect(result.tokensPerSecond).toBeGreaterThan(0);

    // Tokens: each document is <|endoftext|> + its tokens, cut into sequences of 16.
    const corpus = readCorpusSample(corpusFile);
    const tokens = cache.readTokens();
    const sequences = cache.readSequences();
    const starts = cache.sequenceStarts(sequences);
    let expected: number[] = [];
    for (const document of corpus)
      expected = expected.concat([subject.tokenizer.eosId!, ...subject.tokenizer.encode(document.text)]);
    expect(Array.from(tokens)).toEqual(expected);
    expect(sequences.every((sequence) => sequence.length <= 16)).toBe(true);
    expect(sequences.filter((sequence) => sequence.offset === 0)).toHaveLength(3);

    // Activations: every sequence equals the model run on that sequence alone (batches were padded).
    for (let index = 0; index < sequences.length; index++) {
      const direct = directActivation(tokens.subarray(starts[index]!, starts[index + 1]!));
      const stored = cache.readRows(starts[index]!, starts[index + 1]!);
      for (let at = 0; at < direct.length; at++) {
        expect(Math.abs(stored[at]! - direct[at]!)).toBeLessThanOrEqual(
          Math.abs(direct[at]!) * 2 ** -11 + 2 ** -24 + 1e-6,
        );
      }
      // Exactly the half-float rounding of the float32 activation, within float32 noise of the batched run.
      expect(stored[0]).toBeCloseTo(halfToFloat(floatToHalf(direct[0]!)), 3);
    }

    // Tags: a token takes the tag of the word holding its first non-space character.
    const tags = cache.readTags()!;
    const vocabulary = header.tagVocabulary!;
    const first = corpus[0]!;
    const { offsets } = subject.tokenizer.encodeWithOffsets(first.text);
    expect(tags[0]).toBe(0); // <|endoftext|>
    for (let token = 0; token < 40; token++) {
      const [start, end] = offsets[token]!;
      const position = start + (first.text.slice(start, end).length - first.text.slice(start, end).trimStart().length);
      const word = first.words.find((candidate) => candidate.start <= position && position < candidate.end);
      expect(vocabulary[tags[token + 1]!]).toBe(position < end && word ? word.tag : '');
    }
  });

  it('an interrupted run (a crash after k batches, or an abort) resumes to byte-identical files', async () => {
    const straight = freshFolder();
    await extractActivations({
      modelDir: subject,
      hook,
      corpus: corpusFile,
      cacheDir: straight,
      batchSize: 4,
      maxTokens: 700,
    });

    const crashed = freshFolder();
    let batches = 0;
    await expect(
      extractActivations({
        modelDir: subject,
        hook,
        corpus: corpusFile,
        cacheDir: crashed,
        batchSize: 4,
        maxTokens: 700,
        onProgress: () => {
          if (++batches === 3) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(ActivationCache.open(crashed).header.sequences).toBe(12);
    const resumed = await extractActivations({
      modelDir: subject,
      hook,
      corpus: corpusFile,
      cacheDir: crashed,
      batchSize: 4,
      maxTokens: 700,
      resume: true,
    });
    expect(resumed.resumedTokens).toBeGreaterThan(0);
    expect(filesOf(crashed)).toEqual(filesOf(straight));

    const aborted = freshFolder();
    const controller = new AbortController();
    const partial = await extractActivations({
      modelDir: subject,
      hook,
      corpus: corpusFile,
      cacheDir: aborted,
      batchSize: 4,
      maxTokens: 700,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(partial.interrupted).toBe(true);
    expect(partial.header.sequences).toBeLessThan(ActivationCache.open(straight).header.sequences);
    await extractActivations({
      modelDir: subject,
      hook,
      corpus: corpusFile,
      cacheDir: aborted,
      batchSize: 4,
      maxTokens: 700,
      resume: true,
    });
    expect(filesOf(aborted)).toEqual(filesOf(straight));
    expect(ActivationCache.open(straight).header.tokens).toBeLessThanOrEqual(700);
  });

  it('refuses a resume with another hook, an existing cache without resume, an unknown hook and a bad corpus', async () => {
    const cacheDir = freshFolder();
    await extractActivations({ modelDir: subject, hook, corpus: corpusFile, cacheDir, maxTokens: 100 });
    const other = { modelDir: subject, corpus: corpusFile, cacheDir, maxTokens: 200, resume: true };
    await expect(extractActivations({ ...other, hook: 'blocks.0.mlp.hook_pre' })).rejects.toThrow(ActivationCacheError);
    await expect(extractActivations({ ...other, hook: 'blocks.0.mlp.hook_pre' })).rejects.toThrow(
      /hook: the cache has "blocks\.0\.mlp\.hook_post", this run "blocks\.0\.mlp\.hook_pre"/,
    );
    await expect(extractActivations({ ...other, hook, resume: false })).rejects.toThrow(/already holds a cache/);
    await expect(extractActivations({ ...other, hook: 'blocks.3.mlp.hook_post' })).rejects.toThrow(
      ExtractionSetupError,
    );
    await expect(extractActivations({ ...other, hook: 'blocks.0.attn.hook_pattern' })).rejects.toThrow(
      /valid hooks: hook_embed, hook_pos_embed, blocks\.0\.hook_resid_pre/,
    );
    const otherCorpus = join(temporary, 'other-corpus.txt');
    writeFileSync(otherCorpus, 'One document.\n\nAnother one.\n');
    await expect(extractActivations({ ...other, hook, corpus: otherCorpus })).rejects.toThrow(
      /corpus format: the cache has "brown-sample", this run "plain-text"/,
    );
    // A resume that asks for more tokens continues where the cache stopped.
    const more = await extractActivations({ ...other, hook });
    expect(more.resumedTokens).toBeGreaterThan(0);
    expect(more.header.tokens).toBeGreaterThan(more.resumedTokens);

    expect(() => readExtractionCorpus(join(temporary, 'nope.txt'))).toThrow(/file not found/);
    const bad = join(temporary, 'bad.jsonl');
    writeFileSync(bad, '{"text": "fine"}\n{"title": "no text"}\n');
    expect(() => readExtractionCorpus(bad)).toThrow(ExtractionCorpusError);
    expect(() => readExtractionCorpus(bad)).toThrow(/line 2 has no string "text" field/);
  });

  it("refuses a forward pool of another model's configuration, naming both, before the cache folder is made", async () => {
    // A stand-in: the check reads only the pool's configuration (a real pool costs seconds to start; the one of
    // test/subject/parallel-forward.test.ts serves an extraction of its own model).
    const pool = {
      config: { ...subject.config, nLayer: subject.config.nLayer + 1 },
      size: 2,
    } as unknown as ForwardPool;
    const cacheDir = freshFolder();
    const error = await extractActivations({ modelDir: subject, hook, corpus: corpusFile, cacheDir, pool }).catch(
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(RangeError);
    expect((error as RangeError).message).toBe(
      `extract: the forward pool's model is not the subject model tiny-gpt2: nLayer ${subject.config.nLayer + 1} in the pool, ${subject.config.nLayer} in tiny-gpt2`,
    );
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('reads plain text (blank-line separated) and JSONL {"text"} corpora, without tags', async () => {
    const plain = join(temporary, 'plain.txt');
    writeFileSync(plain, 'The first document\nhas two lines.\n\n\n  \nThe second one.\n');
    const corpus = readExtractionCorpus(plain);
    expect(corpus.documents.map((document) => document.text)).toEqual([
      'The first document\nhas two lines.',
      'The second one.',
    ]);
    expect(corpus).toMatchObject({ format: 'plain-text', tagVocabulary: null });
    const jsonl = join(temporary, 'texts.jsonl');
    writeFileSync(jsonl, '{"text": "A cat sat.", "id": 1}\n\n{"text": "A dog ran."}\n');
    expect(readExtractionCorpus(jsonl)).toMatchObject({
      format: 'jsonl-text',
      documents: [{ text: 'A cat sat.' }, { text: 'A dog ran.' }],
    });
    const cacheDir = freshFolder();
    await extractActivations({ modelDir: subject, hook: 'blocks.0.hook_resid_post', corpus: jsonl, cacheDir });
    const cache = ActivationCache.open(cacheDir);
    expect(cache.header).toMatchObject({ width: 16, tagVocabulary: null, sequences: 2 });
    expect(cache.readTags()).toBeNull();
    const { records, referenceLabels } = recordsFromCache(cacheDir, { features: [0, 1], windowSize: 4 });
    expect(records).toHaveLength(2);
    expect(referenceLabels.size).toBe(0);
  });
});

describe('recordsFromCache', () => {
  it("windows show the model's own token strings, never the inserted <|endoftext|>, and top records hold the highest activations", async () => {
    const cacheDir = freshFolder();
    await extractActivations({ modelDir: subject, hook, corpus: corpusFile, cacheDir, batchSize: 8 });
    const cache = ActivationCache.open(cacheDir);
    const tokens = cache.readTokens();
    const all = cache.readRows(0, cache.tokenCount);
    const bos = subject.tokenizer.eosId!;
    const {
      records,
      bestTags,
      tokens: kept,
    } = recordsFromCache(cacheDir, { features: [0, 5, 23], chunkFeatures: 2, topK: 5, randomCount: 5, windowSize: 16 });
    expect(records.map((record) => featureKey(record.id))).toEqual([
      `tiny-gpt2/${hook}/neuron/0`,
      `tiny-gpt2/${hook}/neuron/5`,
      `tiny-gpt2/${hook}/neuron/23`,
    ]);
    expect(kept).toBe(cache.tokenCount - 3);
    const text = new Set(subject.tokenizer.tokenStrings(Array.from(tokens).filter((id) => id !== bos)));
    for (const record of records) {
      const feature = record.id.index;
      for (const window of [...record.top, ...record.random]) {
        expect(window.tokens).not.toContain('<|endoftext|>');
        for (const token of window.tokens) expect(text.has(token)).toBe(true);
      }
      // The top window holds the largest activation of the feature over all tokens but the inserted ones.
      let max = -Infinity;
      for (let token = 0; token < tokens.length; token++)
        if (tokens[token] !== bos) max = Math.max(max, all[token * cache.width + feature]!);
      expect(Math.max(...record.top[0]!.activations)).toBe(max);
      expect(record.stats.maxActivation).toBe(max);
      const maxima = record.top.map((window) => Math.max(...window.activations));
      expect(maxima).toEqual([...maxima].sort((left, right) => right - left));
      expect(bestTags.has(featureKey(record.id))).toBe(true);
    }
    // A window's tokens and activations are those of the cache at the same place.
    const window = records[0]!.top[0]!;
    const strings = subject.tokenizer.tokenStrings(Array.from(tokens));
    const place = strings.findIndex(
      (_, start) =>
        window.tokens.every((token, offset) => strings[start + offset] === token) &&
        window.activations.every((value, offset) => all[(start + offset) * cache.width] === value),
    );
    expect(place).toBeGreaterThanOrEqual(0);

    // Chunked reading gives the same records as one chunk.
    const single = recordsFromCache(cacheDir, {
      features: [0, 5, 23],
      chunkFeatures: 64,
      topK: 5,
      randomCount: 5,
      windowSize: 16,
    });
    expect(single.records).toEqual(records);
  });

  it('a feature planted on a Brown tag gets that tag as its reference label; a random feature gets none', async () => {
    const source = freshFolder();
    await extractActivations({ modelDir: subject, hook, corpus: corpusFile, cacheDir: source });
    const cache = ActivationCache.open(source);
    const vocabulary = cache.header.tagVocabulary!;
    const tags = cache.readTags()!;
    const tokens = cache.readTokens();
    const base = (index: number) => (index === 0 ? null : parseBrownTag(vocabulary[index]!).parts[0]);
    const random = mulberry32(3);
    const width = 4;
    const activations = new Float32Array(tokens.length * width);
    for (let token = 0; token < tokens.length; token++) {
      const tag = base(tags[token]!);
      activations[token * width] = (tag === 'at' ? 3 : 0) + random() * 0.2; // articles
      activations[token * width + 1] = random(); // noise
      activations[token * width + 2] = tag === 'nn' || tag === 'nns' ? 1 + random() : random() * 0.5; // nouns, partly
      activations[token * width + 3] = tag === 'in' ? -2 : 0; // negative on prepositions: no positive tag
    }
    const planted = freshFolder();
    const writer = ActivationCacheWriter.open(planted, { ...cache.header, width, hook: 'planted' });
    await writer.append({ sequences: cache.readSequences(), tokens, activations, tags });
    writer.close();
    copyFileSync(join(source, 'tokenizer.json'), join(planted, 'tokenizer.json'));

    const { referenceLabels, bestTags } = recordsFromCache(planted, { chunkFeatures: 3, windowSize: 16 });
    const key = (index: number) => `tiny-gpt2/planted/neuron/${index}`;
    expect(referenceLabels.get(key(0))).toMatchObject({ tag: 'at', measure: 'point-biserial r' });
    expect(referenceLabels.get(key(0))!.score).toBeGreaterThan(0.9);
    expect(referenceLabels.get(key(0))!.description).toBe('Brown tag "at": articles ("the", "a", "an", "no")');
    expect(referenceLabels.has(key(1))).toBe(false);
    expect(Math.abs(bestTags.get(key(1))!.score)).toBeLessThan(0.3);
    expect(referenceLabels.get(key(2))?.tag).toBe('nn');
    expect(referenceLabels.has(key(3))).toBe(false);
  });
});

describe('helpers', () => {
  it('parses feature lists', () => {
    expect(parseFeatureList('all', 8)).toBe('all');
    expect(parseFeatureList('0-3,7,2', 8)).toEqual([0, 1, 2, 3, 7]);
    expect(() => parseFeatureList('0-8', 8)).toThrow(/out of range/);
    expect(() => parseFeatureList('a', 8)).toThrow(/bad feature list/);
  });

  it('point-biserial r matches Pearson r with the indicator', () => {
    const random = mulberry32(9);
    const rowTag = Int32Array.from({ length: 500 }, () => Math.floor(random() * 4) - 1);
    const values = Float32Array.from({ length: 500 }, (_, row) => (rowTag[row] === 2 ? 1 : 0) + random());
    const [association] = tagAssociations(values, 1, rowTag, ['a', 'b', 'c']);
    const indicator = Array.from(rowTag, (tag) => (tag === 2 ? 1 : 0));
    const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((sum, x) => sum + x, 0) / xs.length;
    const mx = mean(values);
    const my = mean(indicator);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let row = 0; row < 500; row++) {
      sxy += (values[row]! - mx) * (indicator[row]! - my);
      sxx += (values[row]! - mx) ** 2;
      syy += (indicator[row]! - my) ** 2;
    }
    expect(association!.tag).toBe('c');
    expect(association!.score).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 6);
  });
});
