/**
 * @module pipeline/config-defaults — the documented default of every option of the run config that has one, as a
 * plain object: pipeline/config.ts builds its zod schema with them, and the CLI's flags and help text read them from
 * here, so that `autointerp --help` and the commands that do not run the pipeline start without loading zod. The
 * options are documented in pipeline/config.ts.
 */
import { defaultSplitOptions } from '../records/splits.ts';

/** The `source` of the embedded demo records (the default source). */
export const DEMO_SOURCE = 'demo';

const defaults = {
  source: DEMO_SOURCE as string,
  model: 'unknown-model',
  explainer: 'baseline',
  simulator: 'baseline',
  explainPrompt: 'explain.v1',
  simulatePrompt: 'simulate.v1',
  recordsPerCall: 'all' as number | 'all',
  explainTop: defaultSplitOptions.explainTop,
  scoreTop: defaultSplitOptions.scoreTop,
  scoreRandom: defaultSplitOptions.scoreRandom,
  calibrationTop: defaultSplitOptions.calibrationTop,
  calibrationRandom: defaultSplitOptions.calibrationRandom,
  scorePerQuantile: defaultSplitOptions.scorePerQuantile,
  maxPromptTokens: 12_000,
  explanations: 1,
  revise: 0,
  scoreAllCandidates: false,
  explainNegatives: 0,
  concurrency: 4,
  ablation: true,
  subjectModels: [] as string[],
  saes: [] as string[],
  rateWindowMs: 60_000,
  maxAttempts: 5,
  retryBaseDelayMs: 500,
  requestTimeoutMs: 120_000,
  answerAttempts: 3,
  cache: true,
  seed: 1,
  batch: false,
  batchPollMs: 30_000,
};
export type PipelineConfigDefaults = typeof defaults;

/** The documented defaults of every option that has one (the CLI's flags and help text read them from here). */
export const pipelineConfigDefaults: Readonly<PipelineConfigDefaults> = Object.freeze(defaults);
