/**
 * @module simulate/simulate-records — runs one explanation against a provider over the records of a feature and
 * returns expected values per token. Records go into calls of `recordsPerCall` (default: all of them in one call,
 * Anthropic's protocol; 1 is OpenAI's reference protocol), split further where a call would not fit the simulator's
 * context (`budget`). The mode is the best the provider offers (or, without logprobs, n sampled answers averaged).
 * Where only the server can say whether it serves prompt logprobs (OpenAI-compatible servers), the first
 * prompt-logprob answer tells, and what it showed is remembered for the provider's lifetime (llm/echo-support.ts):
 * without support, simulations fall back to chat logprobs, unless the mode prompt-logprobs was asked for, which then
 * fails with the reason. With `maxMissingFraction`, an incomplete answer is retried with fewer records per call and,
 * for a single record, fails the simulation (IncompleteAnswerError).
 */
import { refusesEcho } from '../llm/echo-support.ts';
import type { EchoEvidence, LlmRequest, LlmResult, Provider } from '../llm/types.ts';
import type { SimulateTemplate } from './simulate-template.ts';
import { buildSimulationPrompt, type SimulationPrompt } from './build-simulation-prompt.ts';
import { IncompleteAnswerError } from './incomplete-answer-error.ts';
import { MalformedAnswerError } from './malformed-answer-error.ts';
import {
  boundCallCosts,
  callPromptTokens,
  callTotalTokens,
  measureCallCosts,
  planSimulationCalls,
  type CallCosts,
  type RecordsPerCall,
  type SimulationBudget,
} from './plan-simulation-calls.ts';
import { readChatLogprobs } from './read-chat-logprobs.ts';
import { readPromptLogprobs, spellsPrompt } from './read-prompt-logprobs.ts';
import { averageSamples, readSampledValues } from './read-sampled-values.ts';
import type { SimulationMode, SimulationResult } from './types.ts';
import { InputError } from '../common/errors.ts';

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
  /** Records simulated in one call. Default `all` (still split where the budget requires). */
  recordsPerCall?: RecordsPerCall;
  /** The simulator's context: no call is planned larger than it. Default: no limit. */
  budget?: SimulationBudget;
  /**
   * The most a call's answer may leave missing (a fraction of its predictions) before it counts as incomplete; a
   * record without any value is incomplete too. Default: no check (every answer is returned as read).
   */
  maxMissingFraction?: number;
  signal?: AbortSignal;
}

/** The simulation mode asked for is one the simulator's server does not serve (asking again will not help). */
export class UnsupportedSimulationModeError extends InputError {
  override readonly name = 'UnsupportedSimulationModeError';
}

/**
 * The mode a provider supports best, as far as is known now: prompt logprobs (where the server may serve them and
 * has not shown otherwise), else chat logprobs, else sampled integers.
 */
export function chooseSimulationMode(provider: Provider): SimulationMode {
  const { promptLogprobs, echoSupport, chatLogprobs } = provider.capabilities;
  if (promptLogprobs === true || (promptLogprobs === 'detect' && echoSupport?.known?.supported !== false))
    return 'prompt-logprobs';
  if (chatLogprobs) return 'chat-logprobs';
  return 'sampled';
}

type LogprobMode = Exclude<SimulationMode, 'sampled'>;

