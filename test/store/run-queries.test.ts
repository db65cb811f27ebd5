import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { failedFeatureCountsOfRun, storedFeature } from '../../src/store/queries.ts';
import { ResultStore, type LlmCallRow } from '../../src/store/result-store.ts';
import { syntheticRun } from '../report/synthetic-store.ts';

const call = (costUsd: number | null, status = 'ok'): LlmCallRow => ({
  runId: null,
  featureId: null,
  provider: 'mock:m',
  purpose: 'explain',
  promptTokens: 10,
  completionTokens: 2,
  costUsd,
  latencyMs: 1,
  cached: false,
  status,
});

describe('typed run queries (the SQL that pipeline and report used to write themselves)', () => {
  it('storedFeature: a feature by id with its identity, undefined for an unknown id', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    syntheticRun(store, { name: 'a', features: [{ layer: 2, index: 7, sae: 'sae-x', kind: 'sae', value: 0.5 }] });
    expect(storedFeature(store.db, 1)).toEqual({
      featureId: 1,
      model: 'synthetic',
      layer: '2',
      kind: 'sae',
      index: 7,
      sae: 'sae-x',
    });
    expect(storedFeature(store.db, 99)).toBeUndefined();
  });

  it('failedFeatureCountsOfRun: failed features per (model, layer, kind, SAE) of that run only', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const runId = syntheticRun(store, {
      name: 'a',
      features: [
        { layer: 0, index: 1, value: null, status: 'failed' },
        { layer: 0, index: 2, value: null, status: 'failed' },
        { layer: 1, index: 3, value: null, status: 'failed' },
        { layer: 1, index: 4, value: 0.4 },
      ],
    });
    syntheticRun(store, { name: 'b', features: [{ layer: 0, index: 9, value: null, status: 'failed' }] });
    const counts = failedFeatureCountsOfRun(store.db, runId).sort((x, y) => x.layer.localeCompare(y.layer));
    expect(counts).toEqual([
      { model: 'synthetic', layer: '0', kind: 'neuron', sae: '', n: 2 },
      { model: 'synthetic', layer: '1', kind: 'neuron', sae: '', n: 1 },
    ]);
  });

  it('runSpending: priced calls summed, answered calls without a price counted, unanswered ones not', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const runId = syntheticRun(store, { name: 'a', features: [] });
    expect(store.runSpending(runId)).toEqual({ costUsd: 0, unpricedCalls: 0 });
    const feature = {
      id: { model: 'm', layer: 0, kind: 'neuron' as const, index: 1 },
      top: [],
      random: [],
      stats: { mean: 0, variance: 0, skewness: null, kurtosis: null, maxActivation: 1, density: 0.1 },
    };
    store.saveFeatureResult(runId, { status: 'failed', feature, stage: 'explain', reason: 'x' }, [
      call(0.25),
      call(0.5),
      call(null),
      call(null, 'error'),
    ]);
    expect(store.runSpending(runId)).toEqual({ costUsd: 0.75, unpricedCalls: 1 });
  });
});
