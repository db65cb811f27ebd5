/**
 * @module autointerp — the public library API (`import … from 'autointerp'`): explain → simulate → score, stored in
 * SQLite. Named exports only, chosen for library users; the list is pinned by test/public-api.test.ts, so an addition
 * is deliberate. Internals stay importable by path inside this repository; test doubles are in `autointerp/testing`.
 */

// Errors every input error extends (the CLI reports these as usage or data errors, exit 2).
export { AutointerpError, InputError, isInputError } from './common/errors.ts';

// Activation records: types, validation, loading and writing, building, splitting, normalization.
export type {
  ActivationRecord,
  FeatureId,
  FeatureKind,
  FeatureRecord,
  FeatureStats,
  RecordSource,
  RecordSplit,
  SplitRecord,
  BuildRecordsOptions,
  DenseActivations,
  LoadRecordsOptions,
  SplitOptions,
} from './records/index.ts';
export {
  ActivationRecordSchema,
  FeatureIdSchema,
  FeatureRecordSchema,
  FeatureStatsSchema,
  FileFormatError,
  RecordFormatError,
  buildFeatureRecords,
  featureKey,
  formatActivationRecords,
  loadFeatureRecords,
  maxActivation,
  normalizeActivations,
  readFeatureRecordsJsonl,
  readNeuronRecordDirectory,
  readNeuronRecordFile,
  splitFeatureRecords,
  writeFeatureRecordsJsonl,
} from './records/index.ts';

// Explain: the explain prompt and explanation parsing.
export type { ExplainPrompt, ExplainPromptOptions, ExplainTemplate } from './explain/index.ts';
export { ExplanationParseError, buildExplainPrompt, loadExplainTemplate, parseExplanation } from './explain/index.ts';

// Simulate: the simulation prompt, logprob readers, expected values, simulating records with a provider.
export type {
  RecordSimulation,
  SimulateOptions,
  SimulateTemplate,
  SimulationMode,
  SimulationPrompt,
  SimulationPromptOptions,
  SimulationResult,
} from './simulate/index.ts';
export {
  IncompleteAnswerError,
  MalformedAnswerError,
  UnsupportedSimulationModeError,
  buildSimulationPrompt,
  chooseSimulationMode,
  expectedValueFromTopLogprobs,
  loadSimulateTemplate,
  readChatLogprobs,
  readPromptLogprobs,
  simulateRecords,
} from './simulate/index.ts';

// Score: correlation, rsquared, absdev, calibration, per-feature scoring, the ablation score.
export type {
  FeatureScore,
  FeatureScores,
  LinearCalibration,
  ScoreKind,
  ScoredValue,
  SimulatedRecord,
} from './score/index.ts';
// The scorer contract: a scorer of one's own is passed to runPipeline as `scorers` (score/scorer.ts).
export type { Judgement, Scorer, ScorerContext, ScorerInput, ScorerResult } from './score/scorer.ts';
export {
  absoluteDevExplainedScore,
  applyCalibration,
  correlationScore,
  fitLinearCalibration,
  rsquaredScore,
  scoreFeature,
  scoreFeatureAblation,
} from './score/index.ts';

// LLM providers: the contract, the offline baseline, OpenAI-compatible and Anthropic, reliability, Batch APIs.
export type {
  ChatMessage,
  LlmRequest,
  LlmResult,
  LlmUsage,
  LogprobOptions,
  Provider,
  ProviderCapabilities,
  TokenLogprob,
} from './llm/types.ts';
export { LlmCallError } from './llm/types.ts';
export type { CreateProviderOptions, ProviderSpec } from './llm/create-provider.ts';
export { createProvider, parseProviderSpec } from './llm/create-provider.ts';
export type { BaselineProviderOptions } from './llm/baseline/index.ts';
export { createBaselineProvider } from './llm/baseline/index.ts';
export type { OpenAiCompatibleProviderOptions } from './llm/openai-compatible-provider.ts';
export { createOpenAiCompatibleProvider } from './llm/openai-compatible-provider.ts';
export type { AnthropicProviderOptions } from './llm/anthropic-provider.ts';
export { createAnthropicProvider } from './llm/anthropic-provider.ts';
export type { ReliabilityOptions } from './llm/reliable-provider.ts';
export { createReliableProvider } from './llm/reliable-provider.ts';
export type { BatchApi, BatchClient } from './llm/batch/index.ts';
export { createBatchClient } from './llm/batch/index.ts';

// The pipeline: a whole run (explain, simulate, score, store), resumable.
export type {
  PipelineConfig,
  PipelineConfigInput,
  PipelineEvents,
  RunPipelineOptions,
  RunSummary,
} from './pipeline/index.ts';
export { PipelineConfigSchema, RunFailedError, parsePipelineConfig, runPipeline } from './pipeline/index.ts';

// The store: opening a results database and the rows report tools read.
export type { OpenDatabaseOptions, RunRow, SqliteDatabase } from './store/index.ts';
export { DatabaseOpenError, ResultStore, mergeDatabases, openDatabase, resolveDatabasePath } from './store/index.ts';

// Reports: leaderboards, compare / regress, the HTML report, exports.
export type {
  Comparison,
  ExportFormat,
  Leaderboard,
  LeaderboardRow,
  RegressionRule,
  RegressionVerdict,
  ReportData,
  RunFilters,
} from './report/index.ts';
export {
  ComparisonError,
  RunSelectionError,
  buildLeaderboard,
  buildReportData,
  compareRuns,
  comparisonToJson,
  exportRun,
  formatComparisonText,
  formatLeaderboardTable,
  formatRegressionText,
  leaderboardToJson,
  leaderboardsToCsv,
  pairedBootstrapDifference,
  regressionToJson,
  regressionVerdict,
  renderReportHtml,
  requireRun,
  selectRuns,
} from './report/index.ts';

// The subject model (tfjs): backend, GPT-2 with hooks, tokenizer, activation cache and extraction, steering.
export type { BackendPreference, ExtractOptions, Hooks, SubjectModel } from './subject/index.ts';
export {
  ActivationCache,
  BackendUnavailableError,
  SubjectModelError,
  clampHooks,
  extractActivations,
  generate,
  initBackend,
  loadSubjectModel,
  loadTokenizer,
  recordsFromCache,
} from './subject/index.ts';

// Sparse autoencoders: the model, training, evaluation, SAELens / sparsify / delphi files.
export type {
  LoadedSae,
  SaeConfig,
  SaeEvaluation,
  SaeWeights,
  TrainOnCacheOptions,
  TrainSaeOptions,
} from './sae/index.ts';
export {
  DelphiCacheError,
  SaeFormatError,
  SparseAutoencoder,
  evaluateSaeOnCache,
  evaluateSplice,
  loadSaeFolder,
  loadSaeLens,
  loadSparsify,
  readDelphiLatentCache,
  saeColumnSource,
  saveSaeLens,
  trainSae,
  trainSaeOnCache,
} from './sae/index.ts';
