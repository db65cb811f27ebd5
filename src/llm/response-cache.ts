/**
 * @module llm/response-cache — a content-addressed response cache in the SQLite table `llm_cache`: the key is the
 * sha256 of the provider id (provider and model), the endpoint (the server's base URL: scheme, host, port and path,
 * so the same model name on another server is another entry) and the full request as the provider receives it
 * (messages or prompt, sampling, logprob options, stop, sample index; not the abort signal, never an API key, which
 * is not part of a request). Only answers are cached, never errors, and never an answer that lacks the logprobs it was asked
 * for (a retry must reach the server again). A hit returns the stored result with `cached: true`; identical requests
 * in flight at once share one call. The SQLite table behind it is store/response-cache-table.ts's.
 */
import { createHash } from 'node:crypto';
import type { LlmRequest, LlmResult, Provider } from './types.ts';
import { wrapProvider } from './wrap-provider.ts';

export interface ResponseCache {
  get(key: string): LlmResult | undefined;
  set(key: string, providerId: string, result: LlmResult): void;
}

export interface CacheOptions {
  /** Which results may be stored. Default: every result except one missing logprobs it was asked for. */
  isCacheable?(request: LlmRequest, result: LlmResult): boolean;
}

/** What names the model that answers: the provider id and the server it is reached at. */
export type CacheScope = Pick<Provider, 'id' | 'endpoint'>;

/**
 * The cache key of a request to a provider (also the `custom_id` of a batched request). A provider without an
 * endpoint (the baseline, mocks) keys as before endpoints were part of the key.
 */
export function cacheKey(provider: CacheScope, request: LlmRequest): string {
  const { signal: _signal, ...body } = request;
  const scope =
    provider.endpoint !== undefined
      ? { provider: provider.id, endpoint: provider.endpoint }
      : { provider: provider.id };
  return createHash('sha256')
    .update(JSON.stringify({ ...scope, request: body }))
    .digest('hex');
}

/** A result whose logprobs, when asked for, are present. */
export function hasRequestedLogprobs(request: LlmRequest, result: LlmResult): boolean {
  return !request.logprobs || (result.tokens !== undefined && result.tokens.length > 0);
}

/** A ResponseCache in memory (tests, library users without a database). */
export function createMemoryResponseCache(): ResponseCache & { size(): number } {
  const entries = new Map<string, string>();
  return {
    get: (key) => {
      const text = entries.get(key);
      return text === undefined ? undefined : (JSON.parse(text) as LlmResult);
    },
    set: (key, _providerId, result) => void entries.set(key, JSON.stringify({ ...result, cached: false })),
    size: () => entries.size,
  };
}

/** The same provider, answering repeated requests from `cache`. */
export function withCache(provider: Provider, cache: ResponseCache, options: CacheOptions = {}): Provider {
  const isCacheable = options.isCacheable ?? hasRequestedLogprobs;
  const pending = new Map<string, Promise<LlmResult>>();
  return wrapProvider(provider, {
    async wrapComplete({ request, complete }): Promise<LlmResult> {
      const key = cacheKey(provider, request);
      const hit = cache.get(key);
      if (hit) return { ...hit, cached: true };
      const shared = pending.get(key);
      if (shared) return { ...(await shared), cached: true };
      const call = (async () => {
        const result = await complete();
        if (isCacheable(request, result)) cache.set(key, provider.id, result);
        return result;
      })();
      pending.set(key, call);
      try {
        return await call;
      } finally {
        pending.delete(key);
      }
    },
  });
}
