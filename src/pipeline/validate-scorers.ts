/**
 * @module pipeline/validate-scorers — the scorer-validity benchmark (`autointerp validate-scorers`, issue 16): on
 * features whose truth is known (pipeline/validate-scorers-truth), scores the true explanation and the wrong ones
 * with every selected scorer of the registry and reports per scorer and truth source how well the scorer's headline
 * score (its first `kinds` entry) separates them (pipeline/validate-scorers-metrics), with the calls and tokens it
 * spent per explanation scored. A scorer that needs the simulation gets it as a run does (score-explanation on the held-out
 * records, malformed answers retried) and is charged its cost; judged scorers are charged their judge's calls.
 */
import { hashString } from '../common/random.ts';
import type { LlmUsage, Provider } from '../llm/types.ts';
import { wrapProvider } from '../llm/wrap-provider.ts';
import type { FeatureModels, FeatureSimulation, Scorer } from '../score/scorer.ts';
import { MalformedAnswerError } from '../simulate/malformed-answer-error.ts';
import { MAX_MISSING_FRACTION } from '../score/score-feature.ts';
import type { RecordsPerCall, SimulationBudget } from '../simulate/plan-simulation-calls.ts';
import type { SimulateTemplate } from '../simulate/simulate-template.ts';
import type { SimulationMode } from '../simulate/types.ts';
import { forEachBounded } from './bounded-workers.ts';
import { scoreExplanation } from './score-explanation.ts';
import { summarizeSeparation, type SeparationSummary } from './validate-scorers-metrics.ts';
import type { CandidateRole, TruthCase, TruthSourceName } from './validate-scorers-truth.ts';

export interface SimulationSettings {
  template?: SimulateTemplate;
  mode?: SimulationMode;
  samples?: number;
  recordsPerCall?: RecordsPerCall;
  /** The simulator's context budget; without it, calls are not split for size. */
  budget?: SimulationBudget;
  /** Fresh attempts at a malformed simulation answer before the explanation counts as unscored. Default 3. */
  answerAttempts?: number;
}

export interface ValidateScorersOptions {
  cases: readonly TruthCase[];
  scorers: readonly Scorer[];
  simulator: Provider;
  /** The judge of judged scorers (default: the simulator). */
  judge?: Provider;
  /** Subject models for scorers that need them; without, such scorers say they cannot serve the features. */
  models?: FeatureModels;
  simulation?: SimulationSettings;
  countTokens(text: string): number;
  /** Mixed into each feature's seed. Default 1. */
  seed?: number;
  /** Features scored at once (default 4); their LLM calls share the providers' limits. */
  concurrency?: number;
  /** Called after each feature (all its candidates, all scorers). */
  onFeatureDone?(done: number, total: number, truthCase: TruthCase): void;
  signal?: AbortSignal;
}

/** One candidate explanation scored by one scorer: its headline value, or why it has none. */
export interface CandidateResult {
  scorer: string;
  source: TruthSourceName;
  feature: string;
  explanation: string;
  role: CandidateRole;
  correct: boolean;
  value: number | null;
  reason?: string;
}

export interface Usage extends LlmUsage {
  calls: number;
}

/** One row of the benchmark's table: a scorer on one truth source. */
export interface ScorerValidity extends SeparationSummary {
  scorer: string;
  /** The score kind compared (the scorer's first kind). */
  kind: string;
  source: TruthSourceName;
  /** Features the scorer scored (served), of those of the source. */
  features: number;
  featuresOfSource: number;
  /** Candidate explanations the scorer scored (of the served features). */
  explanations: number;
  /**
   * Mean per explanation scored: what a run spends on one feature (its one explanation) with this scorer, the
   * simulation included for scorers that need it.
   */
  callsPerExplanation: number | null;
  promptTokensPerExplanation: number | null;
  completionTokensPerExplanation: number | null;
  /** Candidate explanations left without a value (null score, failed simulation or scorer). */
  unscored: number;
  /** Why features went unserved (the scorer's notes), when some did. */
  notServed: string[];
}

export interface ValidationReport {
  simulator: string;
  judge: string;
  /** True when a simulator or judge that scored is the offline baseline (rule-based, not an LLM). */
  baseline: boolean;
  rows: ScorerValidity[];
  candidates: CandidateResult[];
}

const emptyUsage = (): Usage => ({ calls: 0, promptTokens: 0, completionTokens: 0 });

