/** @module llm — public face of the LLM layer: the Provider contract, providers, the fake server, tokens, lexicon. */
export * from './types.ts';
export type { OpenAiCompatibleProviderOptions } from './openai-compatible-provider.ts';
export {
  createOpenAiCompatibleProvider,
  isRetryableStatus,
  keylessPlaceholder,
  mapChatLogprobs,
  mapCompletionLogprobs,
  toLlmCallError,
} from './openai-compatible-provider.ts';
export type { EchoSupportOptions } from './echo-support.ts';
export { createEchoSupport, refusesEcho } from './echo-support.ts';
export type { CreateProviderOptions, ProviderName, ProviderSpec } from './create-provider.ts';
export { createProvider, knownProviders, parseProviderSpec } from './create-provider.ts';
export type {
  FakeHttpResponse,
  FakeLlmServer,
  FakeLlmServerOptions,
  FakeRequestContext,
  FakeRequestInterceptor,
  RecordedRequest,
} from './fake-server/index.ts';
export { startFakeLlmServer } from './fake-server/index.ts';
export type { EncodingName } from './token-counter.ts';
export { countTokens, getEncoder, splitTokens } from './token-counter.ts';
export { retryAfterMilliseconds } from './retry-after.ts';
export { redactSecret } from './redact-secret.ts';
export type { BaselineProviderOptions, Concept, ConceptLexicon, RuleBasedModelOptions } from './baseline/index.ts';
export {
  ConceptLexiconSchema,
  ConceptSchema,
  createBaselineProvider,
  defaultLexiconPath,
  interpretExplanation,
  loadConceptLexicon,
  respondToRequest,
  ruleBasedModelName,
} from './baseline/index.ts';
export type { MockProvider, MockProviderOptions } from './mock-provider.ts';
export { createMockProvider, textResult } from './mock-provider.ts';
export { PromptBuilder } from './prompt-builder.ts';
export type { PreflightOptions } from './provider-preflight.ts';
export { preflightProvider, preflightProviders, ProviderPreflightError } from './provider-preflight.ts';
export type { AnthropicProviderOptions } from './anthropic-provider.ts';
export { createAnthropicProvider, toAnthropicMessages } from './anthropic-provider.ts';
export type { RetryOptions, FailedAttempt } from './retry.ts';
export { RetryError, retryCall, withRetry, backoffDelay } from './retry.ts';
export type { RateLimitOptions, RateLimiterStats } from './rate-limiter.ts';
export { RateLimiter, estimateRequestTokens, withRateLimit } from './rate-limiter.ts';
export type { CacheOptions, CacheScope, ResponseCache } from './response-cache.ts';
export { cacheKey, createMemoryResponseCache, withCache } from './response-cache.ts';
export type { Price, PriceTable } from './price-table.ts';
export { createPriceTable, defaultPricesPath, loadPriceTable } from './price-table.ts';
export type { ProviderMiddleware, WrappedCall } from './wrap-provider.ts';
export { wrapProvider } from './wrap-provider.ts';
export type { ReliabilityOptions } from './reliable-provider.ts';
export { createReliableProvider } from './reliable-provider.ts';
export type {
  BatchApi,
  BatchClient,
  BatchCounts,
  BatchItem,
  BatchItemOutcome,
  BatchState,
  BatchSubmitOptions,
  SubmittedBatch,
} from './batch/index.ts';
export { createAnthropicBatchClient, createBatchClient, createOpenAiBatchClient } from './batch/index.ts';
