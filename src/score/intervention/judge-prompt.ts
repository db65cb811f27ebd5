/**
 * @module score/intervention/judge-prompt — the intervention judge's chat prompt and the reading of its answer.
 *
 * Prompt (after delphi's detection format): the system text, the few-shot examples as user/assistant turns, then a
 * user turn `Explanation: …` followed by one line per text, `Text i: "<prompt>" -> "<continuation>"` (both as JSON
 * strings, i from 0). The answer is a list of 1/0, one per text: its first `[...]` is read as JSON and must hold
 * exactly one 0 or 1 per text, else the whole answer is unreadable. With logprobs, the probability of "1" at each
 * answer token of that list holding a 0 or 1 is p = Σ p(alternatives containing "1") / Σ p(alternatives containing
 * "0" or "1") (delphi's reading); there must be one such token per text, each with such alternatives, else no
 * probabilities.
 */
import type { ChatMessage, LlmResult } from '../../llm/types.ts';
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

/** Why the answer cannot be read, or its 0/1 list. */
/** The answer's list: its first `[...]`. */
const answerList = /\[[^\]]*?\]/;

function readLabels(text: string, count: number): boolean[] | { unreadable: string } {
  const list = answerList.exec(text);
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  if (!list) return { unreadable: `the judge's answer has no [...] list: ${shown}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(list[0]);
  } catch {
    return { unreadable: `the judge's list is not JSON: ${JSON.stringify(list[0])}` };
  }
  if (!Array.isArray(parsed) || !parsed.every((value) => value === 0 || value === 1)) {
    return { unreadable: `the judge's list holds something other than 0 and 1: ${JSON.stringify(list[0])}` };
  }
  if (parsed.length !== count) return { unreadable: `the judge answered ${parsed.length} labels for ${count} texts` };
  return parsed.map((value) => value === 1);
}

/**
 * P("1") at each answer token inside the answer's list holding a 0 or 1 (see the module comment), or null when they
 * are not one per text or one of them has no alternative holding a 0 or 1 (a server that sent no top logprobs).
 */
function readProbabilities(result: LlmResult, count: number): (number | null)[] | null {
  const list = answerList.exec(result.text);
  if (!result.tokens || !list) return null;
  const start = list.index;
  const end = start + list[0].length;
  const probabilities: number[] = [];
  for (const token of result.tokens) {
    if (token.textOffset >= end || token.textOffset + token.token.length <= start || !/[01]/.test(token.token))
      continue;
    let ones = 0;
    let either = 0;
    for (const [alternative, logprob] of Object.entries(token.topLogprobs)) {
      const probability = Math.exp(logprob);
      if (alternative.includes('1')) ones += probability;
      if (alternative.includes('1') || alternative.includes('0')) either += probability;
    }
    if (!(either > 0)) return null;
    probabilities.push(ones / either);
  }
  return probabilities.length === count ? probabilities : null;
}

/** Reads the judge's answer for `count` texts; `unreadable` says why it could not be read. */
export function readJudgeAnswer(result: LlmResult, count: number): JudgeAnswer | { unreadable: string } {
  const labels = readLabels(result.text, count);
  if (!Array.isArray(labels)) return labels;
  return { predictions: labels, probabilities: readProbabilities(result, count) ?? labels.map(() => null) };
}
