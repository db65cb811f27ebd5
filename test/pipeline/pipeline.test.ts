import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_CONSECUTIVE_FAILURES, runPipeline } from '../../src/pipeline/run-pipeline.ts';
import type { FeatureRecord } from '../../src/records/types.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { mockProviders } from '../helpers/echo-mock.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { perfectProviders, testPrompts } from '../helpers/pipeline-mocks.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-pipeline-'));
/** The test prompts, and the scorers these tests are about (simulation; the judged scorers would add calls). */
const settings = { ...testPrompts, scorers: ['correlation', 'ablation'] };

const writeJsonl = (name: string, features: FeatureRecord[]): string =>
  writeFeaturesJsonl(join(directory, name), features);

const openStore = (name: string) => new ResultStore(openDatabase(join(directory, name)));

function scoresOf(store: ResultStore, runId: number) {
  return store.db
    .prepare(
      `SELECT f.layer, f.idx, s.kind, s.value, s.reason FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? ORDER BY f.idx, s.kind`,
    )
    .all(runId) as { layer: string; idx: number; kind: string; value: number | null; reason: string | null }[];
}

describe('runPipeline', () => {
  it('explains, simulates in one call per feature, scores and stores every feature', async () => {
    const source = writeJsonl('six.jsonl', syntheticFeatures(6));
    const store = openStore('six.db');
    const { explainer, simulator } = perfectProviders();
    const summary = await runPipeline({ source, concurrency: 3, ...settings }, { store, explainer, simulator });
    expect(summary).toMatchObject({ status: 'finished', total: 7, scored: 6, skipped: 1, failed: 0 });
    expect(explainer.requests).toHaveLength(6);
    expect(simulator.requests).toHaveLength(6); // one simulation call per feature, all held-out records in it
    const scores = scoresOf(store, summary.runId);
    const correlations = scores.filter((s) => s.kind === 'correlation.all');
    expect(correlations).toHaveLength(7);
    for (const s of correlations.filter((s) => s.idx < 6)) expect(s.value).toBeGreaterThan(0.9);
    // the dead feature: a null score with its reason, not NaN, not absent
    expect(correlations.find((s) => s.idx === 6)).toMatchObject({
      value: null,
      reason: expect.stringMatching(/never activates/),
    });
    const run = store.getRun(summary.runId)!;
    expect(run.status).toBe('finished');
    expect(run.explainer).toBe('mock:explainer');
    // explain and score records never overlap, and the explanation rows carry the prompt version
    const explanation = store.db.prepare('SELECT prompt_version FROM explanations LIMIT 1').get() as {
      prompt_version: string;
    };
    expect(explanation.prompt_version).toBe('explain.test');
    const calls = store.db
      .prepare('SELECT purpose, COUNT(*) AS n FROM llm_calls WHERE run_id = ? GROUP BY purpose')
      .all(summary.runId);
    expect(calls).toEqual([
      { purpose: 'explain', n: 6 },
      { purpose: 'simulate', n: 6 },
    ]);
  });

  it('a wrong explanation scores low', async () => {
    const source = writeJsonl('wrong.jsonl', syntheticFeatures(3));
    const store = openStore('wrong.db');
    const { explainer, simulator } = mockProviders(
      () => 'words w1',
      (token) => (token === 'w1' ? 10 : 0),
    );
    const summary = await runPipeline({ source, ...settings }, { store, explainer, simulator });
    for (const s of scoresOf(store, summary.runId).filter((s) => s.kind === 'correlation.all' && s.value !== null)) {
      expect(s.value!).toBeLessThan(0.2);
    }
  });

  it('resumes an interrupted run with no feature lost or done twice, equal to an uninterrupted run', async () => {
    const features = syntheticFeatures(12);
    const source = writeJsonl('twelve.jsonl', features);
    const reference = openStore('reference.db');
    const full = await runPipeline(
      { source, concurrency: 2, ...settings },
      { store: reference, ...perfectProviders() },
    );

    const store = openStore('resumed.db');
    const controller = new AbortController();
    let done = 0;
    const firstProviders = perfectProviders();
    const first = await runPipeline(
      { source, concurrency: 2, ...settings },
      {
        store,
        ...firstProviders,
        signal: controller.signal,
        events: { onFeatureDone: () => (++done === 5 ? controller.abort() : undefined) },
      },
    );
    expect(first.status).toBe('interrupted');
    expect(first.processedNow).toBeLessThan(13);
    expect(store.getRun(first.runId)!.status).toBe('interrupted');

    const providers = perfectProviders();
    const second = await runPipeline(undefined, { store, resumeRunId: first.runId, ...providers });
    expect(second).toMatchObject({ runId: first.runId, status: 'finished', total: 13 });
    expect(first.processedNow + second.processedNow).toBe(13);
    // every live feature was explained exactly once over both invocations (the dead one needs no call)
    expect(firstProviders.explainer.requests.length + providers.explainer.requests.length).toBe(12);
    const counts = store.db
      .prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT feature_id) AS d FROM run_features WHERE run_id = ?')
      .get(first.runId);
    expect(counts).toEqual({ n: 13, d: 13 });
    expect(scoresOf(store, first.runId)).toEqual(scoresOf(reference, full.runId));
    await expect(runPipeline(undefined, { store, resumeRunId: first.runId, ...perfectProviders() })).rejects.toThrow(
      /already finished/,
    );
  });

  it('validates the whole input before writing anything', async () => {
    const good = syntheticFeatures(2).map((f) => JSON.stringify(f));
    const path = join(directory, 'bad.jsonl');
    writeFileSync(path, `${good[0]}\n${good[1]!.replace('"activations":[1,0', '"activations":[1e999,0')}\n`);
    const store = openStore('bad.db');
    await expect(runPipeline({ source: path, ...settings }, { store, ...perfectProviders() })).rejects.toThrow(
      /bad\.jsonl \(line 2, top\[0\]\.activations\[0\]\): must be a finite number/,
    );
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 0 });
  });

  it('records a failed explanation with its reason and goes on', async () => {
    const source = writeJsonl('fail.jsonl', syntheticFeatures(3));
    const store = openStore('fail.db');
    const { simulator } = perfectProviders();
    const { explainer } = mockProviders(
      (i) => (i === 1 ? '' : 'tokens like t'),
      () => 0,
    );
    const summary = await runPipeline({ source, concurrency: 1, ...settings }, { store, explainer, simulator });
    expect(summary).toMatchObject({ scored: 2, failed: 1, status: 'finished' });
    const failure = store.db.prepare("SELECT stage, reason FROM run_features WHERE status = 'failed'").get();
    expect(failure).toEqual({ stage: 'explain', reason: expect.stringMatching(/no explanation/) });
  });
});

