/**
 * @module pipeline/score-explanation — simulate one explanation on a feature's held-out records (calibration +
 * score sets, in calls of `recordsPerCall` records within the simulator's context) and score it. Used by the pipeline and by `autointerp simulate` / `score`.
 */
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import type { Provider } from '../llm/types.ts';
import type { SplitRecord } from '../records/types.ts';
import { scoreFeature, type FeatureScores } from '../score/score-feature.ts';
import type { RecordsPerCall, SimulationBudget } from '../simulate/plan-simulation-calls.ts';
import { simulateRecords } from '../simulate/simulate-records.ts';
import type { SimulationMode, SimulationResult } from '../simulate/types.ts';

export interface ScoreExplanationOptions {
  template?: SimulateTemplate;
  mode?: SimulationMode;
  /** Samples averaged in `sampled` mode. */
  samples?: number;
  /** Records per simulation call (default all) and the simulator's context budget (default: none). */
  recordsPerCall?: RecordsPerCall;
  budget?: SimulationBudget;
  /** Incomplete answers (more missing than this fraction) are retried with fewer records per call, then fail. */
  maxMissingFraction?: number;
  signal?: AbortSignal;
}

export interface ExplanationScoring extends FeatureScores {
  simulation: SimulationResult;
  /** The simulated (non-explain) records, in the order of `simulation.records`. */
  simulated: SplitRecord[];
}

export async function scoreExplanation(
  simulator: Provider,
  explanation: string,
  splits: readonly SplitRecord[],
  maxActivation: number,
  options: ScoreExplanationOptions = {},
): Promise<ExplanationScoring> {
  const simulated = splits.filter((s) => s.split !== 'explain');
  if (!simulated.some((s) => s.split === 'score')) throw new Error('no held-out records to score');
  const simulation = await simulateRecords(
    simulator,
    explanation,
    simulated.map((s) => s.record.tokens),
    {
      ...(options.template ? { template: options.template } : {}),
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.samples !== undefined ? { samples: options.samples } : {}),
      ...(options.recordsPerCall !== undefined ? { recordsPerCall: options.recordsPerCall } : {}),
      ...(options.budget ? { budget: options.budget } : {}),
      ...(options.maxMissingFraction !== undefined ? { maxMissingFraction: options.maxMissingFraction } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const withValues = simulated.map((s, i) => ({
    split: s.split,
    source: s.source,
    real: s.record.activations,
    expected: simulation.records[i]!.expected,
  }));
  const scored = scoreFeature(
    withValues.filter((r) => r.split === 'score'),
    withValues.filter((r) => r.split === 'calibration'),
    maxActivation,
  );
  return { ...scored, simulation, simulated };
}
