/**
 * @module pipeline/simulate-feature — the simulate stage of the unit of work: the explanation simulated on every
 * held-out (calibration + score) record, in calls of `recordsPerCall` records that fit the simulator's context. A
 * malformed answer (no logprobs, no readable value) gets a bounded number of fresh attempts; an incomplete one (too
 * many predictions missing) is retried with fewer records per call (simulate/); then the stage fails with the reason.
 */
import { AutointerpError } from '../common/errors.ts';
import { contextTokensOf } from '../llm/context-windows.ts';
import type { Provider } from '../llm/types.ts';
import type { SplitRecord } from '../records/types.ts';
import { MAX_MISSING_FRACTION } from '../score/score-feature.ts';
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import { MalformedAnswerError } from '../simulate/malformed-answer-error.ts';
import { simulateRecords } from '../simulate/simulate-records.ts';
import type { SimulationResult } from '../simulate/types.ts';
import { errorMessage } from './call-log.ts';
import type { PipelineConfig } from './config.ts';

export interface FeatureSimulationRun {
  result: SimulationResult;
  /** The simulated (held-out) records, in the order of `result.records`. */
  simulated: SplitRecord[];
}

/** The simulate stage failed; `message` is the reason stored with the feature. */
export class SimulationStageError extends AutointerpError {
  override readonly name = 'SimulationStageError';
}

export interface SimulateFeatureOptions {
  config: PipelineConfig;
  template: SimulateTemplate;
  countTokens(text: string): number;
  signal?: AbortSignal;
}

export async function simulateFeature(
  simulator: Provider,
  explanation: string,
  splits: readonly SplitRecord[],
  options: SimulateFeatureOptions,
): Promise<FeatureSimulationRun> {
  const { config, signal } = options;
  const simulated = splits.filter((s) => s.split !== 'explain');
  const budget = {
    contextTokens: config.contextTokens ?? contextTokensOf(simulator.id),
    countTokens: options.countTokens,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await simulateRecords(
        simulator,
        explanation,
        simulated.map((s) => s.record.tokens),
        {
          template: options.template,
          ...(config.simulationMode ? { mode: config.simulationMode } : {}),
          ...(config.simulationSamples !== undefined ? { samples: config.simulationSamples } : {}),
          recordsPerCall: config.recordsPerCall,
          budget,
          maxMissingFraction: MAX_MISSING_FRACTION,
          ...(signal ? { signal } : {}),
        },
      );
      return { result, simulated };
    } catch (error) {
      const malformed = error instanceof MalformedAnswerError;
      if (malformed && attempt < config.answerAttempts && !signal?.aborted) continue;
      const reason = malformed && attempt > 1 ? `${errorMessage(error)} (${attempt} attempts)` : errorMessage(error);
      throw new SimulationStageError(reason, { cause: error });
    }
  }
}