describe('resume keys', () => {
  it('matches features whose layer is a string that looks like a number ("007")', async () => {
    const features = syntheticFeatures(3).map((f) => ({ ...f, id: { ...f.id, layer: '007' } }));
    const source = writeJsonl('layer-007.jsonl', features);
    const store = openStore('layer-007.db');
    const controller = new AbortController();
    const first = await runPipeline(
      { source, concurrency: 1, ...settings },
      { store, ...perfectProviders(), signal: controller.signal, events: { onFeatureDone: () => controller.abort() } },
    );
    expect(first.status).toBe('interrupted');
    const second = await runPipeline(undefined, { store, resumeRunId: first.runId, ...perfectProviders() });
    expect(second).toMatchObject({ status: 'finished', total: 4 });
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM run_features WHERE run_id = ?').get(first.runId)).toEqual({
      n: 4,
    });
  });

  it('keeps explained and scored records apart in the database, by content', async () => {
    const source = writeJsonl('apart.jsonl', syntheticFeatures(4));
    const store = openStore('apart.db');
    const { runId } = await runPipeline({ source, ...settings }, { store, ...perfectProviders() });
    const overlap = store.db
      .prepare(
        `SELECT COUNT(*) AS n FROM records e JOIN records s ON s.feature_id = e.feature_id AND s.run_id = e.run_id
         WHERE e.run_id = ? AND e.split = 'explain' AND s.split != 'explain' AND e.window_id = s.window_id`,
      )
      .get(runId);
    expect(overlap).toEqual({ n: 0 });
    const splits = store.db
      .prepare('SELECT split, COUNT(*) AS n FROM records WHERE run_id = ? GROUP BY split ORDER BY split')
      .all(runId);
    // 4 live features × (10 explain, 2 + 2 calibration, 5 + 5 score); the dead feature's one top record is dealt to
    // explain and its one random record to calibration.
    expect(splits).toEqual([
      { split: 'calibration', n: 4 * 4 + 1 },
      { split: 'explain', n: 4 * 10 + 1 },
      { split: 'score', n: 4 * 10 },
    ]);
  });
});

