/**
 * @module score/intervention/intervention-scorer — the intervention score (docs/DESIGN.md §4; delphi's intervention
 * scoring, output-centric descriptions after Gur-Arieh et al. 2025): does the explanation describe what the feature
 * DOES to the model's output?
 *
 * The subject model continues the template's neutral prompts greedily, once as it is and once per strength with the
 * feature clamped to strength × its max activation over the corpus (from the prompt's last position on). The judge
 * gets all continuations shuffled (seeded by the feature's seed) and picks those the explanation describes.
 * `intervention.score = P(picked | steered) − P(picked | unsteered)`: 0 is chance (the explanation does not tell
 * steered text from plain text), 1 perfect, negative when it fits the plain text better;
 * `intervention.balanced_accuracy = (P(picked | steered) + P(not picked | unsteered)) / 2 = (1 + score) / 2`, on the
 * scale of the detection and fuzzing accuracies.
 *
 * Strengths are multiples of the max activation (1×, 2×, 4× in intervention.v1), not delphi's per-feature search for
 * a target KL: that search costs ~10 rounds of forward passes per feature, while max activation is known for every
 * feature, 1× is the feature as strong as it ever fires on the corpus, and 2×–4× amplify it until a small model's
 * text visibly changes. Greedy decoding keeps the texts deterministic. When the clamp changes no continuation, the
 * judge is not asked and the scores are null with that reason (an unchanged text says nothing about the explanation).
 */
import { mulberry32, shuffleInPlace } from '../../common/random.ts';
import type { FeatureRecord } from '../../records/types.ts';
import type { FeatureScore, Judgement, LoadedFeatureModel, Scorer, ScorerContext, ScorerResult } from '../scorer.ts';
import type { InterventionTemplate, JudgedText } from './intervention-template.ts';
import { interventionMessages, type JudgeAnswer, readJudgeAnswer } from './judge-prompt.ts';

/** One continuation the judge is shown. */
interface Continuation extends JudgedText {
  /** The continuation's tokens as the subject tokenizer shows them. */
  tokens: string[];
  tokenIds: number[];
  /** The clamp strength (multiple of the max activation), or null: generated without the clamp. */
  strength: number | null;
  /** Index of its prompt in the template. */
  promptIndex: number;
}

const kinds = ['intervention.score', 'intervention.balanced_accuracy'] as const;

let defaultTemplate: InterventionTemplate | undefined;

function nullScores(reason: string, nTokens: number, nMissing: number): FeatureScore[] {
  return kinds.map((kind) => ({ kind, value: null, reason, nTokens, nMissing }));
}

/** Generates the unclamped and clamped continuations of every prompt (prompt by prompt, unclamped first). */
async function generateContinuations(
  loaded: LoadedFeatureModel,
  template: InterventionTemplate,
  maxActivation: number,
  signal: AbortSignal | undefined,
): Promise<Continuation[] | { reason: string }> {
  const { subject, target } = loaded;
  const { tokenizer } = subject;
  const { prompts, strengths } = template.generation;
  const promptIds = prompts.map((prompt) => [
    ...(tokenizer.eosId !== null ? [tokenizer.eosId] : []),
    ...tokenizer.encode(prompt),
  ]);
  const longest = Math.max(...promptIds.map((ids) => ids.length));
  const maxNewTokens = Math.min(template.generation.maxNewTokens, subject.config.nPositions - longest);
  if (promptIds.some((ids) => ids.length === 0) || maxNewTokens < 1) {
    return { reason: `the neutral prompts do not fit the model's context of ${subject.config.nPositions} tokens` };
  }
  const plan = promptIds.flatMap((ids, promptIndex) =>
    [null, ...strengths].map((strength) => ({ promptIndex, strength, ids })),
  );
  // Loaded here: tfjs costs start-up time for every command that never scores an intervention.
  const { generateSteeredRows } = await import('./steered-generation.ts');
  const generated = await generateSteeredRows(
    subject.model,
    target,
    plan.map(({ ids, strength }) => ({ promptIds: ids, clamp: strength === null ? null : strength * maxActivation })),
    {
      maxNewTokens,
      stopTokenIds: tokenizer.eosId !== null ? [tokenizer.eosId] : [],
      ...(signal ? { signal } : {}),
    },
  );
  return plan.map(({ promptIndex, strength }, row) => ({
    prompt: prompts[promptIndex]!,
    continuation: tokenizer.decode(generated[row]!),
    tokens: tokenizer.tokenStrings(generated[row]!),
    tokenIds: generated[row]!,
    strength,
    promptIndex,
  }));
}

