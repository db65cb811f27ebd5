/**
 * MOCK echo simulator for tests: answers a prompt-logprobs request with tokens whose "unknown" positions carry a
 * distribution peaked at `valueOf(token)`; everything else is one filler token between them.
 */
import { createMockProvider, textResult, type MockProvider } from '../../src/llm/mock-provider.ts';
import type { LlmResult, TokenLogprob } from '../../src/llm/types.ts';

/** One shared (read-only) distribution per value: a mock need not allocate one per token. */
const peaked = Array.from({ length: 11 }, (_, value) =>
  Object.freeze({ [String(value)]: Math.log(0.9), unknown: Math.log(0.1) }),
);
const noAlternatives = Object.freeze({});

export function echoResult(prompt: string, valueOf: (token: string) => number): LlmResult {
  const tokens: TokenLogprob[] = [];
  let cursor = 0;
  const marker = '\tunknown';
  for (let at = prompt.indexOf(marker); at >= 0; at = prompt.indexOf(marker, at + 1)) {
    const lineStart = prompt.lastIndexOf('\n', at) + 1;
    const token = prompt.slice(lineStart, at);
    if (cursor < at + 1)
      tokens.push({
        token: prompt.slice(cursor, at + 1),
        logprob: -1,
        topLogprobs: noAlternatives,
        textOffset: cursor,
      });
    const value = Math.max(0, Math.min(10, Math.round(valueOf(token))));
    tokens.push({ token: 'unknown', logprob: -5, topLogprobs: peaked[value]!, textOffset: at + 1 });
    cursor = at + 1 + 'unknown'.length;
  }
  if (cursor < prompt.length)
    tokens.push({ token: prompt.slice(cursor), logprob: -1, topLogprobs: noAlternatives, textOffset: cursor });
  return { ...textResult(''), tokens, usage: { promptTokens: Math.ceil(prompt.length / 4), completionTokens: 0 } };
}

/** A mock explainer returning `explanation` and a mock echo simulator predicting with `valueOf`. */
export function mockProviders(explanation: (callIndex: number) => string, valueOf: (token: string) => number) {
  const explainer: MockProvider = createMockProvider({
    model: 'explainer',
    respond: (_request, i) => textResult(` ${explanation(i)}.`),
  });
  const simulator: MockProvider = createMockProvider({
    model: 'simulator',
    capabilities: { promptLogprobs: true },
    respond: (request) => echoResult(request.prompt ?? '', valueOf),
  });
  return { explainer, simulator };
}
