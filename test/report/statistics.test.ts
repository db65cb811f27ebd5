import { describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian, type RandomSource } from '../../src/common/random.ts';
import { bootstrapMeanInterval, pairedBootstrapDifference, type PairedDifference } from '../../src/report/bootstrap.ts';
import { decideRegression, UndecidableError } from '../../src/report/regress.ts';

/** Coverage of the true mean over `datasets` seeded synthetic datasets. */
function coverage(datasets: number, draw: (random: RandomSource) => { values: number[]; truth: number }): number {
  let covered = 0;
  for (let seed = 1; seed <= datasets; seed++) {
    const { values, truth } = draw(mulberry32(seed * 7919));
    const ci = bootstrapMeanInterval(values, { resamples: 500, seed })!;
    if (ci.low <= truth && truth <= ci.high) covered++;
  }
  return covered / datasets;
}

/** Paired scores as a researcher sees them: per-feature difficulty shared by both runs, plus run-specific noise. */
function pairedScores(random: RandomSource, n: number, shift: number, noise = 0.05) {
  const baseline: number[] = [];
  const candidate: number[] = [];
  for (let i = 0; i < n; i++) {
    const difficulty = 0.6 + 0.2 * randomGaussian(random);
    baseline.push(difficulty + noise * randomGaussian(random));
    candidate.push(difficulty + shift + noise * randomGaussian(random));
  }
  return { baseline, candidate };
}

describe('bootstrap confidence intervals', () => {
  it('depends only on the scores, not on the order a query returned them in', () => {
    const random = mulberry32(99);
    const values = Array.from({ length: 40 }, () => random());
    const shuffled = [...values].reverse();
    shuffled.push(shuffled.shift()!);
    expect(bootstrapMeanInterval(shuffled, { seed: 5 })).toEqual(bootstrapMeanInterval(values, { seed: 5 }));
  });

  // The percentile bootstrap is known to under-cover slightly at small n (≈ 94 % for n = 50); 1000 datasets give a
  // binomial standard error of ≈ 0.7 points, so the bounds below are ≈ 3 standard errors from the expected rate.
  it('cover the true mean at about the nominal 95 % (1000 seeded datasets each)', () => {
    // Gaussian scores, n = 50, mean 0.6.
    const gaussian = coverage(1000, (random) => ({
      values: Array.from({ length: 50 }, () => 0.6 + 0.2 * randomGaussian(random)),
      truth: 0.6,
    }));
    // Skewed scores (u², mean 1/3), n = 60: the percentile method is slightly liberal for skewed small samples.
    const skewed = coverage(1000, (random) => ({
      values: Array.from({ length: 60 }, () => random() ** 2),
      truth: 1 / 3,
    }));
    expect(gaussian).toBeGreaterThanOrEqual(0.92);
    expect(gaussian).toBeLessThanOrEqual(0.97);
    expect(skewed).toBeGreaterThanOrEqual(0.92);
    expect(skewed).toBeLessThanOrEqual(0.97);
  });

  it('at the 80 % level cover about 80 % (the level is honoured, not just "wide")', () => {
    let covered = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const random = mulberry32(seed);
      const values = Array.from({ length: 50 }, () => randomGaussian(random));
      const ci = bootstrapMeanInterval(values, { resamples: 1000, level: 0.8, seed })!;
      if (ci.low <= 0 && 0 <= ci.high) covered++;
    }
    expect(covered / 400).toBeGreaterThanOrEqual(0.75);
    expect(covered / 400).toBeLessThanOrEqual(0.85);
  });

  it('paired: the CI of the mean difference covers the planted shift at about 95 %', () => {
    let covered = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { baseline, candidate } = pairedScores(mulberry32(seed), 60, -0.03);
      const { ci } = pairedBootstrapDifference(baseline, candidate, { resamples: 1000, seed });
      if (ci!.low <= -0.03 && -0.03 <= ci!.high) covered++;
    }
    expect(covered / 300).toBeGreaterThanOrEqual(0.92);
    expect(covered / 300).toBeLessThanOrEqual(0.98);
  });

  it('paired resampling removes the shared per-feature variance (much narrower than an unpaired interval)', () => {
    const { baseline, candidate } = pairedScores(mulberry32(3), 100, -0.02);
    const paired = pairedBootstrapDifference(baseline, candidate).ci!;
    const a = bootstrapMeanInterval(baseline)!;
    const b = bootstrapMeanInterval(candidate)!;
    expect(paired.high - paired.low).toBeLessThan((a.high - a.low + (b.high - b.low)) / 3);
  });

  it('is deterministic for a seed and null below 2 values', () => {
    const values = [0.1, 0.5, 0.9, 0.3];
    expect(bootstrapMeanInterval(values, { seed: 5 })).toEqual(bootstrapMeanInterval(values, { seed: 5 }));
    expect(bootstrapMeanInterval([0.4])).toBeNull();
    expect(pairedBootstrapDifference([0.4], [0.3]).ci).toBeNull();
    expect(() => pairedBootstrapDifference([0.4, 0.1], [0.3])).toThrow(/2 baseline values vs 1/);
  });
});