/** Steered continuations that differ from their prompt's unsteered one. */
function changedCount(continuations: readonly Continuation[]): number {
  const plain = new Map<number, string>();
  for (const c of continuations) if (c.strength === null) plain.set(c.promptIndex, c.tokenIds.join(','));
  return continuations.filter((c) => c.strength !== null && c.tokenIds.join(',') !== plain.get(c.promptIndex)).length;
}

function judgements(shown: readonly Continuation[], answer: JudgeAnswer | null): Judgement[] {
  return shown.map((continuation, index) => ({
    tokens: continuation.tokens,
    source: continuation.strength === null ? 'unsteered' : 'steered',
    truth: continuation.strength !== null,
    predicted: answer ? answer.predictions[index]! : null,
    probability: answer ? answer.probabilities[index]! : null,
  }));
}

function pickedFraction(shown: readonly Continuation[], answer: JudgeAnswer, steered: boolean): number {
  let picked = 0;
  let total = 0;
  shown.forEach((continuation, index) => {
    if ((continuation.strength !== null) !== steered) return;
    total++;
    if (answer.predictions[index]) picked++;
  });
  return picked / total;
}

async function scoreIntervention(
  feature: FeatureRecord,
  explanation: string,
  seed: number,
  context: ScorerContext,
  template: InterventionTemplate,
): Promise<ScorerResult | null> {
  if (!context.judge || !context.models)
    throw new Error('intervention scorer: the judge or the feature models are missing');
  const loaded = await context.models.resolve(feature);
  if ('unavailable' in loaded) {
    // The cause only (it names the model), not the feature: the run prints each distinct note once.
    context.note(`no intervention ${loaded.unavailable}`);
    return null;
  }
  const promptVersion = template.version;
  const maxActivation = feature.stats.maxActivation;
  if (!(maxActivation > 0)) {
    return { scores: nullScores('the feature never activates: no clamp strength', 0, 0), promptVersion };
  }
  const continuations = await generateContinuations(loaded, template, maxActivation, context.signal);
  if (!Array.isArray(continuations)) return { scores: nullScores(continuations.reason, 0, 0), promptVersion };
  const nTokens = continuations.reduce((sum, c) => sum + c.tokenIds.length, 0);
  if (changedCount(continuations) === 0) {
    const strengths = template.generation.strengths.map((s) => `${s}×`).join(', ');
    return {
      scores: nullScores(`clamping the feature at ${strengths} its max activation changed no continuation`, nTokens, 0),
      promptVersion,
    };
  }
  const shown = shuffleInPlace([...continuations], mulberry32(seed));
  const result = await context.judge.complete({
    messages: interventionMessages(template, explanation, shown),
    maxTokens: 3 * shown.length + 16,
    temperature: 0,
    ...(context.judge.capabilities.chatLogprobs ? { logprobs: { topK: 5 } } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const answer = readJudgeAnswer(result, shown.length);
  if ('unreadable' in answer) {
    return {
      scores: nullScores(answer.unreadable, nTokens, shown.length),
      promptVersion,
      judgements: judgements(shown, null),
    };
  }
  const steeredPicked = pickedFraction(shown, answer, true);
  const unsteeredPicked = pickedFraction(shown, answer, false);
  const score = steeredPicked - unsteeredPicked;
  return {
    scores: [
      { kind: 'intervention.score', value: score, reason: null, nTokens, nMissing: 0 },
      { kind: 'intervention.balanced_accuracy', value: (1 + score) / 2, reason: null, nTokens, nMissing: 0 },
    ],
    promptVersion,
    judgements: judgements(shown, answer),
  };
}

/** The intervention scorer with another prompt file (tests, prompt experiments); the registry's uses intervention.v1. */
export function createInterventionScorer(template?: InterventionTemplate): Scorer {
  return {
    name: 'intervention',
    description:
      'steering: the subject model continues neutral prompts with the feature clamped and without; a judge picks the continuations the explanation describes',
    needs: { judge: true, subjectModel: true },
    kinds,
    async score(input, context) {
      // The template (and zod, which checks it) is loaded on first use: off the start-up path of every command.
      const used =
        template ?? (defaultTemplate ??= (await import('./intervention-template.ts')).loadInterventionTemplate());
      return scoreIntervention(input.feature, input.explanation, input.seed, context, used);
    },
  };
}

export const interventionScorer: Scorer = createInterventionScorer();
