/**
 * @module llm/batch/openai-batch-client — OpenAI's Batch API through the `openai` SDK: the requests as a JSONL file
 * (`{custom_id, method: "POST", url: "/v1/chat/completions" | "/v1/completions", body}` a line, the body exactly as
 * a live call sends it) uploaded with `purpose: "batch"`, then `POST /v1/batches` with `completion_window: "24h"`;
 * polled with `GET /v1/batches/{id}`; results read from the output file (answers) and the error file (errors,
 * expired requests). Works with OpenAI and with compatible servers that serve the same endpoints.
 */
import type OpenAI from 'openai';
import { toFile } from 'openai';
import {
  chatCompletionBody,
  completionBody,
  createOpenAiClientSource,
  openAiEndpointOf,
  readChatCompletion,
  readCompletion,
  toLlmCallError,
  type OpenAiCompatibleProviderOptions,
} from '../openai-compatible-provider.ts';
import { LlmCallError, type LlmRequest, type LlmResult } from '../types.ts';
import type { BatchClient, BatchItem, BatchItemOutcome, BatchState, SubmittedBatch } from './types.ts';

/** OpenAI's limits of one batch: 50 000 requests, an input file of 200 MB. */
export const openAiBatchLimits = { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 };

const endedStatuses = new Set(['completed', 'failed', 'expired', 'cancelled']);

type BatchObject = OpenAI.Batches.Batch;

/** One line of an output or error file. */
interface OutputLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

function stateOf(batch: BatchObject): BatchState {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const errors = (batch.errors?.data ?? []).map(
    (e) => `${e.code ?? 'error'}${e.line != null ? ` (line ${e.line})` : ''}: ${e.message ?? ''}`,
  );
  return {
    batchId: batch.id,
    status: batch.status,
    ended: endedStatuses.has(batch.status),
    counts: {
      total: counts.total,
      succeeded: counts.completed,
      failed: counts.failed,
      pending: Math.max(0, counts.total - counts.completed - counts.failed),
    },
    ...(errors.length > 0 ? { error: errors.slice(0, 5).join('; ') } : {}),
  };
}

/** The message of an error response body (`{error: {message}}`), else the body as text. */
function errorMessageOf(body: unknown): string {
  const error = (body as { error?: { message?: unknown; type?: unknown } } | null)?.error;
  if (error && typeof error.message === 'string')
    return `${typeof error.type === 'string' ? `${error.type}: ` : ''}${error.message}`;
  return JSON.stringify(body ?? null).slice(0, 300);
}

/** Reads an output / error file's lines into outcomes. */
export function readOpenAiBatchFile(text: string): BatchItemOutcome[] {
  const outcomes: BatchItemOutcome[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: OutputLine;
    try {
      parsed = JSON.parse(line) as OutputLine;
    } catch {
      continue; // an unreadable line names no request; its request is reported missing by the caller
    }
    const customId = parsed.custom_id;
    if (typeof customId !== 'string') continue;
    const status = parsed.response?.status_code;
    if (status === 200 && !parsed.error) {
      outcomes.push({ customId, status: 'succeeded', body: parsed.response?.body });
    } else if (parsed.error) {
      const code = parsed.error.code ?? 'error';
      const kind = code === 'batch_expired' ? 'expired' : code === 'batch_cancelled' ? 'canceled' : 'errored';
      outcomes.push({ customId, status: kind, error: `${code}: ${parsed.error.message ?? ''}`.trim() });
    } else {
      outcomes.push({
        customId,
        status: 'errored',
        error: `HTTP ${status ?? '?'}: ${errorMessageOf(parsed.response?.body)}`,
      });
    }
  }
  return outcomes;
}

