/**
 * @module llm/mock-provider — a MOCK provider for tests and benchmarks: it answers with a function you give it and
 * records every request (unless told not to: a benchmark over thousands of features must not measure the garbage
 * collector copying a log of every prompt). Its id starts with "mock:" so nothing it produces can pass for a real
 * model's output.
 */
import type { LlmRequest, LlmResult, Provider, ProviderCapabilities } from './types.ts';

export interface MockProviderOptions {
  /** Model name after "mock:". Default "mock". */
  model?: string;
  capabilities?: Partial<ProviderCapabilities>;
  respond(request: LlmRequest, callIndex: number): LlmResult | Promise<LlmResult>;
  /** Keep every request in `requests`. Default true. */
  recordRequests?: boolean;
}

export interface MockProvider extends Provider {
  /** The requests so far (empty with `recordRequests: false`). */
  readonly requests: LlmRequest[];
}

export function createMockProvider(options: MockProviderOptions): MockProvider {
  const requests: LlmRequest[] = [];
  const record = options.recordRequests ?? true;
  let callCount = 0;
  return {
    id: `mock:${options.model ?? 'mock'}`,
    isBaseline: false,
    capabilities: { chatLogprobs: true, promptLogprobs: true, batch: false, ...options.capabilities },
    requests,
    async complete(request) {
      if (record) requests.push(request);
      return options.respond(request, callCount++);
    },
  };
}

/** A result with the given text and no logprobs (helper for mock responders). */
export function textResult(text: string, model = 'mock'): LlmResult {
  return {
    text,
    usage: { promptTokens: 0, completionTokens: 0 },
    model,
    finishReason: 'stop',
    cached: false,
    warnings: [],
  };
}
