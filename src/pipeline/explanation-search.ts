/**
 * @module pipeline/explanation-search — best-of-n explanations (`run --explanations N`, `--revise K`): N candidates
 * of one feature, made diverse by sampling (candidate 0 is the one-shot explanation: all explain records,
 * temperature 0; candidate i ≥ 1 sees a seeded subset of the explain records at SAMPLE_TEMPERATURE with
 * `sampleIndex` i; every candidate's prompt ends with the same `--explain-negatives` contrast windows), each simulated
 * on the CALIBRATION split only and ranked by its correlation there. Then up to K
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
import { isDeferredToBatch } from './deferred-to-batch.ts';
import type { PipelineConfig } from './config.ts';
import { EXPLANATION_MAX_TOKENS, explainRecords, withContrastWindows } from './explain-records.ts';
import {
  type FeatureSimulationRun,
  type SimulateFeatureOptions,
  SimulationStageError,
  simulateFeature,
} from './simulate-feature.ts';

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

/** Pearson r of a simulation with the truth on the top and random records of `which` split; null if undefined. */
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

/** What the search's steps share: the logged providers, the feature's records, and simulations memoized by text. */
interface SearchTools {
  feature: FeatureRecord;
  splits: readonly SplitRecord[];
  explainSet: ActivationRecord[];
  explainer: Provider;
  reviser: Provider;
  simulator: Provider;
  simulateOptions: SimulateFeatureOptions;
  /** A candidate row completed with its calibration simulation and score (a text is simulated once). */
  withCalibration(row: CandidateRow): Promise<Candidate>;
}

type CandidateRow = Omit<Candidate, 'calibration' | 'calibrationScore' | 'heldOutScore' | 'selected'>;

/**
 * A failed simulation makes a candidate unscored (null), unless the run is being aborted or the request was deferred
 * to a batch (batch mode collecting requests: the choice must wait for the answers, not be made without them).
 */
const nullOnSimulationFailure = (signal: AbortSignal | undefined) => (error: unknown) => {
  if (error instanceof SimulationStageError && !signal?.aborted && !isDeferredToBatch(error)) return null;
  throw error;
};

function searchTools(
  feature: FeatureRecord,
  splits: readonly SplitRecord[],
  context: ExplanationSearchContext,
  calls: LlmCallRow[],
): SearchTools {
  const { config, signal } = context;
  const simulator = withCallLog(context.simulator, 'simulate', calls, context);
  const calibrationSplits = splits.filter((s) => s.split === 'calibration');
  const simulateOptions: SimulateFeatureOptions = {
    config,
    template: context.simulateTemplate,
    countTokens: context.countTokens,
    ...(signal ? { signal } : {}),
  };
  // Identical texts are simulated once (a sample can repeat another; a revision can repeat its parent).
  const simulations = new Map<string, Promise<FeatureSimulationRun | null>>();
  return {
    feature,
    splits,
    explainSet: splits.filter((s) => s.split === 'explain').map((s) => s.record),
    explainer: withCallLog(context.explainer, 'explain', calls, context),
    reviser: withCallLog(context.explainer, 'revise', calls, context),
    simulator,
    simulateOptions,
    async withCalibration(row) {
      let simulation = simulations.get(row.text);
      if (!simulation) {
        simulation = simulateFeature(simulator, row.text, calibrationSplits, simulateOptions).catch(
          nullOnSimulationFailure(signal),
        );
        simulations.set(row.text, simulation);
      }
      const calibration = await simulation;
      return {
        ...row,
        calibration,
        calibrationScore: calibration ? correlationOn(calibration, 'calibration') : null,
        heldOutScore: null,
        selected: false,
      };
    },
  };
}

