/**
 * @module pipeline/explanation-search — best-of-n explanations (`run --explanations N`, `--revise K`): N candidates
 * of one feature, made diverse by sampling (candidate 0 is the one-shot explanation: all explain records,
 * temperature 0; candidate i ≥ 1 sees a seeded subset of the explain records at SAMPLE_TEMPERATURE with
 * `sampleIndex` i), each simulated on the CALIBRATION split only and ranked by its correlation there. Then up to K
 * revisions: the explainer is shown where the best candidate's simulation went wrong on calibration records
 * (explain/build-revise-prompt.ts) and a revision replaces the best only when its calibration correlation is higher.
 * The score split is never looked at while choosing — the winner is scored there by the caller (process-feature.ts),
 * as a one-shot explanation would be — so its held-out score is honest; `scoreAllCandidates` also simulates every
 * loser on the score split, to measure what choosing costs in optimism. Every request is a pure function of the
 * feature, the run seed and the answers before it, so a resumed run asks the same requests and the response cache
 * answers the finished ones.
 */
import { buildRevisePrompt } from '../explain/build-revise-prompt.ts';
import type { ExplainTemplate } from '../explain/explain-template.ts';
import { ExplanationParseError, parseExplanation } from '../explain/parse-explanation.ts';
import { loadReviseTemplate, type ReviseTemplate } from '../explain/revise-template.ts';
import { hashString, mulberry32 } from '../common/random.ts';
import type { Provider } from '../llm/types.ts';
import { featureKey } from '../records/feature-key.ts';
import { maxActivation } from '../records/normalize.ts';
import type { ActivationRecord, FeatureRecord, SplitRecord } from '../records/types.ts';
import { correlationWithReason } from '../score/correlation.ts';
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import type { LlmCallRow, StoredCandidate } from '../store/result-store.ts';
import { type CallLogOptions, withCallLog } from './call-log.ts';
import type { PipelineConfig } from './config.ts';
import { EXPLANATION_MAX_TOKENS, explainRecords, withContrastWindows } from './explain-records.ts';
import { type FeatureSimulationRun, SimulationStageError, simulateFeature } from './simulate-feature.ts';

/** Temperature of candidates 1…N−1 and of revisions (candidate 0 is the one-shot explanation, at 0). */
export const SAMPLE_TEMPERATURE = 1;
/** Share of the explain records a sampled candidate sees (each kept with this probability; at least one). */
export const SUBSET_FRACTION = 0.7;

export interface ExplanationSearchContext extends CallLogOptions {
  config: PipelineConfig;
  explainer: Provider;
  simulator: Provider;
  explainTemplate: ExplainTemplate;
  simulateTemplate: SimulateTemplate;
  /** The revision prompt; default prompts/revise.v1.json. */
  reviseTemplate?: ReviseTemplate;
  countTokens(text: string): number;
  signal?: AbortSignal;
}

/** A candidate as the search keeps it: its row, and its calibration simulation (what a revision is shown). */
interface Candidate extends StoredCandidate {
  calibration: FeatureSimulationRun | null;
}

export interface ExplanationSearchResult {
  /** The selected candidate: the feature's explanation. */
  winner: StoredCandidate;
  /** Every candidate, in the order made (`selected` set on the winner; `heldOutScore` only with scoreAllCandidates). */
  candidates: StoredCandidate[];
}

/**
 * The best candidate: the highest calibration score (an undefined score ranks below every number), the earliest on
 * ties — so the one-shot candidate 0 wins unless another is strictly better.
 */
export function selectBest<T extends Pick<StoredCandidate, 'index' | 'calibrationScore'>>(candidates: readonly T[]): T {
  if (candidates.length === 0) throw new Error('selectBest: no candidates');
  const rank = (candidate: T) => candidate.calibrationScore ?? Number.NEGATIVE_INFINITY;
  return candidates.reduce((best, candidate) =>
    rank(candidate) > rank(best) || (rank(candidate) === rank(best) && candidate.index < best.index) ? candidate : best,
  );
}

/** The explain records candidate `index` sees: all for 0; a seeded subset (order kept, never empty) for the others. */
export function candidateRecords(
  feature: FeatureRecord,
  records: readonly ActivationRecord[],
  index: number,
  seed: number,
): ActivationRecord[] {
  if (index === 0 || records.length <= 1) return [...records];
  const random = mulberry32(hashString(`${featureKey(feature.id)}#candidate-${index}`, seed));
  const kept = records.filter(() => random() < SUBSET_FRACTION);
  return kept.length > 0 ? kept : [records[Math.floor(random() * records.length)]!];
}

/** Pearson correlation of a simulation with the truth on the records of `which` split (top + random); null if undefined. */
function correlationOn(run: FeatureSimulationRun, which: 'calibration' | 'score'): number | null {
  const real: number[][] = [];
  const expected: (number | null)[][] = [];
  run.simulated.forEach((split, i) => {
    if (split.split !== which || (split.source !== 'top' && split.source !== 'random')) return;
    real.push(split.record.activations);
    expected.push([...run.result.records[i]!.expected]);
  });
  return correlationWithReason(real, expected).value;
}

