import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProvider, parseProviderSpec } from '../../src/llm/create-provider.ts';
import type { FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider } from '../../src/llm/openai-compatible-provider.ts';
import { LlmCallError } from '../../src/llm/types.ts';
import { simulationMessages, simulationPrompt, unknownOffsets } from './prompt-fixtures.ts';
import { describeProviderContract } from './provider-contract.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const sentinelKey = 'sk-test-SENTINEL-do-not-leak-0123456789';

async function expectCallError(promise: Promise<unknown>): Promise<LlmCallError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LlmCallError);
  return error as LlmCallError;
}

describeProviderContract('openai-compatible against the fake server', async () => {
  const server = await startFakeLlmServer({ lexiconPath });
  return {
    provider: createOpenAiCompatibleProvider({ model: 'contract-model', baseURL: server.url, apiKey: sentinelKey }),
    teardown: () => server.close(),
  };
});

describe('openai-compatible provider against the fake server', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
  });
  afterAll(async () => {
    await server.close();
  });

  function provider() {
    return createOpenAiCompatibleProvider({ model: 'llama-test', baseURL: server.url, apiKey: sentinelKey });
  }

  it('names itself and its capabilities', () => {
    expect(provider()).toMatchObject({
      id: 'openai-compatible:llama-test',
      isBaseline: false,
      capabilities: { chatLogprobs: true, promptLogprobs: 'detect', batch: true },
    });
    expect(provider().capabilities.echoSupport?.known).toBeUndefined(); // the first prompt-logprob answer tells
    const openAi = createOpenAiCompatibleProvider({ model: 'gpt-4o-mini', apiKey: sentinelKey });
    expect(openAi.id).toBe('openai:gpt-4o-mini');
    expect(openAi.capabilities.promptLogprobs).toBe(false);
    expect(openAi.capabilities.echoSupport).toBeUndefined();
  });

  it('echo mode: sends echo/logprobs/max_tokens 0 and maps tokens whose offsets reconstruct the prompt', async () => {
    const prompt = simulationPrompt('nouns after "the"', [
      [' the', ' cat', ' sat'],
      [' a', ' dog'],
    ]);
    const before = server.requests.length;
    const result = await provider().complete({ prompt, maxTokens: 0, logprobs: { topK: 5, echo: true } });
    const received = server.requests[before];
    expect(received?.path).toBe('/v1/completions');
    expect(received?.headers.authorization).toBe(`Bearer ${sentinelKey}`);
    expect(received?.body).toMatchObject({ model: 'llama-test', prompt, echo: true, logprobs: 5, max_tokens: 0 });

    expect(result.text).toBe('');
    expect(result.echoed).toBe(true);
    expect(result.model).toBe('rule-based-v1');
    const tokens = result.tokens ?? [];
    expect(tokens[0]).toMatchObject({ logprob: null, topLogprobs: {}, textOffset: 0 });
    let rebuilt = '';
    for (const token of tokens) {
      expect(token.textOffset).toBe(rebuilt.length);
      rebuilt += token.token;
    }
    expect(rebuilt).toBe(prompt);
    const catOffset = unknownOffsets(prompt)[2] ?? -1; // neuron 2, " cat" after " the"
    const catToken = tokens.find((token) => token.textOffset === catOffset);
    const best = Object.entries(catToken?.topLogprobs ?? {}).sort((a, b) => b[1] - a[1])[0];
    expect(best?.[0]).toBe('10');
    expect(result.usage.promptTokens).toBe(tokens.length);
  });

  it('chat mode: sends logprobs/top_logprobs/max_tokens and maps tokens that reconstruct the completion', async () => {
    const messages = simulationMessages('nouns after "the"', [[' the', ' cat', ' sat']]);
    const before = server.requests.length;
    const result = await provider().complete({ messages, maxTokens: 300, temperature: 0, logprobs: { topK: 5 } });
    const received = server.requests[before];
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers.authorization).toBe(`Bearer ${sentinelKey}`);
    expect(received?.body).toMatchObject({
      model: 'llama-test',
      messages,
      logprobs: true,
      top_logprobs: 5,
      max_tokens: 300,
      temperature: 0,
    });
    expect(result.text).toBe('<start>\n the\t0\n cat\t10\n sat\t0\n<end>');
    const tokens = result.tokens ?? [];
    let rebuilt = '';
    for (const token of tokens) {
      expect(token.textOffset).toBe(rebuilt.length);
      rebuilt += token.token;
    }
    expect(rebuilt).toBe(result.text);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.completionTokens).toBe(tokens.length);
  });

  it('can name the chat limit max_completion_tokens', async () => {
    const before = server.requests.length;
    await createOpenAiCompatibleProvider({
      model: 'm',
      baseURL: server.url,
      apiKey: sentinelKey,
      chatMaxTokensField: 'max_completion_tokens',
    }).complete({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 7 });
    const body = server.requests[before]?.body as Record<string, unknown>;
    expect(body.max_completion_tokens).toBe(7);
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('maps a 400 to a non-retryable LlmCallError without the key in its message', async () => {
    const error = await expectCallError(
      provider().complete({ messages: [{ role: 'user', content: 'x' }], maxTokens: 0 }),
    );
    expect(error.details).toMatchObject({ status: 400, retryable: false, url: `${server.url}/chat/completions` });
    expect(error.message).toContain('max_tokens');
    expect(error.message).not.toContain(sentinelKey);
    expect(JSON.stringify(error)).not.toContain(sentinelKey);
  });
});

