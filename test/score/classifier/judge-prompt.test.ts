import { describe, expect, it } from 'vitest';
import { buildClassifierPrompt } from '../../../src/score/classifier/build-classifier-prompt.ts';
import { loadClassifierPromptFile } from '../../../src/score/classifier/classifier-prompt-file.ts';
import { parseLabelList, readJudgeAnswer } from '../../../src/score/classifier/read-judge-answer.ts';
import { characterTokens } from '../../helpers/character-tokens.ts';

describe('detection and fuzzing prompts', () => {
  it('detection.v1: system, two few-shot pairs, then the explanation and Example i lines', () => {
    const file = loadClassifierPromptFile('detection.v1');
    expect(file.version).toBe('detection.v1');
    const messages = buildClassifierPrompt(file, 'the word "cat"\n(any case)', ['a cat sat', 'dogs bark']);
    expect(messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(messages[0]!.content).toContain('Answer only with a Python list of 1s and 0s');
    expect(messages[1]!.content).toBe(
      'Explanation: words for periods of time\n\n' +
        'Example 0: We will meet again next week at the station\n' +
        'Example 1: She poured the milk into a small blue cup\n' +
        'Example 2: The storm lasted for three hours before it cleared\n' +
        'Example 3: He painted the fence white and green\n' +
        'Example 4: Every morning the baker opens his shop',
    );
    expect(messages[2]!.content).toBe('[1, 0, 1, 0, 1]');
    expect(messages[5]!.content).toBe(
      'Explanation: the word "cat" (any case)\n\nExample 0: a cat sat\nExample 1: dogs bark',
    );
  });

  it('fuzzing.v1: few-shot texts carry << >> marks', () => {
    const file = loadClassifierPromptFile('fuzzing.v1');
    expect(file.version).toBe('fuzzing.v1');
    expect(file.system).toContain('<<this>>');
    expect(file.examples.every((example) => example.texts.every((text) => /<<[^>]+>>/.test(text)))).toBe(true);
  });
});

describe('reading the judge answer', () => {
  it('takes the first [...] list of n zeros and ones; anything else is unreadable', () => {
    expect(parseLabelList('Sure: [1, 0, 1] and later [0]', 3)).toEqual([true, false, true]);
    expect(parseLabelList('```python\n[0,0]\n```', 2)).toEqual([false, false]);
    expect(parseLabelList('[1, 0]', 3)).toBeNull();
    expect(parseLabelList('[1, 2, 0]', 3)).toBeNull();
    expect(parseLabelList('[yes, no]', 2)).toBeNull();
    expect(parseLabelList('no list', 1)).toBeNull();
    expect(readJudgeAnswer('[1]', undefined, 2)).toEqual({ labels: [null, null], probabilities: [null, null] });
  });

  it('P("1") per answer token = mass of alternatives holding 1 over those holding 0 or 1', () => {
    const text = '[1, 0]';
    const tokens = characterTokens(text, {
      1: { '1': Math.log(0.6), '0': Math.log(0.2), x: Math.log(0.2) },
      4: { '0': Math.log(0.9), ' 1': Math.log(0.05) },
    });
    const answer = readJudgeAnswer(text, tokens, 2);
    expect(answer.labels).toEqual([true, false]);
    expect(answer.probabilities[0]).toBeCloseTo(0.75, 12);
    expect(answer.probabilities[1]).toBeCloseTo(0.05 / 0.95, 12);
    // no alternatives at all (a server without logprobs): labels only
    expect(readJudgeAnswer(text, characterTokens(text, {}), 2).probabilities).toEqual([null, null]);
  });
});
