/**
 * @module simulate/simulate-records — runs one explanation against a provider over all records of a feature in a
 * single call, in the best logprob mode the provider offers (or, without logprobs, n sampled answers averaged), and
 * returns expected values per token.
 */
import type { Provider } from '../llm/types.ts';
import type { SimulateTemplate } from '../llm/prompt-template.ts';
import { buildSimulationPrompt } from './build-simulation-prompt.ts';
import { MalformedAnswerError } from './malformed-answer-error.ts';
import { readChatLogprobs } from './read-chat-logprobs.ts';
import { readPromptLogprobs } from './read-prompt-logprobs.ts';
import { averageSamples, readSampledValues } from './read-sampled-values.ts';
import type { SimulationMode, SimulationResult } from './types.ts';

export interface SimulateOptions {
  /** Default: prompt-logprobs when the provider serves echo logprobs, else chat-logprobs. */
  mode?: SimulationMode;
  /** Samples averaged in `sampled` mode (temperature 1). Default 5. */
  samples?: number;
  template?: SimulateTemplate;
  /** Alternatives per position. Default 15 (the reference's value; OpenAI chat allows at most 20). */
  topK?: number;
  signal?: AbortSignal;
}

/** The mode a provider supports best: prompt logprobs, else chat logprobs, else sampled integers. */
export function chooseSimulationMode(provider: Provider): SimulationMode {
  if (provider.capabilities.promptLogprobs) return 'prompt-logprobs';
  if (provider.capabilities.chatLogprobs) return 'chat-logprobs';
  return 'sampled';
}

/** Mode `sampled`: n answers at temperature 1, integer values read from the text and averaged per token. */
async function simulateSampled(
  provider: Provider,
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulateOptions,
): Promise<SimulationResult> {
  const prompt = buildSimulationPrompt(explanation, recordsTokens, { mode: 'chat-logprobs', ...(options.template ? { template: options.template } : {}) });
  const samples = options.samples ?? 5;
  const tokenCount = recordsTokens.reduce((sum, tokens) => sum + tokens.length, 0);
  const results = await Promise.all(
    Array.from({ length: samples }, (_, sampleIndex) =>
      provider.complete({
        messages: prompt.messages,
        maxTokens: tokenCount * 10 + 32,
        temperature: 1,
        sampleIndex,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    ),
  );
  const read = results.map((result) => readSampledValues(result.text, recordsTokens));
  const expected = averageSamples(read, recordsTokens);
  const missing = expected.reduce((sum, values) => sum + values.filter((value) => value === null).length, 0);
  if (missing === tokenCount) throw new MalformedAnswerError(`simulator ${provider.id} wrote no readable value in ${samples} samples (mode sampled)`);
  return {
    mode: 'sampled',
    records: recordsTokens.map((tokens, i) => ({ tokens: [...tokens], expected: expected[i]! })),
    simulator: provider.id,
    promptVersion: `${prompt.promptVersion}+sampled`,
    calls: samples,
    promptTokens: results.reduce((sum, result) => sum + result.usage.promptTokens, 0),
    completionTokens: results.reduce((sum, result) => sum + result.usage.completionTokens, 0),
    missing,
  };
}

export async function simulateRecords(
  provider: Provider,
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  const mode = options.mode ?? chooseSimulationMode(provider);
  if (mode === 'sampled') return simulateSampled(provider, explanation, recordsTokens, options);
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
    throw new MalformedAnswerError(`simulator ${provider.id} returned no logprobs (mode ${mode})`);
  }
  const expected =
    mode === 'prompt-logprobs'
      ? readPromptLogprobs(result.tokens, prompt.unknownOffsets, prompt.prompt)
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
