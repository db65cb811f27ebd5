/**
 * @module test/llm/provider-contract — the cases every Provider must pass, run by each provider's test file against
 * an offline backend (the baseline in-process, or a provider talking to the fake server on 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider, TokenLogprob } from '../../src/llm/types.ts';
import { explainPrompt, simulationMessages, simulationPrompt, unknownOffsets } from './prompt-fixtures.ts';

export interface ProviderUnderTest {
  provider: Provider;
  /** Called once after the cases (stop a server). */
  teardown?: () => Promise<void>;
}

const numberKey = /^(?:10|[0-9])$/;

function hasNumberAlternative(token: TokenLogprob): boolean {
  return Object.keys(token.topLogprobs).some((key) => numberKey.test(key.trim()));
}

/** Registers the shared cases in a describe block named after the provider. */
export function describeProviderContract(name: string, setup: () => Promise<ProviderUnderTest>): void {
  describe(`provider contract: ${name}`, () => {
    let underTest: ProviderUnderTest;
    beforeAll(async () => {
      underTest = await setup();
    });
    afterAll(async () => {
      await underTest?.teardown?.();
    });

    it('has an id of the form provider:model and says whether it is a baseline', () => {
      expect(underTest.provider.id).toMatch(/^[a-z-]+:.+$/);
      expect(typeof underTest.provider.isBaseline).toBe('boolean');
    });

    it('answers an explain prompt with text, usage, model and finish reason', async () => {
      const content = explainPrompt([{ tokens: [' of', ' the', ' cat'], values: [10, 4, 0] }]);
      const result = await underTest.provider.complete({ messages: [{ role: 'user', content }], maxTokens: 60 });
      expect(result.text.trim().length).toBeGreaterThan(0);
      expect(result.usage.promptTokens).toBeGreaterThan(0);
      expect(result.usage.completionTokens).toBeGreaterThan(0);
      expect(result.model.length).toBeGreaterThan(0);
      expect(result.finishReason).toBe('stop');
      expect(result.cached).toBe(false);
      expect(Array.isArray(result.warnings)).toBe(true);
    });

    it('chat logprobs: completion tokens reconstruct the text, with at most topK alternatives each', async () => {
      const messages = simulationMessages('the token "cat"', [[' the', ' cat', ' sat']]);
      const result = await underTest.provider.complete({ messages, maxTokens: 200, logprobs: { topK: 4 } });
      const tokens = result.tokens ?? [];
      expect(tokens.length).toBeGreaterThan(0);
      expect(tokens.map((token) => token.token).join('')).toBe(result.text);
      for (const token of tokens) {
        expect(result.text.slice(token.textOffset, token.textOffset + token.token.length)).toBe(token.token);
        expect(Object.keys(token.topLogprobs).length).toBeLessThanOrEqual(4);
      }
      expect(tokens.filter(hasNumberAlternative).length).toBeGreaterThanOrEqual(3);
    });

    it('prompt logprobs with echo: tokens cover the prompt and every "unknown" has number alternatives', async (context) => {
      if (!underTest.provider.capabilities.promptLogprobs) context.skip();
      const prompt = simulationPrompt('determiners', [
        [' the', ' cat'],
        [' a', ' dog', ' ran'],
      ]);
      const result = await underTest.provider.complete({ prompt, maxTokens: 0, logprobs: { topK: 5, echo: true } });
      expect(result.text).toBe('');
      const tokens = result.tokens ?? [];
      expect(tokens[0]?.logprob).toBeNull();
      expect(tokens.map((token) => token.token).join('')).toBe(prompt);
      for (const token of tokens) {
        expect(prompt.slice(token.textOffset, token.textOffset + token.token.length)).toBe(token.token);
      }
      for (const offset of unknownOffsets(prompt)) {
        const token = tokens.find(
          (candidate) => candidate.textOffset <= offset && offset < candidate.textOffset + candidate.token.length,
        );
        expect(token && hasNumberAlternative(token), `number alternatives at offset ${offset}`).toBe(true);
      }
    });

    it('stops at maxTokens with finish reason "length"', async () => {
      const messages = simulationMessages('nouns', [[' the', ' cat', ' sat', ' on', ' the', ' mat']]);
      const result = await underTest.provider.complete({ messages, maxTokens: 3 });
      expect(result.usage.completionTokens).toBeLessThanOrEqual(3);
      expect(result.finishReason).toBe('length');
    });
  });
}
