/**
 * @module llm/batch/anthropic-batch-client — Anthropic's Message Batches through `@anthropic-ai/sdk`:
 * `POST /v1/messages/batches` with `{requests: [{custom_id, params}]}` (params exactly the live Messages body),
 * polled with `GET /v1/messages/batches/{id}` until `processing_status` is `ended`, results streamed as JSONL from
 * the batch's `results_url` (`{custom_id, result: {type: succeeded | errored | expired | canceled, …}}`). The SDK sends
 * the `anthropic-version` header; the key goes in `x-api-key` as for live calls.
 */
import type Anthropic from '@anthropic-ai/sdk';
import {
  anthropicMessagesBody,
  createAnthropicClientSource,
  readAnthropicMessage,
  toAnthropicCallError,
  type AnthropicProviderOptions,
} from '../anthropic-provider.ts';
import { describeHost } from '../endpoint.ts';
import { LlmCallError, type LlmResult } from '../types.ts';
import type { BatchClient, BatchItem, BatchItemOutcome, BatchState, SubmittedBatch } from './types.ts';

/** Anthropic's limits of one batch: 100 000 requests, 256 MB. */
export const anthropicBatchLimits = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 };

/** custom_id must match this (Anthropic's rule). */
export const anthropicCustomIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;

type MessageBatch = Anthropic.Messages.Batches.MessageBatch;
type IndividualResponse = Anthropic.Messages.Batches.MessageBatchIndividualResponse;

function stateOf(batch: MessageBatch): BatchState {
  const counts = batch.request_counts;
  const failed = counts.errored + counts.canceled + counts.expired;
  return {
    batchId: batch.id,
    status: batch.processing_status,
    ended: batch.processing_status === 'ended',
    counts: {
      total: counts.processing + counts.succeeded + failed,
      succeeded: counts.succeeded,
      failed,
      pending: counts.processing,
    },
  };
}

/** One line of the results file as an outcome. */
export function anthropicOutcome(entry: IndividualResponse): BatchItemOutcome {
  const result = entry.result;
  switch (result.type) {
    case 'succeeded':
      return { customId: entry.custom_id, status: 'succeeded', body: result.message };
    case 'errored': {
      const error = result.error?.error as { type?: string; message?: string } | undefined;
      return {
        customId: entry.custom_id,
        status: 'errored',
        error: `${error?.type ?? 'error'}: ${error?.message ?? 'no message'}`,
      };
    }
    case 'expired':
      return {
        customId: entry.custom_id,
        status: 'expired',
        error: 'expired: the batch ended before this request was processed',
      };
    case 'canceled':
      return {
        customId: entry.custom_id,
        status: 'canceled',
        error: 'canceled: the batch was canceled before this request was processed',
      };
    default:
      return {
        customId: entry.custom_id,
        status: 'errored',
        error: `unknown result type ${JSON.stringify((result as { type?: unknown }).type)}`,
      };
  }
}

/** Refuses a URL the server returned (a batch's `results_url`) that is not on the server of `baseURL`. */
function assertSameServer(url: string, baseURL: string, providerId: string): void {
  let origin: string | undefined;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = undefined;
  }
  if (origin !== new URL(baseURL).origin) {
    throw new LlmCallError(
      `${providerId}: the batch's results_url is not on ${describeHost(baseURL)} (it points to ${origin ? describeHost(url) : 'an invalid URL'}); refusing to send the API key there`,
      {
        retryable: false,
      },
    );
  }
}

export function createAnthropicBatchClient(options: AnthropicProviderOptions): BatchClient {
  const clients = createAnthropicClientSource(options);
  const providerId = clients.providerId;
  const entryOf = (item: BatchItem) => ({
    custom_id: item.customId,
    params: anthropicMessagesBody(options.model, item.request),
  });
  const requestOptions = (signal: AbortSignal | undefined) => (signal ? { signal } : undefined);

  async function call<T>(path: string, run: (client: Anthropic) => Promise<T>): Promise<T> {
    const { client, key } = await clients.acquire();
    const url = `${client.baseURL.replace(/\/+$/, '')}${path}`;
    try {
      return await run(client);
    } catch (error) {
      throw toAnthropicCallError(error, providerId, url, key);
    }
  }

  return {
    providerId,
    api: 'anthropic',
    limits: anthropicBatchLimits,
    endpointOf: () => '/v1/messages',
    itemBytes: (item) => Buffer.byteLength(JSON.stringify(entryOf(item))) + 1,
    async submit(items, submitOptions = {}): Promise<SubmittedBatch> {
      if (items.length === 0)
        throw new LlmCallError(`${providerId}: a batch needs at least one request`, { retryable: false });
      for (const item of items) {
        if (item.request.messages === undefined || item.request.prompt !== undefined) {
          throw new LlmCallError(`${providerId}: the Messages API takes chat messages, not a flat prompt`, {
            retryable: false,
          });
        }
        if (!anthropicCustomIdPattern.test(item.customId)) {
          throw new LlmCallError(
            `${providerId}: custom_id ${JSON.stringify(item.customId)} does not match ${anthropicCustomIdPattern}`,
            { retryable: false },
          );
        }
      }
      const batch = await call('/v1/messages/batches', (client) =>
        client.messages.batches.create({ requests: items.map(entryOf) }, requestOptions(submitOptions.signal)),
      );
      return { ...stateOf(batch), endpoint: '/v1/messages' };
    },
    async retrieve(batchId, signal) {
      return stateOf(
        await call(`/v1/messages/batches/${batchId}`, (client) =>
          client.messages.batches.retrieve(batchId, {}, requestOptions(signal)),
        ),
      );
    },
    async results(batchId, signal) {
      // The SDK fetches the batch's `results_url` with the key: it must be on the server the key was meant for.
      const batch = await call(`/v1/messages/batches/${batchId}`, (client) =>
        client.messages.batches.retrieve(batchId, {}, requestOptions(signal)),
      );
      if (batch.results_url) assertSameServer(batch.results_url, (await clients.acquire()).client.baseURL, providerId);
      return call(`/v1/messages/batches/${batchId}/results`, async (client) => {
        const outcomes: BatchItemOutcome[] = [];
        for await (const entry of await client.messages.batches.results(batchId, {}, requestOptions(signal)))
          outcomes.push(anthropicOutcome(entry));
        return outcomes;
      });
    },
    async cancel(batchId, signal) {
      return stateOf(
        await call(`/v1/messages/batches/${batchId}/cancel`, (client) =>
          client.messages.batches.cancel(batchId, {}, requestOptions(signal)),
        ),
      );
    },
    readResponse(request, body, batchId): LlmResult {
      if (typeof body !== 'object' || body === null) {
        throw new LlmCallError(`${providerId}: batch ${batchId} answer is not a JSON object`, { retryable: false });
      }
      return { ...readAnthropicMessage(body as Anthropic.Message, request), batchId };
    },
  };
}
