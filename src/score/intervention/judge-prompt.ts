/**
 * @module score/intervention/judge-prompt — the intervention judge's chat prompt and the reading of its answer.
 *
 * Prompt (after delphi's detection format): the system text, the few-shot examples as user/assistant turns, then a
 * user turn `Explanation: …` followed by one line per text, `Text i: "<prompt>" -> "<continuation>"` (both as JSON
 * strings, i from 0). The answer is a list of 1/0, one per text, read by score/judge-answer as the detection and
 * fuzzing judges' answers are (delphi's reading: the labels, and P("1") per text from the top logprobs).
 */
import type { ChatMessage, LlmResult } from '../../llm/types.ts';
import { readAnswerProbabilities, readLabelList, type UnreadableAnswer } from '../judge-answer.ts';
import type { InterventionTemplate, JudgedText } from './intervention-template.ts';

/** The judge's answer: one prediction per text, with a probability of "1" where logprobs gave one. */
export interface JudgeAnswer {
  predictions: boolean[];
  probabilities: (number | null)[];
}

/** One text's line of the prompt. */
export function formatJudgedText(text: JudgedText, index: number): string {
  return `Text ${index}: ${JSON.stringify(text.prompt)} -> ${JSON.stringify(text.continuation)}`;
}

/** The explanation on one line (a line break would end it early for a reader of the prompt), then the texts. */
function userTurn(explanation: string, texts: readonly JudgedText[]): string {
  const oneLine = explanation.replace(/\s+/g, ' ').trim();
  return [`Explanation: ${oneLine}`, '', ...texts.map(formatJudgedText)].join('\n');
}

/** The chat messages asking which of `texts` the explanation describes. */
export function interventionMessages(
  template: InterventionTemplate,
  explanation: string,
  texts: readonly JudgedText[],
): ChatMessage[] {
  return [
    { role: 'system', content: template.system },
    ...template.examples.flatMap((example): ChatMessage[] => [
      { role: 'user', content: userTurn(example.explanation, example.texts) },
      { role: 'assistant', content: JSON.stringify(example.answer).replaceAll(',', ', ') },
    ]),
    { role: 'user', content: userTurn(explanation, texts) },
  ];
}

/** Reads the judge's answer for `count` texts; `unreadable` says why it could not be read. */
export function readJudgeAnswer(result: LlmResult, count: number): JudgeAnswer | UnreadableAnswer {
  const labels = readLabelList(result.text, count);
  if (!Array.isArray(labels)) return labels;
  return {
    predictions: labels,
    probabilities: readAnswerProbabilities(result.text, result.tokens, count) ?? labels.map(() => null),
  };
}
