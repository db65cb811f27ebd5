/** @module llm/rule-based — public face of the offline rule-based model (baseline provider and fake server). */
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
