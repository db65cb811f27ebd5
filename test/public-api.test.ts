/**
 * The public library API: the export lists of `autointerp` (src/index.ts) and `autointerp/testing` (src/testing.ts)
 * are pinned here, so that adding or removing a name is a deliberate change of this file; the package's exports map
 * points at the build of exactly these two entries; and the documented functions compose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as autointerp from '../src/index.ts';
import * as testing from '../src/testing.ts';

const root = join(import.meta.dirname, '..');

interface ExportNames {
  values: string[];
  types: string[];
}

/** The names an entry file exports, from its source: value names and type-only names, each sorted. */
function exportNamesOf(file: string): ExportNames & { starExports: number } {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.ES2022);
  const values: string[] = [];
  const types: string[] = [];
  let starExports = 0;
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    if (!statement.exportClause || !ts.isNamedExports(statement.exportClause)) {
      starExports += 1;
      continue;
    }
    for (const element of statement.exportClause.elements) {
      (statement.isTypeOnly || element.isTypeOnly ? types : values).push(element.name.text);
    }
  }
  return { values: values.sort(), types: types.sort(), starExports };
}

const mainEntry: ExportNames = {
  values: [
    'ActivationCache',
    'ActivationRecordSchema',
    'AutointerpError',
    'BackendUnavailableError',
    'ComparisonError',
    'DatabaseOpenError',
    'DelphiCacheError',
    'ExplanationParseError',
    'FeatureIdSchema',
    'FeatureRecordSchema',
    'FeatureStatsSchema',
    'FileFormatError',
    'IncompleteAnswerError',
    'InputError',
    'LlmCallError',
    'MalformedAnswerError',
    'PipelineConfigSchema',
    'RecordFormatError',
    'ResultStore',
    'RunFailedError',
    'RunSelectionError',
    'SaeFormatError',
    'SparseAutoencoder',
    'SubjectModelError',
    'UnsupportedSimulationModeError',
    'absoluteDevExplainedScore',
    'applyCalibration',
    'buildExplainPrompt',
    'buildFeatureRecords',
    'buildLeaderboard',
    'buildReportData',
    'buildSimulationPrompt',
    'chooseSimulationMode',
    'clampHooks',
    'compareRuns',
    'comparisonToJson',
    'correlationScore',
    'createAnthropicProvider',
    'createBaselineProvider',
    'createBatchClient',
    'createOpenAiCompatibleProvider',
    'createProvider',
    'createReliableProvider',
    'evaluateSaeOnCache',
    'evaluateSplice',
    'expectedValueFromTopLogprobs',
    'exportRun',
    'extractActivations',
    'featureKey',
    'fitLinearCalibration',
    'formatActivationRecords',
    'formatComparisonText',
    'formatLeaderboardTable',
    'formatRegressionText',
    'generate',
    'initBackend',
    'isInputError',
    'leaderboardToJson',
    'leaderboardsToCsv',
    'loadExplainTemplate',
    'loadFeatureRecords',
    'loadSaeFolder',
    'loadSaeLens',
    'loadSimulateTemplate',
    'loadSparsify',
    'loadSubjectModel',
    'loadTokenizer',
    'maxActivation',
    'mergeDatabases',
    'normalizeActivations',
    'openDatabase',
    'pairedBootstrapDifference',
    'parseExplanation',
    'parsePipelineConfig',
    'parseProviderSpec',
    'readChatLogprobs',
    'readDelphiLatentCache',
    'readFeatureRecordsJsonl',
    'readNeuronRecordDirectory',
    'readNeuronRecordFile',
    'readPromptLogprobs',
    'recordsFromCache',
    'regressionToJson',
    'regressionVerdict',
    'renderReportHtml',
    'requireRun',
    'resolveDatabasePath',
    'rsquaredScore',
    'runPipeline',
    'saeColumnSource',
    'saveSaeLens',
    'scoreFeature',
    'scoreFeatureAblation',
    'selectRuns',
    'simulateRecords',
    'splitFeatureRecords',
    'trainSae',
    'trainSaeOnCache',
    'writeFeatureRecordsJsonl',
  ],
  types: [
    'ActivationRecord',
    'AnthropicProviderOptions',
    'BackendPreference',
    'BaselineProviderOptions',
    'BatchApi',
    'BatchClient',
    'BuildRecordsOptions',
    'ChatMessage',
    'Comparison',
    'CreateProviderOptions',
    'DenseActivations',
    'ExplainPrompt',
    'ExplainPromptOptions',
    'ExplainTemplate',
    'ExportFormat',
    'ExtractOptions',
    'FeatureId',
    'FeatureKind',
    'FeatureRecord',
    'FeatureScore',
    'FeatureScores',
    'FeatureStats',
    'Hooks',
    'Judgement',
    'Leaderboard',
    'LeaderboardRow',
    'LinearCalibration',
    'LlmRequest',
    'LlmResult',
    'LlmUsage',
    'LoadRecordsOptions',
    'LoadedSae',
    'LogprobOptions',
    'OpenAiCompatibleProviderOptions',
    'OpenDatabaseOptions',
    'PipelineConfig',
    'PipelineConfigInput',
    'PipelineEvents',
    'Provider',
    'ProviderCapabilities',
    'ProviderSpec',
    'RecordSimulation',
    'RecordSource',
    'RecordSplit',
    'RegressionRule',
    'RegressionVerdict',
    'ReliabilityOptions',
    'ReportData',
    'RunFilters',
    'RunPipelineOptions',
    'RunRow',
    'RunSummary',
    'SaeConfig',
    'SaeEvaluation',
    'SaeWeights',
    'ScoreKind',
    'ScoredValue',
    'Scorer',
    'ScorerContext',
    'ScorerInput',
    'ScorerResult',
    'SimulateOptions',
    'SimulateTemplate',
    'SimulatedRecord',
    'SimulationMode',
    'SimulationPrompt',
    'SimulationPromptOptions',
    'SimulationResult',
    'SplitOptions',
    'SplitRecord',
    'SqliteDatabase',
    'SubjectModel',
    'TokenLogprob',
    'TrainOnCacheOptions',
    'TrainSaeOptions',
  ],
};

