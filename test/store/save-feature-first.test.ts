import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore, type StoredRecord } from '../../src/store/result-store.ts';
import { syntheticRun } from '../report/synthetic-store.ts';

const featureOf = (index: number) => ({
  id: { model: 'm', layer: 0, kind: 'neuron' as const, index },
  top: [],
  random: [],
  stats: { mean: 0, variance: 0, skewness: null, kurtosis: null, maxActivation: 1, density: 0.1 },
});
const records: StoredRecord[] = [
  { split: 'explain', source: 'top', tokens: [' a', ' b'], activations: [0, 1] },
  { split: 'score', source: 'random', tokens: [' c'], activations: [0.5] },
];
const count = (store: ResultStore, table: string) =>
  (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('saveFeatureResult: `first` runs inside the feature’s own transaction (a run’s lease renewal)', () => {
  it('runs first, in the same savepoint: what it writes is kept with the feature', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const runId = syntheticRun(store, { name: 'a', features: [] });
    store.db.exec('CREATE TABLE marks (n INTEGER)');
    const order: string[] = [];
    store.db.transaction(() => {
      store.saveFeatureResult(
        runId,
        { status: 'skipped', feature: featureOf(1), stage: null, reason: 'x', records },
        [],
        () => {
          order.push(`first: ${count(store, 'run_features')} features saved`);
          store.db.prepare('INSERT INTO marks VALUES (1)').run();
        },
      );
    })();
    expect(order).toEqual(['first: 0 features saved']);
    expect([count(store, 'marks'), count(store, 'run_features'), count(store, 'records')]).toEqual([1, 1, 2]);
  });

  it('what it throws rolls the feature back and nothing else: an earlier feature of the same transaction stays', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const runId = syntheticRun(store, { name: 'a', features: [] });
    store.db.exec('CREATE TABLE marks (n INTEGER)');
    const lost = new Error('lease lost');
    store.db.exec('BEGIN IMMEDIATE'); // a commit group's transaction
    store.saveFeatureResult(runId, { status: 'skipped', feature: featureOf(1), stage: null, reason: 'x', records });
    expect(() =>
      store.saveFeatureResult(
        runId,
        { status: 'skipped', feature: featureOf(2), stage: null, reason: 'x', records },
        [],
        () => {
          store.db.prepare('INSERT INTO marks VALUES (1)').run();
          throw lost;
        },
      ),
    ).toThrow(lost);
    // A write that fails after `first` rolls `first`'s write back with it (a second save of a settled feature).
    expect(() =>
      store.saveFeatureResult(
        runId,
        { status: 'skipped', feature: featureOf(1), stage: null, reason: 'x', records },
        [],
        () => {
          store.db.prepare('INSERT INTO marks VALUES (2)').run();
        },
      ),
    ).toThrow(/UNIQUE/);
    expect(store.db.inTransaction).toBe(true);
    store.db.exec('COMMIT');
    expect([count(store, 'marks'), count(store, 'run_features'), count(store, 'records')]).toEqual([0, 1, 2]);
  });
});
