/**
 * @module llm/reliable-provider — the one place the reliability wrappers are composed around a provider:
 * cache → retry → rate limit → provider. A cache hit skips everything below it; each retry attempt is admitted by
 * the limiter again (so retries count against the limits), and a 429 slows the shared limiter down.
 */
import type { RandomSource } from '../common/random.ts';
import { RateLimiter, withRateLimit, type RateLimitOptions } from './rate-limiter.ts';
import { withCache, type ResponseCache } from './response-cache.ts';
import { withRetry, type RetryOptions } from './retry.ts';
import type { LlmRequest, Provider } from './types.ts';

export interface ReliabilityOptions {
  /** Response cache; none when undefined (`--no-cache`). */
  cache?: ResponseCache;
  /** A limiter shared with other providers on the same API; default: a new one from `rateLimit`. */
  limiter?: RateLimiter;
  rateLimit?: RateLimitOptions;
  retry?: RetryOptions;
  /** Token estimate before a call, for the tokens-per-minute limit. Default: estimateRequestTokens. */
  estimateTokens?(request: LlmRequest): number;
  random?: RandomSource;
}

export function createReliableProvider(provider: Provider, options: ReliabilityOptions = {}): Provider {
  const limiter = options.limiter ?? new RateLimiter(options.rateLimit);
  const limited = withRateLimit(provider, limiter, options.estimateTokens);
  const retried = withRetry(limited, { ...options.retry, ...(options.random ? { random: options.random } : {}) });
  return options.cache ? withCache(retried, options.cache) : retried;
}
