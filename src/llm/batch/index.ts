/** @module llm/batch — provider Batch APIs (OpenAI Batch, Anthropic Message Batches) behind one BatchClient contract. */
export type * from './types.ts';
export { createBatchClient } from './create-batch-client.ts';
export { createOpenAiBatchClient, openAiBatchLimits, readOpenAiBatchFile } from './openai-batch-client.ts';
export {
  anthropicBatchLimits,
  anthropicCustomIdPattern,
  anthropicOutcome,
  createAnthropicBatchClient,
} from './anthropic-batch-client.ts';
