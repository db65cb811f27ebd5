/**
 * Streaming runs save features in the order they complete, which differs from run to run (and features get their
 * database ids in first-save order): no number a user reads may depend on that order.
 */
import { describe, expect, it } from 'vitest';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { stableMean } from '../../src/report/stable-mean.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticRun, type SyntheticFeature } from '../report/synthetic-store.ts';

// Floating-point sums of these depend on their order: summed forward 1.8999999999999997, backward 1.9.
const values = [0.3, 0.6, 0.1, 0.7, 0.2];
const features: SyntheticFeature[] = values.map((value, index) => ({
  layer: 0,
  index,
  value,
  scores: { 'correlation.all': value, 'detection.balanced_accuracy': value },
}));

function boardOf(order: readonly SyntheticFeature[]) {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = syntheticRun(store, { name: 'order', features: order });
  return buildLeaderboard(store.db, store.getRun(runId)!);
}

describe('results do not depend on the order features were saved in', () => {
  it('the leaderboard mean and the other scorers’ means are the same whatever order the features completed in', () => {
    const forward = boardOf(features);
    const backward = boardOf([...features].reverse());
    expect(forward.rows).toHaveLength(1);
    expect(backward.rows[0]!.mean).toBe(forward.rows[0]!.mean);
    expect(backward.rows[0]!.scorerMeans).toEqual(forward.rows[0]!.scorerMeans);
    expect(backward.rows[0]!.ci).toEqual(forward.rows[0]!.ci);
  });

  it('stableMean is the same for every order of the same values', () => {
    const orders = [values, [...values].reverse(), [0.1, 0.2, 0.3, 0.6, 0.7]];
    expect(new Set(orders.map(stableMean)).size).toBe(1);
    expect(stableMean([])).toBeNull();
    expect(stableMean([2, 4])).toBe(3);
  });
});
