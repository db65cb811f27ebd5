/**
 * The simulation protocol (issue 13, items 1–3): records per call (`all` or N), calls split to fit the simulator's
 * context in every mode, chat answers aligned within their `<start>` blocks, and incomplete answers retried with
 * fewer records per call and then failed — never scored on what is left.
 */
import { describe, expect, it } from 'vitest';
import { getEncoder } from '../../src/llm/token-counter.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import type { LlmRequest, LlmResult, TokenLogprob } from '../../src/llm/types.ts';
import { IncompleteAnswerError } from '../../src/simulate/incomplete-answer-error.ts';
import { loadSimulateTemplate } from '../../src/simulate/simulate-template.ts';
import {
  boundCallCosts,
  measureCallCosts,
  planSimulationCalls,
  SimulationBudgetError,
  type SimulationBudget,
} from '../../src/simulate/plan-simulation-calls.ts';
import { readChatLogprobs } from '../../src/simulate/read-chat-logprobs.ts';
import { readSampledValues } from '../../src/simulate/read-sampled-values.ts';
import { simulateRecords } from '../../src/simulate/simulate-records.ts';
import { chatLogprobAnswer, chatSimulationTargets } from '../helpers/chat-simulation.ts';
import { echoResult } from '../helpers/echo-mock.ts';

const encoder = await getEncoder();
const countTokens = (text: string) => encoder.encode(text, 'all').length;
const budget = (contextTokens: number): SimulationBudget => ({ contextTokens, countTokens });

/** Six records of 40 tokens each; the value of a token is its number mod 11. */
const records = Array.from({ length: 6 }, (_, r) => Array.from({ length: 40 }, (_, t) => ` w${r * 40 + t}`));
const valueOf = (token: string) => Number(token.trim().slice(1)) % 11;
const expectedValues = records.map((tokens) => tokens.map(valueOf));

const targetsOf = chatSimulationTargets;
const chatAnswer = (blocks: string[][]): LlmResult => chatLogprobAnswer(blocks, valueOf);

