import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider, toAnthropicMessages } from '../../src/llm/anthropic-provider.ts';
import { startFakeLlmServer, type FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { LlmCallError } from '../../src/llm/types.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { expectNotInDatabaseFiles } from '../helpers/secret-scan.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { explainPrompt } from './prompt-fixtures.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const sentinel = 'sk-ant-SENTINEL-4f1c9e-do-not-leak';
const directory = mkdtempSync(join(tmpdir(), 'autointerp-anthropic-'));

describe('Anthropic provider against the fake Messages endpoint', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
  });
  afterAll(async () => {
    await server.close();
  });

  it('sends the Messages wire format: x-api-key, anthropic-version, system apart, max_tokens, stop_sequences', async () => {
    const provider = createAnthropicProvider({ model: 'claude-test', baseURL: server.url, apiKey: sentinel });
    const content = explainPrompt([{ tokens: [' of', ' the', ' cat'], values: [10, 4, 0] }]);
    const result = await provider.complete({
      messages: [
        { role: 'system', content: 'You explain neurons.' },
        { role: 'user', content },
        { role: 'assistant', content: 'the main thing this neuron does is find ' },
      ],
      maxTokens: 60,
      temperature: 0,
      stop: ['\n\n'],
    });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    expect(result).toMatchObject({ model: 'rule-based-v1', cached: false, finishReason: 'stop' });
    const received = server.requests.at(-1)!;
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/v1/messages');
    expect(received.headers['x-api-key']).toBe(sentinel);
    expect(received.headers.authorization).toBeUndefined();
    expect(received.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(received.headers['content-type']).toMatch(/application\/json/);
    expect(received.body).toEqual({
      model: 'claude-test',
      max_tokens: 60,
      system: 'You explain neurons.',
      messages: [
        { role: 'user', content },
        { role: 'assistant', content: 'the main thing this neuron does is find' },
      ],
      temperature: 0,
      stop_sequences: ['\n\n'],
    });
  });

  it('reads the key at request time from ANTHROPIC_API_KEY and keeps it out of error messages', async () => {
    const provider = createAnthropicProvider({ model: 'claude-test', baseURL: `${server.url}/nowhere` });
    const saved = process.env.ANTHROPIC_API_KEY;
    try {
      delete process.env.ANTHROPIC_API_KEY;
      await expect(provider.complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 })).rejects.toThrow(
        /set ANTHROPIC_API_KEY/,
      );
      process.env.ANTHROPIC_API_KEY = sentinel;
      const error = (await provider
        .complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 })
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/HTTP 404/);
      expect(error.message).not.toContain(sentinel);
      expect(server.requests.at(-1)!.headers['x-api-key']).toBe(sentinel);
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('the fake server refuses a request without the version header or the key, as the API does', async () => {
    const body = JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const noVersion = await fetch(`${server.url}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
      body,
    });
    expect(noVersion.status).toBe(400);
    const noKey = await fetch(`${server.url}/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body,
    });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('a server that refuses the connection: "connection … failed", retryable', async () => {
    const provider = createAnthropicProvider({ model: 'claude-test', baseURL: 'http://127.0.0.1:1', apiKey: sentinel });
    const error = await provider.complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(LlmCallError);
    expect((error as LlmCallError).message).toBe(
      'anthropic:claude-test: connection to http://127.0.0.1:1/v1/messages failed',
    );
    expect((error as LlmCallError).details).toMatchObject({ retryable: true, url: 'http://127.0.0.1:1/v1/messages' });
  });

  it('an already-aborted signal: "aborted", not retryable, nothing sent', async () => {
    const provider = createAnthropicProvider({ model: 'claude-test', baseURL: server.url, apiKey: sentinel });
    const requestsBefore = server.requests.length;
    const controller = new AbortController();
    controller.abort();
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const error = await provider.complete({ messages, maxTokens: 5, signal: controller.signal }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(LlmCallError);
    expect((error as LlmCallError).message).toMatch(/aborted/);
    expect((error as LlmCallError).details.retryable).toBe(false);
    expect(server.requests.length).toBe(requestsBefore);
  });

  it('merges same-role neighbours and puts system text apart', () => {
    expect(
      toAnthropicMessages([
        { role: 'system', content: 's' },
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: 'c ' },
      ]),
    ).toEqual({
      system: 's',
      messages: [
        { role: 'user', content: 'ab' },
        { role: 'assistant', content: 'c' },
      ],
    });
  });

  it('a pipeline run with an Anthropic simulator uses sampled mode (n samples), stores the mode, and no key byte reaches the database', async () => {
    const source = writeFeaturesJsonl(join(directory, 'three.jsonl'), syntheticFeatures(3, { dead: false }));
    const dbPath = join(directory, 'anthropic.db');
    const store = new ResultStore(openDatabase(dbPath));
    const saved = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = sentinel;
    const before = server.requests.length;
    try {
      const summary = await runPipeline(
        {
          source,
          explainer: 'anthropic:claude-test',
          simulator: 'anthropic:claude-test',
          baseUrl: server.url,
          simulationSamples: 3,
          concurrency: 3,
          scorers: ['correlation'], // the simulation's requests are counted below
        },
        { store },
      );
      expect(summary).toMatchObject({ status: 'finished', scored: 3, failed: 0 });
      const modes = store.db.prepare('SELECT DISTINCT simulation_mode AS mode FROM scores').all();
      expect(modes).toEqual([{ mode: 'sampled' }]);
      const simulations = store.db.prepare('SELECT DISTINCT mode, prompt_version FROM simulations').all();
      expect(simulations).toEqual([{ mode: 'sampled', prompt_version: 'simulate.v1+chat+sampled' }]);
      const received = server.requests.slice(before).filter((r) => r.path === '/v1/messages');
      expect(received).toHaveLength(3 + 3 * 3); // one explain + three samples per feature
      const samples = received.filter((r) => (r.body as { temperature?: number }).temperature === 1);
      expect(samples).toHaveLength(9);
      const correlations = store.db.prepare(`SELECT value FROM scores WHERE kind = 'correlation.all'`).all() as {
        value: number | null;
      }[];
      for (const row of correlations) expect(row.value).not.toBeNull();
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
      store.db.close();
    }
    expectNotInDatabaseFiles(dbPath, sentinel, 'SENTINEL');
  });
});
