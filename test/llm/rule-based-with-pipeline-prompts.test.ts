/**
 * The rule-based model against the project's real prompt builders and logprob readers (explain/, simulate/, score/):
 * a correct explanation simulates well, a wrong one badly, in both logprob modes, in-process and over HTTP.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExplainPrompt } from '../../src/explain/build-explain-prompt.ts';
import { parseExplanation } from '../../src/explain/parse-explanation.ts';
import { createBaselineProvider } from '../../src/llm/baseline/baseline-provider.ts';
import { loadConceptLexicon } from '../../src/llm/baseline/concept-lexicon.ts';
import type { FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider } from '../../src/llm/openai-compatible-provider.ts';
import { loadExplainTemplate } from '../../src/explain/explain-template.ts';
import { loadSimulateTemplate } from '../../src/simulate/simulate-template.ts';
import type { Provider } from '../../src/llm/types.ts';
import type { ActivationRecord } from '../../src/records/types.ts';
import { correlationScore } from '../../src/score/correlation.ts';
import { simulateRecords } from '../../src/simulate/simulate-records.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const lexicon = loadConceptLexicon(lexiconPath);
const explainTemplate = loadExplainTemplate(
  fileURLToPath(new URL('../fixtures/prompts/explain.test.json', import.meta.url)),
);
const simulateTemplate = loadSimulateTemplate(
  fileURLToPath(new URL('../fixtures/prompts/simulate.test.json', import.meta.url)),
);

/** A determiner feature: fires on " the" / " a" / " an", not elsewhere. */
function determinerRecord(tokens: string[]): ActivationRecord {
  const strength: Record<string, number> = { the: 4, a: 3, an: 2 };
  return { tokens, activations: tokens.map((token) => strength[token.trim().toLowerCase()] ?? 0) };
}

const explainSet = [
  determinerRecord([' The', ' cat', ' sat', ' on', ' the', ' mat']),
  determinerRecord([' a', ' dog', ' ate', ' an', ' apple']),
];
const scoreSet = [
  determinerRecord([' the', ' house', ' is', ' a', ' home']),
  determinerRecord([' an', ' owl', ' saw', ' the', ' moon', ' rise']),
];
const scoreTokens = scoreSet.map((record) => record.tokens);
const scoreActivations = scoreSet.map((record) => record.activations);

async function scoreOf(provider: Provider, explanation: string, mode: 'prompt-logprobs' | 'chat-logprobs') {
  const simulation = await simulateRecords(provider, explanation, scoreTokens, {
    mode,
    template: simulateTemplate,
    topK: 5,
  });
  expect(simulation.missing).toBe(0);
  return correlationScore(
    scoreActivations,
    simulation.records.map((record) => record.expected),
  );
}

describe('rule-based model with the pipeline prompts', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
  });
  afterAll(async () => {
    await server.close();
  });

  it('explains from the real explain prompt, and the explanation scores near 1 while a wrong one does not', async () => {
    const baseline = createBaselineProvider({ lexicon });
    const prompt = buildExplainPrompt(explainSet, { template: explainTemplate });
    const completion = await baseline.complete({ messages: prompt.messages, maxTokens: 60 });
    const explanation = parseExplanation(completion.text);
    expect(explanation).toBe('the tokens "the", "a" and "an"');

    const overHttp = createOpenAiCompatibleProvider({ model: 'fake', baseURL: server.url, apiKey: 'not-needed' });
    for (const provider of [baseline, overHttp]) {
      for (const mode of ['prompt-logprobs', 'chat-logprobs'] as const) {
        expect(await scoreOf(provider, explanation, mode), `${provider.id} ${mode}`).toBeGreaterThan(0.9);
        expect(await scoreOf(provider, 'determiners', mode), `${provider.id} ${mode}`).toBeGreaterThan(0.9);
        expect(
          (await scoreOf(provider, 'the token "cat" and nouns', mode)) ?? 0,
          `${provider.id} ${mode}`,
        ).toBeLessThan(0.3);
      }
    }
  });
});
