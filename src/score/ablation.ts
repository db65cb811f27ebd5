/**
 * @module score/ablation — the ablation score of an explanation (docs/DESIGN.md §4, issue 6): how much of a feature's effect
 * on the subject model's next-token predictions survives when the feature is replaced by the explanation's
 * (calibrated) simulated activations, relative to replacing it by its mean.
 *
 * `ablation = 1 − E[JSD(p_orig, p_sim)] / E[JSD(p_orig, p_mean)]`, E the mean over every patched position of every
 * record (positions pooled, not a mean of per-record scores), p the model's next-token distribution at the position,
 * `JSD(p, q) = ½·KL(p ‖ m) + ½·KL(q ‖ m)` with `m = ½(p + q)`, in nats (natural log), so 0 ≤ JSD ≤ ln 2.
 * 1: the simulation reproduces the feature's effect; 0: it does no better than the mean; negative: worse than the
 * mean. Undefined (null, with a reason) when mean ablation changes nothing (E[JSD(orig, mean)] below `minMeanJsd`).
 *
 * Pure float64 code: the per-position JSDs are pooled here in float64; the forward passes that produce them (float32,
 * each position's JSD kept to ~1e-5 relative at any size) are in subject/feature-ablation.ts, run by
 * score/feature-ablation.ts; the JSD of two distributions is common/log-probabilities.ts's.
 */
import type { LinearCalibration } from './calibration.ts';

/** What replaces a feature on one record's window, in raw activation units (the feature's own scale). */
export interface AblationReplacement {
  /** Calibrated simulated activation of each window token. */
  simulated: readonly number[];
  /** The feature's mean activation (mean ablation). */
  mean: number;
}

export interface AblationScore {
  /** 1 − meanJsdSimulated / meanJsdMean; null when mean ablation has no effect (see `reason`). */
  score: number | null;
  /** Why `score` is null. */
  reason?: string;
  /** E[JSD(p_orig, p_sim)], nats. */
  meanJsdSimulated: number;
  /** E[JSD(p_orig, p_mean)], nats. */
  meanJsdMean: number;
  /** Positions pooled. */
  positions: number;
}

export interface AblationScoreOptions {
  /**
   * E[JSD(orig, mean)] at or below this (nats) counts as "no effect" (default 1e-9). The floor of the float32 forward
   * passes: scaling a patch by ε scales E[JSD] by ε² exactly down to ~1e-10 nats (0.2 %), 9 % off at ~1e-12 and
   * noise below (brown-1l, wasm); at the cut-off, float32 rounding moves a score by < 1e-3.
   */
  minMeanJsd?: number;
}

const defaultMinMeanJsd = 1e-9;

/** The ablation score from the JSD of each patched position (same positions, same order, in both arrays). */
export function ablationScore(
  jsdSimulated: readonly number[],
  jsdMean: readonly number[],
  options: AblationScoreOptions = {},
): AblationScore {
  if (jsdSimulated.length !== jsdMean.length)
    throw new RangeError(`ablationScore: ${jsdSimulated.length} simulated vs ${jsdMean.length} mean positions`);
  const positions = jsdSimulated.length;
  if (positions === 0) throw new RangeError('ablationScore: no positions');
  let sumSimulated = 0;
  let sumMean = 0;
  for (let i = 0; i < positions; i++) {
    const simulated = jsdSimulated[i]!;
    const mean = jsdMean[i]!;
    if (!(Number.isFinite(simulated) && Number.isFinite(mean)))
      throw new RangeError(`ablationScore: non-finite JSD at position ${i}`);
    sumSimulated += simulated;
    sumMean += mean;
  }
  const meanJsdSimulated = sumSimulated / positions;
  const meanJsdMean = sumMean / positions;
  const minMeanJsd = options.minMeanJsd ?? defaultMinMeanJsd;
  if (!(meanJsdMean > minMeanJsd)) {
    return {
      score: null,
      reason: `replacing the feature by its mean does not change the predictions (E[JSD(orig, mean)] = ${meanJsdMean.toExponential(2)} nats ≤ ${minMeanJsd})`,
      meanJsdSimulated,
      meanJsdMean,
      positions,
    };
  }
  return { score: 1 - meanJsdSimulated / meanJsdMean, meanJsdSimulated, meanJsdMean, positions };
}

/**
 * A record's replacement from the simulator's values (0–10 scale) and a calibration fitted on the calibration set
 * (`fitLinearCalibration(trueActivations, simulated)`, score/calibration.ts): `slope·x + intercept`, raw units. A
 * missing prediction (null) is replaced by the mean, as mean ablation would; `missing` counts them.
 */
export function calibratedReplacement(
  calibration: LinearCalibration,
  simulated: readonly (number | null)[],
  mean: number,
): AblationReplacement & { missing: number } {
  let missing = 0;
  const values = simulated.map((x) => {
    if (x === null) {
      missing += 1;
      return mean;
    }
    return calibration.slope * x + calibration.intercept;
  });
  return { simulated: values, mean, missing };
}
