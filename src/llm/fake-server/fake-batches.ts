/**
 * @module llm/fake-server/fake-batches — the fake server's Batch APIs, as a TEST DOUBLE of both wire formats:
 * - OpenAI: `POST /v1/files` (multipart, `purpose=batch`), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
 *   `POST /v1/batches` (`input_file_id`, `endpoint`, `completion_window: "24h"`), `GET /v1/batches`, `GET /v1/batches/{id}`
 *   (validating → in_progress → completed | expired | failed, `request_counts`, `output_file_id`, `error_file_id`),
 *   `POST /v1/batches/{id}/cancel` (cancelling → cancelled).
 * - Anthropic: `POST /v1/messages/batches` (`{requests: [{custom_id, params}]}`), `GET /v1/messages/batches/{id}`
 *   (`processing_status` in_progress → ended, `request_counts`, `results_url`), `GET /v1/messages/batches/{id}/results`
 *   (JSONL of `{custom_id, result: {type: succeeded | errored | expired | canceled}}`), `POST …/{id}/cancel`.
 * A batch ends after `pollsUntilDone` polls (and `minDurationMs`); each request is then answered by the same model
 * code as the live endpoints. Per-request errors and expiry are injectable (a function, or seeded fractions).
 */
import { hashString, mulberry32 } from '../../common/random.ts';
import type { FakeHttpResponse, RecordedRequest } from './http-exchange.ts';
import { anthropicErrorBody, errorBody } from './wire-responses.ts';

export type FakeBatchItemOutcome = 'errored' | 'expired' | undefined;

/** One request of a batch, as an outcome hook sees it. */
export interface FakeBatchItem {
  api: 'openai' | 'anthropic';
  batchId: string;
  customId: string;
  /** `/v1/chat/completions`, `/v1/completions` or `/v1/messages`. */
  endpoint: string;
  body: unknown;
}

export interface FakeBatchOptions {
  /** Polls (GETs of the batch) after which a batch ends. Default 2 (the first poll sees it in progress). */
  pollsUntilDone?: number;
  /** And not before this many milliseconds after creation. Default 0. */
  minDurationMs?: number;
  /** Per-request outcome: 'errored' or 'expired' instead of the model's answer; undefined: answer. Wins over the rates. */
  itemOutcome?(item: FakeBatchItem): FakeBatchItemOutcome;
  /** Seeded fractions of requests that error / expire (drawn from the custom_id and body). Default 0. */
  itemErrorRate?: number;
  itemExpiredRate?: number;
  seed?: number;
}

/** A file uploaded to (or produced by) the fake Files API. */
export interface FakeStoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  createdAt: number;
}

interface OpenAiBatchRecord {
  id: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  createdAt: number;
  createdMs: number;
  polls: number;
  status: 'validating' | 'in_progress' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled';
  lines: Array<{ customId: string; body: unknown }>;
  errors: Array<{ code: string; message: string; line: number | null }>;
  counts: { total: number; completed: number; failed: number };
  outputFileId?: string;
  errorFileId?: string;
  endedAt?: number;
}

interface AnthropicBatchRecord {
  id: string;
  createdMs: number;
  polls: number;
  status: 'in_progress' | 'canceling' | 'ended';
  cancelRequested: boolean;
  requests: Array<{ customId: string; params: unknown }>;
  results?: string;
  counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
  endedAt?: string;
}

export interface FakeBatchApi {
  /** Answers a batch or file route; undefined when the request is for another route. */
  handle(request: RecordedRequest): Promise<FakeHttpResponse> | undefined;
  readonly files: ReadonlyMap<string, FakeStoredFile>;
}

export interface FakeBatchApiContext {
  /** `http://127.0.0.1:PORT`, for `results_url`. */
  origin(): string;
  /** The model's answer to one request body at a model endpoint (the live endpoints' code, without latency). */
  answer(endpoint: string, body: unknown): Promise<FakeHttpResponse>;
  options?: FakeBatchOptions;
}

