/** @module subject — the subject model (GPT-2 in tfjs with hooks), its backend, tokenizer, activation cache and extraction, generation and steering, feature ablation. */
export {
  initBackend,
  describeBackendChoice,
  BackendUnavailableError,
  type BackendChoice,
  type BackendPreference,
} from './backend.ts';
export { Gpt2Model, hookPointNames, hookWidth } from './gpt2-model.ts';
export type { Gpt2Config, Gpt2Weights, HookFn, Hooks } from './types.ts';
export { loadGpt2Folder, saveGpt2Folder } from './load-gpt2.ts';
export { loadSubjectModel, SubjectModelError, type SubjectModel } from './load-subject.ts';
export { loadTokenizer } from './tokenizer.ts';
export { ActivationCache, ActivationCacheError, type ActivationCacheHeader } from './activation-cache.ts';
export { extractActivations, type ExtractOptions } from './extract-activations.ts';
export { recordsFromCache, type FeatureColumnSource, type RecordsFromCacheOptions } from './records-from-cache.ts';
export { generate, nextTokenLogProbs } from './generate.ts';
export { clampHooks, directLogitEffect } from './steer.ts';
export type { AblationRecord, FeatureTarget } from './feature-ablation.ts';