/** Searches for the best explanation of one feature; LLM calls are noted in `calls` (explain, revise, simulate). */
export async function searchExplanation(
  feature: FeatureRecord,
  splits: readonly SplitRecord[],
  context: ExplanationSearchContext,
  calls: LlmCallRow[],
): Promise<ExplanationSearchResult> {
  const { config, signal } = context;
  const explainer = withCallLog(context.explainer, 'explain', calls, context);
  const reviser = withCallLog(context.explainer, 'revise', calls, context);
  const simulator = withCallLog(context.simulator, 'simulate', calls, context);
  const explainSet = splits.filter((s) => s.split === 'explain').map((s) => s.record);
  const calibrationSplits = splits.filter((s) => s.split === 'calibration');
  const simulateOptions = {
    config,
    template: context.simulateTemplate,
    countTokens: context.countTokens,
    ...(signal ? { signal } : {}),
  };
  // Identical texts are simulated once (a sample can repeat another; a revision can repeat its parent).
  const simulations = new Map<string, Promise<FeatureSimulationRun | null>>();
  const simulateOnCalibration = (text: string) => {
    let simulation = simulations.get(text);
    if (!simulation) {
      simulation = simulateFeature(simulator, text, calibrationSplits, simulateOptions).catch((error: unknown) => {
        // A candidate whose simulation fails is not selectable; the search goes on (an abort does not).
        if (error instanceof SimulationStageError && !signal?.aborted) return null;
        throw error;
      });
      simulations.set(text, simulation);
    }
    return simulation;
  };
  const candidate = async (
    row: Omit<Candidate, 'calibration' | 'calibrationScore' | 'heldOutScore' | 'selected'>,
  ): Promise<Candidate> => {
    const calibration = await simulateOnCalibration(row.text);
    return {
      ...row,
      calibration,
      calibrationScore: calibration ? correlationOn(calibration, 'calibration') : null,
      heldOutScore: null,
      selected: false,
    };
  };

  // Samples, concurrently (the providers' limits bound the requests in flight).
  const negatives = withContrastWindows(explainSet, config.explainNegatives).slice(explainSet.length);
  const settled = await Promise.allSettled(
    Array.from({ length: config.explanations }, async (_, index) => {
      const { explanation, promptVersion } = await explainRecords(
        explainer,
        [...candidateRecords(feature, explainSet, index, config.seed), ...negatives],
        {
          template: context.explainTemplate,
          maxPromptTokens: config.maxPromptTokens,
          countTokens: context.countTokens,
          ...(index > 0 ? { sampling: { temperature: SAMPLE_TEMPERATURE, sampleIndex: index } } : {}),
          ...(signal ? { signal } : {}),
        },
      );
      return candidate({ index, parent: null, kind: 'sample', text: explanation, promptVersion });
    }),
  );
  const candidates: Candidate[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') candidates.push(outcome.value);
    // An unreadable answer loses that candidate only; any other failure (the explainer unreachable) fails the feature.
    else if (!(outcome.reason instanceof ExplanationParseError)) throw outcome.reason;
  }
  if (candidates.length === 0) throw (settled[0] as PromiseRejectedResult).reason;

  // Revisions of the best, each kept only when it does better on calibration.
  const reviseTemplate = context.reviseTemplate ?? loadReviseTemplate();
  const scale = maxActivation(explainSet);
  let best = selectBest(candidates);
  for (let round = 1; round <= config.revise; round++) {
    if (!best.calibration) break;
    const simulated = best.calibration.simulated.map((split, i) => ({
      tokens: split.record.tokens,
      activations: split.record.activations,
      expected: best.calibration!.result.records[i]!.expected,
    }));
    const prompt = buildRevisePrompt(best.text, simulated, scale, reviseTemplate);
    if (prompt.mistakesShown === 0) break; // nothing went wrong: nothing to revise
    let text: string;
    try {
      const completion = await reviser.complete({
        messages: prompt.messages,
        maxTokens: EXPLANATION_MAX_TOKENS,
        temperature: SAMPLE_TEMPERATURE,
        sampleIndex: round,
        ...(signal ? { signal } : {}),
      });
      text = parseExplanation(completion.text);
    } catch (error) {
      if (error instanceof ExplanationParseError) continue;
      throw error;
    }
    const revision = await candidate({
      index: candidates.length,
      parent: best.index,
      kind: 'revision',
      text,
      promptVersion: prompt.promptVersion,
    });
    candidates.push(revision);
    if ((revision.calibrationScore ?? Number.NEGATIVE_INFINITY) > (best.calibrationScore ?? Number.NEGATIVE_INFINITY)) {
      best = revision;
    }
  }

  // With scoreAllCandidates, every loser is simulated on the held-out records as the winner will be.
  if (config.scoreAllCandidates) {
    const heldOut = new Map<string, Promise<number | null>>();
    await Promise.all(
      candidates
        .filter((c) => c !== best)
        .map(async (c) => {
          let score = heldOut.get(c.text);
          if (!score) {
            score = simulateFeature(simulator, c.text, splits, simulateOptions).then(
              (run) => correlationOn(run, 'score'),
              (error: unknown) => {
                if (error instanceof SimulationStageError && !signal?.aborted) return null;
                throw error;
              },
            );
            heldOut.set(c.text, score);
          }
          c.heldOutScore = await score;
        }),
    );
  }
  const rows: StoredCandidate[] = candidates.map(({ calibration: _calibration, ...row }) => ({
    ...row,
    selected: row === best || row.index === best.index,
  }));
  return { winner: rows.find((row) => row.selected)!, candidates: rows };
}
