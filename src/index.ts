/** @module autointerp — the public library API: explain → simulate → score, stored in SQLite. */
export * from './records/index.ts';
export * from './explain/index.ts';
export * from './simulate/index.ts';
export * from './score/index.ts';
export * from './store/index.ts';
export * from './report/index.ts';
export * from './pipeline/index.ts';
export type * from './llm/types.ts';
export { LlmCallError } from './llm/types.ts';
export { PromptBuilder } from './llm/prompt-builder.ts';
export * from './llm/prompt-template.ts';
export { createProvider, parseProviderSpec } from './llm/create-provider.ts';
export { createBaselineProvider } from './llm/baseline-provider.ts';
export { createOpenAiCompatibleProvider } from './llm/openai-compatible-provider.ts';
export { createMockProvider } from './llm/mock-provider.ts';
export { startFakeLlmServer } from './llm/fake-server/index.ts';
export type * from './llm/batch/types.ts';
export { createBatchClient } from './llm/batch/create-batch-client.ts';
