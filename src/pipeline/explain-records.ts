/**
 * @module pipeline/explain-records — one explanation of a feature from its explain-set records: build the prompt,
 * ask the explainer, clean the answer. Used by the pipeline and by `autointerp explain`.
 */
import { buildExplainPrompt, type ExplainPromptOptions } from '../explain/build-explain-prompt.ts';
import { parseExplanation } from '../explain/parse-explanation.ts';
import type { Provider } from '../llm/types.ts';
import type { ActivationRecord } from '../records/types.ts';

/** Completion budget of an explanation: one sentence. */
export const EXPLANATION_MAX_TOKENS = 80;

export interface ExplainedRecords {
  explanation: string;
  promptVersion: string;
}

/** Throws (ExplanationParseError, LlmCallError, …) when no explanation comes back; the caller records the failure. */
export async function explainRecords(
  explainer: Provider,
  records: readonly ActivationRecord[],
  options: ExplainPromptOptions & { signal?: AbortSignal } = {},
): Promise<ExplainedRecords> {
  const { signal, ...promptOptions } = options;
  const prompt = buildExplainPrompt(records, promptOptions);
  const completion = await explainer.complete({
    messages: prompt.messages,
    maxTokens: EXPLANATION_MAX_TOKENS,
    temperature: 0,
    ...(signal ? { signal } : {}),
  });
  return { explanation: parseExplanation(completion.text), promptVersion: prompt.promptVersion };
}
