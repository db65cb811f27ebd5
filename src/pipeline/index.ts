/** @module pipeline — run orchestration: config, the per-feature unit of work, run and resume. */
export * from './config.ts';
export * from './process-feature.ts';
export * from './run-pipeline.ts';
export { RunFailedError } from './run-failed-error.ts';
export type { RunSummary } from './run-summary.ts';
export type { BatchEvent, BatchStopReason } from './batch-mode.ts';