describe('openai-compatible provider error mapping', () => {
  const servers: FakeLlmServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  async function serverAnswering(status: number, headers: Record<string, string>, message: string) {
    const server = await startFakeLlmServer({
      lexiconPath,
      intercept: async () => ({
        status,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ error: { message, type: 'test_error', param: null, code: null } }),
      }),
    });
    servers.push(server);
    return createOpenAiCompatibleProvider({ model: 'm', baseURL: server.url, apiKey: sentinelKey });
  }

  it('429 is retryable and carries Retry-After', async () => {
    const provider = await serverAnswering(429, { 'retry-after': '2' }, 'Rate limit reached');
    const error = await expectCallError(provider.complete({ prompt: 'x', maxTokens: 1 }));
    expect(error.details).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2000 });
  });

  it('500 is retryable; 401, 404 and 501 are not; a key echoed by the server is redacted', async () => {
    const internal = await serverAnswering(500, {}, 'boom');
    expect((await expectCallError(internal.complete({ prompt: 'x', maxTokens: 1 }))).details).toMatchObject({
      status: 500,
      retryable: true,
    });
    const unauthorized = await serverAnswering(401, {}, `Incorrect API key provided: ${sentinelKey}`);
    const error = await expectCallError(unauthorized.complete({ prompt: 'x', maxTokens: 1 }));
    expect(error.details).toMatchObject({ status: 401, retryable: false });
    expect(error.message).toContain('Incorrect API key');
    expect(error.message).not.toContain(sentinelKey);
    expect(error.message).not.toContain('SENTINEL');
    const notFound = await serverAnswering(404, {}, 'no such model');
    expect((await expectCallError(notFound.complete({ prompt: 'x', maxTokens: 1 }))).details.retryable).toBe(false);
    const notImplemented = await serverAnswering(501, {}, 'echo not implemented');
    expect((await expectCallError(notImplemented.complete({ prompt: 'x', maxTokens: 1 }))).details).toMatchObject({
      status: 501,
      retryable: false,
    });
  });

  it('a refused connection is retryable', async () => {
    const server = await startFakeLlmServer({ lexiconPath });
    const url = server.url;
    await server.close();
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: url, apiKey: sentinelKey });
    const error = await expectCallError(provider.complete({ prompt: 'x', maxTokens: 1 }));
    expect(error.details).toMatchObject({ retryable: true, url: `${url}/completions` });
    expect(error.details.status).toBeUndefined();
  });

  it('an aborted request is not retryable', async () => {
    // The request hangs at the server, which aborts it once it holds it (no latency races the abort).
    const controller = new AbortController();
    const server = await startFakeLlmServer({
      lexiconPath,
      faults: { mix: { hang: 1 }, onFault: () => controller.abort() },
    });
    servers.push(server);
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: server.url, apiKey: sentinelKey });
    const pending = provider.complete({ prompt: 'x', maxTokens: 1, signal: controller.signal });
    const error = await expectCallError(pending);
    expect(error.message).toMatch(/aborted/);
    expect(error.details.retryable).toBe(false);
  });

  it('a request past its timeout (a server that never answers) fails as timed out, retryable', async () => {
    const server = await startFakeLlmServer({ lexiconPath, faults: { mix: { hang: 1 } } });
    servers.push(server);
    const provider = createOpenAiCompatibleProvider({
      model: 'm',
      baseURL: server.url,
      apiKey: sentinelKey,
      timeoutMs: 50,
    });
    const error = await expectCallError(provider.complete({ prompt: 'x', maxTokens: 1 }));
    expect(error.message).toBe(`openai-compatible:m: request to ${server.url}/completions timed out`);
    expect(error.details).toMatchObject({ retryable: true, url: `${server.url}/completions` });
  });
});

