/**
 * @module pipeline/run-pipeline — runs (or resumes) a whole run: loads and validates every record first, then
 * processes features with bounded concurrency, saving each as one transaction the moment it completes. An abort
 * signal stops scheduling new features, lets the ones in flight finish and marks the run "interrupted".
 */
import pLimit from 'p-limit';
import { createProvider } from '../llm/create-provider.ts';
import { loadExplainTemplate, loadSimulateTemplate } from '../llm/prompt-template.ts';
import { getEncoder } from '../llm/token-counter.ts';
import type { Provider } from '../llm/types.ts';
import { loadFeatureRecords } from '../records/load.ts';
import { featureKey, type FeatureRecord } from '../records/types.ts';
import type { ResultStore, RunRow } from '../store/result-store.ts';
import { parsePipelineConfig, resolveSource, type PipelineConfig, type PipelineConfigInput } from './config.ts';
import { processFeature, type ProcessedFeature } from './process-feature.ts';

export const CODE_VERSION = 'autointerp@0.1.0';

export interface PipelineEvents {
  /** Called once the records are loaded: features in the run and how many a resumed run had already finished. */
  onStart?(info: { runId: number; total: number; alreadyDone: number; explainer: Provider; simulator: Provider }): void;
  onFeatureDone?(processed: ProcessedFeature): void;
}

export interface RunPipelineOptions {
  store: ResultStore;
  /** Resume this run (its stored config is used; `config` is ignored). */
  resumeRunId?: number;
  signal?: AbortSignal;
  events?: PipelineEvents;
  /** Injected providers (tests, library users); default: created from the config's provider specs. */
  explainer?: Provider;
  simulator?: Provider;
}

export interface RunSummary {
  runId: number;
  status: 'finished' | 'interrupted';
  total: number;
  scored: number;
  skipped: number;
  failed: number;
  /** Features processed by this invocation (not counting those a resumed run had done). */
  processedNow: number;
  durationMs: number;
}

function defaultRunName(config: PipelineConfig): string {
  const source = config.source === 'demo' ? 'demo' : config.source.split('/').filter(Boolean).at(-1) ?? config.source;
  return `${source} · ${config.explainer} → ${config.simulator}`;
}

function startOrResume(store: ResultStore, options: RunPipelineOptions, input: PipelineConfigInput | undefined) {
  if (options.resumeRunId !== undefined) {
    const run: RunRow | undefined = store.getRun(options.resumeRunId);
    if (!run) throw new Error(`no run ${options.resumeRunId} in this database`);
    if (run.status === 'finished') throw new Error(`run ${run.id} is already finished; nothing to resume`);
    return { runId: run.id, config: parsePipelineConfig(JSON.parse(run.config) as PipelineConfigInput), resumed: true };
  }
  return { runId: undefined, config: parsePipelineConfig(input ?? {}), resumed: false };
}

/** Runs the explain → simulate → score pipeline and stores every result. */
export async function runPipeline(input: PipelineConfigInput | undefined, options: RunPipelineOptions): Promise<RunSummary> {
  const started = performance.now();
  const { store } = options;
  const { runId: existingRunId, config } = startOrResume(store, options, input);
  const explainer = options.explainer ?? createProvider(config.explainer, config.baseUrl ? { baseURL: config.baseUrl } : {});
  const simulator = options.simulator ?? createProvider(config.simulator, config.baseUrl ? { baseURL: config.baseUrl } : {});
  const explainTemplate = loadExplainTemplate(config.explainPrompt);
  const simulateTemplate = loadSimulateTemplate(config.simulatePrompt);

  // Validate all input before anything is written: a bad file fails the run before it starts.
  let features: FeatureRecord[] = await loadFeatureRecords(resolveSource(config), { model: config.model });
  if (config.limit !== undefined) features = features.slice(0, config.limit);
  const encoder = await getEncoder();
  const countTokens = (text: string) => encoder.encode(text, 'all').length;

  const runId =
    existingRunId ??
    store.createRun({
      name: config.name ?? defaultRunName(config),
      config,
      codeVersion: CODE_VERSION,
      promptVersions: { explain: explainTemplate.version, simulate: simulateTemplate.version },
      explainer: explainer.id,
      simulator: simulator.id,
      isBaseline: explainer.isBaseline || simulator.isBaseline,
      source: config.source,
    });
  store.setRunStatus(runId, 'running');

  const done = store.finishedFeatureKeys(runId);
  const todo = features.filter((feature) => !done.has(featureKey(feature.id)));
  options.events?.onStart?.({ runId, total: features.length, alreadyDone: features.length - todo.length, explainer, simulator });

  const limit = pLimit(config.concurrency);
  let processedNow = 0;
  const context = {
    config,
    explainer,
    simulator,
    explainTemplate,
    simulateTemplate,
    countTokens,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  try {
    await Promise.all(
      todo.map((feature) =>
        limit(async () => {
          if (options.signal?.aborted) return;
          const processed = await processFeature(feature, context);
          if (options.signal?.aborted && processed.result.status === 'failed') return; // cut short by the abort: redo on resume
          store.saveFeatureResult(runId, processed.result, processed.calls);
          processedNow += 1;
          options.events?.onFeatureDone?.(processed);
        }),
      ),
    );
  } catch (error) {
    store.setRunStatus(runId, 'failed');
    throw error;
  }
  const progress = store.runProgress(runId);
  const complete = progress.scored + progress.skipped + progress.failed === features.length;
  const status = complete && !options.signal?.aborted ? 'finished' : 'interrupted';
  store.setRunStatus(runId, status);
  return { runId, status, total: features.length, ...progress, processedNow, durationMs: performance.now() - started };
}
