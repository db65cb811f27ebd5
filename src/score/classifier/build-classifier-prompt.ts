/**
 * @module score/classifier/build-classifier-prompt — the judge prompt of detection and fuzzing, in delphi's shape:
 * the system text, the few-shot user/assistant pairs of the prompt file, then a user turn with the explanation and
 * one `Example i: <text>` line per example (i from 0). The judge answers a list of 1/0, one per example.
 */
import { PromptBuilder } from '../../llm/prompt-builder.ts';
import type { ChatMessage } from '../../llm/types.ts';
import type { ClassifierPromptFile } from './classifier-prompt-file.ts';

/** The user turn: `Explanation: …`, a blank line, `Example 0: …`, `Example 1: …`. */
export function classifierUserTurn(explanation: string, texts: readonly string[]): string {
  const oneLine = explanation.trim().replace(/\s*[\r\n]+\s*/g, ' ');
  return `Explanation: ${oneLine}\n\n${texts.map((text, index) => `Example ${index}: ${text}`).join('\n')}`;
}

/** An answer as the few-shot turns write it: `[1, 0, 1]`. */
export const classifierAnswer = (labels: readonly (0 | 1)[]): string => `[${labels.join(', ')}]`;

/** The chat messages asking the judge about `texts` (already rendered, highlighted for fuzzing). */
export function buildClassifierPrompt(
  file: ClassifierPromptFile,
  explanation: string,
  texts: readonly string[],
): ChatMessage[] {
  const builder = new PromptBuilder().add('system', file.system);
  for (const example of file.examples) {
    builder
      .add('user', classifierUserTurn(example.explanation, example.texts))
      .add('assistant', classifierAnswer(example.labels));
  }
  builder.add('user', classifierUserTurn(explanation, texts));
  return builder.toMessages();
}
