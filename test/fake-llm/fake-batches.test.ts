/**
 * Both Batch wire formats, end to end through the official SDKs against the fake server: what the server receives
 * (multipart upload with purpose=batch, JSONL lines, batch create bodies, Anthropic headers and params), the
 * status sequence, results read exactly as live answers, per-request errors and expiry, validation, cancel.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicBatchClient } from '../../src/llm/batch/anthropic-batch-client.ts';
import { createOpenAiBatchClient } from '../../src/llm/batch/openai-batch-client.ts';
import type { BatchClient, BatchItemOutcome, BatchState } from '../../src/llm/batch/types.ts';
import { createAnthropicProvider } from '../../src/llm/anthropic-provider.ts';
import type { FakeBatchItemOutcome, FakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { createOpenAiCompatibleProvider } from '../../src/llm/openai-compatible-provider.ts';
import type { LlmRequest } from '../../src/llm/types.ts';
import { explainPrompt, simulationPrompt } from '../llm/prompt-fixtures.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const openAiKey = 'sk-batch-test-key';
const anthropicKey = 'sk-ant-batch-test-key';

const explainRequest: LlmRequest = {
  messages: [
    { role: 'system', content: 'You explain neurons.' },
    { role: 'user', content: explainPrompt([{ tokens: [' of', ' the', ' cat'], values: [10, 4, 0] }]) },
    { role: 'assistant', content: 'the main thing this neuron does is find ' },
  ],
  maxTokens: 60,
  temperature: 0,
  stop: ['\n\n'],
};
const echoRequest: LlmRequest = {
  prompt: simulationPrompt('nouns', [[' the', ' cat']]),
  maxTokens: 0,
  temperature: 0,
  logprobs: { topK: 5, echo: true },
};

/** Outcomes the test injects, by custom id. */
const injected = new Map<string, FakeBatchItemOutcome>();

async function untilEnded(client: BatchClient, batchId: string): Promise<BatchState[]> {
  const states: BatchState[] = [];
  for (let i = 0; i < 20; i++) {
    const state = await client.retrieve(batchId);
    states.push(state);
    if (state.ended) return states;
  }
  throw new Error(`batch ${batchId} did not end`);
}

const byId = (outcomes: BatchItemOutcome[]) => new Map(outcomes.map((o) => [o.customId, o]));

