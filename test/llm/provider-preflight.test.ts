import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { preflightProvider, preflightProviders, ProviderPreflightError } from '../../src/llm/provider-preflight.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const sentinel = 'sk-PREFLIGHTSENTINEL0123456789';

/** A fetch that answers every request with `status` and records what was asked (no network). */
function stubFetch(status: number) {
  const seen: { url: string; headers: Record<string, string> }[] = [];
  const fetchStub = (async (url: string, init?: RequestInit) => {
    seen.push({ url, headers: (init?.headers ?? {}) as Record<string, string> });
    return new Response('{}', { status });
  }) as unknown as typeof fetch;
  return { fetchStub, seen };
}

describe('provider pre-flight: key present, server answers', () => {
  let server: FakeLlmServer;
  let refuseKeys = false;
  beforeAll(async () => {
    server = await startFakeLlmServer({
      lexiconPath,
      intercept: async (_context, next) =>
        refuseKeys
          ? {
              status: 401,
              headers: { 'content-type': 'application/json' },
              body: '{"error":{"message":"Incorrect API key"}}',
            }
          : next(),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('the baseline needs nothing; a keyless OpenAI-compatible server is asked GET /models without a key', async () => {
    await preflightProvider('baseline', { environment: {} });
    const before = server.requests.length;
    await preflightProvider('openai-compatible:rule-based-v1', { baseURL: server.url, environment: {} });
    expect(server.requests.slice(before).map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', '/v1/models', undefined],
    ]);
  });

  it('a key the server refuses (401) names the provider and the variable, never the key', async () => {
    refuseKeys = true;
    try {
      const error = await preflightProvider('openai-compatible:m', {
        baseURL: server.url,
        environment: { OPENAI_API_KEY: sentinel },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderPreflightError);
      expect((error as Error).message).toBe(
        `openai-compatible:m: ${server.url.replace(/\/v1$/, '')} refused the API key in OPENAI_API_KEY (HTTP 401)`,
      );
      expect((error as Error).message).not.toContain('SENTINEL');
      await expect(
        preflightProvider('anthropic:claude-x', { baseURL: server.url, environment: { ANTHROPIC_API_KEY: sentinel } }),
      ).rejects.toThrow(/anthropic:claude-x: .* refused the API key in ANTHROPIC_API_KEY \(HTTP 401\)/);
      await expect(preflightProvider('openai-compatible:m', { baseURL: server.url, environment: {} })).rejects.toThrow(
        /needs an API key \(HTTP 401\): set OPENAI_API_KEY/,
      );
    } finally {
      refuseKeys = false;
    }
  });

  it('missing keys for the hosted APIs are found before any request', async () => {
    const { fetchStub, seen } = stubFetch(200);
    await expect(preflightProvider('openai:gpt-4o-mini', { fetch: fetchStub, environment: {} })).rejects.toThrow(
      'openai:gpt-4o-mini: no API key: set OPENAI_API_KEY in the environment',
    );
    await expect(
      preflightProvider('anthropic:claude-x', { fetch: fetchStub, environment: { ANTHROPIC_API_KEY: '' } }),
    ).rejects.toThrow('anthropic:claude-x: no API key: set ANTHROPIC_API_KEY in the environment');
    await expect(preflightProvider('openai-compatible:m', { fetch: fetchStub, environment: {} })).rejects.toThrow(
      /needs a base URL/,
    );
    expect(seen).toEqual([]);
  });

  it("with keys: one GET of the models list per distinct provider, with the API's own auth header; a 404 still counts as reachable", async () => {
    const { fetchStub, seen } = stubFetch(404);
    await preflightProviders(['openai:gpt-4o-mini', 'openai:gpt-4o-mini', 'anthropic:claude-x', 'baseline'], {
      fetch: fetchStub,
      environment: { OPENAI_API_KEY: sentinel, ANTHROPIC_API_KEY: sentinel },
    });
    expect(seen.map((request) => request.url)).toEqual([
      'https://api.openai.com/v1/models',
      'https://api.anthropic.com/v1/models',
    ]);
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${sentinel}`);
    expect(seen[1]!.headers['x-api-key']).toBe(sentinel);
  });

  it('never sends a key in clear text to a host off this machine', async () => {
    const { fetchStub, seen } = stubFetch(200);
    for (const spec of ['openai-compatible:m', 'anthropic:claude-x']) {
      await expect(
        preflightProvider(spec, {
          baseURL: 'http://10.0.0.1/v1',
          fetch: fetchStub,
          environment: { OPENAI_API_KEY: sentinel, ANTHROPIC_API_KEY: sentinel },
        }),
      ).rejects.toThrow(/refusing to send (OPENAI|ANTHROPIC)_API_KEY in clear text to http:\/\/10\.0\.0\.1/);
    }
    expect(seen).toEqual([]);
  });
});