describe('API key handling', () => {
  const saved = process.env.OPENAI_API_KEY;
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = saved;
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads OPENAI_API_KEY at request time, not at creation', async () => {
    delete process.env.OPENAI_API_KEY;
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: server.url });
    process.env.OPENAI_API_KEY = 'sk-set-after-creation';
    const before = server.requests.length;
    await provider.complete({ prompt: 'x', maxTokens: 1 });
    expect(server.requests[before]?.headers.authorization).toBe('Bearer sk-set-after-creation');
  });

  it('uses a placeholder key for a keyless compatible server', async () => {
    delete process.env.OPENAI_API_KEY;
    const before = server.requests.length;
    await createOpenAiCompatibleProvider({ model: 'm', baseURL: server.url }).complete({ prompt: 'x', maxTokens: 1 });
    expect(server.requests[before]?.headers.authorization).toBe('Bearer not-needed');
  });

  it('fails without a key for OpenAI itself, before any network call', async () => {
    delete process.env.OPENAI_API_KEY;
    const error = await expectCallError(
      createOpenAiCompatibleProvider({ model: 'gpt-4o-mini' }).complete({ prompt: 'x', maxTokens: 1 }),
    );
    expect(error.message).toMatch(/OPENAI_API_KEY/);
    expect(error.details.retryable).toBe(false);
  });
});

describe('createProvider', () => {
  it('parses provider specs', () => {
    expect(parseProviderSpec('baseline')).toEqual({ provider: 'baseline', model: 'rule-based-v1' });
    expect(parseProviderSpec('baseline:rule-based-v1')).toEqual({ provider: 'baseline', model: 'rule-based-v1' });
    expect(parseProviderSpec('openai-compatible:llama3:8b')).toEqual({
      provider: 'openai-compatible',
      model: 'llama3:8b',
    });
    expect(parseProviderSpec('openai:gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(parseProviderSpec('anthropic:claude-3-5-haiku-latest')).toEqual({
      provider: 'anthropic',
      model: 'claude-3-5-haiku-latest',
    });
    expect(() => parseProviderSpec('cohere:command')).toThrow(/known: baseline.*openai.*openai-compatible.*anthropic/);
    expect(() => parseProviderSpec('openai')).toThrow(/names no model/);
    expect(() => parseProviderSpec('baseline:other')).toThrow(/baseline:rule-based-v1/);
  });

  it('creates each provider; openai-compatible needs a base URL', () => {
    expect(createProvider('baseline').id).toBe('baseline:rule-based-v1');
    expect(createProvider('baseline').isBaseline).toBe(true);
    expect(createProvider('openai:gpt-4o-mini').id).toBe('openai:gpt-4o-mini');
    expect(createProvider('openai-compatible:llama3', { baseURL: 'http://127.0.0.1:1/v1' }).id).toBe(
      'openai-compatible:llama3',
    );
    expect(() => createProvider('openai-compatible:llama3')).toThrow(/base URL/);
  });
});

describe('API key transport', () => {
  it('refuses to send a key over plain http to a non-loopback host, and names no secret', async () => {
    const { createOpenAiCompatibleProvider, sendsKeyInClear } = await import(
      '../../src/llm/openai-compatible-provider.ts'
    );
    expect(sendsKeyInClear('http://10.1.2.3:8000/v1')).toBe(true);
    expect(sendsKeyInClear('http://gpu-box.lan/v1')).toBe(true);
    expect(sendsKeyInClear('https://gpu-box.lan/v1')).toBe(false);
    expect(sendsKeyInClear('http://127.0.0.1:8000/v1')).toBe(false);
    expect(sendsKeyInClear('http://localhost:8000/v1')).toBe(false);
    expect(sendsKeyInClear('http://[::1]:8000/v1')).toBe(false);
    let calls = 0;
    const provider = createOpenAiCompatibleProvider({
      model: 'm',
      baseURL: 'http://user:pw@10.1.2.3:8000/v1?token=abc',
      apiKey: 'sk-SENTINEL-never-print',
      fetch: (async () => {
        calls += 1;
        throw new Error('must not be called');
      }) as typeof fetch,
    });
    const error = await provider
      .complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 1 })
      .catch((e: Error) => e);
    expect(calls).toBe(0);
    expect(String(error)).toMatch(/refusing to send the API key in clear text to http:\/\/10\.1\.2\.3:8000/);
    expect(String(error)).not.toMatch(/SENTINEL|pw|token=abc/);
  });
});