const json = (status: number, body: unknown): FakeHttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const openAiError = (status: number, message: string, code: string | null = null, param: string | null = null) =>
  json(status, errorBody(message, 'invalid_request_error', code, param));
const anthropicError = (status: number, type: string, message: string) =>
  json(status, anthropicErrorBody(type, message));

/** Endpoints OpenAI batches may target that the fake server answers. */
const openAiBatchEndpoints = ['/v1/chat/completions', '/v1/completions'];
const customIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;
const seconds = () => Math.floor(Date.now() / 1000);

export function createFakeBatchApi(context: FakeBatchApiContext): FakeBatchApi {
  const options = context.options ?? {};
  const pollsUntilDone = Math.max(1, options.pollsUntilDone ?? 2);
  const files = new Map<string, FakeStoredFile>();
  const openAiBatches = new Map<string, OpenAiBatchRecord>();
  const anthropicBatches = new Map<string, AnthropicBatchRecord>();
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}${(++counter).toString().padStart(6, '0')}`;

  function outcomeOf(item: FakeBatchItem): FakeBatchItemOutcome {
    if (options.itemOutcome) return options.itemOutcome(item);
    const errorRate = options.itemErrorRate ?? 0;
    const expiredRate = options.itemExpiredRate ?? 0;
    if (errorRate === 0 && expiredRate === 0) return undefined;
    const draw = mulberry32(hashString(`${item.customId}#${JSON.stringify(item.body)}`, options.seed ?? 1))();
    if (draw < errorRate) return 'errored';
    if (draw < errorRate + expiredRate) return 'expired';
    return undefined;
  }

  const isDue = (record: { polls: number; createdMs: number }) =>
    record.polls >= pollsUntilDone && Date.now() - record.createdMs >= (options.minDurationMs ?? 0);

  function storeFile(filename: string, purpose: string, content: string): FakeStoredFile {
    const file = { id: nextId('file-fake'), filename, purpose, content, createdAt: seconds() };
    files.set(file.id, file);
    return file;
  }

  const fileObject = (file: FakeStoredFile) => ({
    id: file.id,
    object: 'file',
    bytes: Buffer.byteLength(file.content),
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
  });

  // ---- OpenAI Files ----

  async function uploadFile(request: RecordedRequest): Promise<FakeHttpResponse> {
    const contentType = String(request.headers['content-type'] ?? '');
    if (!contentType.startsWith('multipart/form-data')) {
      return openAiError(
        400,
        'File uploads must be multipart/form-data with fields `file` and `purpose`.',
        'invalid_content_type',
      );
    }
    let form: FormData;
    try {
      form = await new Response(request.rawBody, { headers: { 'content-type': contentType } }).formData();
    } catch {
      return openAiError(400, 'Could not parse the multipart body.', 'invalid_multipart');
    }
    const purpose = form.get('purpose');
    const file = form.get('file');
    if (typeof purpose !== 'string' || purpose === '')
      return openAiError(400, "Missing required parameter: 'purpose'.", 'missing_required_parameter', 'purpose');
    if (file === null || typeof file === 'string')
      return openAiError(400, "Missing required parameter: 'file'.", 'missing_required_parameter', 'file');
    const filename = (file as File).name || 'upload';
    if (purpose === 'batch' && !filename.endsWith('.jsonl')) {
      return openAiError(400, 'Batch input files must be .jsonl files.', 'invalid_file_format', 'file');
    }
    return json(200, fileObject(storeFile(filename, purpose, await (file as Blob).text())));
  }

  // ---- OpenAI Batch ----

  function openAiBatchObject(record: OpenAiBatchRecord) {
    const ended = ['completed', 'failed', 'expired', 'cancelled'].includes(record.status);
    return {
      id: record.id,
      object: 'batch',
      endpoint: record.endpoint,
      errors:
        record.errors.length > 0 ? { object: 'list', data: record.errors.map((e) => ({ ...e, param: null })) } : null,
      input_file_id: record.inputFileId,
      completion_window: record.completionWindow,
      status: record.status,
      output_file_id: record.outputFileId ?? null,
      error_file_id: record.errorFileId ?? null,
      created_at: record.createdAt,
      in_progress_at: record.polls > 0 ? record.createdAt : null,
      expires_at: record.createdAt + 24 * 3600,
      finalizing_at: null,
      completed_at: record.status === 'completed' ? record.endedAt : null,
      failed_at: record.status === 'failed' ? record.endedAt : null,
      expired_at: record.status === 'expired' ? record.endedAt : null,
      cancelling_at: null,
      cancelled_at: record.status === 'cancelled' ? record.endedAt : null,
      request_counts:
        ended || record.status === 'validating'
          ? record.counts
          : { ...record.counts, completed: Math.floor((record.counts.total * record.polls) / (pollsUntilDone + 1)) },
      metadata: record.metadata,
    };
  }

  /** Validates the input file's lines as OpenAI does while `validating`; the errors fail the batch. */
  function validateLines(record: OpenAiBatchRecord, content: string): void {
    const seen = new Set<string>();
    let model: unknown;
    content.split('\n').forEach((text, index) => {
      if (text.trim() === '') return;
      const line = index + 1;
      let parsed: { custom_id?: unknown; method?: unknown; url?: unknown; body?: { model?: unknown } };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        record.errors.push({ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line });
        return;
      }
      if (typeof parsed.custom_id !== 'string' || parsed.custom_id === '') {
        record.errors.push({ code: 'missing_custom_id', message: 'Each line needs a string `custom_id`.', line });
      } else if (seen.has(parsed.custom_id)) {
        record.errors.push({
          code: 'duplicate_custom_id',
          message: `The custom_id ${parsed.custom_id} is used more than once.`,
          line,
        });
      }
      if (parsed.method !== 'POST')
        record.errors.push({ code: 'invalid_method', message: 'The method must be POST.', line });
      if (parsed.url !== record.endpoint) {
        record.errors.push({
          code: 'mismatched_url',
          message: `The url ${JSON.stringify(parsed.url)} does not match the batch endpoint ${record.endpoint}.`,
          line,
        });
      }
      if (typeof parsed.body !== 'object' || parsed.body === null) {
        record.errors.push({ code: 'invalid_body', message: 'Each line needs a JSON object `body`.', line });
        return;
      }
      if (model === undefined) model = parsed.body.model;
      else if (parsed.body.model !== model) {
        record.errors.push({
          code: 'mismatched_model',
          message: 'All requests of a batch must use the same model.',
          line,
        });
      }
      if (typeof parsed.custom_id === 'string') {
        seen.add(parsed.custom_id);
        record.lines.push({ customId: parsed.custom_id, body: parsed.body });
      }
    });
    if (record.lines.length === 0 && record.errors.length === 0) {
      record.errors.push({ code: 'empty_file', message: 'The input file has no requests.', line: null });
    }
  }

  function createOpenAiBatch(request: RecordedRequest): FakeHttpResponse {
    const body = request.body as
      | { input_file_id?: unknown; endpoint?: unknown; completion_window?: unknown; metadata?: unknown }
      | undefined;
    if (!body) return openAiError(400, 'We could not parse the JSON body of your request.', 'invalid_json');
    if (typeof body.endpoint !== 'string' || !openAiBatchEndpoints.includes(body.endpoint)) {
      return openAiError(
        400,
        `Invalid 'endpoint': the fake server batches ${openAiBatchEndpoints.join(', ')}.`,
        'invalid_value',
        'endpoint',
      );
    }
    if (body.completion_window !== '24h')
      return openAiError(
        400,
        "Invalid 'completion_window': only '24h' is supported.",
        'invalid_value',
        'completion_window',
      );
    const file = typeof body.input_file_id === 'string' ? files.get(body.input_file_id) : undefined;
    if (!file) return openAiError(400, `Invalid 'input_file_id': no such file.`, 'invalid_value', 'input_file_id');
    if (file.purpose !== 'batch')
      return openAiError(
        400,
        `The input file must have purpose 'batch', not '${file.purpose}'.`,
        'invalid_value',
        'input_file_id',
      );
    const record: OpenAiBatchRecord = {
      id: nextId('batch_fake'),
      endpoint: body.endpoint,
      inputFileId: file.id,
      completionWindow: body.completion_window,
      metadata: (body.metadata as Record<string, string> | undefined) ?? null,
      createdAt: seconds(),
      createdMs: Date.now(),
      polls: 0,
      status: 'validating',
      lines: [],
      errors: [],
      counts: { total: 0, completed: 0, failed: 0 },
    };
    validateLines(record, file.content);
    record.counts.total = record.lines.length;
    openAiBatches.set(record.id, record);
    return json(200, openAiBatchObject(record));
  }

  async function finishOpenAiBatch(record: OpenAiBatchRecord, cancelled: boolean): Promise<void> {
    const output: string[] = [];
    const errors: string[] = [];
    let expired = 0;
    for (const [index, line] of record.lines.entries()) {
      const id = `batch_req_${record.id}_${index}`;
      const outcome = cancelled
        ? 'cancelled'
        : outcomeOf({
            api: 'openai',
            batchId: record.id,
            customId: line.customId,
            endpoint: record.endpoint,
            body: line.body,
          });
      if (outcome === 'cancelled') {
        errors.push(
          JSON.stringify({
            id,
            custom_id: line.customId,
            response: null,
            error: { code: 'batch_cancelled', message: 'This request was cancelled before it was processed.' },
          }),
        );
      } else if (outcome === 'expired') {
        expired += 1;
        errors.push(
          JSON.stringify({
            id,
            custom_id: line.customId,
            response: null,
            error: {
              code: 'batch_expired',
              message: 'This request could not be executed before the completion window expired.',
            },
          }),
        );
      } else if (outcome === 'errored') {
        const body = errorBody(
          'The server had an error while processing your request (fake server: injected).',
          'server_error',
        );
        errors.push(
          JSON.stringify({
            id,
            custom_id: line.customId,
            response: { status_code: 500, request_id: `req_${id}`, body },
            error: null,
          }),
        );
      } else {
        const answer = await context.answer(record.endpoint, line.body);
        const target = answer.status === 200 ? output : errors;
        target.push(
          JSON.stringify({
            id,
            custom_id: line.customId,
            response: { status_code: answer.status, request_id: `req_${id}`, body: JSON.parse(answer.body) as unknown },
            error: null,
          }),
        );
      }
    }
    record.counts = { total: record.lines.length, completed: output.length, failed: errors.length };
    if (output.length > 0)
      record.outputFileId = storeFile(`${record.id}_output.jsonl`, 'batch_output', `${output.join('\n')}\n`).id;
    if (errors.length > 0)
      record.errorFileId = storeFile(`${record.id}_error.jsonl`, 'batch_output', `${errors.join('\n')}\n`).id;
    record.status = cancelled ? 'cancelled' : expired > 0 ? 'expired' : 'completed';
    record.endedAt = seconds();
  }

  async function pollOpenAiBatch(record: OpenAiBatchRecord): Promise<FakeHttpResponse> {
    record.polls += 1;
    if (record.status === 'validating') {
      if (record.errors.length > 0) {
        record.status = 'failed';
        record.endedAt = seconds();
        record.counts = { total: 0, completed: 0, failed: 0 };
      } else record.status = 'in_progress';
    }
    if (record.status === 'cancelling') await finishOpenAiBatch(record, true);
    else if (record.status === 'in_progress' && isDue(record)) await finishOpenAiBatch(record, false);
    return json(200, openAiBatchObject(record));
  }

  // ---- Anthropic Message Batches ----

  function anthropicBatchObject(record: AnthropicBatchRecord) {
    const created = new Date(record.createdMs);
    return {
      id: record.id,
      type: 'message_batch',
      processing_status: record.status,
      request_counts: record.counts,
      ended_at: record.endedAt ?? null,
      created_at: created.toISOString(),
      expires_at: new Date(record.createdMs + 24 * 3600 * 1000).toISOString(),
      archived_at: null,
      cancel_initiated_at: record.cancelRequested ? new Date().toISOString() : null,
      results_url: record.status === 'ended' ? `${context.origin()}/v1/messages/batches/${record.id}/results` : null,
    };
  }

  function anthropicHeadersMissing(request: RecordedRequest): FakeHttpResponse | undefined {
    if (!request.headers['x-api-key'])
      return anthropicError(401, 'authentication_error', 'x-api-key header is required');
    if (!request.headers['anthropic-version'])
      return anthropicError(400, 'invalid_request_error', 'anthropic-version: header is required');
    return undefined;
  }

  function createAnthropicBatch(request: RecordedRequest): FakeHttpResponse {
    const body = request.body as { requests?: unknown } | undefined;
    if (!body || !Array.isArray(body.requests) || body.requests.length === 0) {
      return anthropicError(
        400,
        'invalid_request_error',
        'requests: a non-empty list of {custom_id, params} is required',
      );
    }
    const seen = new Set<string>();
    const requests: AnthropicBatchRecord['requests'] = [];
    for (const [index, entry] of (body.requests as Array<{ custom_id?: unknown; params?: unknown }>).entries()) {
      if (typeof entry?.custom_id !== 'string' || !customIdPattern.test(entry.custom_id)) {
        return anthropicError(
          400,
          'invalid_request_error',
          `requests.${index}.custom_id: must match ${customIdPattern}`,
        );
      }
      if (seen.has(entry.custom_id))
        return anthropicError(
          400,
          'invalid_request_error',
          `requests.${index}.custom_id: duplicate custom_id ${entry.custom_id}`,
        );
      if (typeof entry.params !== 'object' || entry.params === null)
        return anthropicError(400, 'invalid_request_error', `requests.${index}.params: an object is required`);
      seen.add(entry.custom_id);
      requests.push({ customId: entry.custom_id, params: entry.params });
    }
    const record: AnthropicBatchRecord = {
      id: nextId('msgbatch_fake'),
      createdMs: Date.now(),
      polls: 0,
      status: 'in_progress',
      cancelRequested: false,
      requests,
      counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    };
    anthropicBatches.set(record.id, record);
    return json(200, anthropicBatchObject(record));
  }

  async function finishAnthropicBatch(record: AnthropicBatchRecord): Promise<void> {
    const lines: string[] = [];
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    for (const entry of record.requests) {
      const outcome = record.cancelRequested
        ? 'canceled'
        : outcomeOf({
            api: 'anthropic',
            batchId: record.id,
            customId: entry.customId,
            endpoint: '/v1/messages',
            body: entry.params,
          });
      let result: unknown;
      if (outcome === 'canceled') {
        counts.canceled += 1;
        result = { type: 'canceled' };
      } else if (outcome === 'expired') {
        counts.expired += 1;
        result = { type: 'expired' };
      } else if (outcome === 'errored') {
        counts.errored += 1;
        result = {
          type: 'errored',
          error: anthropicErrorBody('api_error', 'Internal server error (fake server: injected)'),
        };
      } else {
        const answer = await context.answer('/v1/messages', entry.params);
        const parsed = JSON.parse(answer.body) as unknown;
        if (answer.status === 200) {
          counts.succeeded += 1;
          result = { type: 'succeeded', message: parsed };
        } else {
          counts.errored += 1;
          result = { type: 'errored', error: parsed };
        }
      }
      lines.push(JSON.stringify({ custom_id: entry.customId, result }));
    }
    record.results = `${lines.join('\n')}\n`;
    record.counts = counts;
    record.status = 'ended';
    record.endedAt = new Date().toISOString();
  }

  async function pollAnthropicBatch(record: AnthropicBatchRecord): Promise<FakeHttpResponse> {
    record.polls += 1;
    if (record.status === 'canceling' || (record.status === 'in_progress' && isDue(record)))
      await finishAnthropicBatch(record);
    return json(200, anthropicBatchObject(record));
  }

  // ---- routing ----

  function route(request: RecordedRequest): Promise<FakeHttpResponse> | undefined {
    const path = request.path.replace(/\/+$/, '');
    const method = request.method;
    let match: RegExpMatchArray | null;
    if (path === '/v1/files' && method === 'POST') return uploadFile(request);
    if ((match = path.match(/^\/v1\/files\/([^/]+)(\/content)?$/)) && method === 'GET') {
      const file = files.get(match[1]!);
      if (!file) return Promise.resolve(openAiError(404, `No such File object: ${match[1]}`, null, 'id'));
      if (match[2])
        return Promise.resolve({
          status: 200,
          headers: { 'content-type': 'application/octet-stream' },
          body: file.content,
        });
      return Promise.resolve(json(200, fileObject(file)));
    }
    if (path === '/v1/batches' && method === 'POST') return Promise.resolve(createOpenAiBatch(request));
    if (path === '/v1/batches' && method === 'GET') {
      const data = [...openAiBatches.values()].reverse().map(openAiBatchObject); // newest first, one page
      return Promise.resolve(
        json(200, {
          object: 'list',
          data,
          first_id: data[0]?.id ?? null,
          last_id: data.at(-1)?.id ?? null,
          has_more: false,
        }),
      );
    }
    if ((match = path.match(/^\/v1\/batches\/([^/]+)(\/cancel)?$/))) {
      const record = openAiBatches.get(match[1]!);
      if (!record) return Promise.resolve(openAiError(404, `No batch found with id '${match[1]}'.`, null, 'batch_id'));
      if (match[2] && method === 'POST') {
        if (['validating', 'in_progress'].includes(record.status)) record.status = 'cancelling';
        return Promise.resolve(json(200, openAiBatchObject(record)));
      }
      if (!match[2] && method === 'GET') return pollOpenAiBatch(record);
      return Promise.resolve(openAiError(405, `Method ${method} not allowed for ${path}`, 'method_not_allowed'));
    }
    if (path === '/v1/messages/batches' || path.startsWith('/v1/messages/batches/')) {
      const missing = anthropicHeadersMissing(request);
      if (missing) return Promise.resolve(missing);
      if (path === '/v1/messages/batches' && method === 'POST') return Promise.resolve(createAnthropicBatch(request));
      match = path.match(/^\/v1\/messages\/batches\/([^/]+)(\/results|\/cancel)?$/);
      const record = match ? anthropicBatches.get(match[1]!) : undefined;
      if (!match || !record)
        return Promise.resolve(anthropicError(404, 'not_found_error', `no message batch at ${path}`));
      if (match[2] === '/results' && method === 'GET') {
        if (record.status !== 'ended' || record.results === undefined) {
          return Promise.resolve(
            anthropicError(400, 'invalid_request_error', `message batch ${record.id} has not ended`),
          );
        }
        return Promise.resolve({
          status: 200,
          headers: { 'content-type': 'application/binary' },
          body: record.results,
        });
      }
      if (match[2] === '/cancel' && method === 'POST') {
        if (record.status === 'in_progress') {
          record.status = 'canceling';
          record.cancelRequested = true;
        }
        return Promise.resolve(json(200, anthropicBatchObject(record)));
      }
      if (!match[2] && method === 'GET') return pollAnthropicBatch(record);
      return Promise.resolve(anthropicError(405, 'invalid_request_error', `Method ${method} not allowed for ${path}`));
    }
    return undefined;
  }

  return { handle: route, files };
}
