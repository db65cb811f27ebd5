import { describe, expect, it } from 'vitest';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { RateLimiter } from '../../src/llm/rate-limiter.ts';
import { createReliableProvider } from '../../src/llm/reliable-provider.ts';
import { LlmCallError } from '../../src/llm/types.ts';
import { createVirtualClock } from '../helpers/virtual-clock.ts';

const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 5 };

describe("a 429's Retry-After", () => {
  it('pauses every request sent after it, new ones and retries, on an injected clock', async () => {
    const clock = createVirtualClock();
    const sends: Array<{ at: number; call: number }> = [];
    let rateLimited: { at: number; sendsBefore: number } | undefined;
    const provider = createMockProvider({
      respond: async (_request, call) => {
        sends.push({ at: clock.now(), call });
        await clock.sleep(10 + (call % 3) * 7);
        if (call === 2) {
          rateLimited = { at: clock.now(), sendsBefore: sends.length };
          throw new LlmCallError('HTTP 429', { status: 429, retryable: true, retryAfterMs: 2000 });
        }
        if (call === 3) throw new LlmCallError('HTTP 500', { status: 500, retryable: true });
        return textResult('ok');
      },
    });
    const limiter = new RateLimiter({ concurrency: 3, requestsPerMinute: 1000, now: clock.now, sleep: clock.sleep });
    const reliable = createReliableProvider(provider, {
      limiter,
      retry: { baseDelayMs: 1, sleep: clock.sleep, random: () => 0.5 },
    });
    const results = await clock.run(Promise.all(Array.from({ length: 10 }, () => reliable.complete(request))));
    expect(results.every((result) => result.text === 'ok')).toBe(true);
    expect(rateLimited).toBeDefined();
    const after = sends.slice(rateLimited!.sendsBefore);
    expect(after.length).toBeGreaterThan(0);
    for (const send of after) expect(send.at, `call ${send.call}`).toBeGreaterThanOrEqual(rateLimited!.at + 2000);
  });
});

describe("a 429's pause", () => {
  it('lasts the Retry-After, not a whole rate window, when no limit is reached', async () => {
    const clock = createVirtualClock();
    const sends: number[] = [];
    const provider = createMockProvider({
      respond: async (_request, call) => {
        sends.push(clock.now());
        await clock.sleep(10);
        if (call === 0) throw new LlmCallError('HTTP 429', { status: 429, retryable: true, retryAfterMs: 2000 });
        return textResult('ok');
      },
    });
    const limiter = new RateLimiter({ concurrency: 1, now: clock.now, sleep: clock.sleep });
    const reliable = createReliableProvider(provider, { limiter, retry: { sleep: clock.sleep, random: () => 0 } });
    await clock.run(Promise.all([reliable.complete(request), reliable.complete(request)]));
    // the 429 arrives at 10; both the waiting request and the retry go out once the 2 s are over, not a minute later
    expect(sends).toHaveLength(3);
    expect(sends[0]).toBe(0);
    for (const at of sends.slice(1)) {
      expect(at).toBeGreaterThanOrEqual(2010);
      expect(at).toBeLessThan(2100);
    }
  });
});
