/** @module llm/fake-server — public face of the offline fake OpenAI-compatible server (a test double). */
export type { FakeHttpResponse, FakeRequestContext, FakeRequestInterceptor, RecordedRequest } from './http-exchange.ts';
export type { FakeLlmServer, FakeLlmServerOptions } from './fake-llm-server.ts';
export { startFakeLlmServer } from './fake-llm-server.ts';
export type { FaultKind, FaultMix, FaultOptions } from './fault-injection.ts';
export { createFaultInterceptor, faultKinds, parseFaultMix } from './fault-injection.ts';
export type { FakeBatchItem, FakeBatchItemOutcome, FakeBatchOptions, FakeStoredFile } from './fake-batches.ts';
export type {
  ExplanationQuality,
  ExplanationTruth,
  MixedExplanation,
  MixedExplanations,
} from './mixed-explanations.ts';
export { createMixedExplanations, loadMixedExplanations } from './mixed-explanations.ts';
