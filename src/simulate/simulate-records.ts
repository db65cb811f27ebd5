/**
 * @module simulate/simulate-records — runs one explanation against a provider over all records of a feature in a
 * single call, in the best logprob mode the provider offers (or, without logprobs, n sampled answers averaged), and
 * returns expected values per token. Where only the server can say whether it serves prompt logprobs
 * (OpenAI-compatible servers), the first prompt-logprob answer tells, and what it showed is remembered for the
 * provider's lifetime (llm/echo-support.ts): without support, simulations fall back to chat logprobs, unless the
 * mode prompt-logprobs was asked for, which then fails with the reason.
 */
import { refusesEcho } from '../llm/echo-support.ts';
import type { EchoEvidence, LlmRequest, LlmResult, Provider } from '../llm/types.ts';
import type { SimulateTemplate } from '../llm/prompt-template.ts';
import { buildSimulationPrompt, type SimulationPrompt } from './build-simulation-prompt.ts';
import { MalformedAnswerError } from './malformed-answer-error.ts';
import { readChatLogprobs } from './read-chat-logprobs.ts';
import { readPromptLogprobs, spellsPrompt } from './read-prompt-logprobs.ts';
import { averageSamples, readSampledValues } from './read-sampled-values.ts';
import type { SimulationMode, SimulationResult } from './types.ts';

export interface SimulateOptions {
  /**
   * Default: prompt-logprobs when the provider serves echo logprobs (or may: then its first answer tells), else
   * chat-logprobs. Asked for explicitly, prompt-logprobs never falls back: a server without it fails the call.
   */
  mode?: SimulationMode;
  /** Samples averaged in `sampled` mode (temperature 1). Default 5. */
  samples?: number;
  template?: SimulateTemplate;
  /** Alternatives per position. Default 15 (the reference's value; OpenAI chat allows at most 20). */
  topK?: number;
  signal?: AbortSignal;
}

/** The simulation mode asked for is one the simulator's server does not serve (asking again will not help). */
export class UnsupportedSimulationModeError extends Error {
  override readonly name = 'UnsupportedSimulationModeError';
}

/**
 * The mode a provider supports best, as far as is known now: prompt logprobs (where the server may serve them and
 * has not shown otherwise), else chat logprobs, else sampled integers.
 */