export function createOpenAiBatchClient(options: OpenAiCompatibleProviderOptions): BatchClient {
  const clients = createOpenAiClientSource(options);
  const providerId = clients.providerId;
  const endpointOf = (request: LlmRequest) => `/v1${openAiEndpointOf(request)}`;
  const bodyOf = (request: LlmRequest) =>
    request.prompt !== undefined
      ? completionBody(options.model, request)
      : chatCompletionBody(options.model, request, options.chatMaxTokensField);
  const lineOf = (item: BatchItem) =>
    JSON.stringify({
      custom_id: item.customId,
      method: 'POST',
      url: endpointOf(item.request),
      body: bodyOf(item.request),
    });

  /** Runs one API call with the client of the key in force, mapping failures to key-free LlmCallErrors. */
  async function call<T>(path: string, run: (client: OpenAI) => Promise<T>): Promise<T> {
    const { client, key } = clients.acquire();
    const url = `${client.baseURL.replace(/\/+$/, '')}${path}`;
    try {
      return await run(client);
    } catch (error) {
      throw toLlmCallError(error, { providerId, url, secret: key });
    }
  }

  const requestOptions = (signal: AbortSignal | undefined) => (signal ? { signal } : undefined);

  async function fileText(fileId: string, signal: AbortSignal | undefined): Promise<string> {
    return call(`/files/${fileId}/content`, async (client) =>
      (await client.files.content(fileId, requestOptions(signal))).text(),
    );
  }

  /** The newest batches (one page) searched for one made from `fileId`; undefined when none or the listing fails. */
  async function findBatchOfFile(fileId: string, signal: AbortSignal | undefined): Promise<BatchObject | undefined> {
    try {
      const page = await call('/batches', (client) => client.batches.list({ limit: 100 }, requestOptions(signal)));
      return page.data.find((batch) => batch.input_file_id === fileId);
    } catch {
      return undefined;
    }
  }

  return {
    providerId,
    api: 'openai',
    limits: openAiBatchLimits,
    endpointOf,
    itemBytes: (item) => Buffer.byteLength(lineOf(item)) + 1,
    async submit(items, submitOptions = {}): Promise<SubmittedBatch> {
      if (items.length === 0)
        throw new LlmCallError(`${providerId}: a batch needs at least one request`, { retryable: false });
      const endpoint = endpointOf(items[0]!.request);
      if (items.some((item) => endpointOf(item.request) !== endpoint)) {
        throw new LlmCallError(`${providerId}: one batch takes requests of one endpoint only`, { retryable: false });
      }
      const jsonl = `${items.map(lineOf).join('\n')}\n`;
      const signal = submitOptions.signal;
      const file = await call('/files', async (client) =>
        client.files.create(
          {
            file: await toFile(Buffer.from(jsonl, 'utf8'), 'autointerp-batch.jsonl', { type: 'application/jsonl' }),
            purpose: 'batch',
          },
          requestOptions(signal),
        ),
      );
      let batch: BatchObject;
      try {
        batch = await call('/batches', (client) =>
          client.batches.create(
            {
              input_file_id: file.id,
              endpoint: endpoint as OpenAI.Batches.BatchCreateParams['endpoint'],
              completion_window: '24h',
              ...(submitOptions.metadata ? { metadata: submitOptions.metadata } : {}),
            },
            requestOptions(signal),
          ),
        );
      } catch (error) {
        // A timeout or reset may hide a batch that was created: look for one on this file before anyone retries
        // (a retry uploads a new file and would create a second, paid-for batch).
        const created =
          error instanceof LlmCallError && error.details.retryable ? await findBatchOfFile(file.id, signal) : undefined;
        if (!created) throw error;
        batch = created;
      }
      return { ...stateOf(batch), endpoint, inputFileId: file.id };
    },
    async retrieve(batchId, signal) {
      return stateOf(
        await call(`/batches/${batchId}`, (client) => client.batches.retrieve(batchId, requestOptions(signal))),
      );
    },
    async results(batchId, signal) {
      const batch = await call(`/batches/${batchId}`, (client) =>
        client.batches.retrieve(batchId, requestOptions(signal)),
      );
      if (!endedStatuses.has(batch.status)) {
        throw new LlmCallError(`${providerId}: batch ${batchId} has not ended (status ${batch.status})`, {
          retryable: false,
        });
      }
      const outcomes: BatchItemOutcome[] = [];
      if (batch.output_file_id) outcomes.push(...readOpenAiBatchFile(await fileText(batch.output_file_id, signal)));
      if (batch.error_file_id) outcomes.push(...readOpenAiBatchFile(await fileText(batch.error_file_id, signal)));
      return outcomes;
    },
    async cancel(batchId, signal) {
      return stateOf(
        await call(`/batches/${batchId}/cancel`, (client) => client.batches.cancel(batchId, requestOptions(signal))),
      );
    },
    readResponse(request, body, batchId): LlmResult {
      if (typeof body !== 'object' || body === null) {
        throw new LlmCallError(`${providerId}: batch ${batchId} answer is not a JSON object`, { retryable: false });
      }
      const result =
        request.prompt !== undefined
          ? readCompletion(body as OpenAI.Completions.Completion, request, providerId, options.model)
          : readChatCompletion(body as OpenAI.Chat.Completions.ChatCompletion, request, providerId, options.model);
      return { ...result, batchId };
    },
  };
}
