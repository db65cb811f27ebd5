import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/llm/anthropic-provider.ts';
import { createAnthropicBatchClient } from '../../src/llm/batch/anthropic-batch-client.ts';
import { createOpenAiBatchClient } from '../../src/llm/batch/openai-batch-client.ts';
import { createBatchClient } from '../../src/llm/batch/create-batch-client.ts';
import { createProvider } from '../../src/llm/create-provider.ts';
import { assertSafeEndpoint, isLoopbackHost, sendsKeyInClear } from '../../src/llm/endpoint.ts';
import type { BatchClient } from '../../src/llm/batch/types.ts';
import type { LlmRequest } from '../../src/llm/types.ts';

// A non-loopback address nothing here ever connects to: every fetch below is a recording stub.
const remote = 'http://10.255.255.1';
const secret = 'sk-SENTINEL-endpoint-4a7e-never-sent';
const chat: LlmRequest = { messages: [{ role: 'user', content: 'hi' }], maxTokens: 1 };
const refusal =
  /refusing to send (the API key|OPENAI_API_KEY|ANTHROPIC_API_KEY) in clear text to http:\/\/10\.255\.255\.1/;

/** A fetch that records every call and answers `answer` (never touches the network). */
function recordingFetch(answer: (url: string) => unknown = () => ({})) {
  const calls: string[] = [];
  const fetchFunction = (async (input: string | URL | Request) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    return new Response(JSON.stringify(answer(url)), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls, fetch: fetchFunction };
}

const savedEnvironment = { ...process.env };
afterEach(() => {
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL']) {
    if (savedEnvironment[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnvironment[name];
  }
});

/** Every call of a batch client, each expected to be refused before any fetch. */
async function expectEveryBatchCallRefused(client: BatchClient, calls: string[]): Promise<void> {
  const attempts = [
    client.submit([{ customId: 'a1', request: chat }]),
    client.retrieve('batch_1'),
    client.results('batch_1'),
    client.cancel('batch_1'),
  ];
  for (const attempt of attempts) {
    const error = await attempt.catch((caught: unknown) => caught);
    expect(String(error)).toMatch(refusal);
    expect(String(error)).not.toContain(secret);
  }
  expect(calls).toEqual([]);
}

describe('the loopback rule', () => {
  it('lets a key go over http to 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      '10.255.255.1',
      '127.evil.example',
      '128.0.0.1',
      'localhost.evil.example',
      '::2',
      'gpu-box.lan',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    expect(sendsKeyInClear('http://127.0.0.1:8000/v1')).toBe(false);
    expect(sendsKeyInClear('http://[::1]:8000/v1')).toBe(false);
    expect(sendsKeyInClear('https://10.255.255.1/v1')).toBe(false);
    expect(sendsKeyInClear(`${remote}/v1`)).toBe(true);
    // A host name that merely starts with "127." is not an address on loopback.
    expect(sendsKeyInClear('http://127.evil.example/v1')).toBe(true);
  });

  it('names the host only, never credentials in the URL, and refuses what is not a URL', () => {
    const error = (() => {
      try {
        assertSafeEndpoint('http://user:pw@10.255.255.1:8000/v1?token=abc', {
          providerId: 'openai-compatible:m',
          keyName: 'OPENAI_API_KEY',
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(String(error)).toMatch(/refusing to send OPENAI_API_KEY in clear text to http:\/\/10\.255\.255\.1:8000:/);
    expect(String(error)).not.toMatch(/pw|token=abc/);
    expect(() => assertSafeEndpoint('not a url', { providerId: 'p:m', keyName: 'the API key' })).toThrow(
      /p:m: the base URL is not a valid URL/,
    );
    expect(() => assertSafeEndpoint('ftp://host/v1', { providerId: 'p:m', keyName: 'the API key' })).toThrow(
      /must be http or https/,
    );
    expect(() =>
      assertSafeEndpoint('https://api.example.com/v1', { providerId: 'p:m', keyName: 'the API key' }),
    ).not.toThrow();
  });
});

describe('no provider sends a key over plain http to a non-loopback host', () => {
  it('openai: (base URL from OPENAI_BASE_URL, key from OPENAI_API_KEY)', async () => {
    process.env.OPENAI_BASE_URL = `${remote}/v1`;
    process.env.OPENAI_API_KEY = secret;
    const { calls, fetch } = recordingFetch();
    const provider = createProvider('openai:gpt-4o-mini', { fetch });
    expect(provider.id).toBe('openai:gpt-4o-mini');
    const error = await provider.complete(chat).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(
      /openai:gpt-4o-mini: refusing to send OPENAI_API_KEY in clear text to http:\/\/10\.255\.255\.1/,
    );
    expect(String(error)).not.toContain(secret);
    expect(calls).toEqual([]);
  });

  it('openai-compatible: (--base-url, key given)', async () => {
    const { calls, fetch } = recordingFetch();
    const provider = createProvider('openai-compatible:m', { baseURL: `${remote}/v1`, apiKey: secret, fetch });
    const error = await provider
      .complete({ prompt: 'hi', maxTokens: 0, logprobs: { topK: 5, echo: true } })
      .catch((caught: unknown) => caught);
    expect(String(error)).toMatch(refusal);
    expect(calls).toEqual([]);
  });

  it('openai-compatible without a key still reaches a keyless server (nothing secret to send)', async () => {
    delete process.env.OPENAI_API_KEY;
    const { calls, fetch } = recordingFetch(() => ({
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    }));
    const provider = createProvider('openai-compatible:m', { baseURL: `${remote}/v1`, fetch });
    expect((await provider.complete(chat)).text).toBe('ok');
    expect(calls).toEqual([`${remote}/v1/chat/completions`]);
  });

  it('anthropic: (--base-url, key given; and ANTHROPIC_BASE_URL with ANTHROPIC_API_KEY)', async () => {
    const { calls, fetch } = recordingFetch();
    const given = createAnthropicProvider({
      model: 'claude-haiku-4-5',
      baseURL: `${remote}/v1`,
      apiKey: secret,
      fetch,
    });
    const error = await given.complete(chat).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(
      /anthropic:claude-haiku-4-5: refusing to send the API key in clear text to http:\/\/10\.255\.255\.1/,
    );
    expect(String(error)).not.toContain(secret);

    process.env.ANTHROPIC_BASE_URL = remote;
    process.env.ANTHROPIC_API_KEY = secret;
    const fromEnvironment = createProvider('anthropic:claude-haiku-4-5', { fetch });
    expect(String(await fromEnvironment.complete(chat).catch((caught: unknown) => caught))).toMatch(
      /refusing to send ANTHROPIC_API_KEY in clear text/,
    );
    expect(calls).toEqual([]);
  });

  it('the OpenAI batch client: submit, retrieve, results and cancel', async () => {
    const { calls, fetch } = recordingFetch();
    await expectEveryBatchCallRefused(
      createOpenAiBatchClient({ model: 'm', baseURL: `${remote}/v1`, apiKey: secret, fetch }),
      calls,
    );
    process.env.OPENAI_BASE_URL = `${remote}/v1`;
    process.env.OPENAI_API_KEY = secret;
    await expectEveryBatchCallRefused(createBatchClient('openai:gpt-4o-mini', { fetch }), calls);
  });

  it('the Anthropic batch client: submit, retrieve, results and cancel', async () => {
    const { calls, fetch } = recordingFetch();
    await expectEveryBatchCallRefused(
      createAnthropicBatchClient({ model: 'claude-haiku-4-5', baseURL: remote, apiKey: secret, fetch }),
      calls,
    );
    await expectEveryBatchCallRefused(
      createBatchClient('anthropic:claude-haiku-4-5', { baseURL: `${remote}/v1`, apiKey: secret, fetch }),
      calls,
    );
  });

  it("the Anthropic batch client fetches a batch's results_url only on the server the key is for", async () => {
    const { calls, fetch } = recordingFetch(() => ({
      id: 'msgbatch_1',
      type: 'message_batch',
      processing_status: 'ended',
      request_counts: { processing: 0, succeeded: 1, errored: 0, canceled: 0, expired: 0 },
      results_url: `${remote}/v1/messages/batches/msgbatch_1/results`,
    }));
    const client = createAnthropicBatchClient({
      model: 'claude-haiku-4-5',
      baseURL: 'http://127.0.0.1:9',
      apiKey: secret,
      fetch,
    });
    const error = await client.results('msgbatch_1').catch((caught: unknown) => caught);
    expect(String(error)).toMatch(
      /results_url is not on http:\/\/127\.0\.0\.1:9 \(it points to http:\/\/10\.255\.255\.1\); refusing to send the API key there/,
    );
    expect(calls).toEqual(['http://127.0.0.1:9/v1/messages/batches/msgbatch_1']);
  });
});
