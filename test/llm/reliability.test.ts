import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/llm/anthropic-provider.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { createOpenAiCompatibleProvider } from '../../src/llm/openai-compatible-provider.ts';
import { createPriceTable, loadPriceTable } from '../../src/llm/price-table.ts';
import { RateLimiter, withRateLimit } from '../../src/llm/rate-limiter.ts';
import { createReliableProvider } from '../../src/llm/reliable-provider.ts';
import { cacheKey, createMemoryResponseCache, withCache } from '../../src/llm/response-cache.ts';
import { createSqliteResponseCache } from '../../src/store/response-cache-table.ts';
import { backoffDelay, RetryError, withRetry } from '../../src/llm/retry.ts';
import { LlmCallError } from '../../src/llm/types.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createVirtualClock } from '../helpers/virtual-clock.ts';

const failing = (status: number, retryAfterMs?: number) =>
  new LlmCallError(`HTTP ${status}`, {
    status,
    retryable: status === 429 || status >= 500,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

/** A provider failing with `errors` in turn, then answering. */
function flaky(errors: LlmCallError[]) {
  return createMockProvider({
    respond: (_request, index) => {
      const error = errors[index];
      if (error) throw error;
      return textResult('ok');
    },
  });
}

const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 5 };

describe('retry', () => {
  it('retries 429 and 5xx, waits at least Retry-After, and answers', async () => {
    const provider = flaky([failing(429, 40), failing(500), failing(503)]);
    const waits: number[] = [];
    const retried = withRetry(provider, { baseDelayMs: 10, sleep: async (ms) => void waits.push(ms) });
    const result = await retried.complete(request);
    expect(result.text).toBe('ok');
    expect(result.warnings).toContain('answered on attempt 4');
    expect(provider.requests).toHaveLength(4);
    expect(waits[0]).toBeGreaterThanOrEqual(40);
    expect(waits[1]).toBeLessThanOrEqual(20); // full jitter within base·2
    expect(waits[2]).toBeLessThanOrEqual(40);
  });

  it('does not retry 400/401/404', async () => {
    for (const status of [400, 401, 404]) {
      const provider = flaky([failing(status)]);
      await expect(withRetry(provider, { sleep: async () => {} }).complete(request)).rejects.toThrow(`HTTP ${status}`);
      expect(provider.requests).toHaveLength(1);
    }
  });

  it('stops after maxAttempts with an error listing every attempt', async () => {
    const provider = flaky(Array.from({ length: 10 }, () => failing(500)));
    const error = await withRetry(provider, { maxAttempts: 3, sleep: async () => {} })
      .complete(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect((error as Error).message).toMatch(
      /failed after 3 attempts:\n {2}attempt 1: HTTP 500[^\n]*\n {2}attempt 2: HTTP 500[^\n]*\n {2}attempt 3: HTTP 500/,
    );
    expect(provider.requests).toHaveLength(3);
  });

  it('stops at once on abort', async () => {
    const provider = flaky(Array.from({ length: 10 }, () => failing(500)));
    const controller = new AbortController();
    const pending = withRetry(provider, { baseDelayMs: 60_000 }).complete({ ...request, signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toThrow(/aborted while waiting to retry/);
    expect(provider.requests).toHaveLength(1);
  });

  it('backoff caps at maxDelayMs', () => {
    const delay = backoffDelay(30, failing(500), { baseDelayMs: 100, maxDelayMs: 1000 }, () => 0.999);
    expect(delay).toBeLessThanOrEqual(1000);
  });
});

describe('rate limiter', () => {
  it('never admits more than the limit in any window, with a fake clock', async () => {
    const clock = createVirtualClock();
    const limiter = new RateLimiter({ requestsPerMinute: 5, windowMs: 1000, now: clock.now, sleep: clock.sleep });
    const admitted: number[] = [];
    const provider = withRateLimit(
      createMockProvider({
        respond: async () => (admitted.push(clock.now()), await clock.sleep(50), textResult('ok')),
      }),
      limiter,
    );
    await clock.run(Promise.all(Array.from({ length: 12 }, () => provider.complete(request))));
    expect(admitted).toHaveLength(12);
    for (const start of admitted)
      expect(admitted.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(5);
    // and it is not slower than it must be: 12 requests at 5 a window take three windows
    expect(Math.max(...admitted)).toBeLessThan(2 * (1000 + 50) + 10);
  });

  it('holds concurrency and counts tokens per window (estimate, then real usage)', async () => {
    const limiter = new RateLimiter({ concurrency: 2, tokensPerMinute: 1_000_000 });
    let inFlight = 0;
    let peak = 0;
    const provider = withRateLimit(
      createMockProvider({
        respond: async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
          return textResult('ok');
        },
      }),
      limiter,
    );
    await Promise.all(Array.from({ length: 8 }, () => provider.complete(request)));
    expect(peak).toBe(2);
    expect(limiter.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it('slows down after a 429', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100 });
    const provider = withRateLimit(flaky([failing(429, 10)]), limiter);
    await expect(provider.complete(request)).rejects.toThrow('HTTP 429');
    expect(limiter.rateFactor).toBeLessThan(1);
  });
});

describe('response cache', () => {
  it('keys on provider and full request (sample index included), never on the signal', () => {
    const provider = { id: 'openai:m' };
    const base = cacheKey(provider, request);
    expect(cacheKey(provider, { ...request, signal: new AbortController().signal })).toBe(base);
    expect(cacheKey({ id: 'openai:other' }, request)).not.toBe(base);
    expect(cacheKey(provider, { ...request, temperature: 1 })).not.toBe(base);
    expect(cacheKey(provider, { ...request, sampleIndex: 1 })).not.toBe(base);
  });

  it('keys on the endpoint too: the same model name on another server is another entry', () => {
    const at = (endpoint: string) => cacheKey({ id: 'openai-compatible:m', endpoint }, request);
    expect(at('http://127.0.0.1:8000/v1')).not.toBe(at('http://127.0.0.1:8001/v1'));
    expect(at('http://127.0.0.1:8000/v1')).not.toBe(cacheKey({ id: 'openai-compatible:m' }, request));
    // the same server, however the base URL is written, is one entry (a resumed or merged run still hits)
    const identity = (baseURL: string) => createOpenAiCompatibleProvider({ model: 'm', baseURL }).endpoint;
    expect(identity('http://127.0.0.1:8000/v1/')).toBe(identity('HTTP://127.0.0.1:8000/v1'));
    expect(identity('http://user:pw@127.0.0.1:8000/v1?x=1')).toBe('http://127.0.0.1:8000/v1');
    expect(createAnthropicProvider({ model: 'm', baseURL: 'http://127.0.0.1:9/v1' }).endpoint).toBe(
      'http://127.0.0.1:9',
    );
    // a provider that reaches no server keys as before endpoints were in the key
    expect(cacheKey({ id: 'baseline:rule-based-v1' }, request)).toBe(
      createHash('sha256')
        .update(JSON.stringify({ provider: 'baseline:rule-based-v1', request }))
        .digest('hex'),
    );
  });

  it('does not answer a request to one server from the answer of another (same model name)', async () => {
    const served: string[] = [];
    const fetchFunction = (async (input: string | URL | Request) => {
      served.push(String(input instanceof Request ? input.url : input));
      const body = {
        id: 'c',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          { index: 0, message: { role: 'assistant', content: `answer ${served.length}` }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      };
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const cache = createSqliteResponseCache(openDatabase(':memory:'));
    const on = (baseURL: string) =>
      createReliableProvider(createOpenAiCompatibleProvider({ model: 'm', baseURL, fetch: fetchFunction }), { cache });
    const first = on('http://127.0.0.1:8000/v1');
    expect((await first.complete(request)).text).toBe('answer 1');
    const other = await on('http://127.0.0.1:8001/v1').complete(request);
    expect(other).toMatchObject({ text: 'answer 2', cached: false });
    // the first server again (a resume, a second invocation): from the cache
    expect(await on('http://127.0.0.1:8000/v1/').complete(request)).toMatchObject({ text: 'answer 1', cached: true });
    expect(served).toEqual(['http://127.0.0.1:8000/v1/chat/completions', 'http://127.0.0.1:8001/v1/chat/completions']);
  });

  it('answers a repeat from SQLite with cached: true, never caches errors or answers missing requested logprobs', async () => {
    const db = openDatabase(':memory:');
    const cache = createSqliteResponseCache(db);
    const provider = flaky([failing(400)]);
    const cached = withCache(provider, cache);
    await expect(cached.complete(request)).rejects.toThrow();
    expect((await cached.complete(request)).cached).toBe(false);
    expect((await cached.complete(request)).cached).toBe(true);
    expect(provider.requests).toHaveLength(2);
    const withLogprobs = { ...request, logprobs: { topK: 5 } };
    await cached.complete(withLogprobs);
    await cached.complete(withLogprobs);
    expect(provider.requests).toHaveLength(4); // textResult has no logprobs: not cached
    expect(db.prepare('SELECT COUNT(*) AS n FROM llm_cache').get()).toEqual({ n: 1 });
  });

  it('shares one call between identical requests in flight', async () => {
    const provider = createMockProvider({
      respond: async () => (await new Promise((r) => setTimeout(r, 5)), textResult('x')),
    });
    const cached = createReliableProvider(provider, { cache: createMemoryResponseCache() });
    const results = await Promise.all([cached.complete(request), cached.complete(request)]);
    expect(provider.requests).toHaveLength(1);
    expect(results.map((r) => r.cached).sort()).toEqual([false, true]);
  });
});

describe('price table', () => {
  it('prices a call from the bundled table, provider wildcards, and overrides', () => {
    const table = loadPriceTable();
    expect(table.costOf('openai:gpt-4o-mini', { promptTokens: 1_000_000, completionTokens: 1_000_000 })).toBeCloseTo(
      0.75,
    );
    expect(table.costOf('baseline:rule-based-v1', { promptTokens: 10, completionTokens: 10 })).toBe(0);
    expect(table.costOf('openai:unknown-model', { promptTokens: 10, completionTokens: 0 })).toBeNull();
    expect(table.costOf('openai:gpt-4o', { promptTokens: 10, completionTokens: 0 }, true)).toBe(0);
    const custom = createPriceTable({ 'openai-compatible:*': { inputPerMillion: 1, outputPerMillion: 2 } });
    expect(custom.costOf('openai-compatible:x', { promptTokens: 500_000, completionTokens: 500_000 })).toBeCloseTo(1.5);
  });

  it('prices batch answers at half the live price unless an entry sets its batch prices; cached answers stay free', () => {
    const table = createPriceTable({
      'openai:m': { inputPerMillion: 2, outputPerMillion: 8 },
      'anthropic:m': { inputPerMillion: 3, outputPerMillion: 15, batchInputPerMillion: 1, batchOutputPerMillion: 5 },
    });
    const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000 };
    expect(table.costOf('openai:m', usage, false, true)).toBeCloseTo(5);
    expect(table.costOf('anthropic:m', usage, false, true)).toBeCloseTo(6);
    expect(table.costOf('anthropic:m', usage, true, true)).toBe(0);
    expect(table.costOf('anthropic:x', usage, false, true)).toBeNull();
  });
});
