/**
 * @module score/correlation/correlation-scorer — the simulation scores of OpenAI's method (docs/DESIGN.md §4) as a
 * scorer: correlation of simulated with true activations on all (top + random), top, random and quantile records
 * of the score split, and rsquared / absdev of the predictions calibrated on the calibration split.
 */
import { AutointerpError } from '../../common/errors.ts';
import { MAX_MISSING_FRACTION, scoreFeature, type SimulatedRecord } from '../score-feature.ts';
import type { Scorer, ScorerInput, ScorerResult } from '../scorer.ts';

/** Thrown when too much of the simulation is missing for a score to be trusted: the feature fails (and is retried). */
export class IncompleteSimulationError extends AutointerpError {
  override readonly name = 'IncompleteSimulationError';
}

function simulatedRecords(input: ScorerInput) {
  if (!input.simulation) throw new Error('correlation scorer: the simulation is missing');
  return input.simulation.records.map(({ split, expected }): SimulatedRecord & { split: string } => ({
    split: split.split,
    source: split.source,
    real: split.record.activations,
    expected: [...expected],
  }));
}

export const correlationScorer: Scorer = {
  name: 'correlation',
  description: 'simulation: correlation of simulated with true activations (all, top, random), rsquared, absdev',
  needs: { simulation: true },
  kinds: ['correlation.all', 'correlation.top', 'correlation.random', 'rsquared.all', 'absdev.all'],
  async score(input): Promise<ScorerResult> {
    const records = simulatedRecords(input);
    const { scores } = scoreFeature(
      records.filter((r) => r.split === 'score'),
      records.filter((r) => r.split === 'calibration'),
      input.feature.stats.maxActivation,
    );
    // Within each call at most MAX_MISSING_FRACTION is missing; should the missing still gather in one subset (the
    // random records, say), that score would be computed on too little: the answer counts as incomplete.
    const incomplete = scores.find((s) => s.nMissing > MAX_MISSING_FRACTION * (s.nTokens + s.nMissing));
    if (incomplete) {
      throw new IncompleteSimulationError(
        `incomplete simulation: ${incomplete.nMissing} of ${incomplete.nTokens + incomplete.nMissing} predictions of ${incomplete.kind} missing (more than ${MAX_MISSING_FRACTION * 100} %)`,
      );
    }
    return { scores, promptVersion: null };
  },
};
