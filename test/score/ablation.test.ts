import { describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { jensenShannon, jensenShannonFromLogProbs, logSoftmax } from '../../src/common/log-probabilities.ts';
import { ablationScore, calibratedReplacement } from '../../src/score/ablation.ts';

/** Shannon entropy (nats) of a probability vector. */
function entropy(p: readonly number[]): number {
  return -p.reduce((sum, x) => sum + (x > 0 ? x * Math.log(x) : 0), 0);
}

/** JSD = H(m) − (H(p) + H(q)) / 2, an independent formula. */
function jsdByEntropy(p: readonly number[], q: readonly number[]): number {
  const m = p.map((x, i) => (x + q[i]!) / 2);
  return entropy(m) - (entropy(p) + entropy(q)) / 2;
}

function randomLogits(seed: number, length: number, scale: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length }, () => randomGaussian(random) * scale);
}

describe('jensenShannon', () => {
  it('is exactly 0 for equal distributions, also for shifted logits of the same distribution to rounding', () => {
    const logits = randomLogits(1, 50, 3);
    expect(jensenShannon(logits, logits)).toBe(0);
    expect(
      jensenShannon(
        logits,
        logits.map((x) => x + 7.5),
      ),
    ).toBeLessThan(1e-15);
  });

  it('is symmetric, non-negative and at most ln 2', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = randomLogits(seed, 30, 1 + seed);
      const b = randomLogits(seed + 100, 30, 1 + seed);
      const ab = jensenShannon(a, b);
      expect(ab).toBeCloseTo(jensenShannon(b, a), 14);
      expect(ab).toBeGreaterThan(0);
      expect(ab).toBeLessThanOrEqual(Math.LN2);
    }
  });

  it('matches H(m) − (H(p) + H(q))/2 for two-point and random distributions', () => {
    const cases: [number[], number[]][] = [
      [
        [0.9, 0.1],
        [0.5, 0.5],
      ],
      [
        [0.99, 0.01],
        [0.01, 0.99],
      ],
      [
        [0.3, 0.7],
        [0.31, 0.69],
      ],
    ];
    for (const [p, q] of cases)
      expect(jensenShannon(p.map(Math.log), q.map(Math.log))).toBeCloseTo(jsdByEntropy(p, q), 14);
    // p = (0.9, 0.1), q = (½, ½): m = (0.7, 0.3), by hand.
    const byHand =
      0.5 * (0.9 * Math.log(0.9 / 0.7) + 0.1 * Math.log(0.1 / 0.3)) +
      0.5 * (0.5 * Math.log(0.5 / 0.7) + 0.5 * Math.log(0.5 / 0.3));
    expect(jensenShannon([Math.log(0.9), Math.log(0.1)], [0, 0])).toBeCloseTo(byHand, 15);
    const a = randomLogits(7, 4096, 4);
    const b = randomLogits(8, 4096, 4);
    const softmax = (x: number[]) => Array.from(logSoftmax(x), Math.exp);
    expect(jensenShannon(a, b)).toBeCloseTo(jsdByEntropy(softmax(a), softmax(b)), 12);
  });

  it('is ln 2 for disjoint supports and stays finite for extreme logits', () => {
    expect(jensenShannon([0, -Infinity], [-Infinity, 0])).toBeCloseTo(Math.LN2, 15);
    expect(jensenShannon([1000, 0], [0, 1000])).toBeCloseTo(Math.LN2, 12);
    expect(jensenShannon([1e4, -1e4, 0], [1e4, -1e4, 0])).toBe(0);
    // One zero-probability entry on one side only.
    expect(jensenShannon([0, 0, -Infinity], [0, 0, 0])).toBeCloseTo(
      jsdByEntropy([0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]),
      14,
    );
  });

  it('takes log-probabilities directly and refuses vectors of different lengths', () => {
    const p = [0.2, 0.8].map(Math.log);
    const q = [0.6, 0.4].map(Math.log);
    expect(jensenShannonFromLogProbs(p, q)).toBeCloseTo(jsdByEntropy([0.2, 0.8], [0.6, 0.4]), 15);
    expect(() => jensenShannonFromLogProbs([0], [0, 0])).toThrow(RangeError);
  });

  it('logSoftmax is shift-invariant and normalized', () => {
    const out = logSoftmax([1000, 1001, 999]);
    expect(out.reduce((sum, x) => sum + Math.exp(x), 0)).toBeCloseTo(1, 12);
    expect(Array.from(out)).toEqual(Array.from(logSoftmax([0, 1, -1])).map((x) => expect.closeTo(x, 12)));
  });
});

describe('ablationScore', () => {
  it('is 1 for a perfect simulation, 0 when the simulation changes as much as the mean, negative when worse', () => {
    expect(ablationScore([0, 0, 0], [0.1, 0.2, 0.3]).score).toBe(1);
    expect(ablationScore([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]).score).toBe(0);
    expect(ablationScore([0.4, 0.4], [0.1, 0.3]).score).toBeCloseTo(-1, 15);
  });

  it('pools positions: 1 − mean(sim)/mean(mean), not a mean of per-position ratios', () => {
    const result = ablationScore([0.1, 0], [0.2, 0.2]);
    expect(result).toEqual({ score: expect.closeTo(0.75, 15), meanJsdSimulated: 0.05, meanJsdMean: 0.2, positions: 2 });
  });

  it('is null with a reason when mean ablation has no effect', () => {
    const result = ablationScore([0, 0], [0, 0]);
    expect(result.score).toBeNull();
    expect(result.reason).toMatch(/mean does not change the predictions/);
    expect(ablationScore([0], [1e-12]).score).toBeNull();
    expect(ablationScore([0], [1e-12], { minMeanJsd: 1e-13 }).score).toBe(1);
  });

  it('refuses empty, mismatched and non-finite inputs', () => {
    expect(() => ablationScore([], [])).toThrow(/no positions/);
    expect(() => ablationScore([0], [0, 1])).toThrow(RangeError);
    expect(() => ablationScore([Number.NaN], [1])).toThrow(/non-finite/);
  });
});

describe('calibratedReplacement', () => {
  it('maps simulated 0–10 values through the calibration and replaces missing predictions by the mean', () => {
    const calibration = { slope: 0.5, intercept: -0.1, method: 'least-squares' as const, nTokens: 10 };
    expect(calibratedReplacement(calibration, [0, 10, null, 2], 0.3)).toEqual({
      simulated: [-0.1, 4.9, 0.3, 0.9],
      mean: 0.3,
      missing: 1,
    });
  });
});
