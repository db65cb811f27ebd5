/**
 * @module pipeline/process-feature — the unit of work: one feature through split → explain → simulate → score.
 * Pure of storage: it returns the result and the LLM calls it made; saving is a separate step.
 */
import type { ExplainTemplate } from '../explain/explain-template.ts';
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import type { LlmResult, LlmUsage, Provider } from '../llm/types.ts';
import { wrapProvider } from '../llm/wrap-provider.ts';
import { maxActivation } from '../records/normalize.ts';
import { contextTokensOf } from '../llm/context-windows.ts';
import { MalformedAnswerError } from '../simulate/malformed-answer-error.ts';
import { MAX_MISSING_FRACTION } from '../score/score-feature.ts';
import { splitFeatureRecords } from '../records/splits.ts';
import type { FeatureRecord, SplitRecord } from '../records/types.ts';
import type { FeatureScore, ScoreKind } from '../score/score-feature.ts';
import type { FeatureResult, LlmCallRow, StoredRecord } from '../store/result-store.ts';
import type { PipelineConfig } from './config.ts';
import type { AblationScorer } from './ablation-scorer.ts';
import { explainRecords } from './explain-records.ts';
import { scoreExplanation, type ExplanationScoring } from './score-explanation.ts';

export interface FeatureContext {
  config: PipelineConfig;
  explainer: Provider;
  simulator: Provider;
  explainTemplate: ExplainTemplate;
  simulateTemplate: SimulateTemplate;
  countTokens: (text: string) => number;
  /** Adds the ablation score where the feature's subject model is available (pipeline/ablation-scorer). */
  ablation?: AblationScorer;
  signal?: AbortSignal;
  /** Cost of a call in USD (null: price unknown; 0 for cached answers; batch answers at the batch price). Default: null. */
  costOf?(providerId: string, usage: LlmUsage, cached: boolean, batch: boolean): number | null;
  /** Told when a call starts and ends (progress: calls in flight, tokens, spend). */
  onCall?(event: CallEvent): void;
}

export type CallEvent = { phase: 'start'; purpose: LlmCallRow['purpose'] } | { phase: 'end'; call: LlmCallRow };

export interface ProcessedFeature {
  result: FeatureResult;
  calls: LlmCallRow[];
}

const ALL_SCORE_KINDS: ScoreKind[] = [
  'correlation.all',
  'correlation.top',
  'correlation.random',
  'rsquared.all',
  'absdev.all',
];

const storedRecord = (split: SplitRecord): StoredRecord => ({
  split: split.split,
  source: split.source,
  tokens: split.record.tokens,
  activations: split.record.activations,
});

