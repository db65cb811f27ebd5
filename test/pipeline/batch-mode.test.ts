/**
 * `runPipeline` with `batch: true` against the fake server: for each provider the same explanations and scores as
 * a live run, with zero live model calls, two batches (explain, simulate) and half the cost; per-request errors
 * fail only their features (with the reason) and a resume resubmits only those; a budget is never exceeded; answers
 * already in the response cache are never batched again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeBatchItem, FakeBatchItemOutcome, FakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import type { BatchEvent } from '../../src/pipeline/batch-mode.ts';
import type { PipelineConfigInput } from '../../src/pipeline/config.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-batch-mode-'));
const pricesPath = join(directory, 'prices.json');
writeFileSync(
  pricesPath,
  JSON.stringify({
    prices: {
      'openai-compatible:*': { inputPerMillion: 100, outputPerMillion: 400 },
      'anthropic:*': { inputPerMillion: 300, outputPerMillion: 1500 },
    },
  }),
);

/** Outcome hook of the fake server, set per test. */
let itemOutcome: (item: FakeBatchItem) => FakeBatchItemOutcome = () => undefined;
/** Batch ids the fake server answers 404 for (a batch the provider no longer knows). */
const gone = new Set<string>();
/** The scorers these tests count requests and batches of (the judged ones are tested in scorers-in-batch.test.ts). */
const scorers = ['correlation', 'ablation'];
let databases = 0;
const openStore = () => new ResultStore(openDatabase(join(directory, `run-${++databases}.db`)));

/** Scores and explanations by feature index (feature ids depend on the order features were saved). */
function resultsOf(store: ResultStore, runId: number) {
  return {
    scores: store.db
      .prepare(
        'SELECT f.idx, s.kind, s.value, s.reason, s.n_tokens, s.simulation_mode FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? ORDER BY f.idx, s.kind',
      )
      .all(runId),
    explanations: store.db
      .prepare(
        'SELECT f.idx, e.text, e.explainer FROM explanations e JOIN features f ON f.id = e.feature_id WHERE e.run_id = ? ORDER BY f.idx',
      )
      .all(runId),
    simulations: store.db
      .prepare(
        'SELECT f.idx, r.position, s.mode, s.expected FROM simulations s JOIN records r ON r.id = s.record_id JOIN features f ON f.id = r.feature_id WHERE r.run_id = ? ORDER BY f.idx, r.position',
      )
      .all(runId),
  };
}

function failuresOf(store: ResultStore, runId: number) {
  return store.db
    .prepare(
      `SELECT f.idx, r.stage, r.reason FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ? AND r.status = 'failed' ORDER BY f.idx`,
    )
    .all(runId) as { idx: number; stage: string; reason: string }[];
}

const costOf = (store: ResultStore, runId: number) =>
  (store.db.prepare('SELECT SUM(cost_usd) AS cost FROM llm_calls WHERE run_id = ?').get(runId) as { cost: number })
    .cost;

const routes = (server: FakeLlmServer, from: number) =>
  server.requests
    .slice(from)
    .map((r) => `${r.method} ${r.path.replace(/_fake\d+/, '_N').replace(/file-fake\d+/, 'file-N')}`);
const count = (list: string[], route: string) => list.filter((r) => r === route).length;
const modelRoutes = ['POST /v1/chat/completions', 'POST /v1/completions', 'POST /v1/messages'];

