/**
 * @module score/classifier/classifier-scorer — detection and fuzzing as scorers (docs/DESIGN.md §4): sample the
 * feature's examples, shuffle them (seeded) into prompts of `examplesPerPrompt`, ask the judge for one 1/0 per
 * example (with logprobs where its provider serves chat logprobs), and score its labels against the truth. Detection
 * shows plain windows (does the feature fire here?); fuzzing marks tokens (are the marked tokens the ones the
 * explanation names?). An LLM error propagates and fails the feature; an unreadable answer leaves its examples out.
 */
import { hashString, mulberry32, shuffleInPlace } from '../../common/random.ts';
import type { ChatMessage, Provider } from '../../llm/types.ts';
import type {
  FeatureScore,
  Judgement,
  Scorer,
  ScoreKind,
  ScorerContext,
  ScorerInput,
  ScorerResult,
} from '../scorer.ts';
import { undefinedScore } from '../scored-value.ts';
import { buildClassifierPrompt } from './build-classifier-prompt.ts';
import type { ClassifierExample } from './classifier-example.ts';
import { type ClassifierOptions, defaultClassifierOptions } from './classifier-options.ts';
import { type ClassifierPromptFile, loadClassifierPromptFile } from './classifier-prompt-file.ts';
import { classifierScores } from './classifier-scores.ts';
import { fuzzHighlights } from './fuzz-highlights.ts';
import { readJudgeAnswer } from './read-judge-answer.ts';
import { renderExample } from './render-example.ts';
import { sampleClassifierExamples } from './sample-examples.ts';

export type ClassifierMode = 'detection' | 'fuzzing';

export interface ClassifierScorerOptions extends Partial<ClassifierOptions> {
  /** The prompt file: a version in prompts/ (default `<mode>.v1`) or a path. */
  promptFile?: string;
}

/** The kinds every scored feature gets (AUROC and recall per source come where they exist). */
export const classifierKinds = (mode: ClassifierMode): ScoreKind[] => [
  `${mode}.balanced_accuracy`,
  `${mode}.f1`,
  `${mode}.precision`,
  `${mode}.recall`,
];

/** Example indices in a seeded random order, cut into ⌈n / perPrompt⌉ prompts of near-equal size. */
export function planPrompts(count: number, perPrompt: number, seed: number): number[][] {
  const order = shuffleInPlace(
    Array.from({ length: count }, (_, index) => index),
    mulberry32(seed),
  );
  const promptCount = Math.ceil(count / Math.max(1, perPrompt));
  const prompts: number[][] = [];
  let next = 0;
  for (let p = 0; p < promptCount; p++) {
    const size = Math.floor(count / promptCount) + (p < count % promptCount ? 1 : 0);
    prompts.push(order.slice(next, next + size));
    next += size;
  }
  return prompts;
}

async function askJudge(
  judge: Provider,
  messages: ChatMessage[],
  n: number,
  options: ClassifierOptions,
  signal: AbortSignal | undefined,
) {
  const result = await judge.complete({
    messages,
    maxTokens: 4 * n + 16,
    temperature: 0,
    ...(options.askLogprobs && judge.capabilities.chatLogprobs ? { logprobs: { topK: 5 } } : {}),
    ...(signal ? { signal } : {}),
  });
  return readJudgeAnswer(result.text, result.tokens, n);
}

function nullScores(mode: ClassifierMode, reason: string): FeatureScore[] {
  return classifierKinds(mode).map((kind) => ({ kind, ...undefinedScore(reason, 0), nMissing: 0 }));
}

/** A detection or fuzzing scorer with the given settings. */
export function createClassifierScorer(mode: ClassifierMode, settings: ClassifierScorerOptions = {}): Scorer {
  const { promptFile: promptName = `${mode}.v1`, ...overrides } = settings;
  const options: ClassifierOptions = { ...defaultClassifierOptions, ...overrides };
  let promptFile: ClassifierPromptFile | undefined;
  const description =
    mode === 'detection'
      ? 'detection: a judge tells activating from non-activating windows by the explanation (balanced accuracy, F1, AUROC)'
      : 'fuzzing: a judge tells correctly from randomly highlighted tokens by the explanation (balanced accuracy, F1, AUROC)';

  return {
    name: mode,
    description,
    needs: { judge: true },
    kinds: classifierKinds(mode),
    async score(input: ScorerInput, context: ScorerContext): Promise<ScorerResult> {
      if (!context.judge) throw new TypeError(`${mode} scorer: no judge provider in the context`);
      promptFile ??= loadClassifierPromptFile(promptName);
      const sample = sampleClassifierExamples(input.feature, input.splits, options, input.seed);
      const examples: ClassifierExample[] = sample.examples;
      const activating = examples.filter((example) => example.activating).length;
      if (activating === 0) {
        context.note(`${mode}: features with no activating window in the calibration and score splits get null scores`);
        return {
          scores: nullScores(mode, 'no activating window in the calibration and score splits'),
          promptVersion: promptFile.version,
          judgements: [],
        };
      }
      if (examples.length - activating < sample.nonActivatingWanted) {
        context.note(
          `${mode}: some features have fewer non-activating windows than activating ones (they fire densely); they are scored with the windows that exist`,
        );
      }
      const highlights =
        mode === 'fuzzing'
          ? fuzzHighlights(examples, options.highlightFraction, input.seed)
          : examples.map(() => [] as number[]);
      const prompts = planPrompts(examples.length, options.examplesPerPrompt, hashString(`${mode}-order`, input.seed));
      const file = promptFile;
      const answers = await Promise.all(
        prompts.map((indices) => {
          const texts = indices.map((index) => renderExample(examples[index]!.tokens, highlights[index]));
          const messages = buildClassifierPrompt(file, input.explanation, texts);
          return askJudge(context.judge!, messages, indices.length, options, context.signal);
        }),
      );
      const judgements: Judgement[] = prompts.flatMap((indices, p) =>
        indices.map((index, position) => {
          const example = examples[index]!;
          return {
            tokens: example.tokens,
            ...(mode === 'fuzzing' ? { highlighted: highlights[index]! } : {}),
            source: example.source,
            truth: example.activating,
            predicted: answers[p]!.labels[position] ?? null,
            probability: answers[p]!.probabilities[position] ?? null,
          };
        }),
      );
      return { scores: classifierScores(mode, judgements), promptVersion: file.version, judgements };
    },
  };
}
