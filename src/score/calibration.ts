/**
 * @module score/calibration — linear calibration of simulated to true activations (the reference's
 * LinearCalibratedNeuronSimulator): least squares of true on simulated, fitted on the calibration set.
 * Correlation is invariant to it; rsquared, absdev and ablation need values on the true scale.
 */
import { linearRegression, mean } from 'simple-statistics';
import { pairFlatten } from './flatten.ts';

export interface LinearCalibration {
  slope: number;
  intercept: number;
  /** How the calibration was obtained. */
  method: 'least-squares' | 'constant-mean' | 'scale-by-max';
  nTokens: number;
}

/** Fits `true ≈ slope · simulated + intercept`. A constant simulation fits the mean of the true values. */
export function fitLinearCalibration(
  real: readonly (readonly number[])[],
  predicted: readonly (readonly (number | null)[])[],
): LinearCalibration | null {
  const flat = pairFlatten(real, predicted);
  const n = flat.real.length;
  if (n === 0) return null;
  const constantMean: LinearCalibration = { slope: 0, intercept: mean(flat.real), method: 'constant-mean', nTokens: n };
  // (Nearly) constant simulations have no slope to fit: relative spread below 1e-9 counts as constant.
  const spread = Math.max(...flat.predicted) - Math.min(...flat.predicted);
  if (!(spread > 1e-9 * Math.max(1, Math.abs(mean(flat.predicted))))) return constantMean;
  const { m, b } = linearRegression(flat.predicted.map((x, i) => [x, flat.real[i]!]));
  if (!Number.isFinite(m) || !Number.isFinite(b)) return constantMean;
  return { slope: m, intercept: b, method: 'least-squares', nTokens: n };
}

/** Without calibration data: map the 0–10 scale back to raw units by the feature's max activation. */
export function scaleByMaxCalibration(maxActivation: number): LinearCalibration {
  return { slope: maxActivation / 10, intercept: 0, method: 'scale-by-max', nTokens: 0 };
}

export function applyCalibration(calibration: LinearCalibration, predicted: readonly (readonly (number | null)[])[]) {
  return predicted.map((values) =>
    values.map((x) => (x === null ? null : calibration.slope * x + calibration.intercept)),
  );
}
