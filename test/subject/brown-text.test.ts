import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBrownTag, readBrownCorpus, type BrownDocument } from '../../scripts/brown-corpus.ts';
import {
  brownDocumentsText,
  brownTexts,
  buildCorpusSample,
  defaultSampleMaxBytes,
  isHeldOut,
  renderBrownText,
  toSampleDocument,
} from '../../scripts/brown-text.ts';
import { CorpusSampleError, formatCorpusSampleLine, readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { loadTokenizer } from '../../src/subject/tokenizer.ts';

const samplePath = fileURLToPath(new URL('../../data/corpus/brown-heldout.jsonl', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-brown-text-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** A one-document corpus from `word/tag` sentences. */
function documentOf(...sentences: string[]): BrownDocument {
  return {
    name: 'test01',
    category: 'test',
    sentences: sentences.map((sentence) =>
      sentence.split(' ').map((item) => {
        const slash = item.lastIndexOf('/');
        const word = item.slice(0, slash);
        const text = word === '``' ? '“' : word === "''" ? '”' : word;
        return { word, text, tag: parseBrownTag(item.slice(slash + 1)) };
      }),
    ),
  };
}

describe('Brown documents as running text', () => {
  it('joins words by spaces, with none before closing and after opening punctuation', () => {
    const { text, words } = renderBrownText(
      documentOf(
        "He/pps said/vbd ,/, ``/`` Hello/uh (/( world/nn )/) ''/'' ./.",
        "Was/bedz it/pps '/' pro/jj '/' or/cc not/* ?/. Yes/rb ;/. [/( sic/rb ]/) !/.",
      ),
    );
    expect(text).toBe("He said, “Hello (world)”. Was it 'pro' or not? Yes; [sic]!");
    expect(words.map((word) => text.slice(word.start, word.end))).toEqual([
      'He',
      'said',
      ',',
      '“',
      'Hello',
      '(',
      'world',
      ')',
      '”',
      '.',
      'Was',
      'it',
      "'",
      'pro',
      "'",
      'or',
      'not',
      '?',
      'Yes',
      ';',
      '[',
      'sic',
      ']',
      '!',
    ]);
    expect(words.slice(0, 3).map((word) => word.tag)).toEqual(['pps', 'vbd', ',']);
  });

  it('splits the 500 documents into disjoint training and held-out sets, ~10 % held out in every category', () => {
    const train = brownDocumentsText('train');
    const heldOut = brownDocumentsText('heldout');
    const trainNames = new Set(train.map((document) => document.name));
    const heldOutNames = new Set(heldOut.map((document) => document.name));
    expect(trainNames.size).toBe(448);
    expect(heldOutNames.size).toBe(52);
    expect([...heldOutNames].filter((name) => trainNames.has(name))).toEqual([]);
    const all = brownTexts().map((document) => document.name);
    expect(new Set([...trainNames, ...heldOutNames])).toEqual(new Set(all));
    expect(all).toHaveLength(500);
    // The rule: 1-based position in the category ≡ 5 (mod 10), which is the file number.
    expect(
      heldOut.every((document) => isHeldOut(document.indexInCategory) && Number(document.name.slice(2)) % 10 === 5),
    ).toBe(true);
    expect(train.some((document) => isHeldOut(document.indexInCategory))).toBe(false);
    expect(heldOut.map((document) => document.name).slice(0, 6)).toEqual([
      'ca05',
      'ca15',
      'ca25',
      'ca35',
      'cb05',
      'cb15',
    ]);
    expect(new Set(heldOut.map((document) => document.category)).size).toBe(15);
  });

  it('gives every Brown word a span whose text is the word as displayed, and its raw tag', () => {
    const corpus = readBrownCorpus();
    const texts = brownTexts();
    let wordCount = 0;
    corpus.forEach((document, index) => {
      const rendered = texts[index]!;
      expect(rendered.name).toBe(document.name);
      const tokens = document.sentences.flat();
      expect(rendered.words).toHaveLength(tokens.length);
      let previousEnd = 0;
      tokens.forEach((token, position) => {
        const word = rendered.words[position]!;
        if (rendered.text.slice(word.start, word.end) !== token.text || word.tag !== token.tag.raw) {
          throw new Error(
            `${document.name} word ${position}: ${rendered.text.slice(word.start, word.end)} ≠ ${token.text}`,
          );
        }
        const gap = rendered.text.slice(previousEnd, word.start);
        if (gap !== '' && gap !== ' ') throw new Error(`${document.name} word ${position}: gap ${JSON.stringify(gap)}`);
        previousEnd = word.end;
      });
      expect(previousEnd).toBe(rendered.text.length);
      wordCount += tokens.length;
    });
    expect(wordCount).toBe(1_161_192);
  });
});

describe('corpus sample (data/corpus/brown-heldout.jsonl)', () => {
  const sample = readCorpusSample(samplePath);

  it('holds whole held-out documents only, every category, under the size limit', () => {
    expect(statSync(samplePath).size).toBeLessThanOrEqual(defaultSampleMaxBytes);
    const heldOut = new Map(brownDocumentsText('heldout').map((document) => [document.name, document]));
    expect(sample.length).toBeGreaterThanOrEqual(15);
    for (const document of sample) {
      const source = heldOut.get(document.doc);
      expect(source, document.doc).toBeDefined();
      expect(document.text).toBe(source!.text);
      expect(document.words).toEqual(source!.words);
    }
    expect(new Set(sample.map((document) => document.category)).size).toBe(15);
  });

  it('is exactly what the script builds (the committed file is up to date)', () => {
    const { content, included } = buildCorpusSample(brownDocumentsText('heldout'));
    expect(included.map((document) => document.name)).toEqual(sample.map((document) => document.doc));
    expect(content).toBe(readFileSync(samplePath, 'utf8'));
    const small = buildCorpusSample(brownDocumentsText('heldout'), 100_000);
    expect(small.bytes).toBeLessThanOrEqual(100_000);
    expect(small.included.length).toBeGreaterThan(0);
    expect(small.included.map((document) => document.category)).toEqual([
      ...new Set(small.included.map((document) => document.category)),
    ]); // round robin: the first documents are from different categories
  });

  it('maps each model token to the tag of the word it lies in', () => {
    const tokenizer = loadTokenizer(fileURLToPath(new URL('../../data/subject/', import.meta.url)));
    const document = sample[0]!;
    const { ids, offsets } = tokenizer.encodeWithOffsets(document.text);
    expect(tokenizer.decode(ids)).toBe(document.text);
    const strings = tokenizer.tokenStrings(ids);
    const the = strings.indexOf(' the');
    expect(the).toBeGreaterThanOrEqual(0);
    const [start, end] = offsets[the]!;
    const word = document.words.find((candidate) => candidate.start < end && start < candidate.end)!;
    expect(document.text.slice(word.start, word.end)).toBe('the');
    expect(word.tag).toBe('at');
  });

  it('rejects a bad line, naming file and line', () => {
    const good = formatCorpusSampleLine(toSampleDocument(brownDocumentsText('heldout')[0]!));
    const write = (name: string, content: string) => {
      const file = join(temporary, name);
      writeFileSync(file, content);
      return file;
    };
    const expectError = (file: string, message: string) => {
      let caught: unknown;
      try {
        readCorpusSample(file);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CorpusSampleError);
      expect((caught as Error).message).toBe(message);
    };
    const outOfRange = write(
      'out-of-range.jsonl',
      `${good}\n\n${JSON.stringify({ doc: 'x', category: 'y', text: 'ab', spans: [0, 3], tags: ['nn'] })}\n`,
    );
    expectError(outOfRange, `${outOfRange} (line 3, spans[1]): word 0 ends at 3, past the text (length 2)`);
    const notJson = write('not-json.jsonl', `${good}\n{"doc": \n`);
    expectError(notJson, `${notJson} (line 2): not valid JSON`);
    const missing = write(
      'missing.jsonl',
      `${JSON.stringify({ doc: 'x', category: 'y', text: 'ab', spans: [0, 1] })}\n`,
    );
    expect(() => readCorpusSample(missing)).toThrow(new RegExp(`^${missing} \\(line 1, tags\\): `));
    const odd = write(
      'odd.jsonl',
      `${JSON.stringify({ doc: 'x', category: 'y', text: 'ab', spans: [0, 1, 1], tags: ['nn'] })}\n`,
    );
    expectError(odd, `${odd} (line 1, spans): has 3 offsets for 1 tags (want 2 per tag)`);
    const overlap = write(
      'overlap.jsonl',
      `${JSON.stringify({ doc: 'x', category: 'y', text: 'abc', spans: [0, 2, 1, 3], tags: ['nn', 'nn'] })}\n`,
    );
    expectError(overlap, `${overlap} (line 1, spans[2]): word 1 starts at 1, before the previous word ends (2)`);
    expectError(join(temporary, 'absent.jsonl'), `${join(temporary, 'absent.jsonl')}: file not found`);
  });
});
