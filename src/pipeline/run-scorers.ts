/**
 * @module pipeline/run-scorers — the score stage of the unit of work: every selected scorer (score/registry.ts) on
 * one explanation, concurrently, each given exactly what it declares it needs (the simulation, the judge, the
 * feature's model). A scorer that needs the simulation waits for it; the others start at once, so that in batch mode
 * a judge's requests are collected in the same pass as the simulation's. A scorer's LLM calls are logged with its
 * name as their purpose. A scorer that throws fails the feature (its name leads the reason); one that returns null
 * gives no rows (it said why through `note`).
 */
import { AutointerpError } from '../common/errors.ts';
import { hashString } from '../common/random.ts';
import type { Provider } from '../llm/types.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureRecord, SplitRecord } from '../records/types.ts';
import type { FeatureModels, FeatureSimulation, Scorer, ScorerContext, ScorerResult } from '../score/scorer.ts';
import type { LlmCallRow } from '../store/result-store.ts';
import { type CallLogOptions, errorMessage, withCallLog } from './call-log.ts';

export interface ScorerRunContext extends CallLogOptions {
  scorers: readonly Scorer[];
  /** The judge of the scorers that need one (`--judge`, default the simulator). */
  judge?: Provider;
  /** The run's subject models, for the scorers that need one. */
  models?: FeatureModels;
  countTokens(text: string): number;
  /** Why a scorer gave some feature no rows; said once per cause by the caller. */
  note(line: string): void;
  /** The run's seed, mixed into each feature's scorer seed. */
  seed: number;
  signal?: AbortSignal;
}

export interface ScorerOutcome {
  scorer: Scorer;
  result: ScorerResult | null;
}

/** A scorer threw: the feature fails at the score stage with this reason (`<scorer>: <why>`). */
export class ScorerFailedError extends AutointerpError {
  override readonly name = 'ScorerFailedError';
}

/** The seed of a feature's sampling and shuffling: the same feature and run seed give the same examples. */
export const scorerSeed = (feature: FeatureRecord, runSeed: number): number =>
  hashString(featureKey(feature.id), runSeed);

/**
 * Runs the scorers on one explanation; `simulation` is the simulate stage in flight (present when a scorer needs it:
 * its failure is rethrown as is). Outcomes come in the order of `context.scorers`.
 */
export async function runScorers(
  feature: FeatureRecord,
  explanation: string,
  splits: readonly SplitRecord[],
  simulation: Promise<FeatureSimulation> | undefined,
  context: ScorerRunContext,
  calls: LlmCallRow[],
): Promise<ScorerOutcome[]> {
  const seed = scorerSeed(feature, context.seed);
  const settled = await Promise.allSettled(
    context.scorers.map(async (scorer): Promise<ScorerOutcome> => {
      const needs = scorer.needs;
      const scorerContext: ScorerContext = {
        countTokens: context.countTokens,
        note: context.note,
        ...(context.signal ? { signal: context.signal } : {}),
      };
      if (needs.judge) {
        if (!context.judge) throw new Error(`${scorer.name} needs a judge and the run has none`);
        scorerContext.judge = withCallLog(context.judge, scorer.name, calls, context);
      }
      if (needs.subjectModel) {
        if (!context.models) throw new Error(`${scorer.name} needs subject models and the run has none`);
        scorerContext.models = context.models;
      }
      let simulated: FeatureSimulation | undefined;
      if (needs.simulation) {
        if (!simulation) throw new Error(`${scorer.name} needs the simulation and none was made`);
        simulated = await simulation;
      }
      const result = await scorer.score(
        { feature, explanation, splits, seed, ...(simulated ? { simulation: simulated } : {}) },
        scorerContext,
      );
      return { scorer, result };
    }),
  );
  // The simulation's own failure wins (it is the stage that failed); then the first scorer that threw.
  if (simulation) await simulation;
  const failed = settled.findIndex((outcome) => outcome.status === 'rejected');
  if (failed !== -1) {
    const reason = (settled[failed] as PromiseRejectedResult).reason;
    throw new ScorerFailedError(`${context.scorers[failed]!.name}: ${errorMessage(reason)}`, { cause: reason });
  }
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<ScorerOutcome>).value);
}