function addUsage(total: Usage, more: Usage): void {
  total.calls += more.calls;
  total.promptTokens += more.promptTokens;
  total.completionTokens += more.completionTokens;
}

/** `provider` with every answered call counted into `usage`. */
function counted(provider: Provider, usage: Usage): Provider {
  return wrapProvider(provider, {
    async wrapComplete(call) {
      const result = await call.complete();
      addUsage(usage, { calls: 1, ...result.usage });
      return result;
    },
  });
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The explanation simulated on the held-out records as a run does it, with its cost; throws when it fails. */
async function simulate(
  simulator: Provider,
  truthCase: TruthCase,
  explanation: string,
  settings: SimulationSettings,
  signal: AbortSignal | undefined,
): Promise<{ simulation: FeatureSimulation; usage: Usage }> {
  const usage = emptyUsage();
  const provider = counted(simulator, usage);
  const attempts = settings.answerAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const scoring = await scoreExplanation(
        provider,
        explanation,
        truthCase.splits,
        truthCase.feature.stats.maxActivation,
        {
          ...(settings.template ? { template: settings.template } : {}),
          ...(settings.mode ? { mode: settings.mode } : {}),
          ...(settings.samples !== undefined ? { samples: settings.samples } : {}),
          ...(settings.recordsPerCall !== undefined ? { recordsPerCall: settings.recordsPerCall } : {}),
          ...(settings.budget ? { budget: settings.budget } : {}),
          maxMissingFraction: MAX_MISSING_FRACTION,
          ...(signal ? { signal } : {}),
        },
      );
      const simulation: FeatureSimulation = {
        records: scoring.simulated.map((split, index) => ({
          split,
          expected: scoring.simulation.records[index]!.expected,
        })),
      };
      return { simulation, usage };
    } catch (error) {
      if (error instanceof MalformedAnswerError && attempt < attempts && !signal?.aborted) continue;
      throw error;
    }
  }
}

/** What one scorer gave one candidate: its headline value (or why none), or null when it cannot serve the feature. */
type Outcome = { value: number | null; reason?: string } | null;