/** The N samples, concurrently (the providers' limits bound the requests in flight); unreadable answers are dropped. */
async function sampleCandidates(tools: SearchTools, context: ExplanationSearchContext): Promise<Candidate[]> {
  const { config, signal } = context;
  const negatives = withContrastWindows(tools.explainSet, config.explainNegatives).slice(tools.explainSet.length);
  const settled = await Promise.allSettled(
    Array.from({ length: config.explanations }, async (_, index) => {
      const { explanation, promptVersion } = await explainRecords(
        tools.explainer,
        [...candidateRecords(tools.feature, tools.explainSet, index, config.seed), ...negatives],
        {
          template: context.explainTemplate,
          maxPromptTokens: config.maxPromptTokens,
          countTokens: context.countTokens,
          ...(index > 0 ? { sampling: { temperature: SAMPLE_TEMPERATURE, sampleIndex: index } } : {}),
          ...(signal ? { signal } : {}),
        },
      );
      return tools.withCalibration({ index, parent: null, kind: 'sample', text: explanation, promptVersion });
    }),
  );
  const candidates: Candidate[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') candidates.push(outcome.value);
    // An unreadable answer loses that candidate only; any other failure (the explainer unreachable) fails the feature.
    else if (!(outcome.reason instanceof ExplanationParseError)) throw outcome.reason;
  }
  if (candidates.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
  return candidates;
}

/**
 * Up to `config.revise` revisions of the best candidate from its calibration mistakes, each appended to
 * `candidates` and kept as the best only when its calibration score is higher. Returns the best after them.
 */
async function reviseBest(
  candidates: Candidate[],
  tools: SearchTools,
  context: ExplanationSearchContext,
): Promise<Candidate> {
  const { config, signal } = context;
  const template = context.reviseTemplate ?? loadReviseTemplate();
  const scale = maxActivation(tools.explainSet);
  const rank = (candidate: Candidate) => candidate.calibrationScore ?? Number.NEGATIVE_INFINITY;
  let best = selectBest(candidates);
  for (let round = 1; round <= config.revise; round++) {
    const calibration = best.calibration;
    if (!calibration) break;
    const simulated = calibration.simulated.map((split, i) => ({
      tokens: split.record.tokens,
      activations: split.record.activations,
      expected: calibration.result.records[i]!.expected,
    }));
    const prompt = buildRevisePrompt(best.text, simulated, scale, template);
    if (prompt.mistakesShown === 0) break; // nothing went wrong: nothing to revise
    let text: string;
    try {
      const completion = await tools.reviser.complete({
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
    const revision = await tools.withCalibration({
      // After every index given so far: an unreadable sample leaves a gap, so candidates.length may be taken.
      index: Math.max(...candidates.map((candidate) => candidate.index)) + 1,
      parent: best.index,
      kind: 'revision',
      text,
      promptVersion: prompt.promptVersion,
    });
    candidates.push(revision);
    if (rank(revision) > rank(best)) best = revision;
  }
  return best;
}

/** `--score-all-candidates`: every loser simulated on the held-out records as the winner is, scored on the score split. */
async function scoreLosersHeldOut(
  candidates: readonly Candidate[],
  best: Candidate,
  tools: SearchTools,
  signal: AbortSignal | undefined,
): Promise<void> {
  const heldOut = new Map<string, Promise<number | null>>();
  await Promise.all(
    candidates
      .filter((candidate) => candidate !== best)
      .map(async (candidate) => {
        let score = heldOut.get(candidate.text);
        if (!score) {
          score = simulateFeature(tools.simulator, candidate.text, tools.splits, tools.simulateOptions).then(
            (run) => correlationOn(run, 'score'),
            nullOnSimulationFailure(signal),
          );
          heldOut.set(candidate.text, score);
        }
        candidate.heldOutScore = await score;
      }),
  );
}

/** Searches for the best explanation of one feature; LLM calls are noted in `calls` (explain, revise, simulate). */
export async function searchExplanation(
  feature: FeatureRecord,
  splits: readonly SplitRecord[],
  context: ExplanationSearchContext,
  calls: LlmCallRow[],
): Promise<ExplanationSearchResult> {
  const tools = searchTools(feature, splits, context, calls);
  const candidates = await sampleCandidates(tools, context);
  const best = await reviseBest(candidates, tools, context);
  if (context.config.scoreAllCandidates) await scoreLosersHeldOut(candidates, best, tools, context.signal);
  const rows: StoredCandidate[] = candidates.map(({ calibration: _calibration, ...row }) => ({
    ...row,
    selected: row.index === best.index,
  }));
  return { winner: rows.find((row) => row.selected)!, candidates: rows };
}
