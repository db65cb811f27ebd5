/**
 * @module pipeline/explain-records — one explanation of a feature from its explain-set records: build the prompt,
 * ask the explainer, clean the answer. Used by the pipeline and by `autointerp explain`.
 */
import { buildExplainPrompt, type ExplainPromptOptions } from '../explain/build-explain-prompt.ts';
import { contrastWindows } from '../explain/contrast-windows.ts';
import { parseExplanation } from '../explain/parse-explanation.ts';
import type { Provider } from '../llm/types.ts';
import type { ActivationRecord } from '../records/types.ts';

/** Completion budget of an explanation: one sentence. */
export const EXPLANATION_MAX_TOKENS = 80;

export interface ExplainedRecords {
  explanation: string;
  promptVersion: string;
}

/** A sampled explanation (best-of-n): its temperature, and which sample it is (the response cache keys on it). */
export interface ExplanationSampling {
  temperature: number;
  sampleIndex: number;
}

/** Throws (ExplanationParseError, LlmCallError, …) when no explanation comes back; the caller records the failure. */
export async function explainRecords(
  explainer: Provider,
  records: readonly ActivationRecord[],
  options: ExplainPromptOptions & { signal?: AbortSignal; sampling?: ExplanationSampling } = {},
): Promise<ExplainedRecords> {
  const { signal, sampling, ...promptOptions } = options;
  const prompt = buildExplainPrompt(records, promptOptions);
  const completion = await explainer.complete({
    messages: prompt.messages,
    maxTokens: EXPLANATION_MAX_TOKENS,
    temperature: sampling?.temperature ?? 0,
    ...(sampling ? { sampleIndex: sampling.sampleIndex } : {}),
    ...(signal ? { signal } : {}),
  });
  return { explanation: parseExplanation(completion.text), promptVersion: prompt.promptVersion };
}

/**
 * The explain records followed by up to `negatives` contrast windows cut from them (`--explain-negatives`): the
 * prompt shows where the top tokens occur without firing. 0: the records as they are.
 */
export const withContrastWindows = (records: readonly ActivationRecord[], negatives: number): ActivationRecord[] =>
  negatives > 0 ? [...records, ...contrastWindows(records, negatives)] : [...records];
