/** @module score — correlation, rsquared, absdev, calibration and per-feature scoring. */
export * from './scored-value.ts';
export * from './correlation.ts';
export * from './calibration.ts';
export * from './score-feature.ts';
