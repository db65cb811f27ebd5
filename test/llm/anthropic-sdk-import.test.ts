/**
 * An Anthropic call when `@anthropic-ai/sdk` cannot be imported (mocked to fail; an isolated unit file, listed in
 * vitest.config.ts's isolatedUnitTestFiles): the live provider's and the batch client's calls fail with an
 * LlmCallError naming the provider and the SDK, not retryable, for every concurrent first call.
 */
import { describe, expect, it, vi } from 'vitest';
import { createAnthropicProvider } from '../../src/llm/anthropic-provider.ts';
import { createAnthropicBatchClient } from '../../src/llm/batch/anthropic-batch-client.ts';
import { LlmCallError } from '../../src/llm/types.ts';

vi.mock('@anthropic-ai/sdk', () => {
  throw new Error('simulated: the SDK is not installed');
});

const options = { model: 'claude-test', baseURL: 'http://127.0.0.1:1', apiKey: 'sk-ant-test' };
const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 5 };

async function callError(pending: Promise<unknown>): Promise<LlmCallError> {
  const error = await pending.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(LlmCallError);
  return error as LlmCallError;
}

describe('Anthropic calls without a loadable SDK', () => {
  it('two concurrent first calls both fail as LlmCallError "cannot load @anthropic-ai/sdk", not retryable', async () => {
    const provider = createAnthropicProvider(options);
    const errors = await Promise.all([callError(provider.complete(request)), callError(provider.complete(request))]);
    for (const error of errors) {
      // vitest reports the factory's failure in words of its own; the import's error is the cause.
      expect(error.message).toMatch(/^anthropic:claude-test: cannot load @anthropic-ai\/sdk: \S/);
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.details.retryable).toBe(false);
    }
  });

  it("the batch client's calls fail the same way", async () => {
    const batches = createAnthropicBatchClient(options);
    const error = await callError(batches.retrieve('msgbatch_1'));
    expect(error.message).toMatch(/^anthropic:claude-test: cannot load @anthropic-ai\/sdk: /);
    expect(error.details.retryable).toBe(false);
  });
});
