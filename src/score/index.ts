/** @module score — correlation, rsquared, absdev, calibration, per-feature scoring and the ablation score. */
export * from './scored-value.ts';
export * from './correlation.ts';
export * from './calibration.ts';
export * from './score-feature.ts';
export { scoreFeatureAblation } from './feature-ablation.ts';