export function chooseSimulationMode(provider: Provider): SimulationMode {
  const { promptLogprobs, echoSupport, chatLogprobs } = provider.capabilities;
  if (promptLogprobs === true || (promptLogprobs === 'detect' && echoSupport?.known?.supported !== false)) return 'prompt-logprobs';
  if (chatLogprobs) return 'chat-logprobs';
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

type LogprobMode = Exclude<SimulationMode, 'sampled'>;

/** What calls a simulation made before the one it reports (a prompt-logprob answer that showed no echo support). */
interface EarlierCalls {
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

const noEarlierCalls: EarlierCalls = { calls: 0, promptTokens: 0, completionTokens: 0 };

/** The one request of a logprob mode: the flat prompt echoed (Completions), or the chat messages. */
function logprobRequest(mode: LogprobMode, prompt: SimulationPrompt, tokenCount: number, options: SimulateOptions): LlmRequest {
  const topK = options.topK ?? 15;
  const signal = options.signal ? { signal: options.signal } : {};
  return mode === 'prompt-logprobs'
    ? { prompt: prompt.prompt, maxTokens: 0, temperature: 0, logprobs: { topK, echo: true }, ...signal }
    : { messages: prompt.messages, maxTokens: tokenCount * 10 + 32, temperature: 0, logprobs: { topK: Math.min(topK, 20) }, ...signal };
}

/** Expected values read from a logprob answer, as a SimulationResult. */
function readLogprobAnswer(
  provider: Provider,
  mode: LogprobMode,
  prompt: SimulationPrompt,
  result: LlmResult,
  recordsTokens: readonly (readonly string[])[],
  earlier: EarlierCalls,
): SimulationResult {
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
    calls: earlier.calls + 1,
    promptTokens: earlier.promptTokens + result.usage.promptTokens,
    completionTokens: earlier.completionTokens + result.usage.completionTokens,
    missing,
  };
}

/**
 * A prompt-logprob simulation against a server whose echo support is not known yet, as evidence: supported when the
 * answer is the prompt's echo with its logprobs (the tokens spell the prompt, or values were read at the unknowns);
 * unsupported when the server refused the request as such (HTTP 400, 404, 405, 415, 422, 501) or ignored echo (the
 * answer does not repeat the prompt, or its logprobs are not the prompt's); inconclusive when the prompt came back
 * without logprobs. `spent` is told what the request cost (a simulation that falls back counts it).
 */
async function promptLogprobEvidence(
  provider: Provider,
  prompt: SimulationPrompt,
  recordsTokens: readonly (readonly string[])[],
  tokenCount: number,
  options: SimulateOptions,
  spent: (calls: EarlierCalls) => void,
): Promise<EchoEvidence<SimulationResult>> {
  let result: LlmResult;
  try {
    result = await provider.complete(logprobRequest('prompt-logprobs', prompt, tokenCount, options));
  } catch (error) {
    if (!refusesEcho(error)) throw error;
    spent({ calls: 1, promptTokens: 0, completionTokens: 0 });
    return { kind: 'unsupported', reason: error.message };
  }
  spent({ calls: 1, promptTokens: result.usage.promptTokens, completionTokens: result.usage.completionTokens });
  const tokens = result.tokens ?? [];
  if (result.echoed === false) {
    return { kind: 'unsupported', reason: `${provider.id} ignored echo: its Completions answer does not repeat the prompt` };
  }
  if (tokens.length === 0) {
    return { kind: 'inconclusive', error: new MalformedAnswerError(`simulator ${provider.id} returned no logprobs (mode prompt-logprobs)`) };
  }
  const simulation = readLogprobAnswer(provider, 'prompt-logprobs', prompt, result, recordsTokens, noEarlierCalls);
  if (spellsPrompt(tokens, prompt.prompt) || simulation.missing < tokenCount) return { kind: 'supported', value: simulation };
  return { kind: 'unsupported', reason: `${provider.id} returned logprobs that are not the prompt's (echo ignored)` };
}

export async function simulateRecords(
  provider: Provider,
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  let mode = options.mode ?? chooseSimulationMode(provider);
  const template = options.template ? { template: options.template } : {};
  const tokenCount = recordsTokens.reduce((sum, tokens) => sum + tokens.length, 0);
  let earlier = noEarlierCalls;
  const { promptLogprobs, echoSupport } = provider.capabilities;
  if (mode === 'prompt-logprobs' && promptLogprobs === 'detect' && echoSupport) {
    const prompt = buildSimulationPrompt(explanation, recordsTokens, { mode, ...template });
    const settled = await echoSupport.settle(() =>
      promptLogprobEvidence(provider, prompt, recordsTokens, tokenCount, options, (calls) => (earlier = calls)),
    );
    if (settled.value) return settled.value;
    if (!settled.verdict.supported) {
      if (options.mode === 'prompt-logprobs') {
        throw new UnsupportedSimulationModeError(
          `simulation mode prompt-logprobs was asked for, but ${provider.id} does not serve prompt logprobs (Completions echo): ${settled.verdict.reason}; leave the mode unset to fall back to chat-logprobs`,
        );
      }
      mode = provider.capabilities.chatLogprobs ? 'chat-logprobs' : 'sampled';
    }
  }
  if (mode === 'sampled') return simulateSampled(provider, explanation, recordsTokens, options);
  const prompt = buildSimulationPrompt(explanation, recordsTokens, { mode, ...template });
  const result = await provider.complete(logprobRequest(mode, prompt, tokenCount, options));
  return readLogprobAnswer(provider, mode, prompt, result, recordsTokens, earlier);
}
