import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { corpusLines } from '../../src/subject/corpus-lines.ts';
import { readCorpusSample } from '../../src/subject/corpus-sample.ts';
import {
  ExtractionCorpusError,
  openExtractionCorpus,
  readExtractionCorpus,
} from '../../src/subject/extraction-corpus.ts';
import { SequencePlanMismatchError, SequencePlanner, type SequenceBatch } from '../../src/subject/sequence-plan.ts';
import { loadTokenizer } from '../../src/subject/tokenizer.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const brownSample = join(root, 'data/corpus/brown-heldout.jsonl');
const tokenizer = loadTokenizer(join(root, 'data/subject'));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-extraction-corpus-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** How the corpus was read before it was streamed (the whole file as one string): the reference for plain text. */
function wholeFilePlainText(content: string): string[] {
  const documents: string[] = [];
  for (const piece of content.split(/\r?\n[ \t]*\r?\n/)) {
    const text = piece.replace(/^\s*\n/, '').trimEnd();
    if (text.trim() !== '') documents.push(text);
  }
  return documents;
}

const sha = (array: ArrayBufferView): string =>
  createHash('sha256')
    .update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength))
    .digest('hex')
    .slice(0, 16);

/** Sequences [document, offset, length]…, tokens and tags of every batch, concatenated. */
function collect(batches: Iterable<SequenceBatch>) {
  const sequences: number[] = [];
  const tokens: number[] = [];
  const tags: number[] = [];
  let largestBatch = 0;
  for (const batch of batches) {
    for (const sequence of batch.sequences) sequences.push(sequence.document, sequence.offset, sequence.length);
    tokens.push(...batch.tokens);
    if (batch.tags) tags.push(...batch.tags);
    largestBatch = Math.max(largestBatch, batch.sequences.length);
  }
  return {
    sequences: Int32Array.from(sequences),
    tokens: Int32Array.from(tokens),
    tags: Uint16Array.from(tags),
    largestBatch,
  };
}

describe('corpusLines', () => {
  it('gives the lines of the decoded file split at "\\n", whatever the chunk size', () => {
    const file = join(temporary, 'lines.txt');
    // Multi-byte characters across chunk boundaries, a bad byte, CRLF, a byte order mark, no final newline.
    const bytes = Buffer.concat([
      Buffer.from('\ufeffé one\r\n\ntwo €\n', 'utf8'),
      Buffer.from([0xe2, 0x82, 0x0a, 0xff]),
      Buffer.from('\nlast 𝄞', 'utf8'),
    ]);
    writeFileSync(file, bytes);
    const expected = bytes.toString('utf8').split('\n');
    for (const chunkBytes of [1, 2, 3, 5, 1 << 20]) {
      const lines = [...corpusLines(file, { chunkBytes })];
      expect(lines.map((line) => line.text)).toEqual(expected);
      expect(lines.map((line) => line.number)).toEqual(expected.map((_, index) => index + 1));
      expect(lines.at(-1)!.end).toBe(bytes.length);
    }
  });
});

