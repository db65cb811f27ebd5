/**
 * @module llm/baseline/baseline-provider — the offline BASELINE provider `baseline:rule-based-v1`. It is NOT an LLM: an
 * in-process, deterministic rule-based model with no network. Its explainer names the tokens with the highest mean
 * activation shown in the explain prompt; its simulator predicts activations from the explanation text alone (quoted
 * tokens, word-class concepts of the lexicon, "after X" context) and never sees the true activations. Scores it
 * earns are a floor to compare real explainers against, and every result of it is labelled (`isBaseline: true`).
 */
import type { ConceptLexicon } from './concept-lexicon.ts';
import type { RuleBasedModelOptions } from './rule-based-model.ts';
import { respondToRequest, ruleBasedModelName } from './rule-based-model.ts';
import type { LlmRequest, LlmResult, Provider } from '../types.ts';

export interface BaselineProviderOptions {
  /** Word-class knowledge for reading explanations. Default: the bundled lexicon, loaded on the first request. */
  lexicon?: ConceptLexicon;
  /** Further rule-based model settings (tokenizer, distribution shape); defaults in rule-based-model.ts. */
  model?: Omit<RuleBasedModelOptions, 'lexicon'>;
}

/** Creates the offline baseline provider (see the module comment: a labelled baseline, not a language model). */
export function createBaselineProvider(options: BaselineProviderOptions = {}): Provider {
  return {
    id: `baseline:${ruleBasedModelName}`,
    capabilities: { chatLogprobs: true, promptLogprobs: true, batch: false },
    isBaseline: true,
    complete(request: LlmRequest): Promise<LlmResult> {
      return respondToRequest(request, { ...options.model, ...(options.lexicon ? { lexicon: options.lexicon } : {}) });
    },
  };
}