/** The same provider, noting every call (usage, cost, latency, outcome) in `calls` for accounting. */
function withCallLog(
  provider: Provider,
  purpose: LlmCallRow['purpose'],
  calls: LlmCallRow[],
  context: FeatureContext,
): Provider {
  return wrapProvider(provider, {
    async wrapComplete({ complete }): Promise<LlmResult> {
      const started = performance.now();
      context.onCall?.({ phase: 'start', purpose });
      const row: LlmCallRow = {
        runId: null,
        featureId: null,
        provider: provider.id,
        purpose,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: null,
        latencyMs: 0,
        cached: false,
        status: 'ok',
      };
      try {
        const result = await complete();
        row.promptTokens = result.usage.promptTokens;
        row.completionTokens = result.usage.completionTokens;
        row.cached = result.cached;
        row.costUsd = context.costOf?.(provider.id, result.usage, result.cached, result.batchId !== undefined) ?? null;
        if (result.batchId !== undefined) row.batchId = result.batchId;
        return result;
      } catch (error) {
        row.status = `error: ${errorMessage(error).slice(0, 200)}`;
        throw error;
      } finally {
        row.latencyMs = performance.now() - started;
        calls.push(row);
        context.onCall?.({ phase: 'end', call: row });
      }
    },
  });
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function processFeature(feature: FeatureRecord, context: FeatureContext): Promise<ProcessedFeature> {
  const { config } = context;
  const calls: LlmCallRow[] = [];
  const splits = splitFeatureRecords(feature, {
    explainTop: config.explainTop,
    scoreTop: config.scoreTop,
    scoreRandom: config.scoreRandom,
    calibrationTop: config.calibrationTop,
    calibrationRandom: config.calibrationRandom,
    scorePerQuantile: config.scorePerQuantile,
  });
  const explainSet = splits.filter((s) => s.split === 'explain');
  const simulated = splits.filter((s) => s.split !== 'explain');
  const scoreSetTokens = simulated.filter((s) => s.split === 'score').reduce((n, s) => n + s.record.tokens.length, 0);

  if (explainSet.length === 0 || maxActivation(explainSet.map((s) => s.record)) <= 0) {
    const reason = 'feature never activates (max activation ≤ 0 in its top records)';
    return {
      calls,
      result: {
        status: 'skipped',
        feature,
        stage: null,
        reason,
        records: splits.map(storedRecord),
        scores: ALL_SCORE_KINDS.map((kind) => ({ kind, value: null, reason, nTokens: scoreSetTokens, nMissing: 0 })),
      },
    };
  }
  if (simulated.filter((s) => s.split === 'score').length === 0) {
    return {
      calls,
      result: {
        status: 'skipped',
        feature,
        stage: null,
        reason: 'no held-out records to score',
        records: splits.map(storedRecord),
      },
    };
  }

  // Explain.
  let explanation: string;
  let explainPromptVersion: string;
  try {
    ({ explanation, promptVersion: explainPromptVersion } = await explainRecords(
      withCallLog(context.explainer, 'explain', calls, context),
      explainSet.map((s) => s.record),
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

  // Simulate every held-out record (calibration + score) in calls of `recordsPerCall` records that fit the
  // simulator's context, then score. A malformed answer (no logprobs, no readable value) gets a bounded number of
  // fresh attempts; an incomplete one (too many predictions missing) is retried with fewer records per call; then
  // the feature fails with the reason.
  let scoring: ExplanationScoring | undefined;
  const simulator = withCallLog(context.simulator, 'simulate', calls, context);
  const budget = {
    contextTokens: config.contextTokens ?? contextTokensOf(context.simulator.id),
    countTokens: context.countTokens,
  };
  for (let attempt = 1; scoring === undefined; attempt++) {
    try {
      scoring = await scoreExplanation(simulator, explanation, splits, feature.stats.maxActivation, {
        template: context.simulateTemplate,
        ...(config.simulationMode ? { mode: config.simulationMode } : {}),
        ...(config.simulationSamples !== undefined ? { samples: config.simulationSamples } : {}),
        recordsPerCall: config.recordsPerCall,
        budget,
        maxMissingFraction: MAX_MISSING_FRACTION,
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } catch (error) {
      const retry =
        error instanceof MalformedAnswerError && attempt < config.answerAttempts && !context.signal?.aborted;
      if (retry) continue;
      const reason =
        error instanceof MalformedAnswerError && attempt > 1
          ? `${errorMessage(error)} (${attempt} attempts)`
          : errorMessage(error);
      return { calls, result: { status: 'failed', feature, stage: 'simulate', reason } };
    }
  }
  const { simulation, scores } = scoring;
  // Within each call at most MAX_MISSING_FRACTION is missing; should the missing still gather in one subset (the
  // random records, say), that score would be computed on too little: the answer counts as incomplete.
  const incomplete = scores.find((score) => score.nMissing > MAX_MISSING_FRACTION * (score.nTokens + score.nMissing));
  if (incomplete) {
    const reason = `incomplete simulation: ${incomplete.nMissing} of ${incomplete.nTokens + incomplete.nMissing} predictions of ${incomplete.kind} missing (more than ${MAX_MISSING_FRACTION * 100} %)`;
    return { calls, result: { status: 'failed', feature, stage: 'simulate', reason } };
  }
  const expectedBySplit = new Map(scoring.simulated.map((s, i) => [s, simulation.records[i]!.expected]));
  if (context.ablation) {
    const inputs = scoring.simulated
      .filter((s) => s.split === 'score' && (s.source === 'top' || s.source === 'random'))
      .map((s) => ({ record: s.record, expected: expectedBySplit.get(s)! }));
    const ablation = await context.ablation.score(feature, inputs, scoring.calibration);
    if (ablation) scores.push(ablation);
  }
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
      simulation: {
        simulator: context.simulator.id,
        mode: simulation.mode,
        promptVersion: simulation.promptVersion,
        recordsPerCall: config.recordsPerCall === 'all' ? null : config.recordsPerCall,
      },
      scores: scores satisfies FeatureScore[],
    },
  };
}
