import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  byteToUnicode,
  gpt2ByteOrder,
  loadTokenizer,
  TokenizerLoadError,
  toByteLevel,
  type SubjectTokenizer,
} from '../../src/subject/tokenizer.ts';
import { countPieces, trainByteLevelBpe } from '../../scripts/train-tokenizer.ts';

const subjectDirectory = fileURLToPath(new URL('../../data/subject/', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-tokenizer-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** A fresh folder under the temporary one, with the given files. */
function folder(name: string, files: Record<string, string>): string {
  const directory = join(temporary, name);
  mkdirSync(directory, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(directory, file), content);
  return directory;
}

/** GPT-2 layout: the 256 byte tokens in GPT-2's order, then the given merged tokens, then `<|endoftext|>`. */
function gpt2StyleVocab(merged: string[], skipBytes: string[] = []): Record<string, number> {
  const tokens = gpt2ByteOrder.map((byte) => byteToUnicode[byte]!).filter((token) => !skipBytes.includes(token));
  return Object.fromEntries([...tokens, ...merged, '<|endoftext|>'].map((token, id) => [token, id]));
}

/** Offsets are contiguous, start at 0 and end at the text's end. */
function expectContiguous(text: string, offsets: [number, number][]): void {
  let position = 0;
  for (const [start, end] of offsets) {
    expect(start).toBe(position);
    expect(end).toBeGreaterThan(start);
    position = end;
  }
  expect(position).toBe(text.length);
}

const variedTexts = [
  "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced “no evidence”.",
  'Line one\nLine two\n\n\tindented   with  spaces  \r\n',
  'Numbers: 3.14159, 1,000,000 and 2024-06-01; phone 555-0199.',
  'Ünïcödé: naïve café, Ελληνικά, русский, 日本語のテキスト, emoji 🙂🎉 and a ZWJ family 👨‍👩‍👧.',
  "It's we'll they're I'm you'd she's -- (parenthesised) [bracketed] {braced} <angled> $5 & 100%",
  ' leading space and trailing space ',
  '\ufeffA byte-order mark first, a soft\u00adhyphen and a zero\u200bwidth space',
];

describe('committed tokenizer (data/subject/tokenizer.json)', () => {
  const tokenizer = loadTokenizer(subjectDirectory);

  it('has 4096 tokens with <|endoftext|> last', () => {
    expect(tokenizer.vocabSize).toBe(4096);
    expect(tokenizer.eosId).toBe(4095);
    expect(tokenizer.encode('<|endoftext|>')).toEqual([4095]);
    expect(tokenizer.tokenStrings([4095])).toEqual(['<|endoftext|>']);
  });

  it('gives bytes GPT-2 ids and the first merges the next ids', () => {
    expect(tokenizer.encode('!')).toEqual([0]); // "!" is GPT-2's byte id 0
    expect(tokenizer.encode(' ')).toEqual([gpt2ByteOrder.indexOf(32)]); // 220 in GPT-2
    // Merges 1–5 on Brown are "Ġ t", "h e", "Ġ a", "i n", "Ġt he": " the" is id 260.
    expect(tokenizer.encode(' the')).toEqual([260]);
    expect(tokenizer.tokenStrings([256, 257, 258, 259, 260])).toEqual([' t', 'he', ' a', 'in', ' the']);
    expect(tokenizer.encode('')).toEqual([]);
    expect(tokenizer.decode([])).toBe('');
  });

  it('round-trips varied text exactly', () => {
    for (const text of variedTexts) {
      const ids = tokenizer.encode(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it('does not clean up spaces when decoding (the library would by default)', () => {
    const text = "word , word . word ? it 's";
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('gives offsets that cover the text and token strings that join back to it', () => {
    for (const text of variedTexts.filter((value) => !/[^\u0000-\u007f“”]/u.test(value))) {
      const { ids, offsets } = tokenizer.encodeWithOffsets(text);
      expect(ids).toEqual(tokenizer.encode(text));
      expect(offsets).toHaveLength(ids.length);
      expectContiguous(text, offsets);
      const strings = tokenizer.tokenStrings(ids);
      expect(strings.join('')).toBe(text);
      strings.forEach((string, index) => expect(text.slice(...offsets[index]!)).toBe(string));
    }
  });

  it('keeps a leading space in a token span, as GPT-2 does', () => {
    const text = 'said the jury';
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    const strings = tokenizer.tokenStrings(ids);
    const the = strings.indexOf(' the');
    expect(the).toBeGreaterThan(0);
    expect(offsets[the]).toEqual([4, 8]);
  });

  it('gives every token of a split character the whole character (UTF-16 offsets, overlapping there)', () => {
    const text = 'a 🙂 é';
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    const strings = tokenizer.tokenStrings(ids);
    // 🙂 is 4 UTF-8 bytes, none merged: the emoji's tokens are U+FFFD and each spans the surrogate pair [2, 4).
    const emojiTokens = offsets.filter(([start, end]) => start === 2 && end === 4);
    expect(emojiTokens.length).toBeGreaterThanOrEqual(2);
    expect(strings.filter((string) => string.includes('\ufffd')).length).toBeGreaterThanOrEqual(emojiTokens.length);
    expect(offsets[0]).toEqual([0, 1]);
    expect(offsets.at(-1)![1]).toBe(text.length);
    expect(tokenizer.decode(ids)).toBe(text);
    // Every character is inside some token's span, and spans never go backwards.
    for (let index = 1; index < offsets.length; index += 1)
      expect(offsets[index]![0]).toBeGreaterThanOrEqual(offsets[index - 1]![0]);
    for (let position = 0; position < text.length; position += 1) {
      expect(offsets.some(([start, end]) => start <= position && position < end)).toBe(true);
    }
  });

  it('refuses unknown ids instead of dropping them', () => {
    expect(() => tokenizer.decode([5000])).toThrow(RangeError);
    expect(() => tokenizer.tokenStrings([-1])).toThrow(/not in the vocabulary/);
  });
});

describe('GPT-2 vocab.json + merges.txt', () => {
  const merged = ['Ġt', 'he', 'Ġthe', 'll', 'llo'];
  const vocab = gpt2StyleVocab(merged);
  const merges = '#version: 0.2\nĠ t\nh e\nĠt he\nl l\nll o\n';

  it('loads and tokenizes with the given ids', () => {
    const tokenizer = loadTokenizer(
      folder('gpt2-files', { 'vocab.json': JSON.stringify(vocab), 'merges.txt': merges }),
    );
    expect(tokenizer.vocabSize).toBe(262);
    expect(tokenizer.eosId).toBe(261);
    // "hello" → he + llo (merges "h e", "l l", "ll o"), " the" → Ġt + he → Ġthe.
    expect(tokenizer.encode('hello the')).toEqual([257, 260, 258]);
    expect(tokenizer.tokenStrings([257, 260, 258])).toEqual(['he', 'llo', ' the']);
    expect(tokenizer.encode('hello<|endoftext|>')).toEqual([257, 260, 261]);
    // Unmerged bytes are byte tokens: "x" is byte 0x78 → id 0x78 − 0x21 = 87 in GPT-2's order.
    expect(tokenizer.encode('x!')).toEqual([87, 0]);
    const { offsets } = tokenizer.encodeWithOffsets('hello the');
    expect(offsets).toEqual([
      [0, 2],
      [2, 5],
      [5, 9],
    ]);
    expect(tokenizer.decode([257, 260, 258, 261])).toBe('hello the<|endoftext|>');
  });

  it('prefers tokenizer.json when both are present', () => {
    const directory = folder('both', {
      'vocab.json': JSON.stringify(vocab),
      'merges.txt': merges,
      'tokenizer.json': JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }),
    });
    expect(() => loadTokenizer(directory)).toThrow(/tokenizer\.json: has model type WordPiece; only BPE is supported/);
  });

  it('fails at encodeWithOffsets when the vocabulary lacks byte tokens (the library drops such bytes)', () => {
    const tokenizer = loadTokenizer(
      folder('missing-byte', { 'vocab.json': JSON.stringify(gpt2StyleVocab([], ['z'])), 'merges.txt': '' }),
    );
    expect(tokenizer.encode('zz')).toEqual([]);
    expect(() => tokenizer.encodeWithOffsets('a z')).toThrow(/lacks byte tokens/);
  });
});

describe('loading errors name the path', () => {
  const expectLoadError = (directory: string, pattern: RegExp) => {
    let caught: unknown;
    try {
      loadTokenizer(directory);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TokenizerLoadError);
    expect((caught as Error).message).toMatch(pattern);
  };

  it('reports a folder with no tokenizer files', () => {
    const directory = folder('empty', {});
    expectLoadError(directory, new RegExp(`^${directory}: no tokenizer\\.json, and no vocab\\.json`));
    expectLoadError(join(temporary, 'does-not-exist'), /does-not-exist: no tokenizer\.json/);
  });

  it('reports a missing merges.txt', () => {
    expectLoadError(folder('vocab-only', { 'vocab.json': '{}' }), /vocab-only: no tokenizer\.json, and no merges\.txt/);
  });

  it('reports unreadable JSON with the file', () => {
    const directory = folder('bad-json', { 'tokenizer.json': '{"model": ' });
    expectLoadError(directory, new RegExp(`^${join(directory, 'tokenizer.json')}: not valid JSON`));
    const bad = folder('bad-vocab', { 'vocab.json': '[1, 2', 'merges.txt': '' });
    expectLoadError(bad, /bad-vocab\/vocab\.json: not valid JSON/);
  });

  it('reports a bad merges line with file:line', () => {
    const directory = folder('bad-merges', {
      'vocab.json': JSON.stringify(gpt2StyleVocab([])),
      'merges.txt': '#version: 0.2\nĠ t\nthree parts here\n',
    });
    expectLoadError(directory, /bad-merges\/merges\.txt:3: a merge is two tokens/);
  });

  it('refuses tokenizers that are not byte-level', () => {
    const json = {
      model: { type: 'BPE', vocab: {}, merges: [] },
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      decoder: null,
    };
    expectLoadError(
      folder('whitespace', { 'tokenizer.json': JSON.stringify(json) }),
      /has pre_tokenizer Whitespace; only byte-level/,
    );
  });
});

describe('BPE training (scripts/train-tokenizer.ts)', () => {
  it('merges the most frequent pair first and breaks ties by the smaller pair ids', () => {
    const counts = countPieces(['low low low lower lowest newer newer wider']);
    expect(counts.get(' low')).toBe(2);
    expect(counts.get('low')).toBe(1);
    const trained = trainByteLevelBpe(counts, { vocabSize: 256 + 4 + 1, specialTokens: ['<|endoftext|>'] });
    expect(trained.tokens).toHaveLength(261);
    expect(trained.specialIds).toEqual([260]);
    // Pair counts: (l,o) 5 and (o,w) 5 tie; "l" < "o" in GPT-2 byte order, so "l o" goes first, then "lo w" (5).
    expect(trained.merges.slice(0, 2)).toEqual([
      ['l', 'o'],
      ['lo', 'w'],
    ]);
    expect(trained.tokens.slice(256, 258)).toEqual(['lo', 'low']);
  });

  it('is deterministic and trained tokens load in @huggingface/tokenizers', () => {
    const texts = ['the cat sat on the mat; the dog sat on the log. ', 'Then the cats ran.'];
    const first = trainByteLevelBpe(countPieces(texts), { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    const second = trainByteLevelBpe(countPieces(texts), { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    expect(second).toEqual(first);
    const vocab = Object.fromEntries(first.tokens.map((token, id) => [token, id]));
    const merges = first.merges.map(([left, right]) => `${left} ${right}`).join('\n');
    const tokenizer: SubjectTokenizer = loadTokenizer(
      folder('trained', { 'vocab.json': JSON.stringify(vocab), 'merges.txt': merges }),
    );
    const ids = tokenizer.encode(texts[0]!);
    expect(ids.length).toBeLessThan(toByteLevel(texts[0]!).length / 2);
    expect(tokenizer.decode(ids)).toBe(texts[0]);
  });
});