const testingEntry: ExportNames = {
  values: [
    'createFaultInterceptor',
    'createMockProvider',
    'createToyData',
    'faultKinds',
    'parseFaultMix',
    'startFakeLlmServer',
    'textResult',
  ],
  types: [
    'FakeHttpResponse',
    'FakeLlmServer',
    'FakeLlmServerOptions',
    'FakeRequestContext',
    'FakeRequestInterceptor',
    'FaultKind',
    'FaultMix',
    'FaultOptions',
    'MockProvider',
    'MockProviderOptions',
    'RecordedRequest',
    'ToyData',
    'ToyDataOptions',
  ],
};

describe('public library API: the export lists are pinned (change them here on purpose)', () => {
  it.each([
    ['src/index.ts', autointerp, mainEntry],
    ['src/testing.ts', testing, testingEntry],
  ] as const)('%s exports exactly the listed names, each by name (no export *)', (file, module, expected) => {
    const declared = exportNamesOf(file);
    expect(declared.starExports, `${file} re-exports with export *`).toBe(0);
    expect({ values: declared.values, types: declared.types }).toEqual({
      values: [...expected.values].sort(),
      types: [...expected.types].sort(),
    });
    expect(Object.keys(module).sort()).toEqual([...expected.values].sort());
  });

  it('keeps the test doubles out of the main entry', () => {
    for (const name of testingEntry.values) expect(Object.keys(autointerp), name).not.toContain(name);
  });
});

describe('package.json: the exports map, main, types and bin point at the build of the two entries', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string } | string>;
    main: string;
    types: string;
    bin: Record<string, string>;
    files: string[];
  };
  /** The source file a build output of dist/ is compiled from (dist/x/y.js and dist/x/y.d.ts ← src/x/y.ts). */
  const sourceOf = (output: string) => output.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$|\.js$/, '.ts');

  it('maps "." to src/index.ts and "./testing" to src/testing.ts, and nothing else but package.json', () => {
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './package.json', './testing']);
    for (const [subpath, source] of [
      ['.', 'src/index.ts'],
      ['./testing', 'src/testing.ts'],
    ] as const) {
      const target = manifest.exports[subpath] as { types: string; default: string };
      expect(Object.keys(target), `${subpath}: types must come first`).toEqual(['types', 'default']);
      expect(sourceOf(target.types)).toBe(source);
      expect(sourceOf(target.default)).toBe(source);
    }
    expect(sourceOf(manifest.main)).toBe('src/index.ts');
    expect(sourceOf(manifest.types)).toBe('src/index.ts');
    expect(manifest.bin).toEqual({ autointerp: 'bin/autointerp.js' });
    for (const folder of ['bin', 'dist', 'src', 'prompts', 'data']) expect(manifest.files, folder).toContain(folder);
  });
});

describe('public library API (src/index.ts)', () => {
  it('exposes the documented functions, which compose', async () => {
    const {
      normalizeActivations,
      expectedValueFromTopLogprobs,
      correlationScore,
      rsquaredScore,
      absoluteDevExplainedScore,
    } = autointerp;
    expect(normalizeActivations([0, 0.5, 1], 1)).toEqual([0, 5, 10]);
    expect(expectedValueFromTopLogprobs({ '4': 0 })).toBe(4);
    expect(correlationScore([[0, 1, 2]], [[0, 2, 4]])).toBeCloseTo(1, 12);
    expect(rsquaredScore([[1, 2]], [[1, 2]])).toBe(1);
    expect(absoluteDevExplainedScore([[1, 2]], [[1, 2]])).toBe(1);
    const explain = autointerp.buildExplainPrompt([{ tokens: [' the', ' cat'], activations: [1, 0] }]);
    expect(explain.messages.at(-1)!.content).toMatch(/ the\t10\n cat\t0/);
    const simulation = autointerp.buildSimulationPrompt('the word "the"', [[' the', ' cat']]);
    expect(simulation.unknownOffsets[0]).toHaveLength(2);
    const baseline = autointerp.createProvider('baseline');
    expect(baseline.isBaseline).toBe(true);
    const result = await autointerp.simulateRecords(baseline, 'the token "the"', [[' the', ' cat', ' the']]);
    expect(result.records[0]!.expected[0]!).toBeGreaterThan(8);
    expect(result.records[0]!.expected[1]!).toBeLessThan(1);
    expect(typeof autointerp.runPipeline).toBe('function');
    expect(typeof autointerp.buildFeatureRecords).toBe('function');
    for (const name of [
      'SparseAutoencoder',
      'trainSae',
      'trainSaeOnCache',
      'evaluateSplice',
      'loadSaeLens',
      'loadSubjectModel',
      'extractActivations',
      'scoreFeatureAblation',
      'clampHooks',
    ]) {
      expect(typeof (autointerp as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('offers the mock provider from autointerp/testing', async () => {
    const provider = testing.createMockProvider({ respond: () => testing.textResult('the word "the"') });
    const answer = await provider.complete({ messages: [{ role: 'user', content: 'explain' }], maxTokens: 8 });
    expect(answer.text).toBe('the word "the"');
  });
});