describe('runPipeline --batch against the fake server', () => {
  let server: FakeLlmServer;
  let source: string;
  const savedKey = process.env.ANTHROPIC_API_KEY;
  beforeAll(async () => {
    process.env.ANTHROPIC_API_KEY = 'sk-ant-batch-mode-test';
    server = await startFakeLlmServer({
      lexiconPath,
      batch: { pollsUntilDone: 2, itemOutcome: (item) => itemOutcome(item) },
      intercept: async (context, next) => {
        const id = context.request.path.split('/').at(-1)!;
        if (context.request.method === 'GET' && gone.has(id)) {
          return {
            status: 404,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              error: {
                message: `No batch found with id '${id}'.`,
                type: 'invalid_request_error',
                param: null,
                code: null,
              },
            }),
          };
        }
        return next();
      },
    });
    source = writeFeaturesJsonl(join(directory, 'five.jsonl'), syntheticFeatures(5));
  });
  afterAll(async () => {
    await server.close();
    if (savedKey === undefined) delete process.env.ANTHROPIC_API_KEY;
    else process.env.ANTHROPIC_API_KEY = savedKey;
  });

  const cases: Array<{
    name: string;
    config: () => PipelineConfigInput;
    createRoute: string;
    mode: string;
    simulateRequests: number;
  }> = [
    {
      name: 'OpenAI Batch, prompt-logprobs simulation (/v1/completions)',
      config: () => ({
        explainer: 'openai-compatible:rule-based-v1',
        simulator: 'openai-compatible:rule-based-v1',
        baseUrl: server.url,
      }),
      createRoute: 'POST /v1/batches',
      mode: 'prompt-logprobs',
      simulateRequests: 5,
    },
    {
      name: 'OpenAI Batch, chat-logprobs simulation (/v1/chat/completions)',
      config: () => ({
        explainer: 'openai-compatible:rule-based-v1',
        simulator: 'openai-compatible:rule-based-v1',
        baseUrl: server.url,
        simulationMode: 'chat-logprobs',
      }),
      createRoute: 'POST /v1/batches',
      mode: 'chat-logprobs',
      simulateRequests: 5,
    },
    {
      name: 'Anthropic Message Batches, sampled simulation',
      config: () => ({
        explainer: 'anthropic:claude-test',
        simulator: 'anthropic:claude-test',
        baseUrl: server.url,
        simulationSamples: 2,
      }),
      createRoute: 'POST /v1/messages/batches',
      mode: 'sampled',
      simulateRequests: 10,
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.name}: same results as a live run, zero live calls, two batches, half the cost`, async () => {
      const common = { source, scorers, prices: pricesPath, ...testCase.config() };
      const liveStore = openStore();
      const live = await runPipeline(common, { store: liveStore });
      expect(live).toMatchObject({ status: 'finished', scored: 5, skipped: 1, failed: 0 });

      const batchStore = openStore();
      const events: BatchEvent[] = [];
      const from = server.requests.length;
      const batched = await runPipeline(
        { ...common, batch: true, batchPollMs: 5 },
        { store: batchStore, events: { onBatch: (event) => events.push(event) } },
      );
      expect(batched).toMatchObject({ status: 'finished', scored: 5, skipped: 1, failed: 0 });
      const seen = routes(server, from);
      for (const route of modelRoutes) expect(count(seen, route), route).toBe(0);
      expect(count(seen, testCase.createRoute)).toBe(2);
      expect(
        events.filter((e) => e.kind === 'submitted').map((e) => e.kind === 'submitted' && [e.phase, e.requests]),
      ).toEqual([
        ['explain', 5],
        ['simulate', testCase.simulateRequests],
      ]);

      const liveResults = resultsOf(liveStore, live.runId);
      const batchResults = resultsOf(batchStore, batched.runId);
      expect(batchResults.scores.length).toBe(6 * 5);
      expect(batchResults).toEqual(liveResults);
      expect(new Set(batchResults.simulations.map((s) => (s as { mode: string }).mode))).toEqual(
        new Set([testCase.mode]),
      );

      // Every call of the batch run was answered by a recorded batch, at half the live price.
      const calls = batchStore.db
        .prepare('SELECT purpose, batch_id, cached FROM llm_calls WHERE run_id = ?')
        .all(batched.runId) as { batch_id: string | null; cached: number }[];
      expect(calls).toHaveLength(5 + testCase.simulateRequests);
      const batchIds = batchStore.db
        .prepare('SELECT phase, batch_id, ingested, request_count FROM llm_batches ORDER BY id')
        .all() as { phase: string; batch_id: string }[];
      expect(batchIds.map((b) => b.phase)).toEqual(['explain', 'simulate']);
      for (const call of calls) expect(batchIds.map((b) => b.batch_id)).toContain(call.batch_id);
      expect(costOf(batchStore, batched.runId)).toBeCloseTo(costOf(liveStore, live.runId) / 2, 10);
      expect(batched.costUsd).toBeCloseTo(live.costUsd / 2, 10);
      liveStore.db.close();
      batchStore.db.close();
    });
  }

  it('records per call: every call of a split simulation goes into the simulate batch; same results as a live run', async () => {
    const common = {
      source,
      scorers,
      prices: pricesPath,
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      simulationMode: 'chat-logprobs' as const,
      recordsPerCall: 3,
    };
    const liveStore = openStore();
    const live = await runPipeline(common, { store: liveStore });
    expect(live).toMatchObject({ status: 'finished', scored: 5, skipped: 1, failed: 0 });
    const batchStore = openStore();
    const events: BatchEvent[] = [];
    const batched = await runPipeline(
      { ...common, batch: true, batchPollMs: 5 },
      { store: batchStore, events: { onBatch: (event) => events.push(event) } },
    );
    expect(batched).toMatchObject({ status: 'finished', scored: 5, skipped: 1, failed: 0 });
    // 14 held-out records a feature (5 + 5 scored, 2 + 2 calibration), 3 a call: 5 calls a feature, all in one batch.
    expect(
      events.filter((e) => e.kind === 'submitted').map((e) => e.kind === 'submitted' && [e.phase, e.requests]),
    ).toEqual([
      ['explain', 5],
      ['simulate', 5 * 5],
    ]);
    expect(resultsOf(batchStore, batched.runId)).toEqual(resultsOf(liveStore, live.runId));
    liveStore.db.close();
    batchStore.db.close();
  });

  it('per-request errors fail only their features with the reason; a resume resubmits only those requests and completes', async () => {
    let failing = true;
    const explainOf = (item: FakeBatchItem) => !JSON.stringify(item.body).includes('\\tunknown');
    itemOutcome = (item) => {
      if (!failing) return undefined;
      const body = JSON.stringify(item.body);
      // feature 1's explain request errors; feature 3's simulation expires
      if (explainOf(item) && body.includes('\\nt1\\t')) return 'errored';
      if (!explainOf(item) && body.includes('\\nt3\\tunknown')) return 'expired';
      return undefined;
    };
    const config = {
      source,
      scorers,
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      batch: true,
      batchPollMs: 5,
    };
    const store = openStore();
    const events: BatchEvent[] = [];
    const first = await runPipeline(config, { store, events: { onBatch: (event) => events.push(event) } });
    expect(first).toMatchObject({ status: 'finished', scored: 3, skipped: 1, failed: 2 });
    const failures = failuresOf(store, first.runId);
    expect(failures).toEqual([
      {
        idx: 1,
        stage: 'explain',
        reason: expect.stringMatching(/batch batch_fake\d+: request errored: HTTP 500: server_error: .*injected/),
      },
      {
        idx: 3,
        stage: 'simulate',
        reason: expect.stringMatching(/batch batch_fake\d+: request expired: batch_expired: /),
      },
    ]);
    expect(events.filter((e) => e.kind === 'submitted').map((e) => e.kind === 'submitted' && e.requests)).toEqual([
      5, 4,
    ]);

    failing = false;
    events.length = 0;
    const from = server.requests.length;
    const resumed = await runPipeline(undefined, {
      store,
      resumeRunId: first.runId,
      events: { onBatch: (event) => events.push(event) },
    });
    expect(resumed).toMatchObject({ status: 'finished', scored: 5, skipped: 1, failed: 0, processedNow: 2 });
    // feature 1: its explain request again, then its simulation; feature 3: only its simulation (its explanation was answered)
    expect(
      events.filter((e) => e.kind === 'submitted').map((e) => e.kind === 'submitted' && [e.phase, e.requests]),
    ).toEqual([
      ['explain', 1],
      ['simulate', 2],
    ]);
    for (const route of modelRoutes) expect(count(routes(server, from), route)).toBe(0);
    const liveStore = openStore();
    const live = await runPipeline({ ...config, batch: false }, { store: liveStore });
    expect(resultsOf(store, resumed.runId)).toEqual(resultsOf(liveStore, live.runId));
    itemOutcome = () => undefined;
    store.db.close();
    liveStore.db.close();
  });

  it('--max-cost: submits only the features whose upper-bound estimate fits, never spends past the cap, resumes with more', async () => {
    const config = {
      source,
      scorers,
      explainer: 'anthropic:claude-test',
      simulator: 'anthropic:claude-test',
      baseUrl: server.url,
      simulationSamples: 1,
      prices: pricesPath,
      batch: true,
      batchPollMs: 5,
      cache: false,
    };
    const probe = openStore();
    const full = await runPipeline(config, { store: probe });
    const perFeature = full.costUsd / 5;
    probe.db.close();

    const store = openStore();
    const events: BatchEvent[] = [];
    const cap = perFeature * 4; // the upper-bound estimate (whole completion budget) admits fewer than four
    const capped = await runPipeline(
      { ...config, maxCostUsd: cap },
      { store, events: { onBatch: (event) => events.push(event) } },
    );
    expect(capped).toMatchObject({ status: 'interrupted', stoppedBy: 'budget' });
    expect(capped.scored).toBeGreaterThan(0);
    expect(capped.scored).toBeLessThan(5);
    expect(capped.costUsd).toBeLessThanOrEqual(cap);
    const submitted = events.filter((e) => e.kind === 'submitted').map((e) => e.kind === 'submitted' && e.requests);
    expect(submitted).toEqual([capped.scored, capped.scored]);

    const resumed = await runPipeline(undefined, {
      store,
      resumeRunId: capped.runId,
      overrides: { maxCostUsd: 1_000_000 },
    });
    expect(resumed).toMatchObject({ status: 'finished', scored: 5, failed: 0 });
    expect(resumed.costUsd).toBeCloseTo(full.costUsd, 10);
    store.db.close();
  });

  it('answers already in the response cache are never batched again: a second batch run, and a live run after it, make no calls', async () => {
    const store = openStore();
    const config = {
      source,
      scorers,
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      batchPollMs: 5,
    };
    const first = await runPipeline({ ...config, batch: true }, { store });
    expect(first.status).toBe('finished');
    const from = server.requests.length;
    const again = await runPipeline({ ...config, batch: true }, { store });
    const live = await runPipeline(config, { store });
    expect(routes(server, from)).toEqual(['GET /v1/models', 'GET /v1/models']); // each run's pre-flight only
    for (const run of [again, live]) {
      expect(run).toMatchObject({ status: 'finished', scored: 5, costUsd: 0 });
      expect(resultsOf(store, run.runId)).toEqual(resultsOf(store, first.runId));
    }
    store.db.close();
  });

  it('left pending (batchMaxWaitMs 0), then the batch is gone at the provider: its features fail with the reason, the next resume resubmits', async () => {
    const config = {
      source,
      scorers,
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      batch: true,
      batchPollMs: 5,
      cache: false,
    };
    const store = openStore();
    const events: BatchEvent[] = [];
    const left = await runPipeline(
      { ...config, batchMaxWaitMs: 0 },
      { store, events: { onBatch: (event) => events.push(event) } },
    );
    expect(left).toMatchObject({ status: 'interrupted', stoppedBy: 'batch-pending', scored: 0, skipped: 1 });
    const submitted = events.find((e) => e.kind === 'submitted');
    expect(events.at(-1)).toEqual({ kind: 'left', batchIds: [submitted?.kind === 'submitted' && submitted.batchId] });

    gone.add(submitted?.kind === 'submitted' ? submitted.batchId : '');
    const lost = await runPipeline(undefined, { store, resumeRunId: left.runId });
    expect(lost).toMatchObject({ status: 'finished', scored: 0, failed: 5 });
    for (const failure of failuresOf(store, left.runId)) {
      expect(failure).toMatchObject({
        stage: 'explain',
        reason: expect.stringMatching(/request errored: batch batch_fake\d+ is gone at the provider: .*HTTP 404/),
      });
    }
    gone.clear();
    const from = server.requests.length;
    const resumed = await runPipeline(undefined, { store, resumeRunId: left.runId });
    expect(resumed).toMatchObject({ status: 'finished', scored: 5, failed: 0 });
    expect(count(routes(server, from), 'POST /v1/batches')).toBe(2);
    expect(store.db.prepare('SELECT status, ingested FROM llm_batches ORDER BY id').all()).toEqual([
      { status: 'not_found', ingested: 1 },
      { status: 'completed', ingested: 1 },
      { status: 'completed', ingested: 1 },
    ]);
    store.db.close();
  });

  it('refuses --batch with the offline baseline, before a run is created', async () => {
    const store = openStore();
    await expect(runPipeline({ source, batch: true }, { store })).rejects.toThrow(
      /baseline:rule-based-v1 has no Batch API/,
    );
    expect(store.latestRun()).toBeUndefined();
    store.db.close();
  });
});
