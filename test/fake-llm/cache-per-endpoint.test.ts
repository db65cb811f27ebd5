/**
 * The response cache keyed by endpoint, end to end: two fake servers serving the same model name are two models (a run
 * against the second asks it), while a rerun against the first server is answered from the cache.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-cache-endpoint-'));
const modelRoutes = new Set(['/v1/chat/completions', '/v1/completions']);
const modelCalls = (server: FakeLlmServer) =>
  server.requests.filter((request) => request.method === 'POST' && modelRoutes.has(request.path)).length;

describe('the response cache and --base-url', () => {
  let first: FakeLlmServer;
  let second: FakeLlmServer;
  beforeAll(async () => {
    first = await startFakeLlmServer({ lexiconPath });
    second = await startFakeLlmServer({ lexiconPath });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('asks a server with the same model name again, and answers a rerun against the first server from the cache', async () => {
    const source = writeFeaturesJsonl(join(directory, 'two.jsonl'), syntheticFeatures(2));
    const store = new ResultStore(openDatabase(join(directory, 'runs.db')));
    const config = {
      source,
      // the simulation's scorer only: every model call goes through the one cache, the judged scorers' would add more
      scorers: ['correlation'],
      explainer: 'openai-compatible:same-name',
      simulator: 'openai-compatible:same-name',
    };

    const onFirst = await runPipeline({ ...config, baseUrl: first.url }, { store });
    expect(onFirst).toMatchObject({ status: 'finished', scored: 2 });
    const firstCalls = modelCalls(first);
    expect(firstCalls).toBeGreaterThan(0);

    const onSecond = await runPipeline({ ...config, baseUrl: second.url }, { store });
    expect(onSecond).toMatchObject({ status: 'finished', scored: 2 });
    expect(modelCalls(second)).toBe(firstCalls);

    // the first server again, its base URL written with a trailing slash: every answer from the cache
    const again = await runPipeline({ ...config, baseUrl: `${first.url}/` }, { store });
    expect(again).toMatchObject({ status: 'finished', scored: 2 });
    expect(modelCalls(first)).toBe(firstCalls);
    store.db.close();
  });
});