describe('openExtractionCorpus', () => {
  it('splits plain text into the documents that reading the whole file did (random whitespace, small chunks)', () => {
    const random = mulberry32(20261205);
    const pieces = ['a', 'bc', ' ', ' ', '\t', '\r', '\n', '\n', '\n', '\u00a0', '\f', 'é'];
    const file = join(temporary, 'random.txt');
    for (let trial = 0; trial < 300; trial++) {
      let content = 'x';
      const length = 1 + Math.floor(random() * 40);
      for (let index = 0; index < length; index++) content += pieces[Math.floor(random() * pieces.length)];
      writeFileSync(file, content);
      const expected = wholeFilePlainText(content);
      if (!expected.some((text) => text.length > 0)) continue;
      const corpus = readExtractionCorpus(file, { chunkBytes: 1 + (trial % 7) });
      expect(
        corpus.documents.map((document) => document.text),
        JSON.stringify(content),
      ).toEqual(expected);
      expect(corpus.documentCount).toBe(expected.length);
      expect(corpus.digest).toBe(`sha256:${createHash('sha256').update(content).digest('hex')}`);
    }
  });

  it('streams the documents again on each iteration, with the byte offset where each ends', () => {
    const file = join(temporary, 'texts.jsonl');
    writeFileSync(file, '{"text": "A cat sat."}\n\n{"text": "A dog ran.", "id": 2}\n');
    const corpus = openExtractionCorpus(file);
    expect(corpus).toMatchObject({ format: 'jsonl-text', documentCount: 2, bytes: 56, tagVocabulary: null });
    const first = [...corpus.documents];
    expect(first).toEqual([
      { text: 'A cat sat.', endByte: 23 },
      { text: 'A dog ran.', endByte: 56 },
    ]);
    expect([...corpus.documents]).toEqual(first);
  });

  it('finds a bad line, an empty file and a folder in the first pass', () => {
    const bad = join(temporary, 'bad.jsonl');
    writeFileSync(bad, `${'{"text": "fine"}\n'.repeat(1000)}{"text": 3}\n`);
    expect(() => openExtractionCorpus(bad, { chunkBytes: 64 })).toThrow(ExtractionCorpusError);
    expect(() => openExtractionCorpus(bad)).toThrow(/line 1001 has no string "text" field/);
    const broken = join(temporary, 'broken.jsonl');
    writeFileSync(broken, '{"text": "fine"}\n{"text": \n');
    expect(() => openExtractionCorpus(broken)).toThrow(/line 2 is not valid JSON/);
    const empty = join(temporary, 'empty.txt');
    writeFileSync(empty, '\n  \n');
    expect(() => openExtractionCorpus(empty)).toThrow(/is empty/);
    expect(() => openExtractionCorpus(temporary)).toThrow(/is a folder, not a file/);
  });
});