describe('regression rule', () => {
  const decide = (shift: number, seed: number, maxDrop = 0.02, rule: 'significant' | 'confident' = 'significant') => {
    const { baseline, candidate } = pairedScores(mulberry32(seed), 200, shift);
    return decideRegression(pairedBootstrapDifference(baseline, candidate, { resamples: 1000, seed }), maxDrop, rule);
  };

  it('flags a planted drop of 0.05 with --max-drop 0.02 (every one of 60 seeded datasets, both rules)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      expect(decide(-0.05, seed).regression, `seed ${seed}`).toBe(true);
      expect(decide(-0.05, seed, 0.02, 'confident').regression, `seed ${seed}`).toBe(true);
    }
  });

  it('does not flag noise-only differences (none of 200 seeded datasets)', () => {
    for (let seed = 1; seed <= 200; seed++) expect(decide(0, seed).regression, `seed ${seed}`).toBe(false);
  });

  it('with --max-drop 0 fires on noise at most about the one-sided 2.5 % of a 95 % CI', () => {
    let fired = 0;
    for (let seed = 1; seed <= 300; seed++) if (decide(0, seed, 0).regression) fired++;
    expect(fired / 300).toBeLessThanOrEqual(0.05);
  });

  const difference = (meanDifference: number, low: number, high: number, n = 100): PairedDifference => ({
    n,
    baselineMean: 0.7,
    candidateMean: 0.7 + meanDifference,
    meanDifference,
    ci: { low, high, level: 0.95, method: 'bootstrap' },
  });

  it('significant: drop beyond the threshold and a CI below 0; confident: the whole CI below −max-drop', () => {
    expect(decideRegression(difference(-0.03, -0.04, -0.02), 0.02)).toMatchObject({
      regression: true,
      reason: expect.stringMatching(/exceeds max-drop 0.02 and the CI is below 0/),
    });
    expect(decideRegression(difference(-0.03, -0.07, 0.01), 0.02)).toMatchObject({
      regression: false,
      reason: expect.stringMatching(/includes 0 \(not significant\)/),
    });
    expect(decideRegression(difference(-0.01, -0.012, -0.008), 0.02)).toMatchObject({
      regression: false,
      reason: expect.stringMatching(/within max-drop/),
    });
    expect(decideRegression(difference(0.02, 0.01, 0.03), 0.02).regression).toBe(false);
    // the same drop of 0.03 with CI [−0.04, −0.02]: significant flags it, confident does not (CI reaches −0.02)
    expect(decideRegression(difference(-0.03, -0.04, -0.02), 0.02, 'confident').regression).toBe(false);
    expect(decideRegression(difference(-0.05, -0.06, -0.03), 0.02, 'confident').regression).toBe(true);
  });

  it('refuses to decide on fewer than 2 pairs, and rejects a negative threshold', () => {
    expect(() =>
      decideRegression({ n: 1, baselineMean: 1, candidateMean: 0, meanDifference: -1, ci: null }, 0.02),
    ).toThrow(UndecidableError);
    expect(() => decideRegression(difference(-0.03, -0.04, -0.02), -0.1)).toThrow(RangeError);
  });
});
