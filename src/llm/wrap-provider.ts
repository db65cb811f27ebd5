/**
 * @module llm/wrap-provider — the one way to wrap a Provider (as the Vercel AI SDK's `wrapLanguageModel`): a
 * middleware may transform the request and/or wrap the call; the wrapper passes the wrapped provider's `id`,
 * `capabilities`, `isBaseline` and `endpoint` on, so no wrapper copies them by hand.
 */
import type { LlmRequest, LlmResult, Provider } from './types.ts';

/** What `wrapComplete` receives for one call. */
export interface WrappedCall {
  /** The request, after `transformRequest`. */
  request: LlmRequest;
  /** Calls the wrapped provider with `request` (may be called several times, or not at all). */
  complete(): Promise<LlmResult>;
  /** The wrapped provider (its id and endpoint scope a cache key, for instance). */
  provider: Provider;
}

/** How a wrapper changes a provider; both parts are optional (none: the same behaviour under a new object). */
export interface ProviderMiddleware {
  /** Rewrites each request before the call (and before `wrapComplete` sees it). */
  transformRequest?(request: LlmRequest): LlmRequest;
  /** Runs around the call: before, after, instead of it, or several times. Default: the call itself. */
  wrapComplete?(call: WrappedCall): Promise<LlmResult>;
}

/** `base` with `middleware` around its `complete`; id, capabilities, isBaseline and endpoint are `base`'s. */
export function wrapProvider(base: Provider, middleware: ProviderMiddleware): Provider {
  return {
    id: base.id,
    ...(base.endpoint !== undefined ? { endpoint: base.endpoint } : {}),
    capabilities: base.capabilities,
    isBaseline: base.isBaseline,
    complete(request: LlmRequest): Promise<LlmResult> {
      const transformed = middleware.transformRequest ? middleware.transformRequest(request) : request;
      if (!middleware.wrapComplete) return base.complete(transformed);
      return middleware.wrapComplete({
        request: transformed,
        complete: () => base.complete(transformed),
        provider: base,
      });
    },
  };
}
