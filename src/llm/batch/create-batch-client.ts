/**
 * @module llm/batch/create-batch-client — the BatchClient of a provider spec: `openai:<model>` and
 * `openai-compatible:<model>` (OpenAI Batch API at the base URL), `anthropic:<model>` (Message Batches). The
 * offline baseline has no Batch API.
 */
import { parseProviderSpec, sdkClientOptions, type CreateProviderOptions } from '../create-provider.ts';
import { createAnthropicBatchClient } from './anthropic-batch-client.ts';
import { createOpenAiBatchClient } from './openai-batch-client.ts';
import type { BatchClient } from './types.ts';
import { InputError } from '../../common/errors.ts';

export function createBatchClient(spec: string, options: CreateProviderOptions = {}): BatchClient {
  const parsed = parseProviderSpec(spec);
  const shared = {
    ...sdkClientOptions(parsed.model, options),
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
  };
  switch (parsed.provider) {
    case 'baseline':
      throw new InputError(
        'the offline baseline has no Batch API: --batch needs openai:, openai-compatible: or anthropic: providers',
      );
    case 'openai':
      return createOpenAiBatchClient(shared);
    case 'openai-compatible':
      if (!options.baseURL) throw new InputError(`${spec} needs a base URL (--base-url http://host:port/v1)`);
      return createOpenAiBatchClient(shared);
    case 'anthropic':
      return createAnthropicBatchClient(shared);
  }
}
