/**
 * Echo support of OpenAI-compatible servers: detected from the first prompt-logprob answer (no separate probe),
 * remembered for the provider's lifetime; servers that refuse echo (llama.cpp: an error) or ignore it (Ollama) get
 * chat-logprob simulations, stored as such; an explicit prompt-logprobs mode fails with the reason instead.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createEchoSupport, refusesEcho } from '../../src/llm/echo-support.ts';
import {
  startFakeLlmServer,
  type FakeLlmServer,
  type FakeLlmServerOptions,
} from '../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider, withServerMessage } from '../../src/llm/openai-compatible-provider.ts';
import { LlmCallError, type EchoEvidence } from '../../src/llm/types.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { MalformedAnswerError } from '../../src/simulate/malformed-answer-error.ts';
import { simulateRecords, UnsupportedSimulationModeError } from '../../src/simulate/simulate-records.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-echo-'));
const source = writeFeaturesJsonl(join(directory, 'seven.jsonl'), syntheticFeatures(6)); // 6 live features + 1 dead

const servers: FakeLlmServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function server(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const started = await startFakeLlmServer({ lexiconPath, ...options });
  servers.push(started);
  return started;
}

const countPosts = (fake: FakeLlmServer, path: string) =>
  fake.requests.filter((r) => r.method === 'POST' && r.path === path).length;

const records = [
  [' the', ' cat', ' sat'],
  [' a', ' dog', ' ran'],
];

describe('createEchoSupport', () => {
  const supported = (value: number) => async (): Promise<EchoEvidence<number>> => ({ kind: 'supported', value });

  it('runs one attempt at a time while unknown; once known, answers without attempting', async () => {
    const echo = createEchoSupport();
    let attempts = 0;
    let inFlight = 0;
    let peak = 0;
    const attempt = (value: number) => async (): Promise<EchoEvidence<number>> => {
      attempts += 1;
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight -= 1;
      return { kind: 'supported', value };
    };
    const outcomes = await Promise.all([1, 2, 3, 4].map((value) => echo.settle(attempt(value))));
    expect(attempts).toBe(1);
    expect(peak).toBe(1);
    expect(outcomes[0]).toEqual({ verdict: { supported: true }, value: 1 });
    for (const outcome of outcomes.slice(1)) expect(outcome).toEqual({ verdict: { supported: true } });
    expect(echo.known).toEqual({ supported: true });
    expect(await echo.settle(attempt(5))).toEqual({ verdict: { supported: true } });
    expect(attempts).toBe(1);
  });

  it('a thrown attempt settles nothing: its error reaches its caller, the next caller attempts', async () => {
    const echo = createEchoSupport();
    const failing = echo.settle(async () => {
      throw new LlmCallError('HTTP 503', { status: 503, retryable: true });
    });
    const next = echo.settle(supported(7));
    await expect(failing).rejects.toThrow('HTTP 503');
    expect(await next).toEqual({ verdict: { supported: true }, value: 7 });
  });

  it('an unsupported attempt is remembered with its reason; inconclusive ones count as unsupported at the limit', async () => {
    const refused = createEchoSupport();
    expect(await refused.settle(async () => ({ kind: 'unsupported', reason: 'HTTP 400: echo' }))).toEqual({
      verdict: { supported: false, reason: 'HTTP 400: echo' },
    });
    expect(await refused.settle(supported(1))).toEqual({ verdict: { supported: false, reason: 'HTTP 400: echo' } });

    const flaky = createEchoSupport({ inconclusiveLimit: 2 });
    const inconclusive = async (): Promise<EchoEvidence<number>> => ({
      kind: 'inconclusive',
      error: new MalformedAnswerError('no logprobs'),
    });
    await expect(flaky.settle(inconclusive)).rejects.toThrow('no logprobs');
    expect(flaky.known).toBeUndefined();
    expect(await flaky.settle(inconclusive)).toEqual({
      verdict: { supported: false, reason: 'no logprobs (2 answers so, none with logprobs)' },
    });
  });
});

describe('simulateRecords against servers with and without echo', () => {
  it('a server with echo: the first prompt-logprob answer shows support and is used; no extra request, ever', async () => {
    const fake = await server();
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: fake.url });
    const first = await simulateRecords(provider, 'the token "cat"', records);
    const second = await simulateRecords(provider, 'the token "dog"', records);
    expect([first.mode, second.mode]).toEqual(['prompt-logprobs', 'prompt-logprobs']);
    expect([first.calls, second.calls]).toEqual([1, 1]);
    expect(provider.capabilities.echoSupport?.known).toEqual({ supported: true });
    expect(countPosts(fake, '/v1/completions')).toBe(2);
    expect(countPosts(fake, '/v1/chat/completions')).toBe(0);
  });

  const refusals: Array<[string, FakeLlmServerOptions, RegExp]> = [
    ['refuses echo with a 400 (llama.cpp)', { echo: 'refuse' }, /HTTP 400 .*Unsupported param: echo/],
    ['refuses echo with a 422', { echo: 'refuse', echoRefusalStatus: 422 }, /HTTP 422 /],
    ['answers echo with 501 Not Implemented (not retried)', { echo: 'refuse', echoRefusalStatus: 501 }, /HTTP 501 /],
    ['ignores echo (Ollama): the answer does not repeat the prompt', { echo: 'ignore' }, /ignored echo/],
  ];
  for (const [name, options, reason] of refusals) {
    it(`a server that ${name}: one prompt-logprob request, then chat-logprobs, remembered`, async () => {
      const fake = await server(options);
      const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: fake.url });
      const first = await simulateRecords(provider, 'the token "cat"', records);
      expect(first.mode).toBe('chat-logprobs');
      expect(first.calls).toBe(2); // the prompt-logprob request that showed no echo, then the chat one
      expect(first.missing).toBe(0);
      const known = provider.capabilities.echoSupport?.known;
      expect(known?.supported).toBe(false);
      expect(known?.supported === false && known.reason).toMatch(reason);
      const second = await simulateRecords(provider, 'the token "dog"', records);
      expect([second.mode, second.calls]).toEqual(['chat-logprobs', 1]);
      expect(countPosts(fake, '/v1/completions')).toBe(1);
      expect(countPosts(fake, '/v1/chat/completions')).toBe(2);

      // Asked for explicitly, prompt-logprobs does not fall back: it fails with the reason, without a request.
      const forced = simulateRecords(provider, 'the token "cat"', records, { mode: 'prompt-logprobs' });
      await expect(forced).rejects.toThrow(UnsupportedSimulationModeError);
      await expect(forced).rejects.toThrow(
        /simulation mode prompt-logprobs was asked for, but openai-compatible:m does not serve prompt logprobs \(Completions echo\)/,
      );
      expect(countPosts(fake, '/v1/completions')).toBe(1);
    });
  }

  it('a transient failure or a flaky answer without logprobs settles nothing: the next simulation asks again', async () => {
    let completions = 0;
    const fake = await server({
      intercept: async (context, next) => {
        if (context.request.path !== '/v1/completions') return next();
        completions += 1;
        if (completions === 1)
          return { status: 503, headers: { 'content-type': 'application/json' }, body: '{"error":{"message":"busy"}}' };
        const answer = await next();
        if (completions > 2) return answer;
        const json = JSON.parse(answer.body) as { choices: Array<{ logprobs: unknown }> };
        json.choices[0]!.logprobs = null; // the prompt echoed, its logprobs missing
        return { ...answer, body: JSON.stringify(json) };
      },
    });
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: fake.url });
    await expect(simulateRecords(provider, 'the token "cat"', records)).rejects.toThrow(/HTTP 503/);
    expect(provider.capabilities.echoSupport?.known).toBeUndefined();
    await expect(simulateRecords(provider, 'the token "cat"', records)).rejects.toThrow(MalformedAnswerError);
    expect(provider.capabilities.echoSupport?.known).toBeUndefined();
    const third = await simulateRecords(provider, 'the token "cat"', records);
    expect(third.mode).toBe('prompt-logprobs');
    expect(provider.capabilities.echoSupport?.known).toEqual({ supported: true });
  });
});

describe('only an answer that shows echo refused turns echo off (issue 13, item 4)', () => {
  const refusal = (status: number, message: string) =>
    new LlmCallError(
      `openai-compatible:m: HTTP ${status} from http://127.0.0.1:1/v1/completions: ${status} ${message}`,
      {
        status,
        url: 'http://127.0.0.1:1/v1/completions',
        retryable: false,
      },
    );

  it('refusesEcho: an endpoint not served, or a 400/422 naming echo; not a 400 for another reason', () => {
    expect(refusesEcho(refusal(400, 'Unsupported param: echo'))).toBe(true);
    expect(refusesEcho(refusal(400, 'Only no echo is supported'))).toBe(true);
    expect(refusesEcho(refusal(422, 'echo: extra inputs are not permitted'))).toBe(true);
    expect(refusesEcho(refusal(404, 'Not Found'))).toBe(true);
    expect(refusesEcho(refusal(501, 'Not Implemented'))).toBe(true);
    expect(
      refusesEcho(
        refusal(400, "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens"),
      ),
    ).toBe(false);
    expect(refusesEcho(refusal(400, 'status code (no body)'))).toBe(false);
    expect(refusesEcho(refusal(503, 'echo is busy'))).toBe(false);
  });

  it('error bodies in other shapes than OpenAI\'s keep the server\'s message (not "400 status code (no body)")', () => {
    expect(withServerMessage({ object: 'error', message: 'too long', code: 400 })).toEqual({
      error: { object: 'error', message: 'too long', code: 400 },
    });
    expect(withServerMessage({ detail: 'Not Found' })).toEqual({
      error: { detail: 'Not Found', message: 'Not Found' },
    });
    expect(withServerMessage({ error: { message: 'as OpenAI' } })).toEqual({ error: { message: 'as OpenAI' } });
    expect(withServerMessage(undefined)).toBeUndefined();
  });

  it("a context-length 400 on the first prompt-logprob call fails that simulation with the server's message; echo stays on", async () => {
    let completions = 0;
    const fake = await server({
      intercept: async (context, next) => {
        if (context.request.path !== '/v1/completions' || ++completions > 1) return next();
        // vLLM's error shape: no "error" object, the message at the top level.
        const body = {
          object: 'error',
          message:
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens in the messages.",
          type: 'BadRequestError',
          param: null,
          code: 400,
        };
        return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
      },
    });
    const provider = createOpenAiCompatibleProvider({ model: 'm', baseURL: fake.url });
    const first = simulateRecords(provider, 'the token "cat"', records);
    await expect(first).rejects.toThrow(/HTTP 400 .*maximum context length is 8192 tokens/);
    expect(provider.capabilities.echoSupport?.known).toBeUndefined();
    const second = await simulateRecords(provider, 'the token "cat"', records);
    expect(second.mode).toBe('prompt-logprobs');
    expect(provider.capabilities.echoSupport?.known).toEqual({ supported: true });
    expect(countPosts(fake, '/v1/chat/completions')).toBe(0);
  });
});

describe('runs against servers with and without echo', () => {
  const modesOf = (store: ResultStore, runId: number) =>
    store.db
      .prepare(
        'SELECT DISTINCT s.mode FROM simulations s JOIN explanations e ON e.id = s.explanation_id WHERE e.run_id = ?',
      )
      .all(runId);
  const scoreModesOf = (store: ResultStore, runId: number) =>
    store.db
      .prepare('SELECT DISTINCT simulation_mode AS mode FROM scores WHERE run_id = ? AND simulation_mode IS NOT NULL')
      .all(runId);

  it('with echo: every feature simulated in prompt-logprobs mode, one Completions request each, no probe', async () => {
    const fake = await server();
    const store = new ResultStore(openDatabase(join(directory, 'echo.db')));
    const config = {
      source,
      scorers: ['correlation'], // the simulation's requests are counted
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: fake.url,
      concurrency: 4,
    };
    const summary = await runPipeline(config, { store });
    expect(summary).toMatchObject({ status: 'finished', scored: 6, skipped: 1, failed: 0 });
    expect(countPosts(fake, '/v1/completions')).toBe(6);
    expect(countPosts(fake, '/v1/chat/completions')).toBe(6); // the explanations
    expect(modesOf(store, summary.runId)).toEqual([{ mode: 'prompt-logprobs' }]);
    expect(scoreModesOf(store, summary.runId)).toEqual([{ mode: 'prompt-logprobs' }]);
    store.db.close();
  });

  for (const echo of ['refuse', 'ignore'] as const) {
    it(`echo ${echo}d: one prompt-logprob request in the whole run, every feature simulated and stored as chat-logprobs`, async () => {
      const fake = await server({ echo });
      const store = new ResultStore(openDatabase(join(directory, `no-echo-${echo}.db`)));
      const config = {
        source,
        scorers: ['correlation'], // the simulation's requests are counted
        explainer: 'openai-compatible:rule-based-v1',
        simulator: 'openai-compatible:rule-based-v1',
        baseUrl: fake.url,
        concurrency: 4,
      };
      const summary = await runPipeline(config, { store });
      expect(summary).toMatchObject({ status: 'finished', scored: 6, skipped: 1, failed: 0 });
      expect(countPosts(fake, '/v1/completions')).toBe(1);
      expect(countPosts(fake, '/v1/chat/completions')).toBe(6 + 6); // explanations, then simulations
      expect(modesOf(store, summary.runId)).toEqual([{ mode: 'chat-logprobs' }]);
      expect(scoreModesOf(store, summary.runId)).toEqual([{ mode: 'chat-logprobs' }]);
      // the prompt-logprob request is accounted as one of the first simulated feature's calls
      const simulateCalls = store.db
        .prepare(`SELECT COUNT(*) AS n FROM llm_calls WHERE run_id = ? AND purpose = 'simulate'`)
        .get(summary.runId);
      expect(simulateCalls).toEqual({ n: 7 });
      store.db.close();
    });
  }

  it('--simulation-mode prompt-logprobs against a server without echo: every feature fails with the reason, one request', async () => {
    const fake = await server({ echo: 'refuse' });
    const store = new ResultStore(openDatabase(join(directory, 'forced.db')));
    const config = {
      source,
      scorers: ['correlation'], // the simulation's requests are counted
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: fake.url,
      concurrency: 4,
      simulationMode: 'prompt-logprobs' as const,
    };
    const summary = await runPipeline(config, { store });
    expect(summary).toMatchObject({ scored: 0, skipped: 1, failed: 6 });
    expect(countPosts(fake, '/v1/completions')).toBe(1);
    const failures = store.db
      .prepare(`SELECT stage, reason FROM run_features WHERE run_id = ? AND status = 'failed'`)
      .all(summary.runId) as { stage: string; reason: string }[];
    expect(failures).toHaveLength(6);
    for (const failure of failures) {
      expect(failure.stage).toBe('simulate');
      expect(failure.reason).toMatch(
        /^simulation mode prompt-logprobs was asked for, but openai-compatible:rule-based-v1 does not serve prompt logprobs \(Completions echo\): .*HTTP 400 .*echo.*; leave the mode unset to fall back to chat-logprobs$/s,
      );
    }
    expect(modesOf(store, summary.runId)).toEqual([]);
    store.db.close();
  });
});