describe('fake server Batch APIs through the official SDKs', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({
      lexiconPath,
      batch: { pollsUntilDone: 2, itemOutcome: (item) => injected.get(item.customId) },
    });
  });
  afterAll(async () => {
    await server.close();
  });
  const since = (from: number) => server.requests.slice(from);

  it('OpenAI: multipart upload with purpose=batch, JSONL lines with custom_id/method/url/body (the live body), batch create, results equal live answers', async () => {
    const client = createOpenAiBatchClient({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const live = createOpenAiCompatibleProvider({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const liveAnswer = await live.complete(explainRequest);
    const liveBody = server.requests.at(-1)!.body;
    const from = server.requests.length;
    const submitted = await client.submit(
      [
        { customId: 'explain-1', request: explainRequest },
        { customId: 'explain-2', request: { ...explainRequest, maxTokens: 30 } },
      ],
      { metadata: { autointerp_run: '7' } },
    );
    expect(submitted).toMatchObject({
      status: 'validating',
      ended: false,
      endpoint: '/v1/chat/completions',
      counts: { total: 2, pending: 2 },
    });
    const [upload, create] = since(from);
    expect(upload).toMatchObject({ method: 'POST', path: '/v1/files' });
    expect(upload!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload!.headers.authorization).toBe(`Bearer ${openAiKey}`);
    expect(upload!.rawBody).toMatch(/name="purpose"\r\n\r\nbatch\r\n/);
    expect(upload!.rawBody).toMatch(/name="file"; filename="autointerp-batch\.jsonl"/);
    const file = server.files.get(submitted.inputFileId!)!;
    expect(file).toMatchObject({ purpose: 'batch', filename: 'autointerp-batch.jsonl' });
    const lines = file.content
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { custom_id: 'explain-1', method: 'POST', url: '/v1/chat/completions', body: liveBody },
      {
        custom_id: 'explain-2',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { ...(liveBody as object), max_tokens: 30 },
      },
    ]);
    expect(create).toMatchObject({ method: 'POST', path: '/v1/batches' });
    expect(create!.body).toEqual({
      input_file_id: submitted.inputFileId,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { autointerp_run: '7' },
    });

    const states = await untilEnded(client, submitted.batchId);
    expect(states.map((s) => s.status)).toEqual(['in_progress', 'completed']);
    expect(states.at(-1)!.counts).toEqual({ total: 2, succeeded: 2, failed: 0, pending: 0 });
    const outcomes = byId(await client.results(submitted.batchId));
    expect(since(from).map((r) => `${r.method} ${r.path.replace(/fake\d+/, 'N')}`)).toEqual([
      'POST /v1/files',
      'POST /v1/batches',
      'GET /v1/batches/batch_N',
      'GET /v1/batches/batch_N',
      'GET /v1/batches/batch_N',
      'GET /v1/files/file-N/content',
    ]);
    const first = outcomes.get('explain-1')!;
    expect(first.status).toBe('succeeded');
    if (first.status !== 'succeeded') return;
    expect(client.readResponse(explainRequest, first.body, submitted.batchId)).toEqual({
      ...liveAnswer,
      batchId: submitted.batchId,
    });
  });

  it('OpenAI: a prompt-logprobs (echo) request batches to /v1/completions and reads back like the live answer', async () => {
    const client = createOpenAiBatchClient({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const live = createOpenAiCompatibleProvider({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const liveAnswer = await live.complete(echoRequest);
    const liveBody = server.requests.at(-1)!.body;
    expect(client.endpointOf(echoRequest)).toBe('/v1/completions');
    const submitted = await client.submit([{ customId: 'sim-1', request: echoRequest }]);
    const line = JSON.parse(server.files.get(submitted.inputFileId!)!.content) as Record<string, unknown>;
    expect(line).toEqual({ custom_id: 'sim-1', method: 'POST', url: '/v1/completions', body: liveBody });
    await untilEnded(client, submitted.batchId);
    const [outcome] = await client.results(submitted.batchId);
    expect(outcome!.status).toBe('succeeded');
    if (outcome!.status !== 'succeeded') return;
    const read = client.readResponse(echoRequest, outcome!.body, submitted.batchId);
    expect(read.tokens!.length).toBeGreaterThan(10);
    expect(read).toEqual({ ...liveAnswer, batchId: submitted.batchId });
  });

  it('Anthropic: POST /v1/messages/batches with x-api-key and anthropic-version, params = the live Messages body, JSONL results', async () => {
    const client = createAnthropicBatchClient({ model: 'claude-test', baseURL: server.url, apiKey: anthropicKey });
    const live = createAnthropicProvider({ model: 'claude-test', baseURL: server.url, apiKey: anthropicKey });
    const liveAnswer = await live.complete(explainRequest);
    const liveBody = server.requests.at(-1)!.body;
    const from = server.requests.length;
    const submitted = await client.submit([{ customId: 'a'.repeat(64), request: explainRequest }]);
    expect(submitted).toMatchObject({
      status: 'in_progress',
      ended: false,
      endpoint: '/v1/messages',
      counts: { total: 1, pending: 1 },
    });
    const create = server.requests[from]!;
    expect(create).toMatchObject({ method: 'POST', path: '/v1/messages/batches' });
    expect(create.headers['x-api-key']).toBe(anthropicKey);
    expect(create.headers.authorization).toBeUndefined();
    expect(create.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(create.body).toEqual({ requests: [{ custom_id: 'a'.repeat(64), params: liveBody }] });
    const states = await untilEnded(client, submitted.batchId);
    expect(states.map((s) => s.status)).toEqual(['in_progress', 'ended']);
    const outcomes = await client.results(submitted.batchId);
    const results = server.requests.at(-1)!;
    expect(results.path).toBe(`/v1/messages/batches/${submitted.batchId}/results`);
    expect(results.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(outcomes).toHaveLength(1);
    const [outcome] = outcomes;
    expect(outcome!.status).toBe('succeeded');
    if (outcome!.status !== 'succeeded') return;
    expect(client.readResponse(explainRequest, outcome!.body, submitted.batchId)).toEqual({
      ...liveAnswer,
      batchId: submitted.batchId,
    });
  });

  it('injected per-request errors and expiry come back as errored / expired outcomes with reasons (both APIs)', async () => {
    injected.set('bad-1', 'errored').set('late-1', 'expired');
    const items = ['ok-1', 'bad-1', 'late-1'].map((customId) => ({ customId, request: explainRequest }));
    const openAi = createOpenAiBatchClient({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const submitted = await openAi.submit(items);
    const final = (await untilEnded(openAi, submitted.batchId)).at(-1)!;
    expect(final).toMatchObject({
      status: 'expired',
      ended: true,
      counts: { total: 3, succeeded: 1, failed: 2, pending: 0 },
    });
    const openAiOutcomes = byId(await openAi.results(submitted.batchId));
    expect(openAiOutcomes.get('ok-1')!.status).toBe('succeeded');
    expect(openAiOutcomes.get('bad-1')).toEqual({
      customId: 'bad-1',
      status: 'errored',
      error: expect.stringMatching(/^HTTP 500: server_error: .*injected/),
    });
    expect(openAiOutcomes.get('late-1')).toEqual({
      customId: 'late-1',
      status: 'expired',
      error: expect.stringMatching(/^batch_expired: /),
    });

    const anthropic = createAnthropicBatchClient({ model: 'claude-test', baseURL: server.url, apiKey: anthropicKey });
    const anthropicBatch = await anthropic.submit(items);
    const ended = (await untilEnded(anthropic, anthropicBatch.batchId)).at(-1)!;
    expect(ended.counts).toEqual({ total: 3, succeeded: 1, failed: 2, pending: 0 });
    const anthropicOutcomes = byId(await anthropic.results(anthropicBatch.batchId));
    expect(anthropicOutcomes.get('ok-1')!.status).toBe('succeeded');
    expect(anthropicOutcomes.get('bad-1')).toEqual({
      customId: 'bad-1',
      status: 'errored',
      error: expect.stringMatching(/^api_error: .*injected/),
    });
    expect(anthropicOutcomes.get('late-1')).toMatchObject({ status: 'expired' });
    injected.clear();
  });

  it('validates like the real APIs: purpose, JSONL lines vs the endpoint, custom_id rules, the version header', async () => {
    const form = (purpose: string, content: string, filename = 'in.jsonl') => {
      const body = new FormData();
      body.set('purpose', purpose);
      body.set('file', new Blob([content]), filename);
      return fetch(`${server.url}/files`, { method: 'POST', body });
    };
    const createBatch = (input_file_id: string, endpoint = '/v1/chat/completions') =>
      fetch(`${server.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id, endpoint, completion_window: '24h' }),
      });
    const line = (url: string, custom_id = 'x') =>
      JSON.stringify({
        custom_id,
        method: 'POST',
        url,
        body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      });

    const notBatch = (await (await form('assistants', line('/v1/chat/completions'))).json()) as { id: string };
    expect((await createBatch(notBatch.id)).status).toBe(400);
    expect((await form('batch', line('/v1/chat/completions'), 'in.txt')).status).toBe(400);
    expect((await createBatch('file-missing')).status).toBe(400);

    const mismatched = (await (
      await form('batch', `${line('/v1/completions', 'a')}\n${line('/v1/chat/completions', 'a')}\n`)
    ).json()) as { id: string };
    const batch = (await (await createBatch(mismatched.id)).json()) as { id: string };
    const client = createOpenAiBatchClient({ model: 'm', baseURL: server.url, apiKey: openAiKey });
    const failed = await client.retrieve(batch.id);
    expect(failed).toMatchObject({ status: 'failed', ended: true });
    expect(failed.error).toMatch(/mismatched_url \(line 1\).*duplicate_custom_id \(line 2\)/);
    expect(await client.results(batch.id)).toEqual([]);

    const anthropicPost = (headers: Record<string, string>, body: unknown) =>
      fetch(`${server.url}/messages/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const params = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    expect((await anthropicPost({ 'x-api-key': 'k' }, { requests: [{ custom_id: 'a', params }] })).status).toBe(400);
    expect(
      (await anthropicPost({ 'anthropic-version': '2023-06-01' }, { requests: [{ custom_id: 'a', params }] })).status,
    ).toBe(401);
    const badId = await anthropicPost(
      { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      { requests: [{ custom_id: 'has space', params }] },
    );
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/custom_id/) },
    });
  });

  it('cancel: OpenAI cancelling → cancelled, Anthropic canceling → ended, unanswered requests canceled', async () => {
    const items = [{ customId: 'c-1', request: explainRequest }];
    const openAi = createOpenAiBatchClient({ model: 'gpt-test', baseURL: server.url, apiKey: openAiKey });
    const batch = await openAi.submit(items);
    expect((await openAi.cancel(batch.batchId)).status).toBe('cancelling');
    expect(await openAi.retrieve(batch.batchId)).toMatchObject({ status: 'cancelled', ended: true });
    expect(await openAi.results(batch.batchId)).toEqual([
      { customId: 'c-1', status: 'canceled', error: expect.stringMatching(/^batch_cancelled/) },
    ]);

    const anthropic = createAnthropicBatchClient({ model: 'claude-test', baseURL: server.url, apiKey: anthropicKey });
    const message = await anthropic.submit(items);
    expect((await anthropic.cancel(message.batchId)).status).toBe('canceling');
    expect(await anthropic.retrieve(message.batchId)).toMatchObject({
      status: 'ended',
      ended: true,
      counts: { failed: 1 },
    });
    expect(await anthropic.results(message.batchId)).toEqual([
      { customId: 'c-1', status: 'canceled', error: expect.stringMatching(/^canceled/) },
    ]);
  });

  it('OpenAI: a batch create whose answer is lost (a 500 after the batch was made) is found again by its file, not made twice', async () => {
    let lose = true;
    const lossy = await startFakeLlmServer({
      lexiconPath,
      intercept: async (context, next) => {
        const response = await next();
        if (lose && context.request.method === 'POST' && context.request.path === '/v1/batches') {
          lose = false;
          return {
            status: 500,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ error: { message: 'lost', type: 'server_error' } }),
          };
        }
        return response;
      },
    });
    try {
      const client = createOpenAiBatchClient({ model: 'gpt-test', baseURL: lossy.url, apiKey: openAiKey });
      const submitted = await client.submit([{ customId: 'x-1', request: explainRequest }]);
      const seen = lossy.requests.map((r) => `${r.method} ${r.path}`);
      expect(seen).toEqual(['POST /v1/files', 'POST /v1/batches', 'GET /v1/batches']);
      const listed = (await (await fetch(`${lossy.url}/batches`)).json()) as {
        data: Array<{ id: string; input_file_id: string }>;
      };
      expect(listed.data).toHaveLength(1);
      expect(submitted).toMatchObject({ batchId: listed.data[0]!.id, inputFileId: listed.data[0]!.input_file_id });
    } finally {
      await lossy.close();
    }
  });
});
