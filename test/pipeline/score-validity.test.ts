/**
 * Score validity on the demo's planted features, through the real OpenAI-compatible provider against the fake
 * server on 127.0.0.1 (HTTP, prompt-logprob and chat-logprob modes): the ground-truth explanation of each planted
 * feature must score ≥ 0.9 (top + random) and a deliberately wrong one ≤ 0.2.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiCompatibleProvider } from '../../src/llm/openai-compatible-provider.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import type { Provider } from '../../src/llm/types.ts';
import { demoPlantedPath } from '../../src/pipeline/config.ts';
import { scoreExplanation } from '../../src/pipeline/score-explanation.ts';
import { loadFeatureRecords } from '../../src/records/load.ts';
import { splitFeatureRecords } from '../../src/records/splits.ts';
import { featureKey } from '../../src/records/feature-key.ts';
import type { FeatureId, FeatureRecord } from '../../src/records/types.ts';

interface GroundTruth {
  feature: FeatureId;
  explanation: string;
  wrongExplanation: string;
  rule: string;
}

const groundTruth = JSON.parse(
  readFileSync(new URL('../../data/demo/ground-truth.json', import.meta.url), 'utf8'),
) as GroundTruth[];

let server: Awaited<ReturnType<typeof startFakeLlmServer>>;
let features: Map<string, FeatureRecord>;

beforeAll(async () => {
  server = await startFakeLlmServer();
  features = new Map((await loadFeatureRecords(demoPlantedPath)).map((f) => [featureKey(f.id), f]));
});
afterAll(async () => server.close());

async function correlationAll(
  simulator: Provider,
  feature: FeatureRecord,
  explanation: string,
  mode: 'prompt-logprobs' | 'chat-logprobs',
) {
  const scoring = await scoreExplanation(
    simulator,
    explanation,
    splitFeatureRecords(feature, { calibrationTop: 2, calibrationRandom: 2 }),
    feature.stats.maxActivation,
    { mode },
  );
  return scoring.scores.find((s) => s.kind === 'correlation.all')!;
}

describe('score validity over the fake server', () => {
  it('has ground truth for the planted features, never inside the records', () => {
    expect(groundTruth.length).toBeGreaterThanOrEqual(10);
    const recordsText = readFileSync(demoPlantedPath, 'utf8');
    for (const truth of groundTruth) expect(recordsText).not.toContain(truth.explanation);
  });

  for (const mode of ['prompt-logprobs', 'chat-logprobs'] as const) {
    it(`ground truth ≥ 0.9 and wrong ≤ 0.2 for every active planted feature (${mode})`, async () => {
      const simulator = createOpenAiCompatibleProvider({ model: 'fake', baseURL: server.url, apiKey: 'sk-test' });
      const rows: string[] = [];
      let checked = 0;
      for (const truth of groundTruth) {
        const feature = features.get(featureKey(truth.feature));
        expect(feature, featureKey(truth.feature)).toBeDefined();
        if (feature!.stats.maxActivation <= 0) continue;
        const right = await correlationAll(simulator, feature!, truth.explanation, mode);
        const wrong = await correlationAll(simulator, feature!, truth.wrongExplanation, mode);
        rows.push(
          `${featureKey(truth.feature)} right ${right.value?.toFixed(3)} wrong ${wrong.value?.toFixed(3) ?? `null (${wrong.reason})`}`,
        );
        expect(right.value, `${truth.explanation}: ${rows.at(-1)}`).not.toBeNull();
        expect(right.value!, rows.at(-1)).toBeGreaterThanOrEqual(0.9);
        expect(right.nMissing).toBe(0);
        // A wrong explanation that predicts nothing is a constant series: null, which is no better than ≤ 0.2.
        if (wrong.value !== null) expect(wrong.value, rows.at(-1)).toBeLessThanOrEqual(0.2);
        checked += 1;
      }
      expect(checked).toBe(
        groundTruth.filter((t) => (features.get(featureKey(t.feature))?.stats.maxActivation ?? 0) > 0).length,
      );
    });
  }
});
