/**
 * @module llm/mock-provider — a MOCK provider for tests and benchmarks: it answers with a function you give it and
 * records every request. Its id starts with "mock:" so nothing it produces can pass for a real model's output.
 */
import type { LlmRequest, LlmResult, Provider, ProviderCapabilities } from './types.ts';

export interface MockProviderOptions {
  /** Model name after "mock:". Default "mock". */
  model?: string;
  capabilities?: Partial<ProviderCapabilities>;
  respond(request: LlmRequest, callIndex: number): LlmResult | Promise<LlmResult>;
}

export interface MockProvider extends Provider {
  readonly requests: LlmRequest[];
}

export function createMockProvider(options: MockProviderOptions): MockProvider {
  const requests: LlmRequest[] = [];
  return {
    id: `mock:${options.model ?? 'mock'}`,
    isBaseline: false,
    capabilities: { chatLogprobs: true, promptLogprobs: true, batch: false, ...options.capabilities },
    requests,
    async complete(request) {
      requests.push(request);
      return options.respond(request, requests.length - 1);
    },
  };
}

/** A result with the given text and no logprobs (helper for mock responders). */
export function textResult(text: string, model = 'mock'): LlmResult {
  return { text, usage: { promptTokens: 0, completionTokens: 0 }, model, finishReason: 'stop', cached: false, warnings: [] };
}
