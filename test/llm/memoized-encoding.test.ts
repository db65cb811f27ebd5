/**
 * The memoized BPE encoding (llm/memoized-encoding): each distinct piece of text is encoded once, and the ids, counts
 * and token strings equal js-tiktoken's `encode(text, 'all')` (and the incremental decoding `splitTokens` did) for
 * any text: random unicode, whitespace runs, digits, contractions, special tokens, very long words, both encodings.
 */
import { createRequire } from 'node:module';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { Tiktoken } from 'js-tiktoken/lite';
import { describe, expect, it, vi } from 'vitest';
import { mulberry32, type RandomSource, randomInteger } from '../../src/common/random.ts';
import { MemoizedEncoding } from '../../src/llm/memoized-encoding.ts';

type EncodingName = 'o200k_base' | 'cl100k_base';

function ranksOf(name: EncodingName): TiktokenBPE {
  return createRequire(import.meta.url)(`js-tiktoken/ranks/${name}`) as TiktokenBPE;
}

/** What `splitTokens` did before the cache: the whole text's ids, decoded incrementally. */
function referenceSplit(encoder: Tiktoken, text: string): string[] {
  const pieces: string[] = [];
  let pending: number[] = [];
  for (const id of encoder.encode(text, 'all')) {
    pending.push(id);
    const decoded = encoder.decode(pending);
    if (decoded.includes('\uFFFD')) continue;
    pieces.push(decoded);
    pending = [];
  }
  if (pending.length > 0) pieces.push(encoder.decode(pending));
  return pieces;
}

const specialTokens = ['<|endoftext|>', '<|fim_prefix|>', '<|endofprompt|>', '<|endof', '|>', '<|'];
const whitespace = [' ', '  ', '   ', '\n', '\n\n', '\r\n', '\t', ' \n ', '\u00a0', '\u3000', ' \t\n  '];
const words = ['the', 'The', ' cat', 'HELLO', 'naïve', 'Straße', 'niño', 'über', '東京', 'данные', 'مرحبا', 'अनुच्छेद'];
const contractions = ["'s", "'S", "'t", "'re", "'VE", "'ll", "'LL", "'d", "'m", "it's", "don't", "O'Neil's", '’s'];
const symbols = [
  '!',
  '?!',
  '...',
  ',',
  '"',
  '«»',
  '(',
  ')',
  '{}',
  '=>',
  '\u{1F600}',
  '\u{1F469}\u200D\u{1F4BB}',
  '\uFFFD',
];

function randomCodePoint(random: RandomSource): string {
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e],
    [0xa0, 0x2ff],
    [0x300, 0x36f], // combining marks
    [0x400, 0x4ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0x1f300, 0x1faff],
    [0x10000, 0x10ffff],
  ];
  const [low, high] = ranges[randomInteger(random, ranges.length)]!;
  return String.fromCodePoint(low + randomInteger(random, high - low + 1));
}

function fragment(random: RandomSource): string {
  const pick = <T>(list: readonly T[]) => list[randomInteger(random, list.length)]!;
  switch (randomInteger(random, 9)) {
    case 0:
      return pick(specialTokens);
    case 1:
      return pick(whitespace).repeat(1 + randomInteger(random, 4));
    case 2:
      return String(randomInteger(random, 10 ** (1 + randomInteger(random, 9))));
    case 3:
      return pick(contractions);
    case 4:
      return pick(symbols);
    case 5:
      return Array.from({ length: 1 + randomInteger(random, 6) }, () => randomCodePoint(random)).join('');
    case 6: // a very long word or run of one letter (BPE merges cost the square of a piece's length: not longer)
      return randomInteger(random, 2) === 0
        ? 'x'.repeat(40 + randomInteger(random, 100))
        : Array.from({ length: 60 }, () => String.fromCharCode(97 + randomInteger(random, 26))).join('');
    case 7:
      return String.fromCharCode(0xd800 + randomInteger(random, 0x800)); // a lone surrogate
    default:
      return pick(words);
  }
}

function randomText(random: RandomSource): string {
  return Array.from({ length: randomInteger(random, 20) }, () => fragment(random)).join('');
}

describe.each(['cl100k_base', 'o200k_base'] as const)('memoized encoding, %s', (name) => {
  const ranks = ranksOf(name);
  const encoder = new Tiktoken(ranks);

  it("gives js-tiktoken's ids, counts and token strings for varied texts, cached pieces included", () => {
    // A small cache so that it also fills and empties while the texts are read.
    const encoding = new MemoizedEncoding(encoder, ranks, { cacheLimit: 200 });
    const random = mulberry32(name === 'o200k_base' ? 14 : 41);
    const texts = Array.from({ length: 100 }, () => randomText(random));
    texts.push('', ' ', '\n', '<|endoftext|>', '<|endoftext|><|endoftext|>', 'a<|endoftext|>b', '   x', '\r\n\r\n');
    texts.push("You are a helpful assistant. It's 12345678 o'clock;\n\n  Neuron 1\nthe\t10\n<start>\n");
    for (const text of [...texts, ...texts]) {
      const expected = encoder.encode(text, 'all');
      expect(encoding.encode(text)).toEqual(expected);
      expect(encoding.count(text)).toBe(expected.length);
      expect(encoding.split(text)).toEqual(referenceSplit(encoder, text));
    }
  });

  it('encodes a piece it has seen without the encoder, and keeps at most its bound of pieces', () => {
    const encode = vi.spyOn(encoder, 'encode');
    const encoding = new MemoizedEncoding(encoder, ranks, { cacheLimit: 64 });
    const prompt = 'You are a careful annotator. Explain what the neuron fires on.\n\nthe\t0\ncat\t7\n';
    const first = encoding.count(prompt);
    const callsAfterFirst = encode.mock.calls.length;
    expect(callsAfterFirst).toBeGreaterThan(0);
    expect(encoding.count(prompt)).toBe(first);
    expect(encoding.split(prompt).join('')).toBe(prompt);
    expect(encode.mock.calls.length).toBe(callsAfterFirst); // the second count and the split: no encoding at all
    encoding.count(Array.from({ length: 500 }, (_, index) => ` w${index.toString(36)}x`).join(''));
    expect(encoding.cachedPieces).toBeLessThanOrEqual(64);
    encode.mockRestore();
  });
});
