/**
 * Issue 19: a mean's CI is the seeded percentile bootstrap below `normalApproximationMinimum` values and the normal
 * approximation mean ± z·s/√n from there on. The two agree on large skewed and bimodal synthetic scores within the
 * stated tolerance (10 % of the half-width, the bootstrap's own resampling noise at 2000 resamples); the switch point
 * is respected for single means and paired differences; and each interval says which method made it.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import {
  bootstrapMeanInterval,
  intervalMethodNote,
  meanInterval,
  normalApproximationMinimum,
  normalMeanInterval,
  pairedBootstrapDifference,
} from '../../src/report/bootstrap.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { normalQuantile } from '../../src/report/normal-quantile.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const random = mulberry32(2024);
const distributions: Record<string, () => number> = {
  skewed: () => Math.min(1, -Math.log(1 - random()) * 0.1),
  heavyTail: () => (random() < 0.05 ? 1 : random() * 0.1),
  bimodal: () => (random() < 0.3 ? 0.8 + random() * 0.2 : random() * 0.1 - 0.05),
};

describe('normal approximation vs bootstrap', () => {
  it.each(Object.keys(distributions))(
    '%s scores at the switch point: the ends agree within a tenth of the half-width',
    (name) => {
      const values = Array.from({ length: normalApproximationMinimum }, distributions[name]!);
      const bootstrap = bootstrapMeanInterval(values)!;
      const normal = normalMeanInterval(values)!;
      const halfWidth = (normal.high - normal.low) / 2;
      expect(Math.abs(bootstrap.low - normal.low)).toBeLessThan(0.1 * halfWidth);
      expect(Math.abs(bootstrap.high - normal.high)).toBeLessThan(0.1 * halfWidth);
      expect([bootstrap.method, normal.method]).toEqual(['bootstrap', 'normal']);
    },
  );

  it('is mean ± 1.96·s/√n at 95 %, s with n − 1, whatever the order of the values', () => {
    const ci = normalMeanInterval([1, 2, 3, 4])!;
    const halfWidth = 1.959963984540054 * Math.sqrt(5 / 3 / 4);
    expect(ci.low).toBeCloseTo(2.5 - halfWidth, 8);
    expect(ci.high).toBeCloseTo(2.5 + halfWidth, 8);
    expect(normalMeanInterval([4, 2, 3, 1])).toEqual(ci);
    expect(normalMeanInterval([1])).toBeNull();
  });

  it('switches at normalApproximationMinimum values, for a mean and for paired differences', () => {
    const values = (n: number) => Array.from({ length: n }, distributions.skewed!);
    expect(meanInterval(values(normalApproximationMinimum - 1))!.method).toBe('bootstrap');
    expect(meanInterval(values(normalApproximationMinimum))!.method).toBe('normal');
    expect(meanInterval(values(10), { normalFrom: 10 })!.method).toBe('normal');
    const baseline = values(normalApproximationMinimum);
    const candidate = baseline.map((value) => value + 0.01);
    expect(pairedBootstrapDifference(baseline, candidate).ci!.method).toBe('normal');
    expect(pairedBootstrapDifference(baseline.slice(1), candidate.slice(1)).ci!.method).toBe('bootstrap');
  });

  it('the leaderboard says which method each row used; the terminal note appears only when one is normal', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    // layer 0 above the switch point, layers 1 and 2 below it
    const features = featuresWith(normalApproximationMinimum + 10, (i) => (i % 7) / 7, 1).concat(
      featuresWith(20, (i) => i / 20, 3).filter((feature) => feature.layer !== 0),
    );
    const run = store.getRun(syntheticRun(store, { name: 'methods', features }))!;
    const board = buildLeaderboard(store.db, run);
    expect(board.rows.map((row) => [row.layer, row.ci?.method])).toEqual([
      ['0', 'normal'],
      ['1', 'bootstrap'],
      ['2', 'bootstrap'],
    ]);
    expect(intervalMethodNote(board.rows.map((row) => row.ci))).toMatch(/^CI: 1 of 3 by normal approximation/);
    expect(intervalMethodNote(board.rows.slice(1).map((row) => row.ci))).toBeNull();
  });
});

describe('normalQuantile', () => {
  it('matches the standard normal quantiles to 1e-8 in the body and both tails', () => {
    const known: [number, number][] = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.995, 2.5758293035489004],
      [0.9, 1.2815515655446004],
      [0.01, -2.3263478740408408],
      [0.001, -3.090232306167813],
    ];
    for (const [p, z] of known) expect(normalQuantile(p)).toBeCloseTo(z, 8);
    expect(() => normalQuantile(1)).toThrow(/probability 1/);
  });
});
