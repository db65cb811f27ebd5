import { describe, expect, it } from 'vitest';
import { expectedValueFromTopLogprobs, numberDistribution } from '../../src/simulate/expected-value.ts';
import { readPromptLogprobs } from '../../src/simulate/read-prompt-logprobs.ts';
import { readChatLogprobs } from '../../src/simulate/read-chat-logprobs.ts';
import type { TokenLogprob } from '../../src/llm/types.ts';

describe('expectedValueFromTopLogprobs', () => {
  it('renormalizes over the number tokens present and takes Σ i·p_i (hand-computed)', () => {
    // p(0)=0.5, p(10)=0.25, "unknown"=0.25 dropped → renormalized 2/3, 1/3 → E = 10/3
    const value = expectedValueFromTopLogprobs({ '0': Math.log(0.5), '10': Math.log(0.25), unknown: Math.log(0.25) });
    expect(value).toBeCloseTo(10 / 3, 12);
    // p(2)=0.2, p(4)=0.2, p(9)=0.1 → (0.4 + 0.8 + 0.9)/0.5 = 4.2
    expect(
      expectedValueFromTopLogprobs({ '2': Math.log(0.2), '4': Math.log(0.2), '9': Math.log(0.1), x: -0.1 }),
    ).toBeCloseTo(4.2, 12);
  });
  it('returns null (missing), not 0, when no number token is present', () => {
    expect(expectedValueFromTopLogprobs({ unknown: -0.1, the: -3 })).toBeNull();
    expect(expectedValueFromTopLogprobs({})).toBeNull();
  });
  it('ignores non-activation numbers and merges whitespace variants on either side', () => {
    expect(expectedValueFromTopLogprobs({ '11': -0.1, '-1': -0.1, '05': -0.1, '3.5': -0.1, '': -0.1 })).toBeNull();
    const variants = {
      '3': Math.log(0.125),
      ' 3': Math.log(0.125),
      '3\n': Math.log(0.125),
      '\n3 ': Math.log(0.125),
      '\t5': Math.log(0.5),
    };
    // 3 has half the mass, 5 the other half → E = 4
    expect(expectedValueFromTopLogprobs(variants)).toBeCloseTo(4, 12);
    const merged = numberDistribution(variants);
    expect(merged.get(3)).toBeCloseTo(0.5, 12);
    expect(merged.get(5)).toBeCloseTo(0.5, 12);
  });
  it('stays finite for extreme logprobs', () => {
    expect(expectedValueFromTopLogprobs({ '2': -800, '4': -800 })).toBeCloseTo(3, 12);
    expect(expectedValueFromTopLogprobs({ '2': 750, '6': 750 })).toBeCloseTo(4, 12);
    expect(expectedValueFromTopLogprobs({ '2': -Infinity, '6': 0 })).toBe(6);
  });
});

const tok = (token: string, textOffset: number, top: Record<string, number> = {}): TokenLogprob => ({
  token,
  textOffset,
  logprob: -0.1,
  topLogprobs: top,
});

describe('readPromptLogprobs', () => {
  it('reads the token at or covering each offset, whatever the tokenization', () => {
    // prompt: "x\tunknown\ny\tunknown" ; the second value merged with the tab into one token
    const prompt = 'x\tunknown\ny\tunknown';
    const tokens = [
      tok('x', 0),
      tok('\t', 1),
      tok('unknown', 2, { '4': 0 }),
      tok('\n', 9),
      tok('y', 10),
      tok('\tunknown', 11, { '\t7': Math.log(0.5), '\t9': Math.log(0.5) }),
    ];
    expect(readPromptLogprobs(tokens, [[2, 12]], prompt)).toEqual([[4, 8]]);
  });
  it('marks offsets past the echoed text as missing', () => {
    expect(readPromptLogprobs([tok('ab', 0, { '1': 0 })], [[0, 5]], 'ab---')).toEqual([[1, null]]);
  });
  it('re-derives offsets when the server counts code points and echoes a BOS token', () => {
    // "😀" is 2 UTF-16 units but 1 code point: a Python server's text_offset drifts by one per emoji.
    const prompt = '😀\tunknown\n😀\tunknown';
    let codePoint = 0;
    const pieces = ['<|begin_of_text|>', '😀', '\t', 'unknown', '\n', '😀', '\t', 'unknown'];
    const tokens = pieces.map((piece, i) => {
      const t = tok(piece, i === 0 ? 0 : codePoint, piece === 'unknown' ? { [String(i)]: 0 } : {});
      if (i > 0) codePoint += [...piece].length;
      return t;
    });
    const [first, second] = [prompt.indexOf('unknown'), prompt.lastIndexOf('unknown')];
    expect(readPromptLogprobs(tokens, [[first, second]], prompt)).toEqual([[3, 7]]);
    // Tokens that do not spell the prompt (a byte token decoded as "\uFFFD"): server offsets read as code points.
    const broken = tokens.slice(1).map((t) => (t.token === '😀' ? { ...t, token: '\uFFFD' } : t));
    expect(readPromptLogprobs(broken, [[first, second]], prompt)).toEqual([[3, 7]]);
  });
});

describe('readChatLogprobs', () => {
  function answer(lines: string[], values: Record<number, Record<string, number>>) {
    const text = lines.join('\n');
    const tokens: TokenLogprob[] = [];
    let offset = 0;
    lines.forEach((line, i) => {
      const tab = line.lastIndexOf('\t');
      if (tab >= 0) {
        tokens.push(tok(line.slice(0, tab + 1), offset));
        tokens.push(tok(line.slice(tab + 1), offset + tab + 1, values[i] ?? {}));
      } else tokens.push(tok(line, offset));
      tokens.push(tok('\n', offset + line.length));
      offset += line.length + 1;
    });
    return { text, tokens };
  }
  it('aligns lines to targets, marking dropped lines missing', () => {
    const { text, tokens } = answer(['<start>', ' the\t9', ' sat\t1', '<end>'], {
      1: { '9': 0 },
      2: { '1': Math.log(0.5), '3': Math.log(0.5) },
    });
    expect(readChatLogprobs(text, tokens, [[' the', ' cat', ' sat']])).toEqual([[9, null, 2]]);
  });
  it('keeps records apart and survives extra lines', () => {
    const { text, tokens } = answer(
      ['Sure:', '<start>', 'a\t1', 'b\t2', '<end>', '<start>', 'c\t3', 'junk\t5', 'd\t4', '<end>'],
      { 2: { '1': 0 }, 3: { '2': 0 }, 6: { '3': 0 }, 7: { '5': 0 }, 8: { '4': 0 } },
    );
    expect(
      readChatLogprobs(text, tokens, [
        ['a', 'b'],
        ['c', 'd'],
      ]),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
  it('reads offsets from the token strings, which may differ from the message text (split multi-byte characters)', () => {
    // "漢" arrives as two byte tokens shown as U+FFFD each: the content has 1 character where the tokens have 2.
    const pieces = ['<start>', '\n', '\uFFFD', '\uFFFD', '\t', '7', '\n', 'b', '\t', '9', '\n', '<end>'];
    const tokens = pieces.map((piece) => tok(piece, 0, /^\d$/.test(piece) ? { [piece]: 0 } : {}));
    const content = '<start>\n漢\t7\nb\t9\n<end>';
    expect(readChatLogprobs(content, tokens, [['漢', 'b']])).toEqual([[7, 9]]);
  });

  it('without logprobs every value is missing', () => {
    expect(readChatLogprobs('<start>\na\t3\n<end>', undefined, [['a']])).toEqual([[null]]);
  });
});