describe('failures, stops and resume', () => {
  it('retries failed features on resume and replaces their failure rows', async () => {
    const source = writeJsonl('retry-failed.jsonl', syntheticFeatures(5));
    const store = openStore('retry-failed.db');
    const { simulator } = perfectProviders();
    // Feature 2's explanation is empty (a failure) on the first invocation only.
    const flaky = mockProviders(
      (i) => (i === 2 ? '' : 'tokens like t'),
      () => 0,
    ).explainer;
    const first = await runPipeline({ source, concurrency: 1, ...settings }, { store, explainer: flaky, simulator });
    expect(first).toMatchObject({
      status: 'finished',
      scored: 4,
      failed: 1,
      lastFailure: expect.stringMatching(/no explanation/),
    });
    const second = await runPipeline(undefined, { store, resumeRunId: first.runId, ...perfectProviders() });
    expect(second).toMatchObject({ status: 'finished', scored: 5, failed: 0, processedNow: 1 });
    const rows = store.db
      .prepare('SELECT status, COUNT(*) AS n FROM run_features WHERE run_id = ? GROUP BY status ORDER BY status')
      .all(first.runId);
    expect(rows).toEqual([
      { status: 'scored', n: 5 },
      { status: 'skipped', n: 1 },
    ]);
    await expect(runPipeline(undefined, { store, resumeRunId: first.runId, ...perfectProviders() })).rejects.toThrow(
      /no failed feature/,
    );
  });

  it('stops scheduling after a run of consecutive failures instead of failing every feature', async () => {
    const source = writeJsonl('all-fail.jsonl', syntheticFeatures(30));
    const store = openStore('all-fail.db');
    const { simulator } = perfectProviders();
    const broken = mockProviders(
      () => '',
      () => 0,
    ).explainer;
    const summary = await runPipeline({ source, concurrency: 1, ...settings }, { store, explainer: broken, simulator });
    expect(summary).toMatchObject({
      status: 'interrupted',
      stoppedBy: 'failures',
      failed: MAX_CONSECUTIVE_FAILURES,
      scored: 0,
    });
    expect(broken.requests).toHaveLength(MAX_CONSECUTIVE_FAILURES);
  });

  it('refuses to resume when the feature records changed since the run started', async () => {
    const features = syntheticFeatures(4);
    const source = writeJsonl('changing.jsonl', features);
    const store = openStore('changing.db');
    const controller = new AbortController();
    const first = await runPipeline(
      { source, concurrency: 1, ...settings },
      {
        store,
        ...perfectProviders(),
        stopSignal: controller.signal,
        events: { onFeatureDone: () => controller.abort() },
      },
    );
    expect(first).toMatchObject({ status: 'interrupted', stoppedBy: 'signal', processedNow: 1 });
    features[3]!.top[0]!.activations[0] = 1.5;
    writeJsonl('changing.jsonl', features);
    await expect(runPipeline(undefined, { store, resumeRunId: first.runId, ...perfectProviders() })).rejects.toThrow(
      /changed since run 1 started/,
    );
  });
});