/** Tokens and calls a simulation spent, all its calls together (those that showed no echo support included). */
interface Spent {
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

/** What one call (or the calls a split made of it) read, for the records it was given (indices into the feature's). */
interface CallOutcome {
  records: number[];
  expected: (number | null)[][];
  mode: SimulationMode;
  promptVersion: string;
}

/** One simulation's state: its inputs and what its calls have spent so far. */
interface SimulationRun {
  provider: Provider;
  explanation: string;
  recordsTokens: readonly (readonly string[])[];
  options: SimulateOptions;
  spent: Spent;
  /** Token costs of calls per mode (measured once, when a budget is set). */
  costs: Map<SimulationMode, CallCosts>;
}

/**
 * The token costs of calls in `mode`, or undefined without a budget. Bounded from above first (boundCallCosts):
 * when every record fits one call even so (the usual case), nothing is tokenized; otherwise tokens are counted, so
 * that calls are split no more than needed.
 */
function callCosts(run: SimulationRun, mode: SimulationMode): CallCosts | undefined {
  const { budget, template } = run.options;
  if (!budget) return undefined;
  let costs = run.costs.get(mode);
  if (!costs) {
    const bound = template
      ? boundCallCosts(run.explanation, run.recordsTokens, mode, budget.contextTokens, template)
      : undefined;
    const fits =
      bound !== undefined &&
      callTotalTokens(
        bound,
        run.recordsTokens.map((_, i) => i),
      ) <= bound.limit;
    costs = fits ? bound : measureCallCosts(run.explanation, run.recordsTokens, mode, budget, template);
    run.costs.set(mode, costs);
  }
  return costs;
}

/** Predictions missing (null) in per-record expected values. */
const missingIn = (expected: readonly (readonly (number | null)[])[]) =>
  expected.reduce((sum, values) => sum + values.filter((value) => value === null).length, 0);

const spend = (run: SimulationRun, result: LlmResult) => {
  run.spent.calls += 1;
  run.spent.promptTokens += result.usage.promptTokens;
  run.spent.completionTokens += result.usage.completionTokens;
};

/** The answer budget of a chat or sampled call: room for every value line, within what the context leaves. */
function completionBudget(run: SimulationRun, mode: SimulationMode, records: readonly number[]): number {
  const tokenCount = records.reduce((sum, record) => sum + run.recordsTokens[record]!.length, 0);
  const wanted = tokenCount * 10 + 32;
  const costs = callCosts(run, mode);
  if (!costs) return wanted;
  return Math.max(1, Math.min(wanted, costs.limit - callPromptTokens(costs, records)));
}

/** The request of a logprob mode: the flat prompt echoed (Completions), or the chat messages. */
function logprobRequest(
  run: SimulationRun,
  mode: LogprobMode,
  prompt: SimulationPrompt,
  records: readonly number[],
): LlmRequest {
  const topK = run.options.topK ?? 15;
  const signal = run.options.signal ? { signal: run.options.signal } : {};
  return mode === 'prompt-logprobs'
    ? { prompt: prompt.prompt, maxTokens: 0, temperature: 0, logprobs: { topK, echo: true }, ...signal }
    : {
        messages: prompt.messages,
        maxTokens: completionBudget(run, mode, records),
        temperature: 0,
        logprobs: { topK: Math.min(topK, 20) },
        ...signal,
      };
}

const buildPrompt = (run: SimulationRun, records: readonly number[], mode: LogprobMode) =>
  buildSimulationPrompt(
    run.explanation,
    records.map((record) => run.recordsTokens[record]!),
    { mode, ...(run.options.template ? { template: run.options.template } : {}) },
  );

/** Expected values read from a logprob answer. */
function readLogprobAnswer(
  run: SimulationRun,
  mode: LogprobMode,
  prompt: SimulationPrompt,
  result: LlmResult,
  records: readonly number[],
): CallOutcome {
  if (!result.tokens || result.tokens.length === 0) {
    throw new MalformedAnswerError(`simulator ${run.provider.id} returned no logprobs (mode ${mode})`);
  }
  const targets = records.map((record) => run.recordsTokens[record]!);
  const expected =
    mode === 'prompt-logprobs'
      ? readPromptLogprobs(result.tokens, prompt.unknownOffsets, prompt.prompt)
      : readChatLogprobs(result.text, result.tokens, targets);
  return { records: [...records], expected, mode, promptVersion: prompt.promptVersion };
}

/** Mode `sampled`: n answers at temperature 1, integer values read from the text and averaged per token. */
async function sampledCall(run: SimulationRun, records: readonly number[]): Promise<CallOutcome> {
  const { provider, options } = run;
  const targets = records.map((record) => run.recordsTokens[record]!);
  const prompt = buildPrompt(run, records, 'chat-logprobs');
  const samples = options.samples ?? 5;
  const maxTokens = completionBudget(run, 'sampled', records);
  const results = await Promise.all(
    Array.from({ length: samples }, (_, sampleIndex) =>
      provider
        .complete({
          messages: prompt.messages,
          maxTokens,
          temperature: 1,
          sampleIndex,
          ...(options.signal ? { signal: options.signal } : {}),
        })
        .then((result) => {
          spend(run, result);
          return result;
        }),
    ),
  );
  const expected = averageSamples(
    results.map((result) => readSampledValues(result.text, targets)),
    targets,
  );
  const tokenCount = targets.reduce((sum, tokens) => sum + tokens.length, 0);
  if (missingIn(expected) === tokenCount) {
    throw new MalformedAnswerError(
      `simulator ${provider.id} wrote no readable value in ${samples} samples (mode sampled)`,
    );
  }
  return { records: [...records], expected, mode: 'sampled', promptVersion: `${prompt.promptVersion}+sampled` };
}

/**
 * A prompt-logprob call to a server whose echo support is not known yet, as evidence: supported when the answer is
 * the prompt's echo with its logprobs (the tokens spell the prompt, or values were read at the unknowns);
 * unsupported when the server refused echo itself (echo-support.ts: an error that names echo, or an endpoint not
 * served) or ignored it (the answer does not repeat the prompt, or its logprobs are not the prompt's); inconclusive
 * when the prompt came back without logprobs. Any other error (a context-length 400, a 5xx) settles nothing.
 */
async function promptLogprobEvidence(
  run: SimulationRun,
  prompt: SimulationPrompt,
  records: readonly number[],
): Promise<EchoEvidence<CallOutcome>> {
  const { provider } = run;
  let result: LlmResult;
  try {
    result = await provider.complete(logprobRequest(run, 'prompt-logprobs', prompt, records));
  } catch (error) {
    if (!refusesEcho(error)) throw error;
    run.spent.calls += 1;
    return { kind: 'unsupported', reason: error.message };
  }
  spend(run, result);
  const tokens = result.tokens ?? [];
  if (result.echoed === false) {
    return {
      kind: 'unsupported',
      reason: `${provider.id} ignored echo: its Completions answer does not repeat the prompt`,
    };
  }
  if (tokens.length === 0) {
    return {
      kind: 'inconclusive',
      error: new MalformedAnswerError(`simulator ${provider.id} returned no logprobs (mode prompt-logprobs)`),
    };
  }
  const outcome = readLogprobAnswer(run, 'prompt-logprobs', prompt, result, records);
  const tokenCount = records.reduce((sum, record) => sum + run.recordsTokens[record]!.length, 0);
  if (spellsPrompt(tokens, prompt.prompt) || missingIn(outcome.expected) < tokenCount)
    return { kind: 'supported', value: outcome };
  return { kind: 'unsupported', reason: `${provider.id} returned logprobs that are not the prompt's (echo ignored)` };
}

/**
 * Why an outcome is incomplete — a record with no value at all (skipped by the answer), or more than
 * `maxMissingFraction` of the call's predictions missing — or undefined when it is complete enough.
 */
function incompleteness(run: SimulationRun, outcome: CallOutcome): string | undefined {
  const limit = run.options.maxMissingFraction;
  if (limit === undefined) return undefined;
  const total = outcome.expected.reduce((sum, values) => sum + values.length, 0);
  const missing = missingIn(outcome.expected);
  const skipped = outcome.expected.filter(
    (values) => values.length > 0 && values.every((value) => value === null),
  ).length;
  if (missing / total > limit) return `${missing} of ${total} predictions missing (more than ${limit * 100} %)`;
  if (skipped > 0) return `${skipped} of ${outcome.records.length} records without any value`;
  return undefined;
}

/** The mode to use once a server has shown it does not serve prompt logprobs (or fails, when that mode was asked for). */
function fallbackMode(run: SimulationRun, reason: string): SimulationMode {
  if (run.options.mode === 'prompt-logprobs') {
    throw new UnsupportedSimulationModeError(
      `simulation mode prompt-logprobs was asked for, but ${run.provider.id} does not serve prompt logprobs (Completions echo): ${reason}; leave the mode unset to fall back to chat-logprobs`,
    );
  }
  return run.provider.capabilities.chatLogprobs ? 'chat-logprobs' : 'sampled';
}

/**
 * One planned call on `records` in `mode`; an incomplete answer is retried with its records split over two calls
 * (down to one record a call, whose incomplete answer fails the simulation with IncompleteAnswerError).
 */
async function simulateCall(run: SimulationRun, records: number[], mode: SimulationMode): Promise<CallOutcome[]> {
  const { provider } = run;
  let outcome: CallOutcome | undefined;
  if (
    mode === 'prompt-logprobs' &&
    provider.capabilities.promptLogprobs === 'detect' &&
    provider.capabilities.echoSupport
  ) {
    const prompt = buildPrompt(run, records, mode);
    const settled = await provider.capabilities.echoSupport.settle(() => promptLogprobEvidence(run, prompt, records));
    if (settled.value) outcome = settled.value;
    else if (!settled.verdict.supported)
      return simulatePlanned(run, records, fallbackMode(run, settled.verdict.reason));
  }
  if (!outcome) {
    if (mode === 'sampled') outcome = await sampledCall(run, records);
    else {
      const prompt = buildPrompt(run, records, mode);
      const result = await provider.complete(logprobRequest(run, mode, prompt, records));
      spend(run, result);
      outcome = readLogprobAnswer(run, mode, prompt, result, records);
    }
  }
  const incomplete = incompleteness(run, outcome);
  if (incomplete === undefined) return [outcome];
  if (records.length === 1) {
    throw new IncompleteAnswerError(
      `simulator ${provider.id} answered record ${records[0]! + 1} of ${run.recordsTokens.length} incompletely (mode ${outcome.mode}, one record a call): ${incomplete}`,
    );
  }
  return simulatePlanned(run, records, outcome.mode, Math.ceil(records.length / 2));
}

/** Simulates `records` in calls planned for `mode` (the run's records per call, or fewer, within the budget). */
async function simulatePlanned(
  run: SimulationRun,
  records: number[],
  mode: SimulationMode,
  recordsPerCall?: RecordsPerCall,
): Promise<CallOutcome[]> {
  const calls = planSimulationCalls(
    records,
    recordsPerCall ?? run.options.recordsPerCall ?? 'all',
    callCosts(run, mode),
  );
  // Every call is started before any is awaited and all are waited for, so a failure does not leave calls running
  // unseen (and batch mode, whose collecting provider answers none, sees every request).
  const settled = await Promise.allSettled(calls.map((call) => simulateCall(run, call, mode)));
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.flatMap((outcome) => (outcome as PromiseFulfilledResult<CallOutcome[]>).value);
}

/**
 * Simulates one explanation on a feature's records: in calls of `recordsPerCall` records (default all) that fit the
 * simulator's context (`budget`), in the best mode the provider offers; expected values per token, in record order.
 */
export async function simulateRecords(
  provider: Provider,
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  if (recordsTokens.length === 0 || recordsTokens.some((tokens) => tokens.length === 0)) {
    throw new Error('simulateRecords: every record to simulate needs at least one token');
  }
  const run: SimulationRun = {
    provider,
    explanation,
    recordsTokens,
    options,
    spent: { calls: 0, promptTokens: 0, completionTokens: 0 },
    costs: new Map(),
  };
  const outcomes = await simulatePlanned(
    run,
    recordsTokens.map((_, i) => i),
    options.mode ?? chooseSimulationMode(provider),
  );
  const modes = new Set(outcomes.map((outcome) => outcome.mode));
  if (modes.size > 1)
    throw new Error(`simulateRecords: calls of one simulation answered in different modes (${[...modes].join(', ')})`);
  const expected = new Array<(number | null)[]>(recordsTokens.length);
  for (const outcome of outcomes) outcome.records.forEach((record, i) => (expected[record] = outcome.expected[i]!));
  return {
    mode: outcomes[0]!.mode,
    records: recordsTokens.map((tokens, i) => ({ tokens: [...tokens], expected: expected[i]! })),
    simulator: provider.id,
    promptVersion: outcomes[0]!.promptVersion,
    calls: run.spent.calls,
    promptTokens: run.spent.promptTokens,
    completionTokens: run.spent.completionTokens,
    missing: missingIn(expected),
  };
}
