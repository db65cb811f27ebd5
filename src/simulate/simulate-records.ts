/**
 * @module simulate/simulate-records — runs one explanation against a provider over all records of a feature in a
 * single call, in the best logprob mode the provider offers, and returns expected values per token.
 */
import type { Provider } from '../llm/types.ts';
import type { SimulateTemplate } from '../llm/prompt-template.ts';
import { buildSimulationPrompt } from './build-simulation-prompt.ts';
import { readChatLogprobs } from './read-chat-logprobs.ts';
import { readPromptLogprobs } from './read-prompt-logprobs.ts';
import type { SimulationMode, SimulationResult } from './types.ts';

export interface SimulateOptions {
  /** Default: prompt-logprobs when the provider serves echo logprobs, else chat-logprobs. */
  mode?: Exclude<SimulationMode, 'sampled'>;
  template?: SimulateTemplate;
  /** Alternatives per position. Default 15 (the reference's value; OpenAI chat allows at most 20). */
  topK?: number;
  signal?: AbortSignal;
}

/** The mode a provider supports best, or an error naming what is missing. */
export function chooseSimulationMode(provider: Provider): Exclude<SimulationMode, 'sampled'> {
  if (provider.capabilities.promptLogprobs) return 'prompt-logprobs';
  if (provider.capabilities.chatLogprobs) return 'chat-logprobs';
  throw new Error(`simulator ${provider.id} serves no logprobs; sampled simulation is not implemented yet`);
}

export async function simulateRecords(
  provider: Provider,
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  const mode = options.mode ?? chooseSimulationMode(provider);
  const topK = options.topK ?? 15;
  const prompt = buildSimulationPrompt(explanation, recordsTokens, { mode, ...(options.template ? { template: options.template } : {}) });
  const tokenCount = recordsTokens.reduce((sum, tokens) => sum + tokens.length, 0);
  const result =
    mode === 'prompt-logprobs'
      ? await provider.complete({
          prompt: prompt.prompt,
          maxTokens: 0,
          temperature: 0,
          logprobs: { topK, echo: true },
          ...(options.signal ? { signal: options.signal } : {}),
        })
      : await provider.complete({
          messages: prompt.messages,
          maxTokens: tokenCount * 10 + 32,
          temperature: 0,
          logprobs: { topK: Math.min(topK, 20) },
          ...(options.signal ? { signal: options.signal } : {}),
        });
  if (!result.tokens || result.tokens.length === 0) {
    throw new Error(`simulator ${provider.id} returned no logprobs (mode ${mode})`);
  }
  const expected =
    mode === 'prompt-logprobs'
      ? readPromptLogprobs(result.tokens, prompt.unknownOffsets)
      : readChatLogprobs(result.text, result.tokens, recordsTokens);
  const missing = expected.reduce((sum, values) => sum + values.filter((value) => value === null).length, 0);
  return {
    mode,
    records: recordsTokens.map((tokens, i) => ({ tokens: [...tokens], expected: expected[i]! })),
    simulator: provider.id,
    promptVersion: prompt.promptVersion,
    calls: 1,
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    missing,
  };
}