/** Runs the benchmark: every scorer on every candidate explanation of every feature. */
export async function validateScorers(options: ValidateScorersOptions): Promise<ValidationReport> {
  const { cases, scorers, simulator } = options;
  const judge = options.judge ?? simulator;
  const usageByScorer = new Map(scorers.map((scorer) => [scorer.name, new Map<string, Usage>()]));
  /** The scorers' notes by scorer and truth source (`name|source`). */
  const notes = new Map<string, Set<string>>();
  const unservedByScorer = new Map(scorers.map((scorer) => [scorer.name, new Set<string>()]));
  const needsSimulation = scorers.some((scorer) => scorer.needs.simulation);

  /** Each feature's results, in the order of `cases` whatever order the features finish in. */
  const resultsByCase = cases.map((): CandidateResult[] => []);
  let done = 0;
  const scoreCase = async (caseIndex: number) => {
    const truthCase = cases[caseIndex]!;
    const caseResults = resultsByCase[caseIndex]!;
    const caseKey = `${truthCase.source}:${truthCase.name}`;
    const seed = hashString(caseKey, options.seed ?? 1);
    for (const candidate of truthCase.candidates) {
      let simulated: { simulation: FeatureSimulation; usage: Usage } | { error: string } | undefined;
      if (needsSimulation) {
        try {
          simulated = await simulate(
            simulator,
            truthCase,
            candidate.explanation,
            options.simulation ?? {},
            options.signal,
          );
        } catch (error) {
          if (options.signal?.aborted) throw error;
          simulated = { error: `simulation failed: ${errorText(error)}` };
        }
      }
      for (const scorer of scorers) {
        const usage = usageByScorer.get(scorer.name)!;
        const featureUsage = usage.get(caseKey) ?? emptyUsage();
        let outcome: Outcome;
        if (scorer.needs.simulation && simulated && 'error' in simulated) {
          outcome = { value: null, reason: simulated.error };
        } else {
          if (scorer.needs.simulation && simulated && 'usage' in simulated) addUsage(featureUsage, simulated.usage);
          outcome = await runScorer(scorer, truthCase, candidate.explanation, seed, {
            ...(options.models ? { models: options.models } : {}),
            countTokens: options.countTokens,
            ...(options.signal ? { signal: options.signal } : {}),
            judge,
            usage: featureUsage,
            note: (line) => {
              const key = `${scorer.name}|${truthCase.source}`;
              notes.set(key, (notes.get(key) ?? new Set()).add(line));
            },
            featureSimulation: simulated && 'simulation' in simulated ? simulated.simulation : undefined,
          });
        }
        if (outcome === null) {
          unservedByScorer.get(scorer.name)!.add(caseKey);
          continue;
        }
        usage.set(caseKey, featureUsage);
        caseResults.push({
          scorer: scorer.name,
          source: truthCase.source,
          feature: truthCase.name,
          explanation: candidate.explanation,
          role: candidate.role,
          correct: candidate.correct,
          value: outcome.value,
          ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
        });
      }
    }
    done += 1;
    options.onFeatureDone?.(done, cases.length, truthCase);
  };
  await forEachBounded(
    cases.map((_, index) => index),
    options.concurrency ?? 4,
    scoreCase,
    () => options.signal?.aborted === true,
  );
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
  const candidates = resultsByCase.flat();

  const sources = [...new Set(cases.map((truthCase) => truthCase.source))];
  const rows: ScorerValidity[] = [];
  for (const scorer of scorers) {
    for (const source of sources) {
      const ofSource = cases.filter((truthCase) => truthCase.source === source);
      const served = ofSource.filter(
        (truthCase) => !unservedByScorer.get(scorer.name)!.has(`${source}:${truthCase.name}`),
      );
      const scored = candidates.filter((result) => result.scorer === scorer.name && result.source === source);
      const byFeature = served.map((truthCase) => scored.filter((result) => result.feature === truthCase.name));
      const total = emptyUsage();
      for (const truthCase of served) {
        const featureUsage = usageByScorer.get(scorer.name)!.get(`${source}:${truthCase.name}`);
        if (featureUsage) addUsage(total, featureUsage);
      }
      const perExplanation = (value: number) => (scored.length === 0 ? null : value / scored.length);
      rows.push({
        scorer: scorer.name,
        kind: scorer.kinds[0] ?? scorer.name,
        source,
        features: served.length,
        featuresOfSource: ofSource.length,
        ...summarizeSeparation(byFeature),
        explanations: scored.length,
        callsPerExplanation: perExplanation(total.calls),
        promptTokensPerExplanation: perExplanation(total.promptTokens),
        completionTokensPerExplanation: perExplanation(total.completionTokens),
        unscored: scored.filter((result) => result.value === null).length,
        notServed: served.length < ofSource.length ? [...(notes.get(`${scorer.name}|${source}`) ?? [])] : [],
      });
    }
  }
  return {
    simulator: simulator.id,
    judge: judge.id,
    baseline:
      (needsSimulation && simulator.isBaseline) || (scorers.some((scorer) => scorer.needs.judge) && judge.isBaseline),
    rows,
    candidates,
  };
}

/** What one scorer call gets: the judge counted into `usage`, the feature's simulation of this explanation. */
interface RunScorerOptions extends Pick<ValidateScorersOptions, 'models' | 'countTokens' | 'signal'> {
  judge: Provider;
  usage: Usage;
  note(line: string): void;
  featureSimulation: FeatureSimulation | undefined;
}

async function runScorer(
  scorer: Scorer,
  truthCase: TruthCase,
  explanation: string,
  seed: number,
  options: RunScorerOptions,
): Promise<Outcome> {
  const headline = scorer.kinds[0];
  const models: FeatureModels = options.models ?? {
    resolve: async () => ({ unavailable: 'validate-scorers loads no subject models' }),
  };
  try {
    const result = await scorer.score(
      {
        feature: truthCase.feature,
        explanation,
        splits: truthCase.splits,
        ...(scorer.needs.simulation && options.featureSimulation ? { simulation: options.featureSimulation } : {}),
        seed,
      },
      {
        ...(scorer.needs.judge ? { judge: counted(options.judge, options.usage) } : {}),
        ...(scorer.needs.subjectModel ? { models } : {}),
        countTokens: options.countTokens,
        note: options.note,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    if (result === null) return null;
    const score = result.scores.find((candidate) => candidate.kind === headline);
    if (!score) return { value: null, reason: `the scorer gave no ${headline}` };
    return score.value === null ? { value: null, reason: score.reason ?? 'null score' } : { value: score.value };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { value: null, reason: `${scorer.name} failed: ${errorText(error)}` };
  }
}
