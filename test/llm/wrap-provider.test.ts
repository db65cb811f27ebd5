import { describe, expect, it } from 'vitest';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { RateLimiter, withRateLimit } from '../../src/llm/rate-limiter.ts';
import { createMemoryResponseCache, withCache } from '../../src/llm/response-cache.ts';
import { withRetry } from '../../src/llm/retry.ts';
import type { LlmRequest, Provider } from '../../src/llm/types.ts';
import { wrapProvider } from '../../src/llm/wrap-provider.ts';

const request: LlmRequest = { messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 };

/** A mock provider that reaches a (pretend) server, so there is an endpoint to pass on. */
function baseProvider() {
  const mock = createMockProvider({
    model: 'wrapped',
    capabilities: { batch: true },
    respond: (r) => textResult(`max ${r.maxTokens}`),
  });
  const provider: Provider = { ...mock, endpoint: 'http://127.0.0.1:1/v1', isBaseline: true };
  return { mock, provider };
}

describe('wrapProvider', () => {
  it("passes the wrapped provider's id, capabilities, isBaseline and endpoint on", () => {
    const { provider } = baseProvider();
    const wrapped = wrapProvider(provider, {});
    expect(wrapped).not.toBe(provider);
    expect(wrapped.id).toBe('mock:wrapped');
    expect(wrapped.capabilities).toBe(provider.capabilities);
    expect(wrapped.isBaseline).toBe(true);
    expect(wrapped.endpoint).toBe('http://127.0.0.1:1/v1');
    const keyless = wrapProvider(createMockProvider({ respond: () => textResult('ok') }), {});
    expect('endpoint' in keyless).toBe(false);
  });

  it('calls the wrapped provider as is without middleware', async () => {
    const { mock, provider } = baseProvider();
    const result = await wrapProvider(provider, {}).complete(request);
    expect(result.text).toBe('max 5');
    expect(mock.requests).toEqual([request]);
  });

  it('transforms the request before the call and before wrapComplete sees it', async () => {
    const { mock, provider } = baseProvider();
    const seen: LlmRequest[] = [];
    const wrapped = wrapProvider(provider, {
      transformRequest: (r) => ({ ...r, maxTokens: r.maxTokens * 2 }),
      wrapComplete: async ({ request: transformed, complete }) => {
        seen.push(transformed);
        const result = await complete();
        return { ...result, warnings: [...result.warnings, 'wrapped'] };
      },
    });
    const result = await wrapped.complete(request);
    expect(seen.map((r) => r.maxTokens)).toEqual([10]);
    expect(mock.requests.map((r) => r.maxTokens)).toEqual([10]);
    expect(result).toMatchObject({ text: 'max 10', warnings: ['wrapped'] });
  });

  it('lets wrapComplete answer without the call, or call it several times', async () => {
    const { mock, provider } = baseProvider();
    const instead = wrapProvider(provider, {
      wrapComplete: async ({ provider: inner }) => textResult(`instead of ${inner.id}`),
    });
    expect((await instead.complete(request)).text).toBe('instead of mock:wrapped');
    expect(mock.requests).toHaveLength(0);
    const twice = wrapProvider(provider, { wrapComplete: async ({ complete }) => (await complete(), complete()) });
    await twice.complete(request);
    expect(mock.requests).toHaveLength(2);
  });

  it('keeps id, capabilities, isBaseline and endpoint through the cache, retry and limiter wrappers', async () => {
    const { provider } = baseProvider();
    const stacked = withCache(withRetry(withRateLimit(provider, new RateLimiter())), createMemoryResponseCache());
    expect({
      id: stacked.id,
      endpoint: stacked.endpoint,
      isBaseline: stacked.isBaseline,
      capabilities: stacked.capabilities,
    }).toEqual({
      id: provider.id,
      endpoint: provider.endpoint,
      isBaseline: true,
      capabilities: provider.capabilities,
    });
    expect((await stacked.complete(request)).cached).toBe(false);
    expect((await stacked.complete(request)).cached).toBe(true);
  });
});