describe('planSimulationCalls', () => {
  it('groups records by count: N a call, or all in one', () => {
    expect(planSimulationCalls([0, 1, 2, 3, 4], 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(planSimulationCalls([0, 1, 2, 3, 4], 1)).toEqual([[0], [1], [2], [3], [4]]);
    expect(planSimulationCalls([0, 1, 2, 3, 4], 'all')).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('splits where the context is exceeded, and names a record that does not fit even alone', () => {
    const costs = { fixedTokens: 100, recordPromptTokens: [50, 50, 50, 500], limit: 260, answers: false };
    expect(planSimulationCalls([0, 1, 2], 'all', costs)).toEqual([[0, 1, 2]]); // 100 + 3 × 52 = 256
    expect(planSimulationCalls([0, 1, 2], 'all', { ...costs, answers: true })).toEqual([[0], [1], [2]]); // answers double the records
    expect(() => planSimulationCalls([0, 3], 'all', costs)).toThrow(SimulationBudgetError);
    expect(() => planSimulationCalls([0, 3], 'all', costs)).toThrow(
      /record 4 .*does not fit the simulator's context.*--context-tokens/,
    );
  });
});

describe('boundCallCosts', () => {
  it('bounds the counted tokens from above, so the no-tokenizer fast path never lets an oversized call through', () => {
    const template = loadSimulateTemplate();
    const odd = [[' 漢字', '\t', '😀😀', ' naïve', '\n'], records[0]!, [` ${'x'.repeat(50)}`]];
    for (const mode of ['prompt-logprobs', 'chat-logprobs', 'sampled'] as const) {
      const bound = boundCallCosts('an explanation with ünïcode', odd, mode, 100_000, template);
      const counted = measureCallCosts('an explanation with ünïcode', odd, mode, budget(100_000), template);
      expect(bound.fixedTokens).toBeGreaterThanOrEqual(counted.fixedTokens);
      bound.recordPromptTokens.forEach((tokens, i) =>
        expect(tokens).toBeGreaterThanOrEqual(counted.recordPromptTokens[i]!),
      );
      expect([bound.limit, bound.answers]).toEqual([counted.limit, counted.answers]);
    }
  });
});

describe('simulateRecords: records per call and the context budget', () => {
  it('prompt-logprobs, one record a call (the reference protocol): one prompt per record, the same values', async () => {
    const simulator = createMockProvider({
      capabilities: { promptLogprobs: true },
      respond: (request) => echoResult(request.prompt!, valueOf),
    });
    const result = await simulateRecords(simulator, 'numbers', records, { recordsPerCall: 1 });
    expect(result.calls).toBe(6);
    const targetRecords = (prompt: string) =>
      prompt.slice(prompt.lastIndexOf('Explanation of neuron')).split('<start>').length - 1;
    expect(simulator.requests.map((request) => targetRecords(request.prompt!))).toEqual(Array(6).fill(1));
    expect(result.records.map((record) => record.expected.map((value) => Math.round(value!)))).toEqual(expectedValues);
  });

  it('prompt-logprobs, all records: split over calls that each fit the context, values unchanged', async () => {
    const simulator = createMockProvider({
      capabilities: { promptLogprobs: true },
      respond: (request) => echoResult(request.prompt!, valueOf),
    });
    const whole = await simulateRecords(simulator, 'numbers', records, {});
    expect(whole.calls).toBe(1);
    const contextTokens = Math.ceil(countTokens(simulator.requests[0]!.prompt!) * 0.7); // less than one call would need
    const split = await simulateRecords(simulator, 'numbers', records, { budget: budget(contextTokens) });
    expect(split.calls).toBeGreaterThan(1);
    for (const request of simulator.requests.slice(1))
      expect(countTokens(request.prompt!)).toBeLessThanOrEqual(contextTokens);
    expect(split.records.map((record) => record.expected)).toEqual(whole.records.map((record) => record.expected));
  });

  it('chat-logprobs: prompt plus max_tokens stay within the context (no 280,032-token completion budgets)', async () => {
    const simulator = createMockProvider({
      capabilities: { promptLogprobs: false },
      respond: (request) => chatAnswer(targetsOf(request)),
    });
    const contextTokens = 4_000;
    const result = await simulateRecords(simulator, 'numbers', records, { budget: budget(contextTokens) });
    expect(result.mode).toBe('chat-logprobs');
    expect(result.calls).toBeGreaterThan(1);
    for (const request of simulator.requests) {
      const promptTokens = request.messages!.reduce((sum, message) => sum + countTokens(message.content) + 4, 0);
      expect(promptTokens + request.maxTokens).toBeLessThanOrEqual(contextTokens);
    }
    expect(result.records.map((record) => record.expected)).toEqual(expectedValues);
  });

  it('sampled mode splits the same way: each call n samples', async () => {
    const simulator = createMockProvider({
      capabilities: { promptLogprobs: false, chatLogprobs: false },
      respond: (request) => textResult(chatAnswer(targetsOf(request)).text),
    });
    const result = await simulateRecords(simulator, 'numbers', records, { recordsPerCall: 4, samples: 2 });
    expect(result.mode).toBe('sampled');
    expect(result.calls).toBe(2 * 2); // [4 records] + [2 records], 2 samples each
    expect(simulator.requests.map((request) => targetsOf(request).length)).toEqual([4, 4, 2, 2]);
    expect(result.records.map((record) => record.expected)).toEqual(expectedValues);
  });
});

describe('incomplete answers', () => {
  it("an answer that skips records is retried with fewer records per call; the values are the records' own", async () => {
    // Given several records, the model answers only the last one; given one, it answers it.
    const simulator = createMockProvider({
      capabilities: { promptLogprobs: false },
      respond: (request) => chatAnswer(targetsOf(request).slice(-1)),
    });
    const result = await simulateRecords(simulator, 'numbers', records.slice(0, 3), { maxMissingFraction: 0.1 });
    expect(simulator.requests.map((request) => targetsOf(request).length)).toEqual([3, 2, 1, 1, 1]);
    expect(result.calls).toBe(5);
    expect(result.missing).toBe(0);
    expect(result.records.map((record) => record.expected)).toEqual(expectedValues.slice(0, 3));
  });

  it('a record still incomplete with one record a call fails the simulation with the reason', async () => {
    const lacking = (request: LlmRequest) =>
      chatAnswer(targetsOf(request).map((block) => block.slice(0, block.length / 2)));
    const simulator = createMockProvider({ capabilities: { promptLogprobs: false }, respond: lacking });
    const simulation = simulateRecords(simulator, 'numbers', records.slice(0, 2), { maxMissingFraction: 0.1 });
    await expect(simulation).rejects.toThrow(IncompleteAnswerError);
    await expect(simulation).rejects.toThrow(
      /answered record \d of 2 incompletely .*20 of 40 predictions missing \(more than 10 %\)/,
    );
  });
});

describe('chat answers are aligned within their <start> blocks (issue 13, item 2)', () => {
  /** Text and logprob tokens of an answer given as lines (values peaked at the written number). */
  function answer(lines: string[]): { text: string; tokens: TokenLogprob[] } {
    const tokens: TokenLogprob[] = [];
    let offset = 0;
    for (const line of lines) {
      const tab = line.lastIndexOf('\t');
      const pieces = tab < 0 ? [line] : [line.slice(0, tab + 1), line.slice(tab + 1)];
      pieces.forEach((piece, i) => {
        tokens.push({ token: piece, logprob: 0, topLogprobs: i === 1 ? { [piece]: 0 } : {}, textOffset: offset });
        offset += piece.length;
      });
      tokens.push({ token: '\n', logprob: 0, topLogprobs: {}, textOffset: offset });
      offset += 1;
    }
    return { text: lines.join('\n'), tokens };
  }

  it("an answer with fewer records than asked: the skipped record is missing, never given the last record's values", () => {
    const calibration = [' she', ' said'];
    const last = [' said', ' she', ' ran'];
    const { text, tokens } = answer(['<start>', ' said\t1', ' she\t9', ' ran\t2', '<end>']);
    expect(readChatLogprobs(text, tokens, [calibration, last])).toEqual([
      [null, null],
      [1, 9, 2],
    ]);
    expect(readSampledValues(text, [calibration, last])).toEqual([
      [null, null],
      [1, 9, 2],
    ]);
  });

  it('a block matching no record answers none; blocks are matched to records in order', () => {
    const { text, tokens } = answer(['<start>', ' x\t3', '<end>', '<start>', ' c\t5', ' d\t6', '<end>']);
    expect(readChatLogprobs(text, tokens, [[' a', ' b'], [' c', ' d'], [' e']])).toEqual([
      [null, null],
      [5, 6],
      [null],
    ]);
  });
});
