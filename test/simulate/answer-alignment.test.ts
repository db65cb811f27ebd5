import { describe, expect, it } from 'vitest';
import { readAnswerValues } from '../../src/simulate/read-chat-logprobs.ts';

// Issue 13 item 2 (the audit's cases): a value never moves from one record to another, whatever the answer skips,
// repeats or adds around its blocks.
const she = [' she', ' said', ' hello'];
const cat = [' the', ' cat', ' sat'];
const ran = [' she', ' ran', ' away'];
const valueOf = (text: string) => Number(text);
const block = (tokens: readonly string[], value: number) =>
  `<start>\n${tokens.map((token) => `${token}\t${value}`).join('\n')}\n<end>\n`;

describe('chat / sampled answers are read per record block', () => {
  it('a skipped record is missing and a repeated one does not shift the others (as many blocks as records)', () => {
    const answer = block(cat, 2) + block(ran, 9) + block(ran, 7);
    expect(readAnswerValues(answer, [she, cat, ran], valueOf)).toEqual([
      [null, null, null],
      [2, 2, 2],
      [9, 9, 9],
    ]);
  });

  it('a skipped middle record borrows nothing from the record after it', () => {
    const answer = block(she, 1) + block(ran, 9);
    expect(readAnswerValues(answer, [she, cat, ran], valueOf)).toEqual([
      [1, 1, 1],
      [null, null, null],
      [9, 9, 9],
    ]);
  });

  it('lines before the first <start> or between blocks are not a record', () => {
    const answer = `Note\t0\n she\t5\n${block(she, 1)}stray\t3\n${block(cat, 2)}`;
    expect(readAnswerValues(answer, [she, cat, ran], valueOf)).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [null, null, null],
    ]);
  });

  it('an answer without markers is one block and answers one record only', () => {
    const answer = [...she, ...cat].map((token) => `${token}\t4`).join('\n');
    const values = readAnswerValues(answer, [she, cat], valueOf);
    expect(values.filter((record) => record.every((value) => value === null))).toHaveLength(1);
  });
});
