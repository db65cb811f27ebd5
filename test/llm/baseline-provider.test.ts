import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBaselineProvider } from '../../src/llm/baseline/baseline-provider.ts';
import { loadConceptLexicon } from '../../src/llm/baseline/concept-lexicon.ts';
import { describeProviderContract } from './provider-contract.ts';

const lexicon = loadConceptLexicon(fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url)));

describeProviderContract('baseline', async () => ({ provider: createBaselineProvider({ lexicon }) }));

describe('createBaselineProvider', () => {
  it('is labelled as the offline baseline with both logprob modes and no batch', () => {
    const provider = createBaselineProvider({ lexicon });
    expect(provider.id).toBe('baseline:rule-based-v1');
    expect(provider.isBaseline).toBe(true);
    expect(provider.capabilities).toEqual({ chatLogprobs: true, promptLogprobs: true, batch: false });
  });
});
