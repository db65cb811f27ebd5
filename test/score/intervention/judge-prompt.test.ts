import { describe, expect, it } from 'vitest';
import { respondToRequest } from '../../../src/llm/baseline/rule-based-model.ts';
import type { LlmResult, TokenLogprob } from '../../../src/llm/types.ts';
import { loadInterventionTemplate } from '../../../src/score/intervention/intervention-template.ts';
import { interventionMessages, readJudgeAnswer } from '../../../src/score/intervention/judge-prompt.ts';
import { characterTokens } from '../../helpers/character-tokens.ts';

const template = loadInterventionTemplate();

function answer(text: string, tokens?: TokenLogprob[]): LlmResult {
  return {
    text,
    ...(tokens ? { tokens } : {}),
    usage: { promptTokens: 0, completionTokens: 0 },
    model: 'test',
    finishReason: 'stop',
    cached: false,
    warnings: [],
  };
}

const token = (text: string, topLogprobs: Record<string, number>): TokenLogprob => ({
  token: text,
  logprob: Math.log(0.5),
  topLogprobs,
  textOffset: 0,
});

describe('intervention judge prompt', () => {
  it('shows the few-shot example, then the explanation and one JSON-quoted line per text', () => {
    const messages = interventionMessages(template, 'the word\n "been" ', [
      { prompt: 'It was a', continuation: ' been been' },
      { prompt: 'They had to', continuation: ' say "no"\nthen' },
    ]);
    expect(messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[2]!.content).toBe('[1, 0, 1, 0]');
    expect(messages[3]!.content).toBe(
      'Explanation: the word "been"\n\nText 0: "It was a" -> " been been"\nText 1: "They had to" -> " say \\"no\\"\\nthen"',
    );
  });

  it('reads the first [...] list of 0/1 with one label per text', () => {
    expect(readJudgeAnswer(answer('Sure: [1, 0,1] and more [0]'), 3)).toEqual({
      predictions: [true, false, true],
      probabilities: [null, null, null],
    });
    expect(readJudgeAnswer(answer('[1, 0]'), 3)).toEqual({ unreadable: 'the judge answered 2 labels for 3 texts' });
    expect(readJudgeAnswer(answer('[1, 2, 0]'), 3)).toMatchObject({
      unreadable: expect.stringContaining('something other than 0 and 1'),
    });
  });

  it('reads P("1") at each label token from the top logprobs (delphi: mass on "1" over mass on "0" or "1")', () => {
    const tokens = [
      token('[', { '[': 0 }),
      token('1', { '1': Math.log(0.6), '0': Math.log(0.2), yes: Math.log(0.2) }),
      token(', ', { ', ': 0 }),
      token('0', { '0': Math.log(0.9), ' 1': Math.log(0.05) }),
      token(']', { ']': 0 }),
    ];
    const read = readJudgeAnswer(answer('[1, 0]', tokens), 2);
    expect(read).toMatchObject({ predictions: [true, false] });
    const probabilities = (read as { probabilities: number[] }).probabilities;
    expect(probabilities[0]).toBeCloseTo(0.6 / 0.8, 12);
    expect(probabilities[1]).toBeCloseTo(0.05 / 0.95, 12);
    // Label tokens that do not match the labels one to one: no probabilities, the labels still count.
    expect(readJudgeAnswer(answer('[1, 0]', tokens.slice(0, 2)), 2)).toEqual({
      predictions: [true, false],
      probabilities: [null, null],
    });
  });
});

describe('intervention judge answer: probabilities only where logprobs say something', () => {
  it('gives no probability (null, not 0) where the server sent no alternatives holding 0 or 1', () => {
    const read = readJudgeAnswer(answer('[1, 0]', characterTokens('[1, 0]', {})), 2);
    expect(read).toEqual({ predictions: [true, false], probabilities: [null, null] });
  });

  it('reads only the answer tokens inside the list: digits in words before it do not count', () => {
    const text = 'Texts 0 to 1: [1, 0]';
    const at = text.indexOf('[');
    const read = readJudgeAnswer(
      answer(
        text,
        characterTokens(text, {
          [at + 1]: { '1': Math.log(0.8), '0': Math.log(0.2) },
          [at + 4]: { '0': Math.log(0.7), '1': Math.log(0.3) },
        }),
      ),
      2,
    );
    expect(read).toMatchObject({ predictions: [true, false] });
    const probabilities = (read as { probabilities: number[] }).probabilities;
    expect(probabilities[0]).toBeCloseTo(0.8, 12);
    expect(probabilities[1]).toBeCloseTo(0.3, 12);
  });
});

describe('rule-based judge (baseline and fake server)', () => {
  const texts = [
    { prompt: 'It was a', continuation: ' been been been' },
    { prompt: 'She looked at the', continuation: ' man had been' },
    { prompt: 'They had to', continuation: ' “ “ “' },
    { prompt: 'There is no', continuation: ' other way' },
  ];
  const judged = async (explanation: string) =>
    (await respondToRequest({ messages: interventionMessages(template, explanation, texts), maxTokens: 40 })).text;

  it('picks the continuations with a token or word class the explanation names, from the explanation alone', async () => {
    expect(await judged('the word "been"')).toBe('[1, 1, 0, 0]');
    expect(await judged('opening quotation marks')).toBe('[0, 0, 1, 0]');
    expect(await judged('the token "has"')).toBe('[0, 0, 0, 0]');
  });

  it('reads "after X" contexts across the prompt and the continuation', async () => {
    // "man" follows "the" at the prompt's end; "way" follows "other".
    expect(await judged('nouns after "the"')).toBe('[0, 1, 0, 0]');
  });

  it('picks a continuation only where what the explanation names is at least a third of its words', async () => {
    // One "the" in fluent text is no sign of an amplified feature; the old rule (any word named) picked all three.
    const fluent = [
      { prompt: 'It was a', continuation: ' the the the' },
      { prompt: 'She looked at', continuation: ' the man, the dog' },
      { prompt: 'They had to', continuation: ' see the man who was there' },
    ];
    const messages = interventionMessages(template, 'the token "the"', fluent);
    expect((await respondToRequest({ messages, maxTokens: 40 })).text).toBe('[1, 1, 0]');
  });

  it('reads a word ending in one repeated piece as that piece repeated (glued tokens: "AAAA" is "A" four times)', async () => {
    const glued = [
      { prompt: 'It was a', continuation: 'AAAAAAAAAA' },
      { prompt: 'They had', continuation: 'theseaaaaaaaa' },
      { prompt: 'There is no', continuation: ' other way' },
    ];
    const judgedGlued = async (explanation: string) =>
      (await respondToRequest({ messages: interventionMessages(template, explanation, glued), maxTokens: 40 })).text;
    expect(await judgedGlued('the token "A"')).toBe('[1, 1, 0]');
    expect(await judgedGlued('the token "these"')).toBe('[0, 0, 0]');
  });

  it('answers only the last block, not the few-shot example', async () => {
    const messages = interventionMessages(template, 'opening quotation marks', texts.slice(2));
    expect((await respondToRequest({ messages, maxTokens: 40 })).text).toBe('[1, 0]');
  });
});
