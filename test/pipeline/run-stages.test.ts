import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { createPriceTable } from '../../src/llm/price-table.ts';
import { loadFeatureRecords } from '../../src/records/load.ts';
import { shardOfFeature } from '../../src/records/shards.ts';
import { featureKey } from '../../src/records/feature-key.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { buildBatchClients, buildProviders, requireBudgetPrices } from '../../src/pipeline/build-providers.ts';
import { demoPlantedPath, parsePipelineConfig } from '../../src/pipeline/config.ts';
import { pipelineConfigDefaults } from '../../src/pipeline/config-defaults.ts';
import { loadRunFeatures } from '../../src/pipeline/load-run-features.ts';
import { resolveRunConfig, runName } from '../../src/pipeline/resolve-run-config.ts';
import { finishRun } from '../../src/pipeline/run-summary.ts';
import { createBaselineRun } from '../helpers/baseline-run.ts';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function storeWithRun(config: object = { source: 'demo', concurrency: 2, batchMaxWaitMs: 5 }, sourceDigest?: string) {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = createBaselineRun(store, { config, sourceDigest });
  return { store, runId };
}

describe('runPipeline stages: config resolution', () => {
  it('a new run: its input validated, with the documented defaults', () => {
    const { resumed, config } = resolveRunConfig(undefined, {}, { concurrency: 3 });
    expect(resumed).toBeUndefined();
    expect(config).toEqual({ ...pipelineConfigDefaults, concurrency: 3 });
    expect(() => resolveRunConfig(undefined, {}, { concurrency: 0 })).toThrow(/invalid option concurrency/);
  });

  it('a resume: the stored config with the overrides, without the per-invocation batch wait; refused when unknown or done', () => {
    const { store, runId } = storeWithRun();
    const { resumed, config } = resolveRunConfig(
      store,
      { resumeRunId: runId, overrides: { concurrency: 8 } },
      { concurrency: 1 },
    );
    expect(resumed?.id).toBe(runId);
    expect(config.concurrency).toBe(8);
    expect(config.batchMaxWaitMs).toBeUndefined();
    expect(() => resolveRunConfig(store, { resumeRunId: 42 }, undefined)).toThrow('no run 42 in this database');
    store.setRunStatus(runId, 'finished');
    expect(() => resolveRunConfig(store, { resumeRunId: runId }, undefined)).toThrow(
      `run ${runId} is already finished with no failed feature; nothing to resume`,
    );
  });

  it('names a run from its source and models, or --name, with the shard suffix', () => {
    expect(runName(parsePipelineConfig({ source: '/data/records/my.jsonl', explainer: 'openai:gpt-4o-mini' }))).toBe(
      'my.jsonl · openai:gpt-4o-mini → baseline',
    );
    expect(runName(parsePipelineConfig({ name: 'trial', shard: { index: 1, count: 3 } }))).toBe('trial [shard 1/3]');
  });
});

describe('runPipeline stages: loading and sharding', () => {
  it('keeps the first `limit` features, then those of the shard; the digest is of the whole source', async () => {
    const all = await loadFeatureRecords(demoPlantedPath);
    const whole = await loadRunFeatures(parsePipelineConfig({ source: demoPlantedPath }), undefined);
    expect(whole.features.length).toBe(all.length);
    const limit = Math.min(all.length, 12);
    const shards = await Promise.all(
      [0, 1, 2].map((index) =>
        loadRunFeatures(parsePipelineConfig({ source: demoPlantedPath, limit, shard: { index, count: 3 } }), undefined),
      ),
    );
    expect(shards.flatMap((shard) => shard.features.map((feature) => featureKey(feature.id))).sort()).toEqual(
      all
        .slice(0, limit)
        .map((f) => featureKey(f.id))
        .sort(),
    );
    shards.forEach((shard, index) => {
      for (const feature of shard.features) expect(shardOfFeature(featureKey(feature.id), 3)).toBe(index);
      expect(shard.sourceDigest).toBe(whole.sourceDigest);
    });
  });

  it('refuses to resume a run whose records changed', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'run-stages-'));
    folders.push(folder);
    const source = join(folder, 'records.jsonl');
    copyFileSync(demoPlantedPath, source);
    const { sourceDigest } = await loadRunFeatures(parsePipelineConfig({ source }), undefined);
    const { store, runId } = storeWithRun({ source }, sourceDigest);
    const resumed = store.getRun(runId)!;
    await expect(loadRunFeatures(parsePipelineConfig({ source }), resumed)).resolves.toMatchObject({ sourceDigest });
    writeFileSync(source, '\n', { flag: 'a' });
    await expect(loadRunFeatures(parsePipelineConfig({ source }), resumed)).rejects.toThrow(
      `the feature records of ${source} changed since run ${runId} started; resuming would mix two datasets — start a new run`,
    );
  });
});

describe('runPipeline stages: providers', () => {
  const mock = (model: string) => createMockProvider({ model, respond: () => textResult('x') });

  it('uses injected providers as given, creates one provider for one spec, and never wraps the baseline', () => {
    const config = parsePipelineConfig({});
    const built = buildProviders(config, {}, undefined);
    expect(built.explainer).toBe(built.simulator);
    expect(built.explainer.isBaseline).toBe(true);
    const simulator = mock('s');
    expect(buildProviders(config, { simulator }, undefined).simulator).toBe(simulator);
  });

  it('a budget needs a price for each provider; batch mode needs providers with a Batch API', () => {
    const priced = mock('priced');
    const providers = { explainer: priced, simulator: mock('unpriced'), judge: priced };
    const prices = createPriceTable({ 'mock:priced': { inputPerMillion: 1, outputPerMillion: 2 } });
    expect(() => requireBudgetPrices(parsePipelineConfig({}), prices, providers)).not.toThrow();
    expect(() => requireBudgetPrices(parsePipelineConfig({ maxCostUsd: 1 }), prices, providers)).toThrow(
      '--max-cost needs a price for mock:unpriced: add it to a price table given with --prices FILE',
    );
    const baseline = buildProviders(parsePipelineConfig({}), {}, undefined);
    expect(() => buildBatchClients(parsePipelineConfig({ batch: true }), undefined, baseline)).toThrow(
      /--batch: baseline.* has no Batch API/,
    );
  });
});

describe('runPipeline stages: the summary', () => {
  it('finished only when every feature is done and nothing stopped the run; the status is written back', () => {
    const { store, runId } = storeWithRun();
    const config = parsePipelineConfig({ maxCostUsd: 2 });
    const tally = {
      processedNow: 0,
      consecutiveFailures: 0,
      lastFailure: undefined,
      spent: { costUsd: 0.5, unpricedCalls: 1 },
    };
    const summary = finishRun({
      store,
      runId,
      config,
      total: 0,
      tally,
      stoppedBy: undefined,
      notes: new Set(),
      startedAt: performance.now(),
    });
    expect(summary).toMatchObject({
      runId,
      status: 'finished',
      total: 0,
      remaining: 0,
      costUsd: 0.5,
      unpricedCalls: 1,
      maxCostUsd: 2,
    });
    expect(store.getRun(runId)?.status).toBe('finished');
    const stopped = finishRun({
      store,
      runId,
      config,
      total: 3,
      tally: { ...tally, lastFailure: 'boom' },
      stoppedBy: 'budget',
      notes: new Set(),
      startedAt: 0,
    });
    expect(stopped).toMatchObject({ status: 'interrupted', remaining: 3, stoppedBy: 'budget', lastFailure: 'boom' });
    expect(store.getRun(runId)?.status).toBe('interrupted');
  });
});
