/**
 * @module llm/batch/types — the BatchClient contract: submit many requests at once through a provider's Batch API
 * (OpenAI Batch: a JSONL file upload and a batch; Anthropic Message Batches: one create call), poll it, and fetch
 * each request's outcome. A succeeded outcome carries the raw response body, which `readResponse` turns into the
 * same LlmResult a live call would give (the same reading code as the live provider).
 */
import type { LlmRequest, LlmResult } from '../types.ts';

export type BatchApi = 'openai' | 'anthropic';

/** One request of a batch. `customId` is unique within the batch (the pipeline uses the response-cache key). */
export interface BatchItem {
  customId: string;
  request: LlmRequest;
}

export interface BatchCounts {
  total: number;
  succeeded: number;
  /** Errored, expired or canceled requests. */
  failed: number;
  /** Requests not answered yet. */
  pending: number;
}

/** Where a batch stands, as the provider reports it. */
export interface BatchState {
  batchId: string;
  /**
   * The provider's own status word. OpenAI: validating | in_progress | finalizing | completed | failed | expired |
   * cancelling | cancelled. Anthropic: in_progress | canceling | ended.
   */
  status: string;
  /** True once the batch will change no more and its results can be fetched. */
  ended: boolean;
  counts: BatchCounts;
  /** A batch-level failure (e.g. OpenAI's input validation), when there is one. */
  error?: string;
}

export interface SubmittedBatch extends BatchState {
  /** The endpoint every request of the batch goes to, e.g. `/v1/chat/completions` or `/v1/messages`. */
  endpoint: string;
  /** The uploaded input file (OpenAI). */
  inputFileId?: string;
}

/** One request's outcome: a response body to read like a live answer, or why there is none. */
export type BatchItemOutcome =
  | { customId: string; status: 'succeeded'; body: unknown }
  | { customId: string; status: 'errored' | 'expired' | 'canceled'; error: string };

export interface BatchSubmitOptions {
  /** Labels stored with the batch where the API has them (OpenAI `metadata`). */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface BatchClient {
  /** The provider id whose requests this client batches (`openai:gpt-4o-mini`, `anthropic:claude-…`). */
  readonly providerId: string;
  readonly api: BatchApi;
  /** The most requests and bytes one batch may hold (the API's limits). */
  readonly limits: { maxRequests: number; maxBytes: number };
  /** The endpoint a request goes to; one batch holds requests of one endpoint only. */
  endpointOf(request: LlmRequest): string;
  /** Bytes one item takes in the batch input (to split large submissions under `limits.maxBytes`). */
  itemBytes(item: BatchItem): number;
  /** Creates one batch of `items` (all of one endpoint); resolves once the provider has accepted it. */
  submit(items: readonly BatchItem[], options?: BatchSubmitOptions): Promise<SubmittedBatch>;
  /** The batch's current state. */
  retrieve(batchId: string, signal?: AbortSignal): Promise<BatchState>;
  /**
   * The outcomes an ended batch returned (not necessarily in request order). A request the provider returned no
   * outcome for (a batch that failed validation, an unreadable line) is the caller's to report, with the batch's error.
   */
  results(batchId: string, signal?: AbortSignal): Promise<BatchItemOutcome[]>;
  /** Asks the provider to cancel the batch; requests not yet answered end as canceled. */
  cancel(batchId: string, signal?: AbortSignal): Promise<BatchState>;
  /** A succeeded outcome's body read exactly as a live answer to `request` (throws an LlmCallError if unreadable). */
  readResponse(request: LlmRequest, body: unknown, batchId: string): LlmResult;
}
