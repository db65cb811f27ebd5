import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../../src/llm/anthropic-provider.ts';
import { createBaselineProvider } from '../../../src/llm/baseline/baseline-provider.ts';
import { respondToRequest } from '../../../src/llm/baseline/rule-based-model.ts';
import { type FakeLlmServer, startFakeLlmServer } from '../../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider } from '../../../src/llm/openai-compatible-provider.ts';
import { countTokens } from '../../../src/llm/token-counter.ts';
import type { LlmRequest, Provider } from '../../../src/llm/types.ts';
import { splitFeatureRecords } from '../../../src/records/splits.ts';
import type { FeatureRecord } from '../../../src/records/types.ts';
import { buildClassifierPrompt } from '../../../src/score/classifier/build-classifier-prompt.ts';
import { loadClassifierPromptFile } from '../../../src/score/classifier/classifier-prompt-file.ts';
import { detectionScorer } from '../../../src/score/classifier/detection-scorer.ts';
import { fuzzingScorer } from '../../../src/score/classifier/fuzzing-scorer.ts';
import { readJudgeAnswer } from '../../../src/score/classifier/read-judge-answer.ts';
import type { Scorer, ScorerContext } from '../../../src/score/scorer.ts';
import { buildSimulationPrompt } from '../../../src/simulate/build-simulation-prompt.ts';

interface PlantedTruth {
  feature: { layer: number; index: number };
  explanation: string;
  wrongExplanation: string;
}

const planted: FeatureRecord[] = readFileSync(
  new URL('../../../data/demo/records/planted.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as FeatureRecord);
const truths = JSON.parse(
  readFileSync(new URL('../../../data/demo/ground-truth.json', import.meta.url), 'utf8'),
) as PlantedTruth[];

/** A planted feature (layer/index) with its true and wrong explanations. */
function plantedFeature(layer: number, index: number) {
  const feature = planted.find((f) => f.id.layer === layer && f.id.index === index)!;
  const truth = truths.find((t) => t.feature.layer === layer && t.feature.index === index)!;
  return { feature, splits: splitFeatureRecords(feature), truth };
}

const context = (judge: Provider): ScorerContext => ({ judge, countTokens: (text) => text.length, note: () => {} });

async function scoreOf(scorer: Scorer, judge: Provider, layer: number, index: number, explanation: 'true' | 'wrong') {
  const { feature, splits, truth } = plantedFeature(layer, index);
  const text = explanation === 'true' ? truth.explanation : truth.wrongExplanation;
  const result = await scorer.score({ feature, explanation: text, splits, seed: 3 }, context(judge));
  return Object.fromEntries(result!.scores.map((row) => [row.kind, row.value]));
}

// determiners; family members (quoted words); nouns after "the" (context); past-tense verbs after pronouns (hard negatives)
const features: [number, number][] = [
  [0, 0],
  [0, 2],
  [1, 2],
  [2, 4],
];

describe('baseline judge: reading a detection or fuzzing prompt', () => {
  it('answers from the explanation alone: detection by any named token, fuzzing by the marked ones', async () => {
    const messages = buildClassifierPrompt(loadClassifierPromptFile('fuzzing.v1'), 'the word "cat"', [
      'a dog and a cat',
      'the <<cat>> sat',
      '<<the>> cat sat',
      'a <<dog>>',
    ]);
    const result = await respondToRequest({ messages, maxTokens: 40, logprobs: { topK: 5 } });
    // example 0 has no marks: a detection question ("cat" is named) → 1
    expect(result.text).toBe('[1, 1, 0, 0]');
    const answer = readJudgeAnswer(result.text, result.tokens, 4);
    expect(answer.labels).toEqual([true, true, false, false]);
    expect(answer.probabilities.map((p) => Math.round(p! * 100) / 100)).toEqual([0.98, 0.98, 0.02, 0.02]);
  });
});

describe('baseline judge on the demo planted features', () => {
  const baseline = createBaselineProvider();
  for (const scorer of [detectionScorer, fuzzingScorer]) {
    it(`${scorer.name}: the true explanation scores clearly above the wrong one`, async () => {
      for (const [layer, index] of features) {
        const right = await scoreOf(scorer, baseline, layer, index, 'true');
        const wrong = await scoreOf(scorer, baseline, layer, index, 'wrong');
        const accuracy = `${scorer.name}.balanced_accuracy`;
        expect(right[accuracy], `feature ${layer}/${index}`).toBeGreaterThanOrEqual(0.85);
        expect(right[accuracy]! - wrong[accuracy]!, `feature ${layer}/${index}`).toBeGreaterThanOrEqual(0.25);
        expect(right[`${scorer.name}.auroc`]!, `feature ${layer}/${index}`).toBeGreaterThan(
          wrong[`${scorer.name}.auroc`]!,
        );
      }
    });
  }

  it('detection + fuzzing cost fewer prompt tokens than simulating the same feature', async () => {
    let promptTokens = 0;
    const counting: Provider = {
      ...baseline,
      async complete(request: LlmRequest) {
        const result = await baseline.complete(request);
        promptTokens += result.usage.promptTokens;
        return result;
      },
    };
    for (const [layer, index] of features) {
      const { feature, splits, truth } = plantedFeature(layer, index);
      promptTokens = 0;
      for (const scorer of [detectionScorer, fuzzingScorer]) {
        await scorer.score({ feature, explanation: truth.explanation, splits, seed: 3 }, context(counting));
      }
      const held = splits.filter((split) => split.split !== 'explain').map((split) => split.record.tokens);
      const simulation = buildSimulationPrompt(truth.explanation, held, { mode: 'prompt-logprobs' });
      const simulationTokens = await countTokens(simulation.prompt);
      expect(promptTokens / simulationTokens, `feature ${layer}/${index}`).toBeLessThan(1);
    }
  });
});

describe('detection through the fake server', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('OpenAI-compatible provider: chat logprobs give an AUROC row', async () => {
    const judge = createOpenAiCompatibleProvider({ model: 'judge', baseURL: server.url, apiKey: 'sk-test' });
    const right = await scoreOf(detectionScorer, judge, 0, 2, 'true');
    const wrong = await scoreOf(detectionScorer, judge, 0, 2, 'wrong');
    expect(right['detection.auroc']).toBeGreaterThan(0.9);
    expect(right['detection.balanced_accuracy']!).toBeGreaterThan(wrong['detection.balanced_accuracy']!);
    const sent = server.requests.at(-1)!.body as { logprobs?: boolean; top_logprobs?: number };
    expect(sent).toMatchObject({ logprobs: true, top_logprobs: 5 });
  });

  it('Anthropic provider: labels only, no AUROC row', async () => {
    const judge = createAnthropicProvider({ model: 'claude-judge', baseURL: server.url, apiKey: 'sk-ant-test' });
    const right = await scoreOf(detectionScorer, judge, 0, 2, 'true');
    expect(right['detection.balanced_accuracy']).toBeGreaterThan(0.9);
    expect('detection.auroc' in right).toBe(false);
  });
});
