/**
 * The output-side truth of brown-1l features (score/intervention/output-explanation, validate-scorers' `brown-1l-outputs`
 * source): the tokens a clamped feature makes the model write, read off held-out prompts the scorer never shows, and
 * the intervention scorer separating those true explanations from other features' ones with the offline baseline
 * judge, in process and through the fake LLM server alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaselineProvider } from '../../../src/llm/baseline/baseline-provider.ts';
import { type FakeLlmServer, startFakeLlmServer } from '../../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider } from '../../../src/llm/openai-compatible-provider.ts';
import { createFeatureModels, type RunFeatureModels } from '../../../src/pipeline/feature-models.ts';
import { validateScorers } from '../../../src/pipeline/validate-scorers.ts';
import { loadTruthCases, type TruthCase } from '../../../src/pipeline/validate-scorers-truth.ts';
import { interventionScorer } from '../../../src/score/intervention/intervention-scorer.ts';
import { loadInterventionTemplate } from '../../../src/score/intervention/intervention-template.ts';
import { heldOutPrompts, outputExplanation, outputTokens } from '../../../src/score/intervention/output-explanation.ts';

const latent = (index: number, sae: string) => `brown-1l/blocks.0.mlp.hook_post/sae/${index}@${sae}`;
/** A handful of features: "been", "able", “ and "not" writers among the 1x and 4x SAE latents. */
const chosen = [
  latent(103, 'brown-1l-1x'),
  latent(151, 'brown-1l-1x'),
  latent(67, 'brown-1l-1x'),
  latent(1913, 'brown-1l-4x'),
];
const quoted = (explanation: string) => [...explanation.matchAll(/"([^"]+)"/g)].map((match) => match[1]!.toLowerCase());

let models: RunFeatureModels;
let cases: TruthCase[];
let server: FakeLlmServer;

beforeAll(async () => {
  models = createFeatureModels();
  cases = await loadTruthCases(['brown-1l-outputs'], { models, seed: 1 });
  server = await startFakeLlmServer();
}, 120_000);

afterAll(async () => {
  models?.dispose();
  await server?.close();
});

describe('output explanations of brown-1l features', () => {
  it('phrase tokens as the explainer does', () => {
    expect(outputExplanation([' been'])).toBe('the token "been"');
    expect(outputExplanation([' able', ' made'])).toBe('the tokens "able" and "made"');
    expect(outputExplanation([' “', 'A', ' not'])).toBe('the tokens "“", "A" and "not"');
    expect(() => outputExplanation([])).toThrow(RangeError);
  });

  it('are read off prompts the scorer never shows', () => {
    const shown = new Set(loadInterventionTemplate().generation.prompts);
    expect(heldOutPrompts.filter((prompt) => shown.has(prompt))).toEqual([]);
  });

  it('name what the clamped feature writes: " been" for the "has" latent, “ for the colon latent', async () => {
    const byName = new Map(cases.map((truthCase) => [truthCase.name, truthCase]));
    const tokensOf = async (name: string) => {
      const feature = byName.get(name)!.feature;
      const loaded = await models.resolve(feature);
      if ('unavailable' in loaded) throw new Error(loaded.unavailable);
      return outputTokens(loaded, feature.stats.maxActivation);
    };
    const been = await tokensOf(latent(103, 'brown-1l-1x'));
    expect(been.map(({ token }) => token)).toEqual([' been']);
    expect(been[0]!.gain).toBeGreaterThanOrEqual(2);
    expect((await tokensOf(latent(67, 'brown-1l-1x'))).map(({ token }) => token)).toEqual([' “']);
    expect(byName.get(latent(67, 'brown-1l-1x'))!.candidates[0]).toEqual({
      explanation: 'the token "“"',
      role: 'true',
      correct: true,
    });
  });

  it("wrong explanations are other features' output explanations naming none of the true tokens", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const truthCase of cases) {
      const [truth, ...wrong] = truthCase.candidates;
      expect(truth!.correct).toBe(true);
      expect(wrong.length).toBe(3);
      const trueTokens = new Set(quoted(truth!.explanation));
      for (const candidate of wrong) {
        expect(candidate).toMatchObject({ role: 'other-feature', correct: false });
        expect(quoted(candidate.explanation).filter((token) => trueTokens.has(token))).toEqual([]);
      }
    }
  });
});

describe('the intervention scorer on the output truth (baseline judge)', () => {
  it('separates true from wrong explanations, in process and through the fake LLM server alike', async () => {
    const some = cases.filter((truthCase) => chosen.includes(truthCase.name));
    expect(some.map((truthCase) => truthCase.name).sort()).toEqual([...chosen].sort());
    const validate = (judge: ReturnType<typeof createBaselineProvider>, cases = some) =>
      validateScorers({
        cases,
        scorers: [interventionScorer],
        simulator: judge,
        judge,
        models,
        countTokens: (text) => text.length,
        concurrency: 1,
      });
    const offline = await validate(createBaselineProvider());
    const [row] = offline.rows;
    expect(row!.features).toBe(chosen.length);
    expect(row!.unscored).toBe(0);
    expect(row!.pooledAuroc).toBeGreaterThanOrEqual(0.9);
    expect(row!.trueFirstRate).toBe(1);
    // Over HTTP, two of the four (a latent writing " been", one writing “): the judge's answers, through the server
    // and back as JSON, give every candidate the value it has in process.
    const overHttpCases = [latent(103, 'brown-1l-1x'), latent(67, 'brown-1l-1x')];
    const overHttp = await validate(
      createOpenAiCompatibleProvider({ model: 'rule-based-v1', baseURL: server.url, apiKey: 'not-needed' }),
      some.filter((truthCase) => overHttpCases.includes(truthCase.name)),
    );
    const valuesOf = (candidates: typeof offline.candidates) =>
      candidates
        .filter((candidate) => overHttpCases.includes(candidate.feature))
        .map(({ feature, explanation, value }) => ({ feature, explanation, value }));
    expect(valuesOf(overHttp.candidates)).toHaveLength(2 * 4);
    expect(valuesOf(overHttp.candidates)).toEqual(valuesOf(offline.candidates));
  });
});
