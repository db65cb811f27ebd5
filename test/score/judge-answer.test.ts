import { describe, expect, it } from 'vitest';
import { readJudgeAnswer as readClassifierAnswer } from '../../src/score/classifier/read-judge-answer.ts';
import { readJudgeAnswer as readInterventionAnswer } from '../../src/score/intervention/judge-prompt.ts';
import { readAnswerProbabilities, readLabelList } from '../../src/score/judge-answer.ts';
import { characterTokens } from '../helpers/character-tokens.ts';

describe('score/judge-answer: one reading of a judge’s [1, 0, …] answer for every judged scorer', () => {
  it('reads the first list’s labels, or says why it cannot', () => {
    expect(readLabelList('Sure: [1, 0, 1] and later [0]', 3)).toEqual([true, false, true]);
    expect(readLabelList('no list', 1)).toEqual({ unreadable: 'the judge\'s answer has no [...] list: "no list"' });
    expect(readLabelList('[yes]', 1)).toEqual({ unreadable: 'the judge\'s list is not JSON: "[yes]"' });
    expect(readLabelList('[1, 2]', 2)).toEqual({
      unreadable: 'the judge\'s list holds something other than 0 and 1: "[1, 2]"',
    });
    expect(readLabelList('[1, 0]', 3)).toEqual({ unreadable: 'the judge answered 2 labels for 3 texts' });
  });

  it('P("1") per answer token; null without one usable token per text', () => {
    const text = 'x [1, 0]';
    const tokens = characterTokens(text, { 3: { '1': Math.log(0.6), '0': Math.log(0.2) }, 6: { '0': Math.log(0.5) } });
    const probabilities = readAnswerProbabilities(text, tokens, 2)!;
    expect(probabilities[0]).toBeCloseTo(0.75, 12);
    expect(probabilities[1]).toBe(0);
    expect(readAnswerProbabilities(text, tokens, 3)).toBeNull();
    expect(readAnswerProbabilities(text, characterTokens(text, { 3: { '1': 0 } }), 2)).toBeNull();
    expect(readAnswerProbabilities(text, undefined, 2)).toBeNull();
  });

  it('the classifier and intervention judges read the same answer alike', () => {
    const text = '[0, 1, 1]';
    const tokens = characterTokens(text, {
      1: { '0': Math.log(0.7), '1': Math.log(0.1) },
      4: { '1': Math.log(0.9), '0': Math.log(0.1) },
      7: { ' 1': Math.log(0.3), '0': Math.log(0.3), y: Math.log(0.4) },
    });
    const classifier = readClassifierAnswer(text, tokens, 3);
    const intervention = readInterventionAnswer({ text, tokens } as Parameters<typeof readInterventionAnswer>[0], 3);
    expect(intervention).toEqual({ predictions: classifier.labels, probabilities: classifier.probabilities });
    expect(classifier.probabilities.map((p) => p!.toFixed(3))).toEqual(['0.125', '0.900', '0.500']);
  });
});
