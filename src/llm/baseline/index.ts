/**
 * @module llm/baseline — public face of the offline baseline: the rule-based explainer/simulator (used by the
 * baseline provider and the fake server), its concept lexicon and the `baseline:rule-based-v1` provider.
 */
export type { BaselineProviderOptions } from './baseline-provider.ts';
export { createBaselineProvider } from './baseline-provider.ts';
export type { Concept, ConceptLexicon } from './concept-lexicon.ts';
export { ConceptLexiconSchema, ConceptSchema, defaultLexiconPath, loadConceptLexicon } from './concept-lexicon.ts';
export type {
  ExplanationClause,
  ExplanationInterpretation,
  InterpretExplanationOptions,
  TokenMatcher,
  TokenPredictor,
} from './interpret-explanation.ts';
export { interpretExplanation, normalizeToken } from './interpret-explanation.ts';
export type { ExplainFromPromptOptions, TokenActivationSummary } from './explain-from-prompt.ts';
export {
  explainFromPrompt,
  formatTokenListExplanation,
  nothingActiveExplanation,
  summarizeLastNeuronActivations,
} from './explain-from-prompt.ts';
export type { RecordRewrite, SimulateOptions, ValuePrediction } from './simulate-from-prompt.ts';
export {
  isSimulationPrompt,
  predictUnknownValues,
  rewriteTargetRecords,
  simulateChat,
  simulateEcho,
} from './simulate-from-prompt.ts';
export type { NeuronBlock, PromptLine, PromptRecord } from './prompt-structure.ts';
export { isUnknownValue, parseNeuronBlocks } from './prompt-structure.ts';
export type { ValueAlternative, ValueDistributionOptions } from './value-distribution.ts';
export { expectedValue, topLogprobsOf, valueDistribution } from './value-distribution.ts';
export { flattenConversation } from './conversation-text.ts';
export type { RequestKind, RuleBasedModelOptions } from './rule-based-model.ts';
export { classifyRequest, respondToRequest, ruleBasedModelName } from './rule-based-model.ts';
