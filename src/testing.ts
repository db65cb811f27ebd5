/**
 * @module autointerp/testing — test doubles for code built on autointerp: a scripted mock provider and the offline
 * fake OpenAI-compatible server (chat, completions with logprobs and echo, Batch API, injected faults), and toy SAE
 * training data with known ground-truth features.
 */
export type { MockProvider, MockProviderOptions } from './llm/mock-provider.ts';
export { createMockProvider, textResult } from './llm/mock-provider.ts';
export type {
  FakeHttpResponse,
  FakeLlmServer,
  FakeLlmServerOptions,
  FakeRequestContext,
  FakeRequestInterceptor,
  FaultKind,
  FaultMix,
  FaultOptions,
  RecordedRequest,
} from './llm/fake-server/index.ts';
export { createFaultInterceptor, faultKinds, parseFaultMix, startFakeLlmServer } from './llm/fake-server/index.ts';
export type { ToyData, ToyDataOptions } from './sae/toy-data.ts';
export { createToyData } from './sae/toy-data.ts';