describe('SequencePlanner', () => {
  it('plans the same sequences, tokens and tags as the whole-corpus plan did (golden digests of the Brown sample)', () => {
    const corpus = openExtractionCorpus(brownSample);
    expect(corpus).toMatchObject({ format: 'brown-sample', documentCount: 31, bytes: 1495418 });
    expect(corpus.tagVocabulary).toHaveLength(201);
    // Digests of the plan that held the whole corpus (before it was streamed), sequence length 64.
    const whole = new SequencePlanner(corpus, tokenizer, { sequenceLength: 64, batchSize: 7 });
    const all = collect(whole.batches());
    expect([whole.sequences, whole.tokens, whole.corpusComplete]).toEqual([1664, 105514, true]);
    expect([sha(all.sequences), sha(all.tokens), sha(all.tags)]).toEqual([
      '17772b049364a041',
      '2e9aa3df37e83ed0',
      'c237a5b61af6eb25',
    ]);
    expect(all.largestBatch).toBe(7);
    const limited = new SequencePlanner(corpus, tokenizer, { sequenceLength: 64, batchSize: 16, maxTokens: 5000 });
    const some = collect(limited.batches());
    expect([limited.sequences, some.tokens.length, limited.corpusComplete]).toEqual([78, 4965, false]);
    expect([sha(some.sequences), sha(some.tokens), sha(some.tags)]).toEqual([
      '4ae38149325af37d',
      '25b43a6965a0df9c',
      'f3d0121b152bf9e7',
    ]);
  });

  it('plans plain text (CRLF lines, blank lines with spaces) as the whole-corpus plan did', () => {
    const file = join(temporary, 'plain8.txt');
    const text = readCorpusSample(brownSample)
      .slice(0, 8)
      .map((document, index) => {
        const lines = document.text.split('. ').join('.\n');
        return index % 3 === 0 ? lines.replaceAll('\n', '\r\n') : lines;
      })
      .join('\n\n \n');
    writeFileSync(file, text);
    const planner = new SequencePlanner(openExtractionCorpus(file), tokenizer, { sequenceLength: 64, batchSize: 16 });
    const plan = collect(planner.batches());
    expect([planner.sequences, plan.tokens.length]).toEqual([440, 27890]);
    expect([sha(plan.sequences), sha(plan.tokens)]).toEqual(['9120c9ae4feb1ece', '1275ee7fa9789a5c']);
  });

  it('holds at most a document and a batch of tokens, for a corpus four times as long too', () => {
    const documents = readCorpusSample(brownSample)
      .slice(0, 3)
      .map((document) => document.text.slice(0, 3000));
    const longestDocument = Math.max(...documents.map((text) => tokenizer.encode(text).length + 1));
    const batchSize = 4;
    const totals: number[] = [];
    for (const copies of [1, 4]) {
      const file = join(temporary, `repeated-${copies}.jsonl`);
      const lines = Array.from({ length: copies }, () => documents.map((text) => JSON.stringify({ text }))).flat();
      writeFileSync(file, `${lines.join('\n')}\n`);
      const planner = new SequencePlanner(openExtractionCorpus(file), tokenizer, { sequenceLength: 64, batchSize });
      const plan = collect(planner.batches());
      expect(planner.tokens).toBe(plan.tokens.length);
      totals.push(planner.tokens);
      // The current document's tokens and the sequences of the batch being filled (fewer than batchSize).
      expect(planner.peakTokensHeld).toBeGreaterThanOrEqual(longestDocument);
      expect(planner.peakTokensHeld).toBeLessThanOrEqual(longestDocument + (batchSize - 1) * 64);
    }
    expect(totals[1]).toBe(4 * totals[0]!);
  });

  it('resumes after a sequence without tokenizing the documents before it, and refuses one of another corpus', () => {
    const file = join(temporary, 'resume.txt');
    const texts = readCorpusSample(brownSample)
      .slice(0, 4)
      .map((document) => document.text.slice(0, 2000));
    writeFileSync(file, texts.join('\n\n'));
    const corpus = openExtractionCorpus(file);
    const full = collect(new SequencePlanner(corpus, tokenizer, { sequenceLength: 64, batchSize: 3 }).batches());
    const sequenceCount = full.sequences.length / 3;
    for (const resumed of [1, 6, 13, sequenceCount - 1, sequenceCount]) {
      const at = (resumed - 1) * 3;
      const last = { document: full.sequences[at]!, offset: full.sequences[at + 1]!, length: full.sequences[at + 2]! };
      let tokensBefore = 0;
      for (let index = 0; index < resumed; index++) tokensBefore += full.sequences[index * 3 + 2]!;
      let encoded = 0;
      const counting = {
        ...tokenizer,
        encodeWithOffsets: (text: string) => (encoded++, tokenizer.encodeWithOffsets(text)),
      };
      const planner = new SequencePlanner(corpus, counting, {
        sequenceLength: 64,
        batchSize: 3,
        resumeFrom: { sequences: resumed, tokens: tokensBefore, last },
      });
      const rest = collect(planner.batches());
      expect(Array.from(rest.sequences)).toEqual(Array.from(full.sequences.subarray(resumed * 3)));
      expect(Array.from(rest.tokens)).toEqual(Array.from(full.tokens.subarray(tokensBefore)));
      expect([planner.sequences, planner.tokens, planner.corpusComplete]).toEqual([
        sequenceCount,
        full.tokens.length,
        true,
      ]);
      expect(encoded).toBe(texts.length - last.document);
    }
    const foreign = new SequencePlanner(corpus, tokenizer, {
      sequenceLength: 64,
      batchSize: 3,
      resumeFrom: { sequences: 1, tokens: 64, last: { document: 0, offset: 0, length: 63 } },
    });
    expect(() => collect(foreign.batches())).toThrow(SequencePlanMismatchError);
  });
});
