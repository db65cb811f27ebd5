/**
 * @module pipeline/revise-prompt-bound — an upper bound of a revision prompt's tokens (`run --batch --revise K`
 * with a budget): what batch mode's admission estimate counts for each revise request before the calibration answers
 * it depends on exist. Counted from the prompt builder itself: the prompt with the longest explanation and no
 * mistakes, plus, for each line the prompt can show (`maxErrorsShown` each way), the longest mistake line any
 * calibration token can make.
 */
import { buildRevisePrompt } from '../explain/build-revise-prompt.ts';
import type { ReviseTemplate } from '../explain/revise-template.ts';
import type { ActivationRecord } from '../records/types.ts';

/** Slack per mistake line: a token count of concatenated text can exceed the sum of its parts' counts by one. */
const LINE_SLACK = 2;

/** Prompt tokens of a chat request as batch mode estimates them (+4 a message for the chat format's framing). */
const promptTokens = (prompt: ReturnType<typeof buildRevisePrompt>, countTokens: (text: string) => number) =>
  prompt.messages.reduce((sum, message) => sum + 4 + countTokens(message.content), 0);

/**
 * The most prompt tokens a revision prompt of an explanation no longer than `longestExplanation` can have, shown
 * mistakes from `calibration` (the records its simulation ran on).
 */
export function revisePromptTokenBound(
  calibration: readonly ActivationRecord[],
  longestExplanation: string,
  template: ReviseTemplate,
  countTokens: (text: string) => number,
): number {
  const base = promptTokens(buildRevisePrompt(longestExplanation, [], 1, template), countTokens);
  const empty = promptTokens(buildRevisePrompt('', [], 1, template), countTokens);
  let longestLine = 0;
  for (const record of calibration) {
    record.tokens.forEach((_, index) => {
      // One token predicted 10 where the truth is 0: the prompt shows exactly this mistake, with its context.
      const tokens = record.tokens.slice(Math.max(0, index - template.contextTokens), index + 1);
      const expected = tokens.map((__, position) => (position === tokens.length - 1 ? 10 : null));
      const one = buildRevisePrompt('', [{ tokens, activations: tokens.map(() => 0), expected }], 1, template);
      longestLine = Math.max(longestLine, promptTokens(one, countTokens) - empty);
    });
  }
  return base + 2 * template.maxErrorsShown * (longestLine + LINE_SLACK);
}
