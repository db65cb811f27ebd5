/**
 * @module pipeline/process-feature — the unit of work: one feature through split → explain (one explanation, or the
 * best of n chosen on the calibration split: explanation-search.ts) → simulate (when a
 * selected scorer needs the simulation) → the selected scorers (pipeline/run-scorers.ts). Pure of storage: it
 * returns the result and the LLM calls it made; saving is a separate step.
 */
import type { ExplainTemplate } from '../explain/explain-template.ts';
import type { Provider } from '../llm/types.ts';
import { maxActivation } from '../records/normalize.ts';
import { splitFeatureRecords } from '../records/splits.ts';
import type { FeatureRecord, SplitRecord } from '../records/types.ts';
import type { FeatureModels, FeatureSimulation, Scorer } from '../score/scorer.ts';
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import type {
  FeatureResult,
  LlmCallRow,
  StoredCandidate,
  StoredJudgements,
  StoredRecord,
  StoredScore,
} from '../store/result-store.ts';
import { type CallLogOptions, errorMessage, withCallLog } from './call-log.ts';
import type { PipelineConfig } from './config.ts';
import { explainRecords, withContrastWindows } from './explain-records.ts';
import { type ExplanationSearchResult, searchExplanation } from './explanation-search.ts';
import { runScorers, ScorerFailedError, type ScorerOutcome } from './run-scorers.ts';
import { type FeatureSimulationRun, SimulationStageError, simulateFeature } from './simulate-feature.ts';

export type { CallEvent } from './call-log.ts';

export interface FeatureContext extends CallLogOptions {
  config: PipelineConfig;
  explainer: Provider;
  simulator: Provider;
  explainTemplate: ExplainTemplate;
  simulateTemplate: SimulateTemplate;
  countTokens: (text: string) => number;
  /** The selected scorers, in the order their scores are shown (pipeline/select-scorers.ts). */
  scorers: readonly Scorer[];
  /** The judge of the scorers that need one (`--judge`; default the simulator). */
  judge?: Provider;
  /** The run's subject models (pipeline/feature-models.ts), for the scorers that need one. */
  models?: FeatureModels;
  /** Why a scorer gave a feature no rows (the run says each cause once). Default: dropped. */
  note?(line: string): void;
  signal?: AbortSignal;
}

export interface ProcessedFeature {
  result: FeatureResult;
  calls: LlmCallRow[];
}

const storedRecord = (split: SplitRecord): StoredRecord => ({
  split: split.split,
  source: split.source,
  tokens: split.record.tokens,
  activations: split.record.activations,
});

/**
 * A skipped feature's rows: null, with the reason, for every kind of every selected scorer that would have scored it
 * (leaderboards count them) — a scorer that needs the subject model only where the feature's model is available.
 */
async function skipped(
  feature: FeatureRecord,
  splits: readonly SplitRecord[],
  reason: string,
  context: FeatureContext,
): Promise<ProcessedFeature> {
  const scoreSetTokens = splits.filter((s) => s.split === 'score').reduce((n, s) => n + s.record.tokens.length, 0);
  const modelAvailable =
    context.models && context.scorers.some((scorer) => scorer.needs.subjectModel)
      ? !('unavailable' in (await context.models.resolve(feature)))
      : false;
  const scores: StoredScore[] = context.scorers
    .filter((scorer) => !scorer.needs.subjectModel || modelAvailable)
    .flatMap((scorer) =>
      scorer.kinds.map((kind) => ({ kind, value: null, reason, nTokens: scoreSetTokens, nMissing: 0 })),
    );
  return {
    calls: [],
    result: { status: 'skipped', feature, stage: null, reason, records: splits.map(storedRecord), scores },
  };
}

/** The scorers' rows: each score with its scorer's prompt version; each judged scorer's answers. */
function storedOutcomes(outcomes: readonly ScorerOutcome[], judge: Provider | undefined) {
  const scores: StoredScore[] = [];
  const judgements: StoredJudgements[] = [];
  for (const { scorer, result } of outcomes) {
    if (!result) continue;
    for (const score of result.scores) {
      scores.push({ ...score, promptVersion: result.promptVersion, simulated: scorer.needs.simulation === true });
    }
    if (result.judgements) {
      judgements.push({
        scorer: scorer.name,
        judge: scorer.needs.judge && judge ? judge.id : '',
        promptVersion: result.promptVersion ?? '',
        examples: result.judgements,
      });
    }
  }
  return { scores, judgements };
}

/** The feature's explain / calibration / score records under the run's split sizes. */
export function featureSplits(feature: FeatureRecord, config: PipelineConfig): SplitRecord[] {
  return splitFeatureRecords(feature, {
    explainTop: config.explainTop,
    scoreTop: config.scoreTop,
    scoreRandom: config.scoreRandom,
    calibrationTop: config.calibrationTop,
    calibrationRandom: config.calibrationRandom,
    scorePerQuantile: config.scorePerQuantile,
  });
}

