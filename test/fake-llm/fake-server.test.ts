import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { simulationMessages, simulationPrompt } from '../llm/prompt-fixtures.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));

async function post(url: string, body: string | object) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read many shapes of wire-format JSON
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
}

describe('fake LLM server: OpenAI wire formats', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on 127.0.0.1 under /v1 and lists its model', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await fetch(`${server.url}/models`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: 'list', data: [{ id: 'rule-based-v1', object: 'model' }] });
  });

  it('completions with echo: text = prompt, parallel logprob arrays, first entry null (as vLLM)', async () => {
    const prompt = simulationPrompt('nouns', [[' the', ' cat']]);
    const { status, json } = await post(`${server.url}/completions`, {
      model: 'x',
      prompt,
      echo: true,
      logprobs: 3,
      max_tokens: 0,
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ object: 'text_completion', model: 'rule-based-v1' });
    expect(typeof json.id).toBe('string');
    expect(typeof json.created).toBe('number');
    const choice = json.choices[0];
    expect(choice).toMatchObject({ index: 0, text: prompt, finish_reason: 'length' });
    const { tokens, token_logprobs, top_logprobs, text_offset } = choice.logprobs;
    expect(tokens.join('')).toBe(prompt);
    expect([token_logprobs.length, top_logprobs.length, text_offset.length]).toEqual(Array(3).fill(tokens.length));
    expect(token_logprobs[0]).toBeNull();
    expect(top_logprobs[0]).toBeNull();
    expect(text_offset[0]).toBe(0);
    expect(top_logprobs.slice(1).every((entry: object) => entry !== null && Object.keys(entry).length <= 3)).toBe(true);
    expect(json.usage).toEqual({ prompt_tokens: tokens.length, completion_tokens: 0, total_tokens: tokens.length });
  });

  it('completions without logprobs: logprobs null, default max_tokens 16', async () => {
    const { json } = await post(`${server.url}/completions`, {
      model: 'x',
      prompt: simulationPrompt('nouns', [[' a']]),
    });
    expect(json.choices[0].logprobs).toBeNull();
    expect(json.usage.completion_tokens).toBeLessThanOrEqual(16);
  });

  it('chat completions with logprobs: content tokens with bytes and sorted top_logprobs', async () => {
    const { status, json } = await post(`${server.url}/chat/completions`, {
      model: 'x',
      messages: simulationMessages('the token "cat"', [[' the', ' cat']]),
      logprobs: true,
      top_logprobs: 2,
      max_completion_tokens: 100,
    });
    expect(status).toBe(200);
    expect(json.object).toBe('chat.completion');
    const choice = json.choices[0];
    expect(choice.message).toMatchObject({ role: 'assistant', content: '<start>\n the\t0\n cat\t10\n<end>' });
    expect(choice.finish_reason).toBe('stop');
    const content = choice.logprobs.content as Array<{
      token: string;
      logprob: number;
      bytes: number[];
      top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
    }>;
    expect(content.map((entry) => entry.token).join('')).toBe(choice.message.content);
    for (const entry of content) {
      expect(Buffer.from(entry.bytes).toString('utf8')).toBe(entry.token);
      expect(entry.top_logprobs.length).toBeLessThanOrEqual(2);
      const logprobs = entry.top_logprobs.map((alternative) => alternative.logprob);
      expect([...logprobs].sort((a, b) => b - a)).toEqual(logprobs);
    }
    const ten = content.find((entry) => entry.token === '10');
    expect(ten?.top_logprobs[0]?.token).toBe('10');
  });

  it('chat content given as text parts is accepted', async () => {
    const { status } = await post(`${server.url}/chat/completions`, {
      model: 'x',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
    });
    expect(status).toBe(200);
  });

  it('answers bad JSON and missing fields with an OpenAI-style 400', async () => {
    const badJson = await post(`${server.url}/chat/completions`, '{"model": "x", "messages": [');
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(typeof badJson.json.error.message).toBe('string');
    const missing = await post(`${server.url}/chat/completions`, { model: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/messages/);
    const noPrompt = await post(`${server.url}/completions`, { model: 'x', echo: true });
    expect(noPrompt.status).toBe(400);
    expect(noPrompt.json.error.param).toBe('prompt');
    const topWithoutLogprobs = await post(`${server.url}/chat/completions`, {
      model: 'x',
      messages: [{ role: 'user', content: 'hi' }],
      top_logprobs: 3,
    });
    expect(topWithoutLogprobs.status).toBe(400);
  });

  it('answers unknown paths with 404', async () => {
    const response = await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_url');
  });

  it('records every request: method, path, headers, body', async () => {
    const before = server.requests.length;
    await fetch(`${server.url}/completions?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-recorded' },
      body: JSON.stringify({ model: 'x', prompt: 'hi', max_tokens: 1 }),
    });
    expect(server.requests[before]).toMatchObject({
      method: 'POST',
      path: '/v1/completions',
      body: { model: 'x', prompt: 'hi', max_tokens: 1 },
    });
    expect(server.requests[before]?.headers.authorization).toBe('Bearer sk-recorded');
  });
});

describe('fake LLM server: latency and the intercept hook', () => {
  it('delays answers by latencyMs', async () => {
    const server = await startFakeLlmServer({ lexiconPath, latencyMs: 150 });
    try {
      const started = performance.now();
      await post(`${server.url}/completions`, { model: 'x', prompt: 'hi', max_tokens: 1 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await server.close();
    }
  });

  it('lets a hook answer, or change the normal answer', async () => {
    const server = await startFakeLlmServer({
      lexiconPath,
      intercept: async (context, next) => {
        if (context.index === 0) {
          return {
            status: 429,
            headers: { 'retry-after': '1', 'content-type': 'application/json' },
            body: '{"error":{"message":"slow down","type":"rate_limit","param":null,"code":null}}',
          };
        }
        const normal = await next();
        return { ...normal, body: normal.body.slice(0, 10) };
      },
    });
    try {
      const first = await fetch(`${server.url}/completions`, { method: 'POST', body: '{"model":"x","prompt":"hi"}' });
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('1');
      const second = await fetch(`${server.url}/completions`, { method: 'POST', body: '{"model":"x","prompt":"hi"}' });
      expect(second.status).toBe(200);
      expect((await second.text()).length).toBe(10);
    } finally {
      await server.close();
    }
  });

  it('closes while a hook hangs', async () => {
    let entered!: () => void;
    const hanging = new Promise<void>((resolve) => (entered = resolve));
    const server = await startFakeLlmServer({
      lexiconPath,
      intercept: (context) =>
        new Promise((resolve) => {
          context.signal.addEventListener('abort', () => resolve({ status: 500, headers: {}, body: '' }));
          entered();
        }),
    });
    const pending = fetch(`${server.url}/models`).then(
      () => 'answered',
      () => 'failed',
    );
    await hanging; // the request is inside the hook (not a fixed sleep: on a loaded machine it may not have arrived yet)
    await server.close();
    expect(await pending).toBe('failed');
  });
});
