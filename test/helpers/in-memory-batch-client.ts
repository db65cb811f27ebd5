/**
 * @module test/helpers/in-memory-batch-client — a Batch API client that answers in memory (a test double): every
 * request of a submitted batch is answered at once by `respond`, and every batch has ended when first polled.
 */
import type { BatchClient, BatchItemOutcome, BatchState } from '../../src/llm/batch/types.ts';
import type { LlmRequest, LlmResult } from '../../src/llm/types.ts';

export interface InMemoryBatchClient extends BatchClient {
  /** The number of requests of each batch submitted, in order. */
  submitted: number[];
}

/** A client for `providerId` answering each request with `respond`; `onSubmit` sees each batch as it is submitted. */
export function inMemoryBatchClient(
  providerId: string,
  respond: (request: LlmRequest) => LlmResult,
  onSubmit?: (requests: number) => void,
): InMemoryBatchClient {
  const outcomes = new Map<string, BatchItemOutcome[]>();
  const submitted: number[] = [];
  const state = (batchId: string): BatchState => {
    const total = outcomes.get(batchId)!.length;
    return { batchId, status: 'completed', ended: true, counts: { total, succeeded: total, failed: 0, pending: 0 } };
  };
  return {
    providerId,
    api: 'openai',
    limits: { maxRequests: 10_000, maxBytes: 1e9 },
    submitted,
    endpointOf: (request) => (request.prompt !== undefined ? '/v1/completions' : '/v1/chat/completions'),
    itemBytes: (item) => JSON.stringify(item.request).length,
    async submit(items) {
      const batchId = `${providerId}-batch-${outcomes.size + 1}`;
      outcomes.set(
        batchId,
        items.map((item) => ({ customId: item.customId, status: 'succeeded' as const, body: respond(item.request) })),
      );
      submitted.push(items.length);
      onSubmit?.(items.length);
      return { ...state(batchId), endpoint: this.endpointOf(items[0]!.request) };
    },
    retrieve: async (batchId) => state(batchId),
    results: async (batchId) => outcomes.get(batchId)!,
    cancel: async (batchId) => state(batchId),
    readResponse: (_request, body, batchId) => ({ ...(body as LlmResult), batchId }),
  };
}