export async function processFeature(feature: FeatureRecord, context: FeatureContext): Promise<ProcessedFeature> {
  const { config } = context;
  const calls: LlmCallRow[] = [];
  const splits = featureSplits(feature, config);
  const explainSet = splits.filter((s) => s.split === 'explain');
  if (explainSet.length === 0 || maxActivation(explainSet.map((s) => s.record)) <= 0) {
    return skipped(feature, splits, 'feature never activates (max activation ≤ 0 in its top records)', context);
  }
  if (!splits.some((s) => s.split === 'score'))
    return skipped(feature, splits, 'no held-out records to score', context);

  // Explain: one explanation, or the best of a search on the calibration split (explanation-search.ts).
  let explanation: string;
  let explainPromptVersion: string;
  let search: ExplanationSearchResult | undefined;
  if (config.explanations > 1 || config.revise > 0) {
    try {
      search = await searchExplanation(feature, splits, context, calls);
    } catch (error) {
      const stage = error instanceof SimulationStageError ? 'simulate' : 'explain';
      return { calls, result: { status: 'failed', feature, stage, reason: errorMessage(error) } };
    }
  }
  try {
    ({ explanation, promptVersion: explainPromptVersion } = search
      ? { explanation: search.winner.text, promptVersion: search.winner.promptVersion }
      : await explainRecords(
          withCallLog(context.explainer, 'explain', calls, context),
          withContrastWindows(
            explainSet.map((s) => s.record),
            config.explainNegatives,
          ),
          {
            template: context.explainTemplate,
            maxPromptTokens: config.maxPromptTokens,
            countTokens: context.countTokens,
            ...(context.signal ? { signal: context.signal } : {}),
          },
        ));
  } catch (error) {
    return { calls, result: { status: 'failed', feature, stage: 'explain', reason: errorMessage(error) } };
  }

  // Simulate (when a selected scorer reads the simulation) while the scorers that do not need it already run.
  let simulationRun: FeatureSimulationRun | undefined;
  let simulation: Promise<FeatureSimulation> | undefined;
  if (context.scorers.some((scorer) => scorer.needs.simulation)) {
    simulation = simulateFeature(withCallLog(context.simulator, 'simulate', calls, context), explanation, splits, {
      config,
      template: context.simulateTemplate,
      countTokens: context.countTokens,
      ...(context.signal ? { signal: context.signal } : {}),
    }).then((run) => {
      simulationRun = run;
      return { records: run.simulated.map((split, i) => ({ split, expected: run.result.records[i]!.expected })) };
    });
    simulation.catch(() => undefined); // awaited by runScorers; handled here in case no scorer reached it
  }
  let outcomes: ScorerOutcome[];
  try {
    outcomes = await runScorers(
      feature,
      explanation,
      splits,
      simulation,
      {
        ...context,
        seed: config.seed,
        note: context.note ?? (() => undefined),
      },
      calls,
    );
  } catch (error) {
    if (error instanceof SimulationStageError) {
      return { calls, result: { status: 'failed', feature, stage: 'simulate', reason: error.message } };
    }
    if (error instanceof ScorerFailedError) {
      return { calls, result: { status: 'failed', feature, stage: 'score', reason: error.message } };
    }
    throw error;
  }
  const expectedBySplit = new Map(
    simulationRun?.simulated.map((split, i) => [split, simulationRun!.result.records[i]!.expected]) ?? [],
  );
  const { scores, judgements } = storedOutcomes(outcomes, context.judge);
  return {
    calls,
    result: {
      status: 'scored',
      feature,
      records: splits.map((s) => ({
        ...storedRecord(s),
        ...(expectedBySplit.has(s) ? { expected: expectedBySplit.get(s)! } : {}),
      })),
      explanation: {
        text: explanation,
        explainer: context.explainer.id,
        promptVersion: explainPromptVersion,
        isBaseline: context.explainer.isBaseline,
      },
      ...(simulationRun
        ? {
            simulation: {
              simulator: context.simulator.id,
              mode: simulationRun.result.mode,
              promptVersion: simulationRun.result.promptVersion,
              recordsPerCall: config.recordsPerCall === 'all' ? null : config.recordsPerCall,
            },
          }
        : {}),
      scores,
      ...(judgements.length > 0 ? { judgements } : {}),
      ...(search ? { candidates: withWinnerHeldOut(search.candidates, scores) } : {}),
    },
  };
}

/** The candidates with the winner's held-out score: its correlation.all on the score split, when that was computed. */
function withWinnerHeldOut(candidates: readonly StoredCandidate[], scores: readonly StoredScore[]): StoredCandidate[] {
  const heldOut = scores.find((score) => score.kind === 'correlation.all')?.value ?? null;
  return candidates.map((candidate) => (candidate.selected ? { ...candidate, heldOutScore: heldOut } : candidate));
}
